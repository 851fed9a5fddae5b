// SPDX-License-Identifier: Apache-2.0
// Runs a task in the background, one run at a time: a request made while it runs folds into
// one more run afterwards, so bursts of work (many uploads) become few runs. A failed run is
// logged and retried after a pause. Used by the transaction worker and the snapshot process.
import type { Logger } from './logger.js';

export class CoalescingRunner {
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** The error of the last run, until a run succeeds (for diagnostics and settle()). */
  lastError: unknown = undefined;

  constructor(
    private readonly task: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly what: string,
    /** Called after a failed run, before the pause (to drop state the failed run changed). */
    private readonly onFailure: () => Promise<void> = () => Promise.resolve()
  ) {}

  request(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.task();
          this.lastError = undefined;
        } catch (e) {
          this.lastError = e;
          this.log.error({ err: e }, `${this.what} failed; will retry`);
          await this.onFailure().catch(() => undefined);
          await new Promise((r) => setTimeout(r, 500));
          this.again = !this.closed;
        }
      } while (this.again && !this.closed);
      this.running = null;
    })();
  }

  /**
   * Waits until no run is under way or requested, or until `timeoutMs` passes: a task that
   * keeps failing is retried forever, and waiting for it must not hang the caller.
   */
  async idle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running && Date.now() < deadline) {
      await Promise.race([this.running, new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())).unref())]);
    }
  }

  /** Stops taking requests and waits for the run under way. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
