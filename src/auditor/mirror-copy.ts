// SPDX-License-Identifier: Apache-2.0
// `bulwark mirror sync` copies the auditors' statements too, so that auditor-requiring clients
// can use a mirror. Each is verified first (root's auditor key, embedded timestamp, expiry); one
// that is missing, stale or bad upstream is not copied, and the mirror keeps what it had: a
// client refuses an expired statement anyway, and nothing unverified is ever served.
import type { Fetcher } from '../client/fetcher.js';
import { DownloadError, RepositoryError, type Root } from '../tuf/index.js';
import { rootAuditors } from './root-auditors.js';
import { STATEMENT_MAX_LENGTH, verifyStatement } from './statement.js';

/** Copies each auditor's statement; returns the key ids copied. */
export async function copyAuditStatements(
  root: Root,
  upstreamMetadataUrl: string,
  fetcher: Fetcher,
  write: (relPath: string, bytes: Buffer) => Promise<void>,
  now = new Date()
): Promise<string[]> {
  const copied: string[] = [];
  for (const keyid of rootAuditors(root)?.keyids ?? []) {
    const rel = `audit/${keyid}.json`;
    try {
      const bytes = await fetcher.fetch(`${upstreamMetadataUrl.replace(/\/+$/, '')}/${rel}`, STATEMENT_MAX_LENGTH);
      verifyStatement(bytes, keyid, root, now);
      await write(`metadata/${rel}`, bytes);
      copied.push(keyid);
    } catch (e) {
      if (!(e instanceof RepositoryError || e instanceof DownloadError)) throw e;
    }
  }
  return copied;
}
