// SPDX-License-Identifier: Apache-2.0
// Public keys as TUF writes them, key ids, and signature verification on node:crypto.
// Ed25519 is the scheme PEP 480 names; keys of other types are kept but never verify, so a
// threshold cannot be met with them (python-tuf counts them as not verified too).
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { canonicalBytes, type JsonValue } from './canonical-json.js';
import { asObject, setField, str, unrecognized, type JsonObject } from './models/fields.js';

// DER prefix of an Ed25519 SubjectPublicKeyInfo: what precedes the 32 raw key bytes.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// An Ed25519 signature is 64 bytes: 128 hex digits (either case, as securesystemslib accepts).
const ED25519_SIGNATURE_HEX = /^[0-9a-f]{128}$/i;

export class Key {
  private keyObject: KeyObject | null | undefined;

  constructor(
    readonly keytype: string,
    readonly scheme: string,
    readonly publicValue: string,
    readonly unrecognizedFields: JsonObject = {},
    readonly keyvalExtra: JsonObject = {}
  ) {}

  static ed25519(publicHex: string): Key {
    return new Key('ed25519', 'ed25519', publicHex);
  }

  static fromJSON(value: unknown, where = 'key'): Key {
    const obj = asObject(value, where);
    const keyval = asObject(obj['keyval'], `${where}.keyval`);
    return new Key(
      str(obj, 'keytype', where),
      str(obj, 'scheme', where),
      str(keyval, 'public', `${where}.keyval`),
      unrecognized(obj, ['keytype', 'scheme', 'keyval']),
      unrecognized(keyval, ['public'])
    );
  }

  toJSON(): JsonObject {
    return {
      ...this.unrecognizedFields,
      keytype: this.keytype,
      scheme: this.scheme,
      keyval: { ...this.keyvalExtra, public: this.publicValue },
    };
  }

  /** SHA-256 of the canonical JSON of the public key: the id every TUF implementation computes. */
  get keyId(): string {
    return createHash('sha256').update(canonicalBytes(this.toJSON())).digest('hex');
  }

  /** True when `signatureHex` is a valid signature of `data` by this key. Never throws. */
  verify(data: Uint8Array, signatureHex: string): boolean {
    const key = this.nodeKey();
    // Exactly 64 bytes of hex: Buffer.from(hex) silently drops a trailing odd nibble, which
    // would let a second spelling of the same signature verify.
    if (!key || !ED25519_SIGNATURE_HEX.test(signatureHex)) return false;
    try {
      return cryptoVerify(null, data, key, Buffer.from(signatureHex, 'hex'));
    } catch {
      return false; // malformed signature bytes: simply not a valid signature
    }
  }

  private nodeKey(): KeyObject | null {
    if (this.keyObject !== undefined) return this.keyObject;
    this.keyObject = null;
    if (this.keytype === 'ed25519' && this.scheme === 'ed25519' && /^[0-9a-f]{64}$/i.test(this.publicValue)) {
      try {
        this.keyObject = createPublicKey({
          key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(this.publicValue, 'hex')]),
          format: 'der',
          type: 'spki',
        });
      } catch {
        this.keyObject = null; // a key node:crypto refuses verifies nothing
      }
    }
    return this.keyObject;
  }
}

export function keysToJSON(keys: ReadonlyMap<string, Key>): { [id: string]: JsonValue } {
  const out: { [id: string]: JsonValue } = {};
  for (const [id, key] of keys) setField(out, id, key.toJSON());
  return out;
}

export function keysFromJSON(value: unknown, where: string): Map<string, Key> {
  const obj = asObject(value, where);
  const keys = new Map<string, Key>();
  for (const [id, k] of Object.entries(obj)) keys.set(id, Key.fromJSON(k, `${where}.${id}`));
  return keys;
}
