// SPDX-License-Identifier: Apache-2.0
// The signed envelope (spec §4.2): parse strictly, verify signatures against a delegator's
// keys, and sign. A parsed Metadata keeps the exact bytes it came from and the canonical
// bytes its signatures cover: we hash and serve the bytes we verified or wrote, never a
// re-serialization (a pitfall the STYLE notes call out).
import { canonicalFileText, canonicalString, encodeCanonical, type JsonValue } from '../canonical-json.js';
import { BadMetadataError, UnsignedMetadataError } from '../errors.js';
import type { Key } from '../keys.js';
import type { Signature, Signer } from '../signer.js';
import { parseStrictJsonText } from '../strict-json.js';
import type { RoleKeys } from './delegations.js';
import { asObject, str } from './fields.js';
import { Root, Snapshot, Targets, Timestamp, type AnySigned, type SignedFor, type TopLevelRole } from './roles.js';

export class Metadata<T extends AnySigned = AnySigned> {
  constructor(
    readonly signed: T,
    readonly signatures: readonly Signature[],
    /** Canonical JSON of `signed`: what the signatures cover. */
    readonly signedBytes: Buffer,
    /** The whole file as received or written. */
    readonly bytes: Buffer
  ) {}

  /**
   * Parses a metadata file of the given type. Does not verify signatures (see verifyRole).
   * @throws BadMetadataError on anything malformed.
   */
  static parse<R extends TopLevelRole>(data: Uint8Array, type: R, roleName: string = type): Metadata<SignedFor<R>> {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const parsed = parseStrictJsonText(bytes, roleName);
    const json = asObject(parsed.value, roleName);
    const sigList = json['signatures'];
    if (!Array.isArray(sigList)) throw new BadMetadataError(`${roleName}.signatures must be a list`);
    const signatures: Signature[] = sigList.map((s) => {
      const o = asObject(s, `${roleName}.signatures[]`);
      return { keyid: str(o, 'keyid', `${roleName}.signatures[]`), sig: str(o, 'sig', `${roleName}.signatures[]`) };
    });
    const signedJson = asObject(json['signed'], `${roleName}.signed`);
    let signed: AnySigned;
    try {
      signed = parseSigned(type, signedJson, roleName);
    } catch (e) {
      if (e instanceof BadMetadataError) throw e;
      throw new BadMetadataError(`${roleName}: ${(e as Error).message}`, { cause: e });
    }
    // A canonical file holds the signed part's canonical bytes already: slice, don't re-encode.
    const span = parsed.check.canonical ? parsed.check.members.get('signed') : undefined;
    let canonical: string;
    try {
      canonical = span ? parsed.text.slice(span[0], span[1]) : encodeCanonical(signedJson);
    } catch (e) {
      throw new BadMetadataError(`${roleName}: ${(e as Error).message}`, { cause: e });
    }
    const signedBytes = Buffer.from(canonical, 'utf8');
    return new Metadata(signed as SignedFor<R>, signatures, signedBytes, bytes);
  }

  /**
   * Signs `signed` with every signer and returns the file in canonical JSON, with any control
   * characters in strings (a PEM key's newlines) escaped so that the file is JSON every parser
   * reads (canonicalFileText).
   */
  static async sign<T extends AnySigned>(signed: T, signers: readonly Signer[]): Promise<Metadata<T>> {
    const canonical = encodeCanonical(signed.toJSON());
    const { signatures, signedBytes, bytes } = await signCanonical(canonical, signers, { escapeControlCharacters: true });
    return new Metadata(signed, signatures, signedBytes, bytes);
  }

  /**
   * Verifies that a threshold of `roleKeys`' distinct keys signed this metadata.
   * @throws UnsignedMetadataError when the threshold is not met.
   */
  verifyRole(roleName: string, roleKeys: RoleKeys, keys: ReadonlyMap<string, Key>): void {
    verifyThreshold(roleName, roleKeys, keys, this.signedBytes, this.signatures);
  }
}

function parseSigned(type: TopLevelRole, obj: Record<string, JsonValue>, roleName: string): AnySigned {
  switch (type) {
    case 'root':
      return Root.fromJSON(obj);
    case 'timestamp':
      return Timestamp.fromJSON(obj);
    case 'snapshot':
      return Snapshot.fromJSON(obj);
    case 'targets':
      return Targets.fromJSON(obj, roleName);
  }
}

/**
 * Counts distinct keys (spec §5.3.4): a key id counts once however many of its signatures
 * verify, and a public key listed under two key ids counts once too. Keys this client cannot
 * verify with (unknown type or scheme) simply never count. Linear in the number of signatures.
 */
export function verifyThreshold(
  roleName: string,
  roleKeys: RoleKeys,
  keys: ReadonlyMap<string, Key>,
  signedBytes: Uint8Array,
  signatures: readonly Signature[]
): void {
  const authorized = new Set(roleKeys.keyids);
  const countedIds = new Set<string>();
  const counted = new Set<string>(); // public keys (Key.identity), not key ids
  for (const { keyid, sig } of signatures) {
    if (!authorized.has(keyid) || countedIds.has(keyid)) continue;
    const key = keys.get(keyid);
    if (key?.verify(signedBytes, sig)) {
      countedIds.add(keyid);
      counted.add(key.identity as string);
    }
    if (counted.size >= roleKeys.threshold) return;
  }
  throw new UnsignedMetadataError(roleName, roleKeys.threshold, counted.size);
}

/**
 * Signs canonical JSON that was built elsewhere (the snapshot process assembles it from
 * cached fragments) and wraps it in the envelope. The whole file is canonical JSON too:
 * "signatures" sorts before "signed". Canonical JSON leaves control characters in strings raw,
 * which is no valid JSON: text that may hold some (keys, free-form fields) needs
 * `escapeControlCharacters`. Off by default: the scan costs ~5 ms on a 2 MiB snapshot, whose
 * strings (role names, digests) never hold one.
 */
export async function signCanonical(
  canonicalSigned: string,
  signers: readonly Signer[],
  opts: { escapeControlCharacters?: boolean } = {}
): Promise<{ signatures: Signature[]; signedBytes: Buffer; bytes: Buffer }> {
  const signedBytes = Buffer.from(canonicalSigned, 'utf8');
  const fileText = opts.escapeControlCharacters ? canonicalFileText(canonicalSigned) : canonicalSigned;
  // The signed bytes are copied, not encoded again (2 MiB for a snapshot at PyPI's size).
  return signCanonicalBytes(signedBytes, signers, fileText === canonicalSigned ? undefined : Buffer.from(fileText, 'utf8'));
}

/**
 * The same for canonical JSON already encoded (SnapshotMeta.canonicalBytes), whose strings hold
 * no control character; `inFile` replaces the signed bytes in the envelope when they differ.
 */
export async function signCanonicalBytes(
  signedBytes: Buffer,
  signers: readonly Signer[],
  inFile: Buffer = signedBytes
): Promise<{ signatures: Signature[]; signedBytes: Buffer; bytes: Buffer }> {
  const signatures = await Promise.all(signers.map((s) => s.sign(signedBytes)));
  const sigJson = signatures.map((s) => `{"keyid":${canonicalString(s.keyid)},"sig":${canonicalString(s.sig)}}`).join(',');
  const bytes = Buffer.concat([Buffer.from(`{"signatures":[${sigJson}],"signed":`, 'utf8'), inFile, Buffer.from('}')]);
  return { signatures, signedBytes, bytes };
}
