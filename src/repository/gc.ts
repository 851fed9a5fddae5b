// SPDX-License-Identifier: Apache-2.0
// Garbage collection of the static tree (PEP 458 §Consistent Snapshots: mark-and-sweep from the
// newest timestamp). Marked, and kept:
//  - the newest `keep` consistent snapshots and everything they reach: every metadata version
//    they list (with its compressed copies) and every target those list (under its hash name
//    and its pip name);
//  - every root version and timestamp.json;
//  - every file the database knows now (uploads not yet in a published snapshot included);
//  - the snapshot Merkle trees (top, node and shard files) of the newest `keepTrees`
//    publications signed with the current timestamp key (TAP 16: earlier trees signed with the
//    current timestamp key stay available; docs/merkle-snapshots.md, "Garbage collection").
// Swept: everything else older than the grace period (files written in the last minutes may
// belong to a publication in progress). Clients that ask for a removed snapshot get a 404 and
// start over from the newest timestamp.
import {
  MERKLE_FIELD,
  MerkleMalformedError,
  Metadata,
  parseMerkleField,
  readMerkleNodes,
  shardFileName,
  type MerkleField,
  type Timestamp,
} from '../tuf/index.js';
import { fileBlobPath, metadataBlobPath, targetBlobPath, targetPath } from './layout.js';
import { merkleBlobPath } from './merkle-files.js';
import type { Repository } from './repository.js';

export interface GcOptions {
  /** Consistent snapshots to keep, newest first (default 3; at least 1). */
  keep?: number;
  /** Publications whose Merkle trees are kept, newest first (default 1000; at least 1). */
  keepTrees?: number;
  dryRun?: boolean;
  /** Never remove files younger than this (ms; default 10 minutes). */
  graceMs?: number;
  onProgress?: (done: number, total: number, phase: 'mark' | 'sweep') => void;
  now?: Date;
}

export interface GcResult {
  keptSnapshots: number[];
  /** Roots of the Merkle trees kept, newest first. */
  keptTrees: string[];
  marked: number;
  removed: string[];
  bytesFreed: number;
  dryRun: boolean;
}

const SNAPSHOT_FILE = /^(\d+)\.snapshot\.json$/;

