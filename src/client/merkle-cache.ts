// SPDX-License-Identifier: Apache-2.0
// The client's cache of snapshot Merkle tree files (<metadata>/merkle/, each named as the index
// names it, by the hash it proves). Every new tree adds a top file and the node and shard files
// that changed on the client's paths; without pruning the directory grows with every refresh.
// Once a new top file is verified, prune() keeps the top, and the node and shard files that the
// top or some cached node file lists. An old file's children thus stay for one more refresh: a
// node or shard often outlives its parent (another shard below that parent changed), and the
// refresh that needs it downloads only the new parent. A file listed by nothing goes, so files of
// old trees go one level per refresh, and the cache holds at most the current tree's files on the
// client's paths plus a few generations of replaced ones; a refresh verifies every file against
// the hash its parent lists, whatever is cached. Files of the two-level layout (.top.json,
// .group.json) are removed.
//
// Safe to interrupt: each removal is of one cache entry, re-downloaded and verified if it is ever
// needed again. Old top files go last, so a prune cut short leaves an old top file behind and the
// next refresh prunes again; while only the current top is cached there is nothing to prune, and
// a refresh costs one readdir (none when this process pruned for this tree already).
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RepositoryError, topFileName, verifyNodeFile, type MerkleField } from '../tuf/index.js';

const TOP = '.tree.json';
const NODE = '.node.json';
const SHARD = '.shard.json';
/** The two-level layout's files (before the node levels): never used again. */
const LEGACY = ['.top.json', '.group.json'];
/** A temporary file of an atomic write this old was left by a crash, not a write in progress. */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * Prunes `dir` to the tree `field` names, whose top file (listing `nodes`) was just verified:
 * other top files, node and shard files neither it nor a cached node file lists.
 */
export async function pruneMerkleCache(dir: string, field: MerkleField, nodes: readonly string[]): Promise<void> {
  // Pruned for this very tree already in this process: nothing has been added since but by us.
  if (prunedFor.get(dir) === field.root) return;
  await pruneOnce(dir, field, nodes);
  if (prunedFor.size >= 1000) prunedFor.clear();
  prunedFor.set(dir, field.root);
}

/** The tree each cache directory was last pruned for by this process (a refresh skips the readdir). */
const prunedFor = new Map<string, string>();

async function pruneOnce(dir: string, field: MerkleField, nodes: readonly string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const top = topFileName(field.root);
  const oldTops = names.filter((n) => (n.endsWith(TOP) && n !== top) || LEGACY.some((suffix) => n.endsWith(suffix)));
  if (oldTops.length === 0) return;

  const listed = new Set(nodes);
  for (const name of names) {
    if (!name.endsWith(NODE)) continue;
    const bytes = await readFile(join(dir, name)).catch(() => undefined);
    // A cached node file's level is not in its name: any level whose count it has will do, since
    // the hash is checked all the same (a damaged one lists nothing: it would be downloaded again).
    for (let level = 1; bytes && level < field.fanout.length; level++) {
      try {
        for (const h of verifyNodeFile(bytes, name.slice(0, -NODE.length), level, field)) listed.add(h);
        break;
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e;
      }
    }
  }
  const remove = (name: string) => rm(join(dir, name), { force: true });
  for (const name of names) {
    if ((name.endsWith(SHARD) && !listed.has(name.slice(0, -SHARD.length))) || (name.endsWith(NODE) && !listed.has(name.slice(0, -NODE.length)))) await remove(name);
    else if (name.startsWith('.tmp-')) {
      const age = await stat(join(dir, name)).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_TEMP_MS) await remove(name);
    }
  }
  for (const name of oldTops) await remove(name);
}
