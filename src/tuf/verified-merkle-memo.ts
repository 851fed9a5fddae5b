// SPDX-License-Identifier: Apache-2.0
// Snapshot Merkle tree files (docs/merkle-snapshots.md) already verified in this process, by
// name, with their exact bytes and what verifying them returned. A long-lived client refreshes
// every few seconds along the same path: top file, a group and a shard per role, each parsed and
// re-hashed (~128 hashes a group) though the tree has not changed.
//
// Why this is sound: verifying a tree file is a function of its bytes, the hash it must prove
// (in its name) and the tree's shape (shard and group counts, the shard's index), all in the key;
// an entry answers only for byte-identical input, so it returns exactly what a new check would.
// What depends on the update (the rollback check of leaves against earlier versions, which
// tree the timestamp names) stays with the caller.

interface Entry {
  shape: string;
  bytes: Buffer;
  result: unknown;
}

/** At most this many bytes of tree files are remembered (least recently used go first). */
const MAX_BYTES = 32 * 2 ** 20;
const entries = new Map<string, Entry>();
let heldBytes = 0;

/**
 * `verify()` of tree file `name` under `shape` (whatever else the result depends on), or what
 * it returned before for the same bytes. A failure is never remembered.
 */
export function verifiedMerkleFile<T>(name: string, shape: string, bytes: Uint8Array, verify: () => T): T {
  const hit = entries.get(name);
  if (hit && hit.shape === shape && hit.bytes.equals(bytes)) {
    entries.delete(name); // most recently used last
    entries.set(name, hit);
    return hit.result as T;
  }
  const result = verify();
  if (hit) {
    entries.delete(name);
    heldBytes -= hit.bytes.length;
  }
  entries.set(name, { shape, bytes: Buffer.from(bytes), result: Object.freeze(result) });
  heldBytes += bytes.length;
  for (const [k, e] of entries) {
    if (heldBytes <= MAX_BYTES) break;
    entries.delete(k);
    heldBytes -= e.bytes.length;
  }
  return result;
}

/** The bytes of tree file `name` verified before under any shape, if still remembered. */
export function recallMerkleFileBytes(name: string): Buffer | undefined {
  return entries.get(name)?.bytes;
}

/** For tests: forget everything. */
export function clearVerifiedMerkleFiles(): void {
  entries.clear();
  heldBytes = 0;
}
