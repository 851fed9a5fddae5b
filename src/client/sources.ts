// SPDX-License-Identifier: Apache-2.0
// Where a client gets bytes: the index and any mirrors, each laid out as `BASE/metadata/` and
// `BASE/targets/`. Mirrors are trusted not at all: the updater verifies every byte, and moves
// on to the next source when one fails to deliver or delivers something that does not verify.
import { DownloadError, RepositoryError, TufError } from '../tuf/index.js';
import type { Fetcher } from './fetcher.js';

export class Sources {
  readonly bases: string[];

  /** Base URLs of one area (e.g. `https://mirror/metadata`), tried in order. */
  constructor(
    bases: readonly string[],
    private readonly fetcher: Fetcher
  ) {
    this.bases = bases.map((u) => u.replace(/\/+$/, ''));
  }

  /** `metadata` and `targets` sources for an index and its mirrors: mirrors first, then the index. */
  static forIndex(index: string, mirrors: readonly string[], area: 'metadata' | 'targets', fetcher: Fetcher): Sources {
    return new Sources([...mirrors, index].map((u) => `${u.replace(/\/+$/, '')}/${area}`), fetcher);
  }

  /** `path` is already percent-encoded (role names as python-tuf quotes them, target path segments). */
  url(base: string, path: string): string {
    return `${base}/${path}`;
  }

  /**
   * Fetches `path` (percent-encoded, relative to each base) from each source in turn until
   * `verify` accepts the bytes. A source that
   * serves bad data is remembered: if every source fails, the error reported is the one that
   * points at an attack (a RepositoryError) rather than a network failure.
   */
  async fetchVerified<T>(path: string, maxLength: number, verify: (bytes: Buffer) => T, opts: { notFoundIsAnswer?: boolean } = {}): Promise<T> {
    let repositoryError: TufError | undefined;
    let downloadError: DownloadError | undefined;
    for (const base of this.bases) {
      let bytes: Buffer;
      try {
        bytes = await this.fetcher.fetch(this.url(base, path), maxLength);
      } catch (e) {
        if (!(e instanceof DownloadError)) throw e;
        // A source that answers "not found" outranks one that cannot be reached: when the index
        // is down, a mirror's 404 for the next root means "no newer root", not "no network".
        if (!downloadError || (e.code === 'NOT_FOUND' && downloadError.code !== 'NOT_FOUND')) downloadError = e;
        continue;
      }
      try {
        return verify(bytes);
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e;
        repositoryError ??= e;
      }
    }
    // Probing for a file that may not exist (the next root): "not found" from any source is the
    // answer, even if another served bytes that did not verify. Whoever can answer 404 can
    // already withhold a new root; expiry bounds that.
    if (opts.notFoundIsAnswer && downloadError?.code === 'NOT_FOUND') throw downloadError;
    throw repositoryError ?? downloadError ?? new DownloadError('NETWORK', `no source for ${path}`);
  }
}
