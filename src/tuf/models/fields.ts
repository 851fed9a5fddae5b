// SPDX-License-Identifier: Apache-2.0
// Typed readers for JSON objects: each names the field and the role on failure, so a bad
// file gives an error that says where it is bad. Unknown fields are kept (they are signed
// and must survive a round trip: python-tuf ADR-0008).
import type { JsonValue } from '../canonical-json.js';
import { BadMetadataError } from '../errors.js';

export type JsonObject = { [key: string]: JsonValue };

export function asObject(value: unknown, where: string): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadMetadataError(`${where} must be an object`);
  }
  return value as JsonObject;
}

export function str(obj: JsonObject, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new BadMetadataError(`${where}.${key} must be a string`);
  return v;
}

export function int(obj: JsonObject, key: string, where: string, min = 0): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new BadMetadataError(`${where}.${key} must be an integer ≥ ${min}`);
  }
  return v;
}

export function bool(obj: JsonObject, key: string, where: string): boolean {
  const v = obj[key];
  if (typeof v !== 'boolean') throw new BadMetadataError(`${where}.${key} must be true or false`);
  return v;
}

export function strArray(obj: JsonObject, key: string, where: string, unique = false): string[] {
  const v = obj[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new BadMetadataError(`${where}.${key} must be a list of strings`);
  }
  if (unique && new Set(v).size !== v.length) {
    throw new BadMetadataError(`${where}.${key} has duplicates`);
  }
  return v as string[];
}

export function hashes(obj: JsonObject, key: string, where: string): Record<string, string> {
  const h = asObject(obj[key], `${where}.${key}`);
  const names = Object.keys(h);
  if (names.length === 0) throw new BadMetadataError(`${where}.${key} must not be empty`);
  for (const name of names) {
    if (typeof h[name] !== 'string' || !/^[0-9a-f]+$/i.test(h[name] as string)) {
      throw new BadMetadataError(`${where}.${key}.${name} must be a hex digest`);
    }
  }
  return h as Record<string, string>;
}

/**
 * Sets an own property named by data. Plain assignment to a key named `__proto__` would set
 * the prototype instead and lose the field (JSON.parse makes such keys own properties).
 */
export function setField(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** The fields of `obj` that the model does not know, to be written back unchanged. */
export function unrecognized(obj: JsonObject, known: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(obj)) if (!known.includes(k)) setField(out, k, obj[k] as JsonValue);
  return out;
}
