// SPDX-License-Identifier: Apache-2.0
// Counts failed sign-ins per key (user name, client address) in a sliding window, so that
// passwords cannot be guessed at speed. The failures live in the web store, not in memory:
// on PostgreSQL every `bulwark serve` process counts the same failures, so N servers behind a
// load balancer do not give a guesser N times the attempts.
import type { WebStore } from '../storage/state/web-store.js';

export type SignInFailureLog = Pick<WebStore, 'signInFailures' | 'recordSignInFailure' | 'clearSignInFailures'>;

export class FailureLimiter {
  constructor(
    private readonly log: SignInFailureLog,
    /** Failures allowed within the window; the next attempt waits. */
    private readonly max: number,
    private readonly windowMs: number
  ) {}

  /** Seconds until the key may try again, or 0 when it may now. */
  async retryAfter(key: string, now = Date.now()): Promise<number> {
    const recent = await this.log.signInFailures(key, now - this.windowMs);
    if (recent.length < this.max) return 0;
    // The oldest failure that still counts against the limit must leave the window first.
    const oldest = recent[recent.length - this.max] as number;
    return Math.max(1, Math.ceil((oldest + this.windowMs - now) / 1000));
  }

  fail(key: string, now = Date.now()): Promise<void> {
    return this.log.recordSignInFailure(key, now, now - this.windowMs);
  }

  reset(key: string): Promise<void> {
    return this.log.clearSignInFailures(key);
  }
}
