// SPDX-License-Identifier: Apache-2.0
// The audit statement: an auditor's signed word that it verified the Merkle tree of one
// timestamp (every hash, every shard's placement and order, no role rolled back or gone since
// the trees it verified before). Canonical JSON, signed like TUF metadata:
//
//   {"signatures":[{"keyid","sig"}],"signed":{"_type":"x-bulwark-audit","expires":"…Z",
//    "merkle_root":"<hex>","timestamp":{"signatures":[…],"signed":{…}},"timestamp_version":V,
//    "version":N}}
//
// The whole signed timestamp is embedded, so a client can use it in place of timestamp.json and
// check it against root's timestamp keys itself: the auditor vouches, it cannot forge.
import {
  encodeCanonical,
  expiresIn,
  formatExpires,
  MERKLE_FIELD,
  Metadata,
  parseMerkleField,
  parseExpires,
  parseStrictJson,
  signCanonical,
  verifyThreshold,
  type JsonValue,
  type Root,
  type Signature,
  type Signer,
  type Timestamp,
} from '../tuf/index.js';
import { AuditError } from './errors.js';
import { rootAuditors } from './root-auditors.js';

export const STATEMENT_TYPE = 'x-bulwark-audit';
/** A statement embeds one timestamp (≤ 16 KiB as clients read it) and a few signatures. */
export const STATEMENT_MAX_LENGTH = 64 * 1024;
/** Statements live a few minutes: a stolen timestamp key can freeze auditor-requiring clients no longer. */
export const DEFAULT_STATEMENT_EXPIRY_SECONDS = 300;

export interface AuditStatement {
  expires: Date;
  merkleRoot: string;
  /** The audited timestamp, verified against root's timestamp keys. */
  timestamp: Metadata<Timestamp>;
  timestampVersion: number;
  version: number;
  signatures: readonly Signature[];
  /** Canonical JSON of `signed`: what the signatures cover. */
  signedBytes: Buffer;
}

/** The Merkle root a timestamp names, or undefined for a timestamp without one. */
export function timestampMerkleRoot(ts: Timestamp): string | undefined {
  const field = ts.unrecognized[MERKLE_FIELD];
  if (field === undefined) return undefined;
  return parseMerkleField(field).root;
}

/** Signs a statement for a verified timestamp; returns the file's bytes (canonical JSON). */
export async function signStatement(
  o: { timestamp: Metadata<Timestamp>; version: number; now: Date; expirySeconds?: number },
  signers: readonly Signer[]
): Promise<Buffer> {
  const merkleRoot = timestampMerkleRoot(o.timestamp.signed);
  if (!merkleRoot) throw new AuditError('AUDIT_MISMATCH', `timestamp ${o.timestamp.signed.version} names no Merkle root: nothing to audit`);
  const embedded = JSON.parse(o.timestamp.bytes.toString('utf8')) as JsonValue;
  const signed = {
    _type: STATEMENT_TYPE,
    expires: formatExpires(expiresIn(o.now, o.expirySeconds ?? DEFAULT_STATEMENT_EXPIRY_SECONDS)),
    merkle_root: merkleRoot,
    timestamp: embedded,
    timestamp_version: o.timestamp.signed.version,
    version: o.version,
  };
  return (await signCanonical(encodeCanonical(signed), signers, { escapeControlCharacters: true })).bytes;
}

const malformed = (detail: string) => new AuditError('AUDIT_MALFORMED', `not an audit statement: ${detail}`);

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw malformed(`${what} must be an integer ≥ 1`);
  return v;
}

/**
 * Parses a statement and checks everything that needs no auditor key: its shape, its size, the
 * embedded timestamp's signatures against root's timestamp keys, and that the statement's fields
 * match that timestamp. Does not check expiry or the auditor's signature (verifyStatement does).
 */
