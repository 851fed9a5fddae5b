// SPDX-License-Identifier: Apache-2.0
// The client's cache of snapshot Merkle tree files (<metadata>/merkle/, each named as the index
// names it, by the hash it proves). Every new tree adds a top file and the group and shard files
// that changed on the client's paths; without pruning the directory grows with every refresh.
// Once a new top file is verified, prune() keeps the top, the group files it names, and the
// shard files some cached group file lists. Old group files go too, but the shards they listed
// stay for this one refresh: a shard often outlives its group (another shard of the group
// changed), and the refresh that needs it downloads only the new group. So the cache holds at
// most the current tree's files on the client's paths plus the shards of the tree it refreshed
// from; a refresh verifies every file against the hash its parent lists, whatever is cached.
//
// Safe to interrupt: each removal is of one cache entry, re-downloaded and verified if it is ever
// needed again. Old top files go last, so a prune cut short leaves an old top file behind and the
// next refresh prunes again; while only the current top is cached there is nothing to prune, and
// a refresh costs one readdir.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { groupFileName, RepositoryError, topFileName, verifyGroupFile, type MerkleField } from '../tuf/index.js';

const TOP = '.top.json';
const GROUP = '.group.json';
const SHARD = '.shard.json';
/** A temporary file of an atomic write this old was left by a crash, not a write in progress. */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * Prunes `dir` to the tree `field` names, whose top file (listing `groups`) was just verified:
 * other top files, group files it does not list, shard files no cached group file lists.
 */
export async function pruneMerkleCache(dir: string, field: MerkleField, groups: readonly string[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const top = topFileName(field.root);
  const oldTops = names.filter((n) => n.endsWith(TOP) && n !== top);
  if (oldTops.length === 0) return;

  const currentGroups = new Set(groups.map(groupFileName));
  const listedShards = new Set<string>();
  for (const name of names) {
    if (!name.endsWith(GROUP)) continue;
    try {
      for (const s of verifyGroupFile(await readFile(join(dir, name)), name.slice(0, -GROUP.length), field)) listedShards.add(`${s}${SHARD}`);
    } catch (e) {
      if (!(e instanceof RepositoryError) && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      currentGroups.delete(name); // damaged: a refresh would download it again anyway
    }
  }
  const remove = (name: string) => rm(join(dir, name), { force: true });
  for (const name of names) {
    if ((name.endsWith(SHARD) && !listedShards.has(name)) || (name.endsWith(GROUP) && !currentGroups.has(name))) await remove(name);
    else if (name.startsWith('.tmp-')) {
      const age = await stat(join(dir, name)).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_TEMP_MS) await remove(name);
    }
  }
  for (const name of oldTops) await remove(name);
}
