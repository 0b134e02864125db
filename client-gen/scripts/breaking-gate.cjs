// graphql-inspector diff's --onComplete handler: the breaking-change gate.
//   graphql-inspector diff schema.released.graphql schema.graphql \
//     --rule suppressRemovalOfDeprecatedField --onComplete scripts/breaking-gate.cjs
// Every breaking change (a removed field, type or enum value, a new required argument, a changed
// type) must be listed under "## Unreleased: breaking" in CHANGES.md as a dated line naming its
// schema path in backticks:  - 2026-12-01 `Query.presence`: removed; use `presenceChanged`.
// Dangerous changes (an added enum value, a new optional argument …) are printed, not refused.
// STOA_CHANGES_FILE overrides the CHANGES.md path (the gate's own tests use it).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const HEADING = /^##\s+Unreleased:\s*breaking\s*$/i;
const DATED = /^\s*[-*]\s+\d{4}-\d{2}-\d{2}\b/;

function unreleasedBreaking(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => HEADING.test(l.trim()));
  if (start < 0) return null;
  const end = lines.findIndex((l, i) => i > start && /^##\s/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => DATED.test(l));
}

module.exports = function breakingGate({ breakingChanges, dangerousChanges }) {
  const file = process.env.STOA_CHANGES_FILE || join(__dirname, '..', 'CHANGES.md');
  const listed = unreleasedBreaking(readFileSync(file, 'utf8'));
  if (listed === null) {
    console.error(`${file} has no "## Unreleased: breaking" section`);
    process.exit(1);
  }
  for (const change of dangerousChanges) console.log(`dangerous (allowed): ${change.message}`);
  const unlisted = breakingChanges.filter((change) => {
    const name = change.path ? `\`${change.path}\`` : change.message;
    return !listed.some((line) => line.includes(name));
  });
  if (unlisted.length) {
    console.error(`${unlisted.length} breaking change(s) not listed under "Unreleased: breaking" in ${file}:`);
    for (const change of unlisted) console.error(`  - ${change.path ? `\`${change.path}\`` : ''} ${change.message}`);
    console.error('Either keep the schema compatible (deprecate first, remove a release later), or list each');
    console.error('change as a dated line naming its path, e.g.  - 2026-12-01 `Query.presence`: removed; use …');
    process.exit(1);
  }
  const n = breakingChanges.length;
  console.log(n ? `${n} breaking change(s), each listed in ${file}` : 'no breaking changes');
};
