// SPDX-License-Identifier: Apache-2.0
// Public keys as TUF writes them, key ids, and signature verification on node:crypto, for the
// three key types and schemes of the specification (§4.2):
//   ed25519 / ed25519                            public: 64 hex digits
//   ecdsa (or ecdsa-sha2-nistp256) / ecdsa-sha2-nistp256   public: PEM SubjectPublicKeyInfo, P-256
//   rsa / rsassa-pss-sha256                      public: PEM SubjectPublicKeyInfo
// Signatures are hex: Ed25519's 64 bytes, ECDSA's DER (r, s), RSA-PSS's modulus-sized bytes, as
// securesystemslib writes them. Keys of any other type or scheme are kept (they are signed and
// round-trip) but never verify, so they cannot help reach a threshold; key material of a known
// scheme that does not parse is a BadMetadataError when the metadata is read.
import {
  constants,
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  type KeyObject,
  type VerifyKeyObjectInput,
  type VerifyPublicKeyInput,
} from 'node:crypto';
import { canonicalBytes, type JsonValue } from './canonical-json.js';
import { BadMetadataError } from './errors.js';
import { asObject, setField, str, unrecognized, type JsonObject } from './models/fields.js';

// DER prefix of an Ed25519 SubjectPublicKeyInfo: what precedes the 32 raw key bytes.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const HEX_BYTES = /^(?:[0-9a-f]{2})+$/i; // either case, as securesystemslib accepts (bytes.fromhex)
// Generous bounds: RSA with a 16,384-bit modulus, a DER ECDSA P-256 signature (≤ 72 bytes).
const MAX_SIGNATURE_BYTES = 2048;
const PEM_PUBLIC_KEY = /^-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/;

/** How one signature scheme reads its public keys and checks its signatures. */
interface SchemeSpec {
  readonly keytypes: readonly string[];
  /** @throws Error with a reason when the public value is not a key of this scheme */
  parse(publicValue: string): KeyObject;
  /**
   * A check of the public value cheap enough to run on every key of a metadata file when it is
   * read (claimed lists a key per project); without one, the key is parsed then.
   */
  check?(publicValue: string): void;
  /** What node:crypto's verify takes: the digest (null for Ed25519) and the key with its options. */
  verifyArgs(key: KeyObject): { digest: string | null; key: KeyObject | VerifyKeyObjectInput | VerifyPublicKeyInput };
  readonly signatureBytes?: number;
}

const SCHEMES: ReadonlyMap<string, SchemeSpec> = new Map<string, SchemeSpec>([
  [
    'ed25519',
    {
      keytypes: ['ed25519'],
      check: (value) => {
        if (!/^[0-9a-f]{64}$/i.test(value)) throw new Error('an ed25519 public key is 64 hex digits');
      },
      parse: (value) => {
        if (!/^[0-9a-f]{64}$/i.test(value)) throw new Error('an ed25519 public key is 64 hex digits');
        // JWK import: OpenSSL 3's DER decoder costs ~0.24 ms a key, this ~0.03 ms.
        return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(value, 'hex').toString('base64url') }, format: 'jwk' });
      },
      verifyArgs: (key) => ({ digest: null, key }),
      signatureBytes: 64,
    },
  ],
  [
    'ecdsa-sha2-nistp256',
    {
      // "ecdsa-sha2-nistp256" as a key type is the older spelling securesystemslib still reads.
      keytypes: ['ecdsa', 'ecdsa-sha2-nistp256'],
      parse: (value) => {
        const key = parseSpkiPem(value);
        if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
          throw new Error('not an ECDSA P-256 public key');
        }
        return key;
      },
      verifyArgs: (key) => ({ digest: 'sha256', key: { key, dsaEncoding: 'der' } }),
    },
  ],
  [
    'rsassa-pss-sha256',
    {
      keytypes: ['rsa'],
      parse: (value) => {
        const key = parseSpkiPem(value);
        if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA public key');
        return key;
      },
      // Any salt length, as securesystemslib verifies (PSS.AUTO); MGF1 uses SHA-256 too.
      verifyArgs: (key) => ({ digest: 'sha256', key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } }),
    },
  ],
]);

/**
 * A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) and nothing else: node:crypto alone would also take a
 * private key, a certificate, text around the PEM block, or bytes after the DER structure.
 */
