// SPDX-License-Identifier: Apache-2.0
// In-process exclusive locks on named resources (`project:foo`, `bin:bins-0a3f`). A task takes
// all of its locks before it starts, in sorted order, so two tasks can never deadlock. This
// is how PEP 480's concurrency rules hold inside one process: never two transactions on the
// same project or the same bin.
export class KeyedLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async withLocks<T>(keys: Iterable<string>, task: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    for (const key of sorted) {
      const previous = this.tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = previous.then(() => mine);
      this.tails.set(key, tail);
      releases.push(() => {
        release();
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
      await previous;
    }
    try {
      return await task();
    } finally {
      for (const r of releases) r();
    }
  }

  get held(): number {
    return this.tails.size;
  }
}
