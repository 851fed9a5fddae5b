// SPDX-License-Identifier: Apache-2.0
// The blob store: immutable published files (metadata and targets) addressed by their path in
// the static tree, e.g. `metadata/12.snapshot.json`, `targets/requests/<sha256>.requests-2.0.whl`.
// The file system backend lays them out so that any static web server or CDN can serve the
// tree as it is; an object store can implement the same interface.
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { access, link, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { join, normalize, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { createFileExclusive, createFilesExclusive, ensureDir, fsyncDir, moveFileAtomic, writeFileAtomic, writeFilesAtomic } from './atomic-write.js';
import { crashPoint } from './crash-points.js';

/** `putNew` found a different blob under the name: someone else wrote that version. */
export class BlobConflictError extends Error {
  constructor(readonly path: string) {
    super(`${path} already exists with other contents; it was not replaced`);
    this.name = 'BlobConflictError';
  }
}

export interface BlobStore {
  /** Writes bytes atomically and durably. */
  put(path: string, data: Uint8Array | string, opts?: { durable?: boolean }): Promise<void>;
  /**
   * Writes bytes atomically and durably under a name that must not exist yet (versioned
   * metadata): an existing blob with the same bytes is accepted, one with other bytes is never
   * replaced (BlobConflictError). A conditional create on an object store does the same.
   */
  putNew(path: string, data: Uint8Array): Promise<void>;
  /** put for several files, made durable together (one fsync per file and one per directory). */
  putAll(files: readonly { path: string; bytes: Uint8Array }[]): Promise<void>;
  /**
   * putNew for several files, made durable together (on a file system: one fsync per file and
   * one per directory, not two per file). A name that exists with the same bytes is not
   * rewritten; one with other bytes is a BlobConflictError. Every file is durable on return.
   */
  putNewAll(files: readonly { path: string; bytes: Uint8Array }[]): Promise<void>;
  /** Moves a local, already durable temporary file into the store. */
  putFile(path: string, localTmpFile: string): Promise<void>;
  /**
   * Makes `path` a second name of the existing blob `existing` (a hard link on a file system,
   * a copy in an object store), durably. An alias already naming those bytes is kept; one naming
   * other bytes (left by an upload that was never recorded) is replaced atomically, so readers
   * see the old bytes or the new ones, never a missing or torn file. Callers alias only bytes
   * the state store recorded (the transaction worker does it), so this is the only writer.
   */
  alias(path: string, existing: string): Promise<void>;
  get(path: string): Promise<Buffer | undefined>;
  stream(path: string): Readable;
  exists(path: string): Promise<boolean>;
  size(path: string): Promise<number | undefined>;
  /** Size and modification time (ms since the epoch), or undefined if absent. */
  stat(path: string): Promise<{ size: number; mtimeMs: number } | undefined>;
  delete(path: string): Promise<void>;
  list(prefix: string): AsyncGenerator<string>;
}

export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  /** Maps a store path to a file, refusing anything that could escape the root. */
  localPath(path: string): string {
    const clean = normalize(path);
    if (clean.startsWith('..') || clean.startsWith(sep) || clean.includes(`${sep}..${sep}`) || path.includes('\0')) {
      throw new Error(`unsafe blob path: ${JSON.stringify(path)}`);
    }
    return join(this.root, clean);
  }

  put(path: string, data: Uint8Array | string, opts?: { durable?: boolean }): Promise<void> {
    return writeFileAtomic(this.localPath(path), data, opts);
  }

  async putNew(path: string, data: Uint8Array): Promise<void> {
    const local = this.localPath(path);
    if (await createFileExclusive(local, data)) return;
    const existing = await readFile(local);
    if (!existing.equals(data)) throw new BlobConflictError(path);
  }

  putAll(files: readonly { path: string; bytes: Uint8Array }[]): Promise<void> {
    return writeFilesAtomic(files.map((f) => ({ path: this.localPath(f.path), data: f.bytes })));
  }

  async putNewAll(files: readonly { path: string; bytes: Uint8Array }[]): Promise<void> {
    const local = files.map((f) => ({ path: this.localPath(f.path), data: f.bytes, name: f.path }));
    // Content-addressed files (the Merkle tree's) often exist already: compare, do not rewrite.
    const existing = await Promise.all(local.map((f) => readFile(f.path).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)))));
    const fresh = local.filter((_, i) => existing[i] === undefined);
    const created = await createFilesExclusive(
      fresh,
      local.filter((_, i) => existing[i] !== undefined).map((f) => f.path)
    );
    const toCompare = [...local.filter((_, i) => existing[i] !== undefined), ...fresh.filter((_, i) => !created[i])];
    for (const f of toCompare) {
      const have = existing[local.indexOf(f)] ?? (await readFile(f.path));
      if (!have.equals(f.data)) throw new BlobConflictError(f.name);
    }
  }

  putFile(path: string, localTmpFile: string): Promise<void> {
    return moveFileAtomic(localTmpFile, this.localPath(path));
  }

  async alias(path: string, existing: string): Promise<void> {
    const target = this.localPath(path);
    const source = this.localPath(existing);
    await ensureDir(dirname(target));
    try {
      await link(source, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const [have, want] = await Promise.all([stat(target), stat(source)]);
      if (have.ino !== want.ino || have.dev !== want.dev) await this.replaceLink(source, target);
    }
    crashPoint('link:files');
    await fsyncDir(dirname(target));
  }

  /** Points `target` at `source`'s bytes in one rename (a dot name: the static tree hides it). */
  private async replaceLink(source: string, target: string): Promise<void> {
    const tmp = join(dirname(target), `.alias-${randomBytes(6).toString('hex')}`);
    await link(source, tmp);
    try {
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  async get(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.localPath(path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  stream(path: string): Readable {
    return createReadStream(this.localPath(path));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await access(this.localPath(path));
      return true;
    } catch {
      return false;
    }
  }

  async size(path: string): Promise<number | undefined> {
    try {
      return (await stat(this.localPath(path))).size;
    } catch {
      return undefined;
    }
  }

  async stat(path: string): Promise<{ size: number; mtimeMs: number } | undefined> {
    try {
      const st = await stat(this.localPath(path));
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      return undefined;
    }
  }

  async delete(path: string): Promise<void> {
    await unlink(this.localPath(path)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  async *list(prefix: string): AsyncGenerator<string> {
    const base = this.localPath(prefix);
    let entries;
    try {
      entries = await readdir(base, { withFileTypes: true, recursive: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const full = join(entry.parentPath ?? entry.path, entry.name);
      yield full.slice(this.root.length + 1).split(sep).join('/');
    }
  }
}
