// SPDX-License-Identifier: Apache-2.0
// Runs a task in the background, one run at a time: a request made while it runs folds into
// one more run afterwards, so bursts of work (many uploads) become few runs. A failed run is
// logged and retried after a pause. Used by the transaction worker and the snapshot process.
import type { Logger } from './logger.js';

export class CoalescingRunner {
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

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
        } catch (e) {
          this.log.error({ err: e }, `${this.what} failed; will retry`);
          await this.onFailure().catch(() => undefined);
          await new Promise((r) => setTimeout(r, 500));
          this.again = !this.closed;
        }
      } while (this.again && !this.closed);
      this.running = null;
    })();
  }

  /** Waits until no run is under way or requested. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops taking requests and waits for the run under way. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }
}
