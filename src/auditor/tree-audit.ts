// SPDX-License-Identifier: Apache-2.0
// The auditor's check of one new snapshot Merkle tree against the last tree it verified (TAP 16):
// every file it reads must hash to the node it is named by (top → groups → shards), every shard's
// entries must belong there and be sorted, and across the two trees no role may lose its entry
// or go down in version. Only the files whose hash changed are read: the rest of the tree is the
// one already verified. Pure code over a file-reading port: no network, no disk.
import {
  groupFileName,
  MERKLE_GROUP_LIMIT,
  MERKLE_SHARD_LIMIT,
  merkleTopLimit,
  shardFileName,
  topFileName,
  MerkleMalformedError,
  MerkleRoleMissingError,
  MerkleRollbackError,
  verifyGroupFile,
  verifyShardFile,
  verifyTopFile,
  type MerkleField,
  type MerkleLeaf,
} from '../tuf/index.js';
import { mapPool } from '../mirror/pool.js';

/** What the auditor keeps of a verified tree: its shape and every group and shard hash. */
export interface VerifiedTree {
  field: MerkleField;
  groups: string[];
  /** All S shard hashes, in shard order. */
  shards: string[];
}

export interface TreeFiles {
  /** The bytes of `metadata/merkle/<name>` (top, group or shard file). */
  read(name: string, maxLength: number): Promise<Buffer>;
}

export interface PreviousLeaves {
  /** The leaves of shard `index` of the previous tree (its file, verified then, kept by the auditor). */
  shard(index: number, hash: string): Promise<readonly MerkleLeaf[]>;
}

export interface TreeAuditResult {
  tree: VerifiedTree;
  /** The verified top file (the auditor keeps it: with the group files it is the whole tree's hashes). */
  top: Buffer;
  /** The groups that changed, with their verified files. */
  changedGroups: { index: number; hash: string; bytes: Buffer }[];
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
  if (previous && (previous.field.shards !== field.shards || previous.field.groups !== field.groups)) {
    throw new MerkleMalformedError(`the tree changed shape (${previous.field.shards} shards → ${field.shards}): the shard count is fixed when the index is created`);
  }
  const perGroup = field.shards / field.groups;
  const top = await files.read(topFileName(field.root), merkleTopLimit(field.shards));
  const groups = verifyTopFile(top, field);
  const shards = previous ? previous.shards.slice() : new Array<string>(field.shards).fill('');
  const changedShards: { index: number; hash: string }[] = [];
  const verifiedGroups: TreeAuditResult['changedGroups'] = [];
  const changedGroups = groups.map((hash, g) => ({ g, hash })).filter(({ g, hash }) => !previous || previous.groups[g] !== hash);
  // Downloads run a few at a time (a first tree is every file); verification stays in order.
  const groupFiles = await mapPool(changedGroups, FETCH_CONCURRENCY, ({ hash }) => files.read(groupFileName(hash), MERKLE_GROUP_LIMIT));
  for (const [k, { g, hash }] of changedGroups.entries()) {
    const members = verifyGroupFile(groupFiles[k] as Buffer, hash, field);
    verifiedGroups.push({ index: g, hash, bytes: groupFiles[k] as Buffer });
    for (let i = 0; i < perGroup; i++) {
      const index = g * perGroup + i;
      const shardHash = members[i] as string;
      if (previous && previous.shards[index] === shardHash) continue;
      shards[index] = shardHash;
      changedShards.push({ index, hash: shardHash });
    }
  }
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
  const tree: VerifiedTree = { field, groups, shards };
  if (!previous) {
    for (const role of REQUIRED_ROLES) {
      if (!changed.some((c) => c.leaves.some((l) => l.role === role))) throw new MerkleRoleMissingError(role);
    }
  }
  return { tree, top, changedGroups: verifiedGroups, changed, added };
}
