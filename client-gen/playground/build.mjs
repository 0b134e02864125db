#!/usr/bin/env node
// Builds the playground into OUT (default ../../api/assets/playground): main.js + main.css +
// codicon.ttf, the three Monaco workers as ESM files beside them, favicon.svg, and SHA256SUMS.
// The examples are client-gen/operations/<feature>.graphql, one tab each, with variables from
// <feature>.variables.json beside it and each operation's trusted id from the generated manifest.
//   node build.mjs [OUT]
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '..', '..', 'api', 'assets', 'playground'));
const operations = join(here, '..', 'operations');
const manifest = JSON.parse(readFileSync(join(here, '..', 'src', 'gql', 'persisted-documents.json'), 'utf8'));

// Operation name → trusted id.
const idOf = {};
for (const [id, text] of Object.entries(manifest)) {
  for (const m of text.matchAll(/\b(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/g)) idOf[m[1]] = id;
}
const tabs = [];
const trusted = {};
for (const file of readdirSync(operations).filter((f) => f.endsWith('.graphql')).sort()) {
  const query = readFileSync(join(operations, file), 'utf8');
  const varsFile = join(operations, file.replace(/\.graphql$/, '.variables.json'));
  const variables = existsSync(varsFile) ? JSON.stringify(JSON.parse(readFileSync(varsFile, 'utf8')), null, 2) : undefined;
  tabs.push(variables ? { query, variables } : { query });
  const ids = {};
  for (const m of query.matchAll(/^(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/gm)) {
    if (!idOf[m[1]]) throw new Error(`${file}: ${m[1]} is not in persisted-documents.json: run npm run codegen`);
    ids[m[1]] = idOf[m[1]];
  }
  trusted[query] = ids;
}
if (!idOf.Login) throw new Error('the manifest has no Login operation');
const examples = `export const tabs = ${JSON.stringify(tabs)};\nexport const trusted = ${JSON.stringify(trusted)};\nexport const loginId = ${JSON.stringify(idOf.Login)};\n`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = { bundle: true, format: 'esm', minify: true, target: 'es2022', logLevel: 'warning', legalComments: 'eof', charset: 'utf8' };
await build({
  ...common,
  entryPoints: { main: join(here, 'src', 'main.js') },
  outdir: out,
  loader: { '.ttf': 'file' },
  assetNames: '[name]',
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [
    {
      name: 'stoa-examples',
      setup(b) {
        b.onResolve({ filter: /^stoa:examples$/ }, () => ({ path: 'examples', namespace: 'stoa' }));
        b.onLoad({ filter: /.*/, namespace: 'stoa' }, () => ({ contents: examples, loader: 'js' }));
      },
    },
  ],
});
await build({
  ...common,
  entryPoints: {
    'editor.worker': join(here, 'node_modules', 'monaco-editor', 'esm', 'vs', 'editor', 'editor.worker.js'),
    'json.worker': join(here, 'node_modules', 'monaco-editor', 'esm', 'vs', 'language', 'json', 'json.worker.js'),
    'graphql.worker': join(here, 'node_modules', 'monaco-graphql', 'esm', 'graphql.worker.js'),
  },
  outdir: out,
});
copyFileSync(join(here, 'src', 'favicon.svg'), join(out, 'favicon.svg'));
const files = readdirSync(out).filter((f) => f !== 'SHA256SUMS').sort();
const sums = files.map((f) => `${createHash('sha256').update(readFileSync(join(out, f))).digest('hex')}  ${f}`).join('\n');
writeFileSync(join(out, 'SHA256SUMS'), `${sums}\n`);
console.log(`built ${files.length} files into ${out}`);
