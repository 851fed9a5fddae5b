// SPDX-License-Identifier: Apache-2.0
// Database rows to records, shared by the SQLite and PostgreSQL stores: same columns, and the
// one difference, how a flag comes back (SQLite 0/1, PostgreSQL BOOLEAN), handled by flag().
import type { FileRecord, JournalEntry, UserRecord } from './types.js';

export type Row = Record<string, unknown>;

/**
 * SQL for one target's canonical JSON fragment, `"path":entry`, on SQLite (`char`) or PostgreSQL
 * (`chr`). Canonical JSON escapes only `"` and `\` in strings (canonicalString()), and entry is
 * stored canonical already. Code 92 is a backslash, 34 a double quote: no string literal whose
 * meaning depends on PostgreSQL's standard_conforming_strings.
 */
export function canonicalTargetFragmentSql(charFunction: 'char' | 'chr'): string {
  const backslash = `${charFunction}(92)`;
  const quote = `${charFunction}(34)`;
  return `${quote} || replace(replace(path, ${backslash}, ${backslash} || ${backslash}), ${quote}, ${backslash} || ${quote}) || ${quote} || ':' || entry`;
}

function flag(v: unknown): boolean {
  return v === true || v === 1;
}

export function toUser(r: Row): UserRecord {
  return { id: r['id'] as number, name: r['name'] as string, isAdmin: flag(r['is_admin']), createdAt: r['created_at'] as string };
}
export function toFile(r: Row): FileRecord {
  return {
    id: r['id'] as number,
    project: r['project'] as string,
    version: r['version'] as string,
    filename: r['filename'] as string,
    packagetype: r['packagetype'] as FileRecord['packagetype'],
    pythonVersion: r['python_version'] as string,
    requiresPython: (r['requires_python'] as string | null) ?? null,
    size: r['size'] as number,
    sha256: r['sha256'] as string,
    md5: (r['md5'] as string | null) ?? null,
    metadataSha256: (r['metadata_sha256'] as string | null) ?? null,
    metadataSize: (r['metadata_size'] as number | null) ?? null,
    uploadTime: r['upload_time'] as string,
    uploaderId: r['uploader_id'] as number,
    yanked: flag(r['yanked']),
    yankedReason: (r['yanked_reason'] as string | null) ?? null,
    summary: (r['summary'] as string | null) ?? null,
    journalSeq: r['journal_seq'] as number,
  };
}
export function toJournal(r: Row): JournalEntry {
  return {
    seq: r['seq'] as number,
    kind: r['kind'] as JournalEntry['kind'],
    project: r['project'] as string,
    state: r['state'] as JournalEntry['state'],
    createdAt: r['created_at'] as string,
    publishedVersion: (r['published_version'] as number | null) ?? null,
    error: (r['error'] as string | null) ?? null,
  };
}