export function parseStatement(bytes: Uint8Array, root: Root): AuditStatement {
  if (bytes.byteLength > STATEMENT_MAX_LENGTH) throw malformed(`${bytes.byteLength} bytes, more than ${STATEMENT_MAX_LENGTH}`);
  let value: JsonValue;
  try {
    value = parseStrictJson(bytes, 'audit statement');
  } catch (e) {
    throw malformed((e as Error).message);
  }
  const isObject = (v: unknown): v is Record<string, JsonValue> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(value) || !isObject(value['signed']) || !Array.isArray(value['signatures'])) throw malformed('it needs "signed" and "signatures"');
  const signed = value['signed'];
  if (signed['_type'] !== STATEMENT_TYPE) throw malformed(`_type must be ${STATEMENT_TYPE}`);
  const signatures = value['signatures'].map((s) => {
    if (!isObject(s) || typeof s['keyid'] !== 'string' || typeof s['sig'] !== 'string') throw malformed('each signature needs "keyid" and "sig"');
    return { keyid: s['keyid'], sig: s['sig'] };
  });
  let expires: Date;
  try {
    expires = parseExpires(signed['expires'], 'audit statement');
  } catch (e) {
    throw malformed((e as Error).message);
  }
  const merkleRoot = signed['merkle_root'];
  if (typeof merkleRoot !== 'string' || !/^[0-9a-f]{64}$/.test(merkleRoot)) throw malformed('merkle_root must be a SHA-256 hex digest');
  const timestampVersion = positiveInt(signed['timestamp_version'], 'timestamp_version');
  const version = positiveInt(signed['version'], 'version');
  let timestamp: Metadata<Timestamp>;
  try {
    timestamp = Metadata.parse(Buffer.from(encodeCanonical(signed['timestamp']), 'utf8'), 'timestamp');
  } catch (e) {
    throw malformed(`its timestamp: ${(e as Error).message}`);
  }
  try {
    timestamp.verifyRole('timestamp', root.roles.get('timestamp') as { keyids: readonly string[]; threshold: number }, root.keys);
  } catch (e) {
    throw new AuditError('AUDIT_SIGNATURE', `the audited timestamp ${timestamp.signed.version} is not signed by root's timestamp keys: ${(e as Error).message}`);
  }
  if (timestamp.signed.version !== timestampVersion) {
    throw new AuditError('AUDIT_MISMATCH', `the statement names timestamp ${timestampVersion} but embeds timestamp ${timestamp.signed.version}`);
  }
  const embeddedRoot = timestampMerkleRoot(timestamp.signed);
  if (embeddedRoot !== merkleRoot) {
    throw new AuditError('AUDIT_MISMATCH', `the statement names Merkle root ${merkleRoot.slice(0, 16)}… but its timestamp names ${embeddedRoot?.slice(0, 16) ?? 'none'}…`);
  }
  return { expires, merkleRoot, timestamp, timestampVersion, version, signatures, signedBytes: Buffer.from(encodeCanonical(signed), 'utf8') };
}

/**
 * A statement the auditor `keyid` signed, for a timestamp root's timestamp keys signed, not
 * expired at `now`.
 * @throws AuditError AUDIT_SIGNATURE (key not one of root's auditors, or a bad signature),
 *   STALE_AUDIT (expired), or any parseStatement error.
 */
export function verifyStatement(bytes: Uint8Array, keyid: string, root: Root, now: Date): AuditStatement {
  const auditors = rootAuditors(root);
  if (!auditors?.keyids.includes(keyid)) throw new AuditError('AUDIT_SIGNATURE', `root names no auditor with key ${keyid.slice(0, 16)}…`);
  const statement = parseStatement(bytes, root);
  try {
    verifyThreshold(`audit statement of ${keyid.slice(0, 12)}`, { keyids: [keyid], threshold: 1 }, root.keys, statement.signedBytes, statement.signatures);
  } catch (e) {
    throw new AuditError('AUDIT_SIGNATURE', `the audit statement is not signed by auditor key ${keyid.slice(0, 16)}…: ${(e as Error).message}`);
  }
  if (now.getTime() >= statement.expires.getTime()) {
    throw new AuditError('STALE_AUDIT', `the audit statement of ${keyid.slice(0, 12)} (timestamp ${statement.timestampVersion}) expired at ${statement.expires.toISOString()}: the auditor has not vouched for a recent tree`);
  }
  return statement;
}
