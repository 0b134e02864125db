// The gates bite: each check CI runs fails on the fault it exists for, and passes without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse, print, visit, type FieldDefinitionNode, type ObjectTypeDefinitionNode } from 'graphql';

// dist/test/ → client-gen/
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const schemaText = readFileSync(join(root, 'schema.graphql'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'stoa-gates-'));
let n = 0;

function file(name: string, text: string): string {
  const path = join(dir, `${n++}-${name}`);
  writeFileSync(path, text);
  return path;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The schema with `edit` applied to the object type `type`'s fields. */
function editFields(text: string, type: string, edit: (fields: readonly FieldDefinitionNode[]) => FieldDefinitionNode[]): string {
  return print(
    visit(parse(text), {
      ObjectTypeDefinition(node: ObjectTypeDefinitionNode) {
        return node.name.value === type ? { ...node, fields: edit(node.fields ?? []) } : undefined;
      },
    }),
  );
}

const CHANGES_EMPTY = '# Changes\n\n## Unreleased: breaking\n\n(none)\n\n## Unreleased: additions\n';

function diff(oldSchema: string, newSchema: string, changes = CHANGES_EMPTY) {
  return run(
    bin('graphql-inspector'),
    ['diff', file('old.graphql', oldSchema), file('new.graphql', newSchema), '--rule', 'suppressRemovalOfDeprecatedField', '--onComplete', 'scripts/breaking-gate.cjs'],
    { STOA_CHANGES_FILE: file('CHANGES.md', changes) },
  );
}

const withoutPresence = editFields(schemaText, 'Query', (fields) => fields.filter((f) => f.name.value !== 'presence'));

test('a removed field fails the diff unless it is listed as a dated breaking change', () => {
  const refused = diff(schemaText, withoutPresence);
  assert.equal(refused.status, 1, refused.out);
  assert.match(refused.out, /`Query\.presence`/);
  const listed = CHANGES_EMPTY.replace('(none)', '- 2026-12-01 `Query.presence`: removed; read `presenceChanged`.');
  const passed = diff(schemaText, withoutPresence, listed);
  assert.equal(passed.status, 0, passed.out);
  const undated = CHANGES_EMPTY.replace('(none)', '- `Query.presence`: removed.');
  assert.equal(diff(schemaText, withoutPresence, undated).status, 1, 'a line without its date does not count');
});

test('a removed ErrorCode value fails the diff; an added one is printed as dangerous and passes', () => {
  const removed = print(
    visit(parse(schemaText), {
      EnumValueDefinition: (node) => (node.name.value === 'FORBIDDEN' ? null : undefined),
    }),
  );
  const refused = diff(schemaText, removed);
  assert.equal(refused.status, 1, refused.out);
  assert.match(refused.out, /ErrorCode\.FORBIDDEN/);
  const added = print(
    visit(parse(schemaText), {
      EnumTypeDefinition: (node) =>
        node.name.value === 'ErrorCode'
          ? { ...node, values: [...(node.values ?? []), { kind: Kind.ENUM_VALUE_DEFINITION, name: { kind: Kind.NAME, value: 'TEAPOT' } }] }
          : undefined,
    }),
  );
  const passed = diff(schemaText, added);
  assert.equal(passed.status, 0, passed.out);
  assert.match(passed.out, /dangerous \(allowed\).*TEAPOT/);
});

test('a new required argument fails the diff', () => {
  const required = editFields(schemaText, 'Query', (fields) =>
    fields.map((f) =>
      f.name.value === 'me'
        ? {
            ...f,
            arguments: [
              ...(f.arguments ?? []),
              {
                kind: Kind.INPUT_VALUE_DEFINITION,
                name: { kind: Kind.NAME, value: 'tenant' },
                type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } },
              },
            ],
          }
        : f,
    ),
  );
  const refused = diff(schemaText, required);
  assert.equal(refused.status, 1, refused.out);
  assert.match(refused.out, /Query\.me\.tenant/);
});

test('removing a field the released schema had deprecated passes', () => {
  const deprecated = editFields(schemaText, 'Query', (fields) =>
    fields.map((f) =>
      f.name.value === 'presence'
        ? {
            ...f,
            directives: [
              {
                kind: Kind.DIRECTIVE,
                name: { kind: Kind.NAME, value: 'deprecated' },
                arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'reason' }, value: { kind: Kind.STRING, value: 'use presenceChanged' } }],
              },
            ],
          }
        : f,
    ),
  );
  const passed = diff(deprecated, withoutPresence);
  assert.equal(passed.status, 0, passed.out);
});

