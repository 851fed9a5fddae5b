// SPDX-License-Identifier: Apache-2.0
// The index's side of audit statements: who may upload one (a token the operator made for one
// auditor key), and storing it after it verified against the published root. Statements are
// files of the static tree (metadata/audit/<keyid>.json), so mirrors and CDNs serve them too.
import { createHash, timingSafeEqual } from 'node:crypto';
import { metadataBlobPath, ROLES } from '../repository/layout.js';
import type { Repository } from '../repository/repository.js';
import { newToken } from '../repository/accounts.js';
import { Metadata, type Root } from '../tuf/index.js';
import { AuditError } from './errors.js';
import { verifyStatement, type AuditStatement } from './statement.js';

const TOKEN_SETTING = (keyid: string) => `auditor-token:${keyid}`;
const KEYID = /^[0-9a-f]{64}$/;

export function isKeyId(s: string): boolean {
  return KEYID.test(s);
}

/** Where the statement of auditor `keyid` is served: `/metadata/audit/<keyid>.json`. */
export function statementPath(keyid: string): string {
  if (!isKeyId(keyid)) throw new AuditError('AUDIT_MALFORMED', `not a key id: ${JSON.stringify(keyid.slice(0, 80))}`);
  return `metadata/audit/${keyid}.json`;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Makes the upload token of one auditor key (replacing any earlier one): the operator runs it
 * on the index and hands the token to whoever runs the auditor. It allows nothing but
 * uploading that key's statements; only its SHA-256 is kept (accounts.ts does the same).
 */
export async function newAuditorToken(repo: Repository, keyid: string): Promise<string> {
  statementPath(keyid);
  const token = newToken();
  await repo.state.setSetting(TOKEN_SETTING(keyid), sha256(token).toString('hex'));
  return token;
}

/** Whether `token` is the upload token of auditor `keyid`. */
export async function isAuditorToken(repo: Repository, keyid: string, token: string | undefined): Promise<boolean> {
  if (!token || token.length > 200 || !isKeyId(keyid)) return false;
  const stored = await repo.state.getSetting(TOKEN_SETTING(keyid));
  return stored !== undefined && timingSafeEqual(Buffer.from(stored, 'hex'), sha256(token));
}

async function publishedRoot(repo: Repository): Promise<Root> {
  const st = (await repo.state.roleStates()).find((r) => r.name === ROLES.root);
  const bytes = st && (await repo.blobs.get(metadataBlobPath(ROLES.root, st.version)));
  if (!bytes) throw new Error('the published root is missing');
  return Metadata.parse(bytes, 'root').signed;
}

export class StatementRefusedError extends Error {
  constructor(
    readonly code: 'OLDER_STATEMENT',
    message: string
  ) {
    super(message);
    this.name = 'StatementRefusedError';
  }
}

// One upload at a time per process: the check against the stored statement and the write are
// one step. (Two index processes racing on one auditor's uploads can at worst keep the older of
// two valid statements until the auditor's next upload.)
let queue: Promise<unknown> = Promise.resolve();

/**
 * Verifies a statement against the published root (auditor key, signature, expiry, embedded
 * timestamp) and stores it unless it is older than the stored one (a lower statement version or
 * timestamp version, or the same version again).
 * @throws AuditError when it does not verify; StatementRefusedError when it is older.
 */
export function storeStatement(repo: Repository, keyid: string, bytes: Buffer, now = new Date()): Promise<AuditStatement> {
  const run = async () => {
    const path = statementPath(keyid);
    const root = await publishedRoot(repo);
    const statement = verifyStatement(bytes, keyid, root, now);
    const storedBytes = await repo.blobs.get(path);
    if (storedBytes) {
      let stored: AuditStatement | undefined;
      try {
        stored = verifyStatement(storedBytes, keyid, root, new Date(0));
      } catch {
        stored = undefined; // signed under another root, or damaged: the new one replaces it
      }
      if (stored && (statement.version <= stored.version || statement.timestampVersion < stored.timestampVersion)) {
        throw new StatementRefusedError(
          'OLDER_STATEMENT',
          `statement ${statement.version} (timestamp ${statement.timestampVersion}) is not newer than the stored statement ${stored.version} (timestamp ${stored.timestampVersion})`
        );
      }
    }
    await repo.blobs.put(path, bytes);
    return statement;
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
