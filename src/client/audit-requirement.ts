// SPDX-License-Identifier: Apache-2.0
// `--require-auditor`: the client uses the newest timestamp root's auditors vouch for, taken
// from their statements, instead of timestamp.json (TAP 16: without an auditor, whoever holds
// the timestamp key can roll roles back or mix trees). Each statement must be signed by its
// auditor's key as root lists it, unexpired, embed a timestamp signed by root's timestamp keys
// whose Merkle root is the one the statement names, and be no older than the timestamp this
// client trusts already. With an auditor threshold t, the timestamp used is the one of the t-th
// newest valid statement: t auditors have each verified a tree at least that new.
import { AuditError } from '../auditor/errors.js';
import { rootAuditors } from '../auditor/root-auditors.js';
import { STATEMENT_MAX_LENGTH, verifyStatement, type AuditStatement } from '../auditor/statement.js';
import { DownloadError, RepositoryError, type Metadata, type Root, type Timestamp } from '../tuf/index.js';

/** Fetches a metadata path from the index or its mirrors until `verify` accepts the bytes (client/sources.ts). */
export type VerifiedFetch = <T>(path: string, maxLength: number, verify: (bytes: Buffer) => T) => Promise<T>;

export interface AuditedTimestamp {
  /** The audited timestamp's bytes, to load in place of timestamp.json. */
  bytes: Buffer;
  statements: AuditStatement[];
}

/**
 * The timestamp to trust under `--require-auditor`.
 * @throws AuditError UNAUDITED_TREE (root names no auditor, or no statement is served),
 *   STALE_AUDIT (expired, or older than `trusted`), AUDIT_SIGNATURE, AUDIT_MISMATCH, AUDIT_MALFORMED.
 */
export async function auditedTimestamp(root: Root, fetchVerified: VerifiedFetch, trusted: Metadata<Timestamp> | undefined, now: Date): Promise<AuditedTimestamp> {
  const auditors = rootAuditors(root);
  if (!auditors) throw new AuditError('UNAUDITED_TREE', 'root names no auditor (x-bulwark-auditors), so no tree of this index can be audited: drop --require-auditor, or have the root key holders add an auditor');
  const valid: AuditStatement[] = [];
  const refusals: RepositoryError[] = [];
  for (const keyid of auditors.keyids) {
    try {
      valid.push(
        await fetchVerified(`audit/${keyid}.json`, STATEMENT_MAX_LENGTH, (bytes) => {
          const s = verifyStatement(bytes, keyid, root, now);
          if (trusted && s.timestampVersion < trusted.signed.version) {
            throw new AuditError('STALE_AUDIT', `the newest statement of auditor ${keyid.slice(0, 12)} vouches for timestamp ${s.timestampVersion}, older than timestamp ${trusted.signed.version} this client trusts already`);
          }
          return s;
        })
      );
    } catch (e) {
      if (e instanceof RepositoryError) refusals.push(e);
      else if (!(e instanceof DownloadError)) throw e;
      else if (e.code !== 'NOT_FOUND') throw e; // the network failed: not the auditor's verdict
    }
  }
  if (valid.length < auditors.threshold) {
    const [first] = refusals;
    if (first) throw first;
    throw new AuditError(
      'UNAUDITED_TREE',
      `no auditor vouches for any tree of this index (${valid.length} valid statement(s) of the ${auditors.threshold} required): refusing unaudited metadata`
    );
  }
  valid.sort((a, b) => b.timestampVersion - a.timestampVersion);
  const chosen = valid[auditors.threshold - 1] as AuditStatement;
  return { bytes: chosen.timestamp.bytes, statements: valid };
}
