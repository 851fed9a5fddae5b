// SPDX-License-Identifier: Apache-2.0
// Failed sign-ins, counted so that passwords cannot be guessed at speed, and so that nobody
// can lock an account's owner out by failing on purpose:
//  - one address on one account (the pair) is refused after `perPair` failures in the window:
//    the guesser waits, the owner at any other address does not;
//  - one address on any accounts is refused after `perAddress` failures;
//  - one account, from anywhere, is only slowed down: past `slowAfter` failures every attempt on
//    it waits a little longer, up to `slowMaxMs`, before its password is checked (right or
//    wrong alike, so the wait says nothing). An attacker with many addresses gains time per
//    guess, never the power to keep the owner out.
// The failures live in the web store, not in memory: on PostgreSQL every `bulwark serve`
// process counts the same failures, so N servers behind a load balancer do not give a
// guesser N times the attempts.
import type { WebStore } from '../storage/state/web-store.js';

export type SignInFailureLog = Pick<WebStore, 'signInFailures' | 'recordSignInFailure' | 'clearSignInFailures'>;

export interface SignInPolicy {
  windowMs: number;
  perPair: number;
  perAddress: number;
  slowAfter: number;
  slowBaseMs: number;
  slowMaxMs: number;
}

export const SIGN_IN_POLICY: SignInPolicy = {
  windowMs: 15 * 60_000,
  perPair: 10,
  perAddress: 50,
  slowAfter: 10,
  slowBaseMs: 500,
  slowMaxMs: 8_000,
};

/** How long an attempt on an account with `failures` recent failures waits (ms): doubling, capped. */
export function accountSlowdownMs(failures: number, policy: SignInPolicy = SIGN_IN_POLICY): number {
  if (failures < policy.slowAfter) return 0;
  const doublings = Math.min(failures - policy.slowAfter, 30); // 2^30 is past any cap
  return Math.min(policy.slowMaxMs, policy.slowBaseMs * 2 ** doublings);
}

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

/** What a sign-in attempt may do now: wait `retryAfter` seconds (refused), or go on after `delayMs`. */
export type SignInVerdict = { retryAfter: number } | { retryAfter: 0; delayMs: number };

/** The three counts above, keyed by account name (case-folded) and client address. */
export class SignInGuard {
  private readonly pair: FailureLimiter;
  private readonly address: FailureLimiter;

  constructor(
    private readonly log: SignInFailureLog,
    private readonly policy: SignInPolicy = SIGN_IN_POLICY
  ) {
    this.pair = new FailureLimiter(log, policy.perPair, policy.windowMs);
    this.address = new FailureLimiter(log, policy.perAddress, policy.windowMs);
  }

  private keys(account: string, address: string) {
    const name = account.toLowerCase();
    return { pair: `pair:${JSON.stringify([name, address])}`, address: `ip:${address}`, account: `user:${name}` };
  }

  async check(account: string, address: string, now = Date.now()): Promise<SignInVerdict> {
    const k = this.keys(account, address);
    const retryAfter = Math.max(await this.pair.retryAfter(k.pair, now), await this.address.retryAfter(k.address, now));
    if (retryAfter > 0) return { retryAfter };
    const failures = (await this.log.signInFailures(k.account, now - this.policy.windowMs)).length;
    return { retryAfter: 0, delayMs: accountSlowdownMs(failures, this.policy) };
  }

  async failed(account: string, address: string, now = Date.now()): Promise<void> {
    const k = this.keys(account, address);
    for (const key of [k.pair, k.address, k.account]) await this.log.recordSignInFailure(key, now, now - this.policy.windowMs);
  }

  /** The owner is in: their own address's failures on the account are forgiven (not the others'). */
  succeeded(account: string, address: string): Promise<void> {
    return this.pair.reset(this.keys(account, address).pair);
  }
}
