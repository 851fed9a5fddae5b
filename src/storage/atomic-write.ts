// SPDX-License-Identifier: Apache-2.0
// Durable, atomic file writes: write a temporary file in the same directory, fsync it, rename
// it over the target, fsync the directory. A crash at any point leaves either the old file or
// the new one, never a torn one. Every file Bulwark publishes goes through here.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { crashPoint } from './crash-points.js';

/** Crash points are named after the step and the kind of file: `write:metadata`, `rename:targets`… */
function crashHook(step: 'write' | 'fsync' | 'rename' | 'dirsync', path: string): void {
  const kind = /\/public\/(metadata|targets|files)\//.exec(path)?.[1] ?? (path.includes('/keys/') ? 'keys' : 'other');
  crashPoint(`${step}:${kind}`);
}

const knownDirs = new Set<string>();
const durableDirs = new Set<string>();
/**
 * Creates `dir` if needed. Durably by default: a new directory is an entry of its parent, and a
 * power cut can lose it (and the fsynced files in it) until the parent is fsynced too. Once per
 * directory and process, also when it exists: a process killed before that fsync left it so.
 */
export async function ensureDir(dir: string, durable = true): Promise<void> {
  if (durableDirs.has(dir) || (!durable && knownDirs.has(dir))) return;
  const first = await mkdir(dir, { recursive: true });
  knownDirs.add(dir);
  if (!durable) return;
  for (let d = dir; ; d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (first === undefined || d === first) break;
  }
  durableDirs.add(dir);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface AtomicWriteOptions {
  /** fsync the file and its directory (default true). Off only for bulk writes that end in their own sync. */
  durable?: boolean;
  /** File mode; the file is created with it, so a key is never readable by others, even briefly. */
  mode?: number;
}

/** Writes `data` to a new temporary file beside `path` (fsynced when durable); returns its name. */
async function writeTemp(path: string, data: Uint8Array | string, durable: boolean, mode: number): Promise<string> {
  const dir = dirname(path);
  await ensureDir(dir, durable);
  const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', mode);
  try {
    crashHook('write', path);
    await fh.writeFile(data);
    crashHook('fsync', path);
    if (durable) await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return tmp;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const tmp = await writeTemp(path, data, durable, opts.mode ?? 0o644);
  crashHook('rename', path);
  await rename(tmp, path);
  crashHook('dirsync', path);
  if (durable) await fsyncDir(dirname(path));
}

/**
 * Like writeFileAtomic, but never replaces an existing file: the complete temporary file is
 * hard-linked to `path`, which fails if `path` exists (atomically, also between processes on a
 * shared file system). Returns false when `path` already existed; it is left untouched.
 */
export async function createFileExclusive(path: string, data: Uint8Array | string, mode = 0o644): Promise<boolean> {
  if (!(await linkNew(await writeTemp(path, data, true, mode), path))) return false;
  crashHook('dirsync', path);
  await fsyncDir(dirname(path));
  return true;
}

/**
 * Gives a complete temporary file the name `path` unless `path` exists (false then), and removes
 * the temporary name either way.
 */
async function linkNew(tmp: string, path: string): Promise<boolean> {
  try {
    crashHook('rename', path);
    await link(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * writeFileAtomic for several files at once, with one fsync per directory instead of one per
 * file: every file's data is written and fsynced, then renamed over its name, then each
 * directory is fsynced once. A crash leaves each name with its old bytes or its new ones.
 */
export async function writeFilesAtomic(files: readonly { path: string; data: Uint8Array | string }[], mode = 0o644): Promise<void> {
  await Promise.all(
    files.map(async ({ path, data }) => {
      const tmp = await writeTemp(path, data, true, mode);
      crashHook('rename', path);
      await rename(tmp, path);
    })
  );
  await fsyncDirsOf(files.map((f) => f.path));
}

/** fsyncs each directory of these paths once. */
async function fsyncDirsOf(paths: readonly string[]): Promise<void> {
  const dirs = new Map(paths.map((path) => [dirname(path), path]));
  await Promise.all(
    [...dirs].map(async ([dir, path]) => {
      crashHook('dirsync', path);
      await fsyncDir(dir);
    })
  );
}

/**
 * createFileExclusive for several files at once, with one fsync per directory instead of one
 * per file: every file's data is written and fsynced (in parallel), then each is linked to its
 * name, then each directory is fsynced once. When it returns, every name exists durably with
 * its complete bytes (or, where false is returned, existed already and was left untouched);
 * a crash before that leaves each name either absent or complete, as createFileExclusive does.
 * The directories of `existing` (names the caller found present and did not rewrite) are
 * fsynced too: such a name may have been linked by a process killed before its directory fsync.
 */
export async function createFilesExclusive(files: readonly { path: string; data: Uint8Array | string }[], existing: readonly string[] = [], mode = 0o644): Promise<boolean[]> {
  const created = await Promise.all(files.map(async ({ path, data }) => linkNew(await writeTemp(path, data, true, mode), path)));
  await fsyncDirsOf([...files.map((f) => f.path), ...existing]);
  return created;
}

/** Moves an already fsynced temporary file into place atomically (same file system). */
export async function moveFileAtomic(tmp: string, path: string): Promise<void> {
  const dir = dirname(path);
  await ensureDir(dir);
  crashHook('rename', path);
  await rename(tmp, path);
  crashHook('dirsync', path);
  await fsyncDir(dir);
}
