// SPDX-License-Identifier: Apache-2.0
// Upload responses wait for the snapshot that publishes their journal entry. The snapshot
// leader may be another process, so waiters are resolved from the store: when a publication is
// announced (or on the next poll), the versions of every awaited entry are read in one query.
import type { StateStore } from '../storage/state/types.js';

export class PublicationWaiters {
  private readonly waiting = new Map<number, ((version: number) => void)[]>();
  private checking: Promise<void> | undefined;
  private again = false;
  /** The newest snapshot version this process knows of. */
  latestVersion = 0;

  constructor(private readonly state: StateStore) {}

  /** Resolves with the snapshot version that published journal entry `seq`. */
  waitFor(seq: number): Promise<number> {
    const promise = new Promise<number>((resolve) => {
      const list = this.waiting.get(seq) ?? [];
      list.push(resolve);
      this.waiting.set(seq, list);
    });
    this.check();
    return promise;
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Entries published by this process: no query needed. */
  resolve(seqs: readonly number[], version: number): void {
    this.latestVersion = Math.max(this.latestVersion, version);
    for (const seq of seqs) this.settle(seq, version);
  }

  private settle(seq: number, version: number): void {
    const list = this.waiting.get(seq);
    if (!list) return;
    this.waiting.delete(seq);
    for (const resolve of list) resolve(version);
  }

  /** Reads which awaited entries are published (after an announcement, or on a poll). */
  check(announcedVersion?: number): void {
    if (announcedVersion !== undefined) this.latestVersion = Math.max(this.latestVersion, announcedVersion);
    if (this.waiting.size === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = (async () => {
      do {
        this.again = false;
        const versions = await this.state.publishedVersions([...this.waiting.keys()]);
        for (const [seq, version] of versions) this.settle(seq, version);
      } while (this.again && this.waiting.size > 0);
    })()
      .catch(() => undefined) // the next announcement or poll asks again
      .finally(() => (this.checking = undefined));
  }
}
