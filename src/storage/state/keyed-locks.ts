// SPDX-License-Identifier: Apache-2.0
// In-process exclusive locks on named resources (`project:foo`, `role:bins-0a3f`): how the
// embedded store keeps PEP 480's concurrency rules (never two transactions on the same project
// or the same bin) in its one process. PostgreSQL uses advisory locks for the same keys.
// Deadlock freedom is the caller's: take keys in one global order (withLocks sorts them).
export class KeyedLocks {
  /** Held keys → the waiters queued for each, in arrival order. */
  private readonly queues = new Map<string, (() => void)[]>();

  /** Takes `key` if it is free; returns its release, or undefined when it is held. */
  tryAcquire(key: string): (() => void) | undefined {
    if (this.queues.has(key)) return undefined;
    this.queues.set(key, []);
    return this.releaser(key);
  }

  /** Waits for `key` and takes it; returns its release. */
  async acquire(key: string): Promise<() => void> {
    const queue = this.queues.get(key);
    if (!queue) {
      this.queues.set(key, []);
    } else {
      await new Promise<void>((resolve) => queue.push(resolve)); // ownership is handed over
    }
    return this.releaser(key);
  }

  private releaser(key: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queues.get(key)?.shift();
      if (next) next();
      else this.queues.delete(key);
    };
  }

  /** Runs `task` holding every key, taken in sorted order so that two tasks never deadlock. */
  async withLocks<T>(keys: Iterable<string>, task: () => Promise<T>): Promise<T> {
    const releases: (() => void)[] = [];
    try {
      for (const key of [...new Set(keys)].sort()) releases.push(await this.acquire(key));
      return await task();
    } finally {
      for (const r of releases.reverse()) r();
    }
  }

  get held(): number {
    return this.queues.size;
  }
}
