// SPDX-License-Identifier: Apache-2.0
// MetaFile (spec §4.4/§4.5 `meta` entries) and TargetFile (§4.5 `targets` entries), with the
// length and hash checks a client runs on downloaded bytes.
import { createHash } from 'node:crypto';
import type { JsonValue } from '../canonical-json.js';
import { LengthOrHashMismatchError } from '../errors.js';
import { asObject, hashes, int, unrecognized, type JsonObject } from './fields.js';

const SUPPORTED_HASHES = new Set(['sha256', 'sha512']);

/** Checks `data` against an expected length and every supported hash; throws on mismatch. */
export function verifyLengthAndHashes(
  what: string,
  data: Uint8Array,
  length: number | undefined,
  expected: Readonly<Record<string, string>> | undefined
): void {
  if (length !== undefined && data.length !== length) {
    throw new LengthOrHashMismatchError(what, `length ${data.length}, expected ${length}`);
  }
  if (!expected) return;
  let checked = 0;
  for (const [alg, digest] of Object.entries(expected)) {
    if (!SUPPORTED_HASHES.has(alg)) continue;
    const actual = createHash(alg).update(data).digest('hex');
    if (actual !== digest.toLowerCase()) {
      throw new LengthOrHashMismatchError(what, `${alg} ${actual}, expected ${digest}`);
    }
    checked++;
  }
  // Hashes we cannot compute must not pass as "checked": fail closed.
  if (checked === 0) throw new LengthOrHashMismatchError(what, 'no supported hash algorithm listed');
}

export class MetaFile {
  constructor(
    readonly version: number,
    readonly length?: number,
    readonly hashes?: Readonly<Record<string, string>>,
    readonly unrecognized: JsonObject = {}
  ) {}

  static fromJSON(value: unknown, where: string): MetaFile {
    const obj = asObject(value, where);
    return new MetaFile(
      int(obj, 'version', where, 1),
      obj['length'] === undefined ? undefined : int(obj, 'length', where, 0),
      obj['hashes'] === undefined ? undefined : hashes(obj, 'hashes', where),
      unrecognized(obj, ['version', 'length', 'hashes'])
    );
  }

  toJSON(): JsonObject {
    const out: JsonObject = { ...this.unrecognized, version: this.version };
    if (this.length !== undefined) out['length'] = this.length;
    if (this.hashes !== undefined) out['hashes'] = { ...this.hashes };
    return out;
  }

  verify(what: string, data: Uint8Array): void {
    if (this.length === undefined && this.hashes === undefined) return;
    verifyLengthAndHashes(what, data, this.length, this.hashes);
  }
}

export class TargetFile {
  constructor(
    readonly path: string,
    readonly length: number,
    readonly hashes: Readonly<Record<string, string>>,
    readonly unrecognized: JsonObject = {}
  ) {}

  static fromJSON(path: string, value: unknown, where: string): TargetFile {
    const obj = asObject(value, where);
    return new TargetFile(
      path,
      int(obj, 'length', where, 0),
      hashes(obj, 'hashes', where),
      unrecognized(obj, ['length', 'hashes'])
    );
  }

  get custom(): JsonValue | undefined {
    return this.unrecognized['custom'];
  }

  toJSON(): JsonObject {
    return { ...this.unrecognized, length: this.length, hashes: { ...this.hashes } };
  }

  verify(data: Uint8Array): void {
    verifyLengthAndHashes(`target ${this.path}`, data, this.length, this.hashes);
  }
}