test('an undocumented field fails the docs check', () => {
  assert.equal(run('node', ['scripts/check-docs.mjs']).status, 0, 'the committed SDL is fully described');
  const bare = editFields(schemaText, 'Query', (fields) => fields.map((f) => (f.name.value === 'me' ? { ...f, description: undefined } : f)));
  const refused = run('node', ['scripts/check-docs.mjs', file('bare.graphql', bare)]);
  assert.equal(refused.status, 1, refused.out);
  assert.match(refused.out, /field Query\.me/);
});

test('an invalid operation and an uncovered root field fail the operations check', () => {
  const ops = join(dir, 'ops');
  mkdirSync(ops);
  cpSync(join(root, 'operations'), ops, { recursive: true });
  assert.equal(run('node', ['scripts/check-operations.mjs'], { STOA_OPERATIONS: `${ops}/*.graphql` }).status, 0);
  writeFileSync(join(ops, 'broken.graphql'), 'query Broken { me { noSuchField } }\n');
  const invalid = run('node', ['scripts/check-operations.mjs'], { STOA_OPERATIONS: `${ops}/*.graphql` });
  assert.equal(invalid.status, 1, invalid.out);
  assert.match(invalid.out, /noSuchField/);
  const extended = schemaText.replace(/^type Query \{/m, 'type Query {\n\t"""A field no operation uses."""\n\tunused: Int');
  assert.notEqual(extended, schemaText);
  writeFileSync(join(ops, 'broken.graphql'), '\n');
  const uncovered = run('node', ['scripts/check-operations.mjs'], { STOA_OPERATIONS: `${ops}/*.graphql`, STOA_SCHEMA: file('extended.graphql', extended) });
  assert.equal(uncovered.status, 1, uncovered.out);
  assert.match(uncovered.out, /Query\.unused/);
});

test('a stale generated file fails the codegen check (npm run codegen, then git diff --exit-code)', () => {
  const copy = join(dir, 'client-gen');
  mkdirSync(copy);
  for (const entry of ['codegen.ts', 'schema.graphql', 'operations', 'src', 'package.json']) {
    cpSync(join(root, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  const git = (...args: string[]) => run('git', ['-c', 'user.email=ci@stoa', '-c', 'user.name=ci', ...args], {}, copy);
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'generated');
  const fresh = run('npm', ['run', '--silent', 'codegen'], {}, copy);
  assert.equal(fresh.status, 0, fresh.out);
  assert.equal(git('diff', '--exit-code', '--stat').status, 0, 'the committed output is what codegen writes');
  const ops = join(copy, 'operations', 'identity.graphql');
  writeFileSync(ops, readFileSync(ops, 'utf8').replace('query Me {\n  me {', 'query Me {\n  me {\n    email'));
  git('add', 'operations');
  git('commit', '-qm', 'an operation changed, its output not regenerated');
  assert.equal(run('npm', ['run', '--silent', 'codegen'], {}, copy).status, 0);
  const stale = git('diff', '--exit-code', '--stat');
  assert.equal(stale.status, 1, stale.out);
  assert.match(stale.out, /src\/gql/);
});

test('a release dates the unreleased sections and snapshots the schema', () => {
  const releaseDir = join(dir, 'release');
  mkdirSync(releaseDir);
  writeFileSync(join(releaseDir, 'schema.graphql'), withoutPresence);
  writeFileSync(join(releaseDir, 'schema.released.graphql'), schemaText);
  const changes = file(
    'CHANGES.md',
    CHANGES_EMPTY.replace('(none)', '- 2026-12-01 `Query.presence`: removed.') + '\n- a new field\n\n## 2026-11-01 — 0.1.0\n\nolder\n',
  );
  const released = run('node', ['scripts/release.mjs', '0.2.0'], { STOA_CHANGES_FILE: changes, STOA_RELEASE_DIR: releaseDir });
  assert.equal(released.status, 0, released.out);
  assert.equal(readFileSync(join(releaseDir, 'schema.released.graphql'), 'utf8'), withoutPresence);
  const text = readFileSync(changes, 'utf8');
  const date = new Date().toISOString().slice(0, 10);
  assert.match(text, /## Unreleased: breaking\n\n\(none\)\n\n## Unreleased: additions\n\n## \d{4}-\d{2}-\d{2} — 0\.2\.0/);
  assert.ok(text.includes(`## ${date} — 0.2.0`), text);
  assert.ok(text.indexOf('`Query.presence`') > text.indexOf('0.2.0') && text.includes('a new field') && text.includes('older'), text);
  // After the release, the gate diffs against the new snapshot: nothing left to list.
  const after = diff(withoutPresence, withoutPresence, text);
  assert.equal(after.status, 0, after.out);
});
