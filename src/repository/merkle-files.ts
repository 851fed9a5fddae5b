// SPDX-License-Identifier: Apache-2.0
// The snapshot Merkle tree's files in the static tree (docs/merkle-snapshots.md): where they
// live, and writing them before the timestamp that names their root. Every file is named by
// the hash it proves, so it never changes: one already present has these very bytes, and a
// file left by a publication that never committed is harmless (GC removes it).
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { leafText, MERKLE_FIELD, MerkleTreeBuilder, Metadata, parseMerkleField, RepositoryError, topFileName, type MerkleFile } from '../tuf/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { RoleState } from '../storage/state/types.js';
import { ROLES } from './layout.js';

const gzipAsync = promisify(gzip);

export const MERKLE_DIR = 'metadata/merkle';

export function merkleBlobPath(name: string): string {
  return `${MERKLE_DIR}/${name}`;
}

/**
 * Tree files from this size are sent gzipped to clients that ask: shard files (≈ 1.7 KB at
 * 216,000 roles, half of it compressible JSON around the hashes) and larger node files.
 */
const COMPRESS_AT = 1024;
/** Files written (and fsynced) together when a whole tree is written at start-up. */
const WRITE_SLICE = 128;

/** The blobs of these tree files, for BlobStore.putNewAll (a publication batches them with its roles). */
export function merkleBlobs(files: readonly MerkleFile[]): { path: string; bytes: Uint8Array }[] {
  const unique = new Map(files.map((f) => [f.name, f.bytes]));
  return [...unique].map(([name, bytes]) => ({ path: merkleBlobPath(name), bytes }));
}

/**
 * Creates the files (durably, atomically; those already present are not rewritten), before the
 * timestamp names them: a client that sees the root finds every file below it.
 */
export async function writeMerkleFiles(blobs: BlobStore, files: readonly MerkleFile[]): Promise<void> {
  await blobs.putNewAll(merkleBlobs(files));
}

/**
 * A .gz copy beside the larger files, made after the timestamp (off the publication's critical
 * path): a client asking before it exists is sent the file uncompressed.
 */
export async function compressMerkleFiles(blobs: BlobStore, files: readonly MerkleFile[]): Promise<void> {
  const copies: { path: string; bytes: Uint8Array }[] = [];
  for (const { name, bytes } of files) {
    if (bytes.length < COMPRESS_AT) continue;
    const path = `${merkleBlobPath(name)}.gz`;
    if (!(await blobs.exists(path))) copies.push({ path, bytes: await gzipAsync(bytes, { level: 9 }) });
  }
  await blobs.putAll(copies);
}

/**
 * A published role's snapshot entry (its leaf), or undefined for the roles the snapshot does
 * not list: root, snapshot, timestamp, and project roles recorded but never published (version 0).
 */
export function leafOfRole(r: RoleState): string | undefined {
  if (r.name === ROLES.root || r.name === ROLES.snapshot || r.name === ROLES.timestamp || r.version <= 0) return undefined;
  return leafText(r.name, r.version, r);
}

/** The tree of the snapshot entries of these published roles. */
export function treeOfRoles(shards: number, roles: Iterable<RoleState>): MerkleTreeBuilder {
  const entries: { role: string; leaf: string }[] = [];
  for (const r of roles) {
    const leaf = leafOfRole(r);
    if (leaf !== undefined) entries.push({ role: r.name, leaf });
  }
  return MerkleTreeBuilder.build(shards, entries);
}

/**
 * At start-up: writes every file of the tree if its top file is missing (a repository that
 * published before Merkle trees existed or in the two-level layout, whose top file had another
 * name, or a new one). Else they were written before the timestamp that named them.
 */
export async function ensureTreeFiles(blobs: BlobStore, tree: MerkleTreeBuilder, opts: { compress: boolean }): Promise<boolean> {
  if (await blobs.exists(merkleBlobPath(topFileName(tree.root)))) return false;
  const files = tree.allFiles();
  // A slice at a time (16,913 files at 16,384 shards): a bounded number of files open at once,
  // and one directory fsync per slice instead of one per file.
  for (let i = 0; i < files.length; i += WRITE_SLICE) await writeMerkleFiles(blobs, files.slice(i, i + WRITE_SLICE));
  if (opts.compress) await compressMerkleFiles(blobs, files);
  return true;
}

/**
 * Whether a published timestamp that names a tree names this one. False for a tree in another
 * layout (the two-level one before node levels: clients refuse its field) or of another root:
 * the new leader then publishes a timestamp naming its tree at once.
 */
export function timestampNamesTree(timestamp: Uint8Array, tree: MerkleTreeBuilder): boolean {
  const value = Metadata.parse(Buffer.from(timestamp), 'timestamp').signed.unrecognized[MERKLE_FIELD];
  if (value === undefined) return true; // no tree yet: its first publication with one names it
  try {
    return parseMerkleField(value).root === tree.root;
  } catch (e) {
    if (e instanceof RepositoryError) return false;
    throw e;
  }
}
