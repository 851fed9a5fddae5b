// SPDX-License-Identifier: Apache-2.0
// What a mirror copies for Merkle clients (docs/merkle-snapshots.md, "Mirrors"): every file of
// the tree the verified timestamp names (top, nodes, shards), each verified against the hash
// it is named by, and the role files the tree's leaves name where they are newer than those
// the classic snapshot names (the classic snapshot trails the tree by up to its interval), each
// verified against its leaf's length and hash. A file already in the mirror is verified from
// disk, not fetched again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MERKLE_FIELD,
  MERKLE_SHARD_LIMIT,
  merkleNodeLimit,
  Metadata,
  parseMerkleField,
  RepositoryError,
  shardFileName,
  readMerkleNodes,
  verifyLengthAndHashes,
  verifyShardFile,
  type MerkleLeaf,
  type Targets,
  type Timestamp,
} from '../tuf/index.js';
import { mapPool } from './pool.js';
import { roleFilePath } from './walk.js';

export const MERKLE_REL = 'metadata/merkle';

export interface MerkleCopy {
  /** Tree files to write (not yet in the mirror), `metadata/merkle/<name>`. */
  files: { rel: string; bytes: Buffer }[];
  /** Every tree file the timestamp reaches (for pruning). */
  reached: string[];
  /** Role files the tree names at versions the classic walk did not copy, verified against their leaves. */
  newerRoles: { name: string; version: number; rel: string; bytes: Buffer; metadata: Metadata<Targets> }[];
}

/**
 * @param fetchMetadata fetches `metadata/<rel>` upstream with a length cap
 * @param copied the version of each role the classic walk copied
 * @throws RepositoryError (MERKLE_*, LENGTH_OR_HASH_MISMATCH) when upstream serves anything that does not verify
 */
export async function copyMerkleTree(o: {
  timestamp: Metadata<Timestamp>;
  dir: string;
  fetchMetadata: (rel: string, maxLength: number) => Promise<Buffer>;
  copied: ReadonlyMap<string, number>;
  concurrency?: number;
}): Promise<MerkleCopy | undefined> {
  const value = o.timestamp.signed.unrecognized[MERKLE_FIELD];
  if (value === undefined) return undefined;
  const field = parseMerkleField(value);
  const files: { rel: string; bytes: Buffer }[] = [];
  const reached: string[] = [];
  /** The verified bytes of one tree file: the mirror's copy if it verifies, else upstream's. */
  const load = async <T>(name: string, limit: number, verify: (b: Buffer) => T): Promise<T> => {
    const rel = `${MERKLE_REL}/${name}`;
    reached.push(rel);
    const local = await readFile(join(o.dir, rel)).catch(() => undefined);
    if (local) {
      try {
        return verify(local);
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e; // damaged: fetch it again
      }
    }
    const bytes = await o.fetchMetadata(`merkle/${name}`, limit + 1);
    const result = verify(bytes);
    files.push({ rel, bytes });
    return result;
  };
  const { shards } = await readMerkleNodes(field, (name, verify) => load(name, merkleNodeLimit(field.shards), verify));
  const leaves: MerkleLeaf[] = [];
  await mapPool([...shards.entries()], o.concurrency ?? 8, async ([index, shardHash]) => {
    leaves.push(...(await load(shardFileName(shardHash), MERKLE_SHARD_LIMIT, (b) => verifyShardFile(b, shardHash, index, field))));
  });
  const newer = leaves.filter((l) => o.copied.get(l.role) !== l.version);
  const newerRoles = await mapPool(newer, o.concurrency ?? 8, async (leaf) => {
    const rel = roleFilePath(leaf.role, leaf.version);
    // Bulwark's leaves always carry the hash; without it the bytes could not be checked here.
    if (leaf.sha256 === undefined) throw new RepositoryError('BAD_METADATA', `the Merkle leaf of ${leaf.role} lists no hash: the mirror cannot verify ${rel}`);
    const bytes = (await readFile(join(o.dir, rel)).catch(() => undefined)) ?? (await o.fetchMetadata(rel.slice('metadata/'.length), leaf.length ?? 8_000_000));
    verifyLengthAndHashes(`${leaf.role} (version ${leaf.version}, named by the Merkle tree)`, bytes, leaf.length, { sha256: leaf.sha256 });
    const metadata = Metadata.parse(bytes, 'targets', leaf.role);
    if (metadata.signed.version !== leaf.version) throw new RepositoryError('BAD_VERSION', `${rel} holds version ${metadata.signed.version}`);
    return { name: leaf.role, version: leaf.version, rel, bytes, metadata };
  });
  return { files, reached, newerRoles };
}
