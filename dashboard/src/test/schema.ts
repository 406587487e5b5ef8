// Validates a protocol message against docs/schema/<type>.json (generated from the Rust types):
// what the dashboard sends, and what its tests feed it, is checked against the real protocol.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

// vitest runs in dashboard/ (import.meta.url is not a file URL under jsdom)
const SCHEMA_DIR = resolve(process.cwd(), '../docs/schema') + '/';
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
for (const f of ['double', 'float', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']) ajv.addFormat(f, true);
const cache = new Map<string, ValidateFunction>();

export function schemaErrors(msg: { type: string; data: unknown }): string[] {
  let v = cache.get(msg.type);
  if (!v) {
    const schema = JSON.parse(readFileSync(`${SCHEMA_DIR}${msg.type}.json`, 'utf8')) as Record<string, unknown>;
    delete schema.$id;
    v = ajv.compile(schema);
    cache.set(msg.type, v);
  }
  return v(msg) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}
