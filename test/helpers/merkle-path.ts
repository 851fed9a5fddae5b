// Tests' view of a published snapshot Merkle tree (docs/merkle-snapshots.md): the files on the
// path to one shard, read and verified level by level, and a forged path with that shard
// replaced (every hash above it recomputed, as an attacker holding the timestamp key would).
import {
  merkleSteps,
  merkleTreeHash,
  nodeFileBytes,
  nodeFileName,
  shardFileName,
  topFileBytes,
  topFileName,
  verifyNodeFile,
  verifyTopFile,
  type MerkleField,
  type MerkleFile,
} from '../../src/tuf/index.js';

export interface MerklePath {
  /** The top file's name, then each node file's, level by level. */
  names: string[];
  /** What each of those files lists (verified). */
  lists: string[][];
  shardHash: string;
  shardName: string;
}

/** The verified path from the root to shard `shard`; `read` returns a file of metadata/merkle/ by name. */
export async function readMerklePath(field: MerkleField, shard: number, read: (name: string) => Promise<Buffer | undefined>): Promise<MerklePath> {
  const names: string[] = [];
  const lists: string[][] = [];
  let hash = field.root;
  for (const [level, { slot }] of merkleSteps(shard, field.fanout).entries()) {
    const name = level === 0 ? topFileName(hash) : nodeFileName(hash);
    const bytes = await read(name);
    if (!bytes) throw new Error(`${name} is not published`);
    const list = level === 0 ? verifyTopFile(bytes, field) : verifyNodeFile(bytes, hash, level, field);
    names.push(name);
    lists.push(list);
    hash = list[slot] as string;
  }
  return { names, lists, shardHash: hash, shardName: shardFileName(hash) };
}

/** The top and node files of a tree equal to `path`'s except that shard's hash is `shardHash`; and its root. */
export function forgeMerklePath(field: MerkleField, shard: number, path: MerklePath, shardHash: Buffer): { root: string; files: MerkleFile[] } {
  const steps = merkleSteps(shard, field.fanout);
  const files: MerkleFile[] = [];
  let hash = shardHash;
  for (let level = steps.length - 1; level >= 0; level--) {
    const list = (path.lists[level] as string[]).map((h, i) => (i === steps[level]?.slot ? hash : Buffer.from(h, 'hex')));
    hash = merkleTreeHash(list);
    const name = hash.toString('hex');
    files.push(level === 0 ? { name: topFileName(name), bytes: topFileBytes(list, field.shards) } : { name: nodeFileName(name), bytes: nodeFileBytes(list) });
  }
  return { root: hash.toString('hex'), files };
}
