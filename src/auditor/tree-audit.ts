// SPDX-License-Identifier: Apache-2.0
// The auditor's check of one new snapshot Merkle tree against the last tree it verified (TAP 16):
// every file it reads must hash to the node it is named by (top → nodes → shards), every shard's
// entries must belong there and be sorted, and across the two trees no role may lose its entry
// or go down in version. Only the files whose hash changed are read: the rest of the tree is the
// one already verified. Pure code over a file-reading port: no network, no disk.
import {
  MERKLE_SHARD_LIMIT,
  merkleNodeLimit,
  nodeFileName,
  shardFileName,
  topFileName,
  MerkleMalformedError,
  MerkleRoleMissingError,
  MerkleRollbackError,
  verifyNodeFile,
  verifyShardFile,
  verifyTopFile,
  type MerkleField,
  type MerkleLeaf,
} from '../tuf/index.js';
import { mapPool } from '../mirror/pool.js';

/** What the auditor keeps of a verified tree: its shape and every node and shard hash. */
export interface VerifiedTree {
  field: MerkleField;
  /** nodes[d]: the hashes the files of level d list, in order (the names of the node files of level d + 1). */
  nodes: string[][];
  /** All S shard hashes, in shard order. */
  shards: string[];
}

export interface TreeFiles {
  /** The bytes of `metadata/merkle/<name>` (top, node or shard file). */
  read(name: string, maxLength: number): Promise<Buffer>;
}

export interface PreviousLeaves {
  /** The leaves of shard `index` of the previous tree (its file, verified then, kept by the auditor). */
  shard(index: number, hash: string): Promise<readonly MerkleLeaf[]>;
}

export interface TreeAuditResult {
  tree: VerifiedTree;
  /** The verified top file (the auditor keeps it: with the node files it is the whole tree's hashes). */
  top: Buffer;
  /** The node files that changed (every level), verified. */
  changedNodes: { hash: string; bytes: Buffer }[];
  /** The shards that changed, with their verified files (to keep for the next comparison). */
  changed: { index: number; hash: string; bytes: Buffer; leaves: readonly MerkleLeaf[] }[];
  /** Roles the new tree lists that the previous did not. */
  added: number;
}

const FETCH_CONCURRENCY = 8;

/** Every tree names the top-level targets role: a tree without it cannot serve any client. */
export const REQUIRED_ROLES = ['targets'] as const;

/**
 * Verifies the tree `field` names, reading only what differs from `previous` (undefined: the
 * first tree, read whole).
 * @throws MerkleProofError (a file does not hash to its name, a leaf in the wrong shard, unsorted),
 *   MerkleRollbackError (a role's version went down), MerkleRoleMissingError (a role disappeared,
 *   or the tree lacks `targets`), MerkleMalformedError / MerkleTooLargeError (bad files),
 *   DownloadError (a file could not be read).
 */
export async function auditTree(field: MerkleField, files: TreeFiles, previous: VerifiedTree | undefined, previousLeaves: PreviousLeaves): Promise<TreeAuditResult> {
  if (previous && (previous.field.shards !== field.shards || previous.field.fanout.join() !== field.fanout.join())) {
    throw new MerkleMalformedError(`the tree changed shape (${previous.field.shards} shards → ${field.shards}): the shard count is fixed when the index is created`);
  }
  const limit = merkleNodeLimit(field.shards);
  const top = await files.read(topFileName(field.root), limit);
  let listed = verifyTopFile(top, field);
  const nodes: string[][] = [];
  const changedNodes: TreeAuditResult['changedNodes'] = [];
  // Level by level, only the files whose hash changed; downloads run a few at a time (a first
  // tree is every file), verification stays in order.
  for (let d = 1; d < field.fanout.length; d++) {
    nodes.push(listed);
    const f = field.fanout[d] as number;
    const before = previous?.nodes[d - 1];
    const next = previous ? (d === field.fanout.length - 1 ? previous.shards : (previous.nodes[d] as string[])).slice() : new Array<string>(listed.length * f).fill('');
    const changedHere = listed.map((hash, j) => ({ j, hash })).filter(({ j, hash }) => before?.[j] !== hash);
    const bytes = await mapPool(changedHere, FETCH_CONCURRENCY, ({ hash }) => files.read(nodeFileName(hash), limit));
    for (const [k, { j, hash }] of changedHere.entries()) {
      const members = verifyNodeFile(bytes[k] as Buffer, hash, d, field);
      changedNodes.push({ hash, bytes: bytes[k] as Buffer });
      for (let i = 0; i < f; i++) next[j * f + i] = members[i] as string;
    }
    listed = next;
  }
  const shards = listed;
  const changedShards: { index: number; hash: string }[] = [];
  for (const [index, hash] of shards.entries()) if (previous?.shards[index] !== hash) changedShards.push({ index, hash });
  const changed: TreeAuditResult['changed'] = [];
  let added = 0;
  const shardFiles = await mapPool(changedShards, FETCH_CONCURRENCY, ({ hash }) => files.read(shardFileName(hash), MERKLE_SHARD_LIMIT));
  for (const [k, { index, hash }] of changedShards.entries()) {
    const bytes = shardFiles[k] as Buffer;
    const leaves = verifyShardFile(bytes, hash, index, field);
    if (previous) {
      const now = new Map(leaves.map((l) => [l.role, l.version]));
      const before = await previousLeaves.shard(index, previous.shards[index] as string);
      for (const old of before) {
        const v = now.get(old.role);
        if (v === undefined) throw new MerkleRoleMissingError(old.role);
        if (v < old.version) throw new MerkleRollbackError(old.role, old.version, v);
      }
      added += leaves.length - before.length;
    } else added += leaves.length;
    changed.push({ index, hash, bytes, leaves });
  }
  const tree: VerifiedTree = { field, nodes, shards };
  if (!previous) {
    for (const role of REQUIRED_ROLES) {
      if (!changed.some((c) => c.leaves.some((l) => l.role === role))) throw new MerkleRoleMissingError(role);
    }
  }
  return { tree, top, changedNodes, changed, added };
}
