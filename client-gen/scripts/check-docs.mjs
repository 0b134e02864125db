#!/usr/bin/env node
// STYLE §10's --check-docs: every type, field, argument, input field and enum value of the SDL has
// a description. Prints each one that has none and exits 1; exits 0 when all are described.
//   node scripts/check-docs.mjs [schema.graphql]
import { readFileSync } from 'node:fs';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
} from 'graphql';

const file = process.argv[2] ?? new URL('../schema.graphql', import.meta.url).pathname;
const schema = buildSchema(readFileSync(file, 'utf8'));
const missing = [];
const described = (thing) => typeof thing.description === 'string' && thing.description.trim() !== '';

for (const type of Object.values(schema.getTypeMap())) {
  if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
  if (!described(type)) missing.push(`type ${type.name}`);
  if (isObjectType(type) || isInterfaceType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!described(field)) missing.push(`field ${type.name}.${field.name}`);
      for (const arg of field.args) {
        if (!described(arg)) missing.push(`argument ${type.name}.${field.name}(${arg.name})`);
      }
    }
  } else if (isInputObjectType(type)) {
    for (const field of Object.values(type.getFields())) {
      if (!described(field)) missing.push(`input field ${type.name}.${field.name}`);
    }
  } else if (isEnumType(type)) {
    for (const value of type.getValues()) {
      if (!described(value)) missing.push(`enum value ${type.name}.${value.name}`);
    }
  }
}

if (missing.length) {
  console.error(`${missing.length} schema element(s) without a description in ${file}:`);
  for (const m of missing) console.error(`  ${m}`);
  console.error('Add a /// doc comment on the Rust item (or #[graphql(desc = …)]) and regenerate the SDL.');
  process.exit(1);
}
console.log(`every type, field, argument and enum value of ${file} is described`);
