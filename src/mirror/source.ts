// SPDX-License-Identifier: Apache-2.0
// Where a mirror or an audit reads from: an index or mirror over HTTP(S), or a static tree on
// this machine (a mirror directory, or a Bulwark data directory whose `public/` is the tree).
// Local trees are read through the same Fetcher port as the network, as `file:` URLs, so
// they go through exactly the same TUF verification as a remote index.
import { open, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HttpFetcher, type Fetcher } from '../client/fetcher.js';
import { DownloadError } from '../tuf/index.js';

/** Fetches `file:` URLs from the local file system and everything else with `http`. */
export class LocalOrHttpFetcher implements Fetcher {
  constructor(private readonly http: Fetcher = new HttpFetcher()) {}

  async fetch(url: string, maxLength: number): Promise<Buffer> {
    if (!url.startsWith('file:')) return this.http.fetch(url, maxLength);
    const path = fileURLToPath(url);
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new DownloadError('NOT_FOUND', `not found: ${path}`, url);
      throw new DownloadError('NETWORK', `cannot read ${path}: ${(e as Error).message}`, url, undefined, { cause: e });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new DownloadError('NOT_FOUND', `not a file: ${path}`, url);
      if (st.size > maxLength) throw new DownloadError('LENGTH_EXCEEDED', `${path} is ${st.size} bytes, more than the ${maxLength} allowed`, url);
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }
}

export interface ResolvedSource {
  /** What the user gave, for reports. */
  label: string;
  /** Base URL: metadata under `BASE/metadata/`, targets under `BASE/targets/`, aliases under `BASE/files/`. */
  base: string;
  local: boolean;
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false
  );
}

/**
 * An `http(s):` or `file:` URL as it is; a directory path as a `file:` URL of the static tree
 * in it (`DIR/metadata/…`, or `DIR/public/metadata/…` for a Bulwark data directory).
 * @throws Error when a path is neither
 */
export async function resolveSource(source: string): Promise<ResolvedSource> {
  if (/^https?:\/\//i.test(source)) return { label: source, base: source.replace(/\/+$/, ''), local: false };
  const dir = source.startsWith('file:') ? fileURLToPath(source) : resolve(source);
  for (const tree of [dir, join(dir, 'public')]) {
    if (await isDir(join(tree, 'metadata'))) return { label: source, base: pathToFileURL(tree).href.replace(/\/+$/, ''), local: true };
  }
  throw new Error(`${source} is neither an http(s) URL nor a directory holding a static tree (metadata/, targets/)`);
}
