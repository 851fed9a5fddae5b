// SPDX-License-Identifier: Apache-2.0
// The offline audit archive (PEP 480 §Auditing Snapshots): for one consistent snapshot of an
// index, verified through TUF from a pinned root, the hash, length and vouching role of every
// target a client can get, the versions and hashes of every metadata file, and the trusted root
// it was verified with (so that `audit compare` can verify sources from it later, offline).
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fetcher } from '../client/fetcher.js';
import { Updater } from '../client/updater.js';
import { LocalOrHttpFetcher } from '../mirror/source.js';
import { walkSnapshot, type SnapshotWalk } from '../mirror/walk.js';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { BadMetadataError, Metadata, RepositoryError } from '../tuf/index.js';

export const ARCHIVE_FORMAT = 'bulwark-audit-archive/1';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export interface ArchivedTarget {
  sha256: string;
  length: number;
  /** The role a client's search finds it in (TUF §5.6.7.2). */
  role: string;
}

export interface AuditArchive {
  format: typeof ARCHIVE_FORMAT;
  createdAt: string;
  source: string;
  /** The newest root (exact bytes in base64): `audit compare` verifies sources from it. */
  root: { version: number; sha256: string; bytes: string };
  timestamp: { version: number; sha256: string };
  snapshot: { version: number; sha256: string; length: number };
  roles: Record<string, { version: number; sha256: string }>;
  targets: Record<string, ArchivedTarget>;
}

export interface VerifiedSnapshot {
  walk: SnapshotWalk;
  /** Every target path a client can get, with the entry and role its search finds. */
  targets: Map<string, ArchivedTarget>;
}

/**
 * Verifies a source's current snapshot from a trusted root (a fresh, throwaway metadata cache),
 * walks every role, and resolves each listed path as a client would.
 * @throws RepositoryError (verification), DownloadError
 */
export async function verifySnapshot(o: {
  base: string;
  rootBytes: Buffer;
  fetcher?: Fetcher;
  now?: Date;
  onRole?: (done: number, total: number) => void;
}): Promise<VerifiedSnapshot> {
  const tmp = await mkdtemp(join(tmpdir(), 'bulwark-audit-'));
  try {
    const metadataDir = join(tmp, 'metadata');
    Metadata.parse(o.rootBytes, 'root'); // fail early on something that is no root
    await writeFileAtomic(join(metadataDir, 'root.json'), o.rootBytes, { durable: false });
    const updater = new Updater({
      metadataDir,
      indexUrl: o.base,
      fetcher: o.fetcher ?? new LocalOrHttpFetcher(),
      snapshotMode: 'classic', // the archive is of the whole classic snapshot
      ...(o.now ? { now: o.now } : {}),
    });
    await updater.refresh();
    const walk = await walkSnapshot(updater, o.onRole ? { onRole: o.onRole } : {});
    const paths = new Set<string>();
    for (const r of walk.roles) for (const p of r.metadata.signed.targets.keys()) paths.add(p);
    const targets = new Map<string, ArchivedTarget>();
    for (const path of [...paths].sort()) {
      // Roles are all loaded: the search only walks verified metadata in memory.
      const found = await updater.findTarget(path);
      if (!found) continue; // listed only where no client's search looks
      const hash = found.target.hashes['sha256'];
      if (!hash) throw new BadMetadataError(`target ${path} (in ${found.role}) has no sha256 hash`);
      targets.set(path, { sha256: hash, length: found.target.length, role: found.role });
    }
    return { walk, targets };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Builds the archive of a source's current snapshot, verified from the pinned root. */
export async function createArchive(o: { base: string; label: string; rootBytes: Buffer; fetcher?: Fetcher; now?: Date; onRole?: (done: number, total: number) => void }): Promise<AuditArchive> {
  const { walk, targets } = await verifySnapshot(o);
  const roles: AuditArchive['roles'] = {};
  for (const r of [...walk.roles].sort((a, b) => (a.name < b.name ? -1 : 1))) roles[r.name] = { version: r.version, sha256: sha256(r.metadata.bytes) };
  const targetObj: AuditArchive['targets'] = {};
  for (const [path, t] of targets) targetObj[path] = t;
  return {
    format: ARCHIVE_FORMAT,
    createdAt: (o.now ?? new Date()).toISOString(),
    source: o.label,
    root: { version: walk.root.signed.version, sha256: sha256(walk.root.bytes), bytes: walk.root.bytes.toString('base64') },
    timestamp: { version: walk.timestamp.signed.version, sha256: sha256(walk.timestamp.bytes) },
    snapshot: { version: walk.snapshot.signed.version, sha256: sha256(walk.snapshot.bytes), length: walk.snapshot.bytes.length },
    roles,
    targets: targetObj,
  };
}

export async function writeArchive(path: string, archive: AuditArchive): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(archive, null, 1)}\n`);
}

export class ArchiveFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveFormatError';
  }
}

/** Parses and sanity-checks an archive file's contents. */
export function parseArchive(text: string): AuditArchive {
  let a: AuditArchive;
  try {
    a = JSON.parse(text) as AuditArchive;
  } catch (e) {
    throw new ArchiveFormatError(`not an audit archive (invalid JSON): ${(e as Error).message}`);
  }
  if (a?.format !== ARCHIVE_FORMAT || typeof a.targets !== 'object' || typeof a.root?.bytes !== 'string') {
    throw new ArchiveFormatError(`not an audit archive (format ${JSON.stringify(a?.format)}, expected ${ARCHIVE_FORMAT})`);
  }
  for (const [path, t] of Object.entries(a.targets)) {
    if (typeof t?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(t.sha256) || !Number.isInteger(t.length) || typeof t.role !== 'string') {
      throw new ArchiveFormatError(`archive entry ${path} is malformed`);
    }
  }
  try {
    const root = Metadata.parse(Buffer.from(a.root.bytes, 'base64'), 'root');
    if (root.signed.version !== a.root.version) throw new ArchiveFormatError('archive root version does not match its bytes');
  } catch (e) {
    if (e instanceof RepositoryError) throw new ArchiveFormatError(`archive root is not root metadata: ${e.message}`);
    throw e;
  }
  return a;
}

/** The current snapshot's version and sha256, verified from a root: what an operator publishes. */
export async function snapshotHash(o: { base: string; rootBytes: Buffer; fetcher?: Fetcher; now?: Date }): Promise<{ snapshot: number; sha256: string; length: number; timestamp: number; root: number }> {
  const tmp = await mkdtemp(join(tmpdir(), 'bulwark-audit-'));
  try {
    const metadataDir = join(tmp, 'metadata');
    await writeFileAtomic(join(metadataDir, 'root.json'), o.rootBytes, { durable: false });
    const updater = new Updater({ metadataDir, indexUrl: o.base, fetcher: o.fetcher ?? new LocalOrHttpFetcher(), snapshotMode: 'classic', ...(o.now ? { now: o.now } : {}) });
    await updater.refresh();
    const { root, timestamp, snapshot } = updater.getVerifiedTopLevel();
    return { snapshot: snapshot.signed.version, sha256: sha256(snapshot.bytes), length: snapshot.bytes.length, timestamp: timestamp.signed.version, root: root.signed.version };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