function parseSpkiPem(pem: string): KeyObject {
  const m = PEM_PUBLIC_KEY.exec(pem.trimStart());
  if (!m) throw new Error('not a PEM "PUBLIC KEY" block');
  const base64 = (m[1] as string).replace(/[\r\n]/g, '');
  const der = Buffer.from(base64, 'base64');
  if (der.toString('base64') !== base64) throw new Error('the PEM block is not valid base64');
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (!key.export({ format: 'der', type: 'spki' }).equals(der)) throw new Error('bytes after the public key');
  return key;
}

export class Key {
  // undefined: not parsed yet; null: not a key this client can verify with.
  private keyObject: KeyObject | null | undefined;
  private parseError: string | undefined;
  private identityHex: string | undefined;

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

  /** An ECDSA P-256 key as securesystemslib writes it: key type "ecdsa", the public key as PEM. */
  static ecdsaP256(publicPem: string): Key {
    return new Key('ecdsa', 'ecdsa-sha2-nistp256', publicPem);
  }

  /**
   * The TUF key for a PEM public key (as `openssl pkey -pubout` or a hardware token exports it):
   * Ed25519 or ECDSA P-256, the key types Bulwark signs offline roles with.
   * @throws Error naming what the PEM holds when it is neither
   */
  static fromPublicKeyPem(pem: string): Key {
    const key = parseSpkiPem(pem);
    if (key.asymmetricKeyType === 'ed25519') {
      return Key.ed25519(key.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length).toString('hex'));
    }
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
      return Key.ecdsaP256(key.export({ format: 'pem', type: 'spki' }).toString());
    }
    throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key: offline roles are signed with Ed25519 or ECDSA P-256 keys`);
  }

  /**
   * @throws BadMetadataError when a field is missing, or when the key is of a type and scheme
   *   this client verifies but its public value is not such a key (parsed here, once per load)
   */
  static fromJSON(value: unknown, where = 'key'): Key {
    const obj = asObject(value, where);
    const keyval = asObject(obj['keyval'], `${where}.keyval`);
    const key = new Key(
      str(obj, 'keytype', where),
      str(obj, 'scheme', where),
      str(keyval, 'public', `${where}.keyval`),
      unrecognized(obj, ['keytype', 'scheme', 'keyval']),
      unrecognized(keyval, ['public'])
    );
    key.checkMaterial();
    if (key.parseError) throw new BadMetadataError(`${where}: malformed ${key.keytype}/${key.scheme} public key (${key.parseError})`);
    return key;
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

  /** True when this client can verify signatures with this key (known type and scheme, sound key). */
  get isVerifiable(): boolean {
    return this.nodeKey() !== null;
  }

  /**
   * The public key itself (its DER SubjectPublicKeyInfo, hex), whatever key id or spelling lists
   * it: a threshold counts each public key once. Undefined for keys that cannot verify.
   */
  get identity(): string | undefined {
    this.identityHex ??= this.nodeKey()?.export({ format: 'der', type: 'spki' }).toString('hex');
    return this.identityHex;
  }

  /** True when `signatureHex` is a valid signature of `data` by this key. Never throws. */
  verify(data: Uint8Array, signatureHex: string): boolean {
    const key = this.nodeKey();
    const spec = SCHEMES.get(this.scheme);
    // Whole bytes of hex only: Buffer.from(hex) silently drops a trailing odd nibble or stops at
    // the first non-hex character, which would let a second spelling of a signature verify.
    if (!key || !spec || signatureHex.length > 2 * MAX_SIGNATURE_BYTES || !HEX_BYTES.test(signatureHex)) return false;
    const signature = Buffer.from(signatureHex, 'hex');
    if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return false;
    try {
      const { digest, key: verifyKey } = spec.verifyArgs(key);
      return cryptoVerify(digest, data, verifyKey, signature);
    } catch {
      return false; // malformed signature bytes: simply not a valid signature
    }
  }

  private checkMaterial(): void {
    const spec = SCHEMES.get(this.scheme);
    if (!spec?.check || !spec.keytypes.includes(this.keytype)) {
      this.nodeKey();
      return;
    }
    try {
      spec.check(this.publicValue);
    } catch (e) {
      this.parseError = (e as Error).message;
    }
  }

  /** Parsed once per Key (so once per metadata load), not once per signature check. */
  private nodeKey(): KeyObject | null {
    if (this.keyObject !== undefined) return this.keyObject;
    this.keyObject = null;
    const spec = SCHEMES.get(this.scheme);
    if (!spec || !spec.keytypes.includes(this.keytype)) return null; // unknown: ignored, never fatal
    try {
      this.keyObject = spec.parse(this.publicValue);
    } catch (e) {
      this.parseError = (e as Error).message;
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
