// The committed bundle is what build.mjs makes of these sources, and a source edited without a
// rebuild is caught: the same comparison .ci/run makes (rebuild, then diff with api/assets/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const committed = readFileSync(join(here, '..', '..', 'api', 'assets', 'playground', 'SHA256SUMS'), 'utf8');

function build(root) {
  const out = mkdtempSync(join(tmpdir(), 'stoa-bundle-'));
  const r = spawnSync(process.execPath, [join(root, 'build.mjs'), out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  return readFileSync(join(out, 'SHA256SUMS'), 'utf8');
}

test('a rebuild from these sources gives the committed bundle, byte for byte', () => {
  assert.equal(build(here), committed, 'api/assets/playground is stale: run npm run build in client-gen/playground');
});

test('editing src/main.js without rebuilding is caught', () => {
  // A copy of the package beside the real one (build.mjs reads ../operations and ../src/gql).
  const parent = mkdtempSync(join(tmpdir(), 'stoa-playground-copy-'));
  cpSync(join(here, '..', 'operations'), join(parent, 'operations'), { recursive: true });
  cpSync(join(here, '..', 'src', 'gql'), join(parent, 'src', 'gql'), { recursive: true });
  const copy = join(parent, 'playground');
  cpSync(join(here, 'src'), join(copy, 'src'), { recursive: true });
  cpSync(join(here, 'build.mjs'), join(copy, 'build.mjs'));
  symlinkSync(join(here, 'node_modules'), join(copy, 'node_modules'));
  const main = join(copy, 'src', 'main.js');
  writeFileSync(main, readFileSync(main, 'utf8').replace("const TOKEN = 'stoa.playground.token';", "const TOKEN = 'stoa.playground.edited';"));
  assert.notEqual(build(copy), committed);
});