export async function collectGarbage(repo: Repository, opts: GcOptions = {}): Promise<GcResult> {
  const keep = Math.max(1, opts.keep ?? 3);
  const graceMs = opts.graceMs ?? 10 * 60_000;
  const now = (opts.now ?? new Date()).getTime();
  const blobs = repo.blobs;
  const marked = new Set<string>();
  const markMeta = (role: string, version: number | null) => {
    const p = metadataBlobPath(role, version);
    marked.add(p).add(`${p}.gz`).add(`${p}.br`);
  };

  // Roots forever, and the timestamp.
  const all: string[] = [];
  for await (const p of blobs.list('metadata')) all.push(p);
  for (const p of all) if (/^metadata\/\d+\.root\.json$/.test(p)) marked.add(p);
  for (const p of all) if (p.startsWith('metadata/audit/')) marked.add(p); // auditors' statements (src/auditor/)
  markMeta('timestamp', null);

  // The newest `keep` snapshots, the one the timestamp names first among them.
  const ts = Metadata.parse((await blobs.get(metadataBlobPath('timestamp', null))) as Buffer, 'timestamp');
  const versions = all
    .map((p) => SNAPSHOT_FILE.exec(p.slice('metadata/'.length))?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .filter((v) => v <= ts.signed.snapshotMeta.version)
    .sort((a, b) => b - a)
    .slice(0, keep);
  const roleVersions = new Set<string>();
  for (const v of versions) {
    markMeta('snapshot', v);
    const snap = Metadata.parse((await blobs.get(metadataBlobPath('snapshot', v))) as Buffer, 'snapshot');
    for (const [file, meta] of snap.signed.meta) roleVersions.add(`${meta.version}\0${file.slice(0, -'.json'.length)}`);
  }
  let done = 0;
  for (const rv of roleVersions) {
    const [version, role] = rv.split('\0') as [string, string];
    markMeta(role, Number(version));
    const bytes = await blobs.get(metadataBlobPath(role, Number(version)));
    if (bytes) {
      for (const t of Metadata.parse(bytes, 'targets', role).signed.targets.values()) {
        const sha = t.hashes['sha256'];
        if (!sha) continue;
        marked.add(targetBlobPath(t.path, sha));
        const slash = t.path.indexOf('/');
        marked.add(fileBlobPath(t.path.slice(0, slash), t.path.slice(slash + 1)));
      }
    }
    opts.onProgress?.(++done, roleVersions.size, 'mark');
  }
  const keptTrees = await markMerkleTrees(repo, ts, Math.max(1, opts.keepTrees ?? 1000), marked);

  // What the database knows now: published or not yet.
  for (const project of await repo.state.listProjects()) {
    for (const f of await repo.state.projectFiles(project.name)) {
      marked.add(targetBlobPath(targetPath(f.project, f.filename), f.sha256)).add(fileBlobPath(f.project, f.filename));
      if (f.metadataSha256) {
        marked.add(targetBlobPath(targetPath(f.project, `${f.filename}.metadata`), f.metadataSha256)).add(fileBlobPath(f.project, `${f.filename}.metadata`));
      }
    }
  }

  // Sweep.
  const candidates: string[] = [...all];
  for await (const p of blobs.list('targets')) candidates.push(p);
  for await (const p of blobs.list('files')) candidates.push(p);
  const removed: string[] = [];
  let bytesFreed = 0;
  done = 0;
  for (const p of candidates) {
    opts.onProgress?.(++done, candidates.length, 'sweep');
    if (marked.has(p)) continue;
    const st = await blobs.stat(p);
    if (!st || now - st.mtimeMs < graceMs) continue;
    removed.push(p);
    bytesFreed += st.size;
    if (!opts.dryRun) await blobs.delete(p);
  }
  return { keptSnapshots: versions, keptTrees, marked: marked.size, removed, bytesFreed, dryRun: opts.dryRun === true };
}

/**
 * Marks every file of the trees the newest `keepTrees` publications name, as long as their
 * timestamps are signed by the key that signs the current one (older trees belong to a rotated
 * key). Files are shared between trees: each node file is read once.
 */
async function markMerkleTrees(repo: Repository, current: Metadata<Timestamp>, keepTrees: number, marked: Set<string>): Promise<string[]> {
  const currentKeys = new Set(current.signatures.map((s) => s.keyid));
  const seen = new Set<string>();
  const roots: string[] = [];
  const mark = (name: string) => marked.add(merkleBlobPath(name)).add(`${merkleBlobPath(name)}.gz`);
  const timestamps = [current.bytes, ...(await repo.state.recentTimestamps(keepTrees))];
  for (const bytes of timestamps) {
    const ts = Metadata.parse(bytes, 'timestamp');
    if (!ts.signatures.some((s) => currentKeys.has(s.keyid))) break;
    const value = ts.signed.unrecognized[MERKLE_FIELD];
    if (value === undefined) continue;
    let field: MerkleField;
    try {
      field = parseMerkleField(value);
    } catch (e) {
      // An older layout's tree (two levels of files): no current client or auditor reads it.
      if (e instanceof MerkleMalformedError) break;
      throw e;
    }
    if (roots.includes(field.root)) continue; // a publication that only wrote a classic snapshot
    roots.push(field.root);
    // A node file seen in a newer tree is skipped: the same hash is the same subtree, marked then.
    const { shards } = await readMerkleNodes(field, async (name, verify) => {
      mark(name);
      if (seen.has(name)) return undefined;
      seen.add(name);
      const bytes = await repo.blobs.get(merkleBlobPath(name));
      return bytes ? verify(bytes) : undefined;
    });
    for (const sh of shards) if (sh !== '') mark(shardFileName(sh));
  }
  return roots;
}
