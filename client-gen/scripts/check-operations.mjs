#!/usr/bin/env node
// The operations gate, run by .ci/run from client-gen/:
//   1. graphql-inspector validate: every document in operations/ is valid against schema.graphql;
//   2. graphql-inspector coverage: every Query, Mutation and Subscription field is used by at least
//      one operation (coverage.json is written beside this package);
//   3. graphql-inspector audit: our own deepest document fits under the server's document limits
//      (the defaults in schema/src/limits.rs; the server also refuses to start when its embedded
//      manifest breaks the configured ones).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const inspector = join(root, 'node_modules', '.bin', 'graphql-inspector');
const documents = process.env.STOA_OPERATIONS ?? 'operations/*.graphql';
const schema = process.env.STOA_SCHEMA ?? 'schema.graphql';
let failed = false;

function run(args) {
  const result = spawnSync(inspector, args, { cwd: root, encoding: 'utf8' });
  return { status: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

const validate = run(['validate', documents, schema]);
if (validate.status !== 0) {
  console.error(`invalid operations:\n${validate.out}`);
  failed = true;
} else {
  console.log('operations: every document is valid');
}

const coverage = run(['coverage', documents, schema, '-w', 'coverage.json', '--silent']);
if (coverage.status !== 0) {
  console.error(`coverage failed:\n${coverage.out}`);
  failed = true;
} else {
  const types = JSON.parse(readFileSync(join(root, 'coverage.json'), 'utf8')).types;
  const unused = [];
  let fields = 0;
  for (const root of ['Query', 'Mutation', 'Subscription']) {
    for (const [field, info] of Object.entries(types[root]?.children ?? {})) {
      fields += 1;
      if (info.hits === 0) unused.push(`${root}.${field}`);
    }
  }
  if (unused.length) {
    console.error(`${unused.length} root field(s) no operation uses (add one to operations/<feature>.graphql):`);
    for (const f of unused) console.error(`  ${f}`);
    failed = true;
  } else {
    console.log(`coverage: all ${fields} root fields are used`);
  }
}

// The server's defaults, read from the one place they are declared.
const limitsRs = readFileSync(join(root, '..', 'schema', 'src', 'limits.rs'), 'utf8');
const limit = (name) => {
  const m = limitsRs.match(new RegExp(`${name}:\\s*([0-9_]+),`));
  if (!m) throw new Error(`schema/src/limits.rs: no default for ${name}`);
  return Number(m[1].replaceAll('_', ''));
};
const audit = run(['audit', documents]);
const measured = (label) => Number(audit.out.match(new RegExp(`Maximum ${label} is ([0-9.]+)`))?.[1] ?? NaN);
const checks = [
  ['depth', measured('depth'), limit('max_depth')],
  ['aliases', measured('alias amount'), limit('max_aliases')],
  ['directives', measured('directive amount'), limit('max_directives')],
  ['tokens', measured('token count'), limit('max_tokens')],
  ['complexity', measured('complexity score'), limit('max_complexity')],
];
for (const [name, value, max] of checks) {
  if (!(value <= max)) {
    console.error(`audit: the deepest document's ${name} is ${value}, over the server's limit ${max}`);
    failed = true;
  }
}
if (!failed) console.log(`audit: ${checks.map(([n, v, m]) => `${n} ${v} ≤ ${m}`).join(', ')}`);
process.exit(failed ? 1 : 0);
