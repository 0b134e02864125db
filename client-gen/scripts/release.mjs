#!/usr/bin/env node
// A release of the schema: `npm run release -- <version>` (in client-gen/).
// Copies schema.graphql to schema.released.graphql (the snapshot the breaking-change gate diffs
// against) and turns CHANGES.md's "Unreleased" sections into one dated section, leaving empty
// "Unreleased" sections for the next release. STOA_CHANGES_FILE and STOA_RELEASE_DIR (the folder of
// both schemas) override the paths, for the script's own test.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = process.argv[2];
if (!version) {
  console.error('usage: npm run release -- <version>');
  process.exit(2);
}
const date = new Date().toISOString().slice(0, 10);
const changesPath = process.env.STOA_CHANGES_FILE ?? join(root, 'CHANGES.md');
const text = readFileSync(changesPath, 'utf8');
const lines = text.split('\n');
const section = (title) => {
  const start = lines.findIndex((l) => l.trim().toLowerCase() === `## unreleased: ${title}`);
  if (start < 0) throw new Error(`CHANGES.md has no "## Unreleased: ${title}" section`);
  const next = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return { start, end: next < 0 ? lines.length : next };
};
const breaking = section('breaking');
const additions = section('additions');
const body = (s) => lines.slice(s.start + 1, s.end).filter((l) => l.trim() && l.trim() !== '(none)');
const released = [
  `## ${date} — ${version}`,
  '',
  ...(body(breaking).length ? ['Breaking:', '', ...body(breaking), ''] : []),
  ...body(additions),
  '',
];
const first = Math.min(breaking.start, additions.start);
const last = Math.max(breaking.end, additions.end);
const out = [
  ...lines.slice(0, first),
  '## Unreleased: breaking',
  '',
  '(none)',
  '',
  '## Unreleased: additions',
  '',
  ...released,
  ...lines.slice(last),
];
writeFileSync(changesPath, out.join('\n').replace(/\n{3,}/g, '\n\n'));
const schemas = process.env.STOA_RELEASE_DIR ?? root;
copyFileSync(join(schemas, 'schema.graphql'), join(schemas, 'schema.released.graphql'));
console.log(`released ${version} (${date}): schema.released.graphql updated, CHANGES.md dated`);
