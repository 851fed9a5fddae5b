// SPDX-License-Identifier: Apache-2.0
// One metadata cache per index URL (so two indexes never mix trust), seeded with the root the
// user pins. A cached root is kept when present: it may be newer than the pinned one after a
// rotation, and the updater verifies the chain from it.
import { createHash } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '../tuf/index.js';
import { writeFileAtomic } from '../storage/atomic-write.js';

export function defaultCacheRoot(): string {
  return process.env['BULWARK_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'bulwark');
}

/** `<cacheRoot>/<host>-<sha256(url)[:12]>/metadata` */
export function metadataDirFor(indexUrl: string, cacheRoot = defaultCacheRoot()): string {
  const url = new URL(indexUrl);
  const id = createHash('sha256').update(url.href.replace(/\/+$/, '')).digest('hex').slice(0, 12);
  return join(cacheRoot, `${url.host.replace(/[^A-Za-z0-9.-]/g, '_')}-${id}`, 'metadata');
}

/**
 * Makes sure `metadataDir/root.json` exists, copying the pinned root there if not.
 * @throws BadMetadataError if the pinned root is not a root metadata file.
 */
export async function seedRoot(metadataDir: string, pinnedRootPath: string | undefined): Promise<void> {
  const target = join(metadataDir, 'root.json');
  const exists = await access(target).then(() => true, () => false);
  if (exists) return;
  if (!pinnedRootPath) throw new Error(`no trusted root for this index yet: pass --root ROOT.json (the index's initial root metadata)`);
  const bytes = await readFile(pinnedRootPath);
  Metadata.parse(bytes, 'root'); // fail early on a file that is not root metadata
  await mkdir(metadataDir, { recursive: true });
  await writeFileAtomic(target, bytes);
}
