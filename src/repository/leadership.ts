// SPDX-License-Identifier: Apache-2.0
// Chooses the one snapshot process (issue 6): every process that may publish is a candidate;
// the store keeps a lease with an epoch (see Lease). The leader renews it well before it runs
// out; a candidate takes it once it has run out, or at once when its holder is a process of
// this machine that no longer exists (a crash or SIGKILL needs no wait). Everything the leader
// commits is fenced by its lease, so a leader that was paused past its lease cannot publish.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Lease, StateStore } from '../storage/state/types.js';
import type { Logger } from './logger.js';

export const DEFAULT_LEADER_TTL_MS = 10_000;

/** A lease's local validity is cut short by this share, for clocks that run at other rates. */
const SAFETY = 0.8;
/**
 * A standing candidate that failed to lead asks again on demand at most this often (ms). Every
 * applied upload asks for a publication in every worker; without this a follower would run four
 * statements per upload only to learn again that another process leads. Its timer still tries
 * every quarter period, and a release or a dead holder is noticed within this interval.
 */
const FOLLOWER_RETRY_MS = 500;

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** True when `holder` names a process of this machine that has exited. */
export function holderIsDeadHere(holder: string, host = hostname()): boolean {
  const [h, pid] = holder.split('/');
  const n = Number(pid);
  return h === host && Number.isInteger(n) && n > 0 && n !== process.pid && processIsGone(n);
}

export interface LeadershipOptions {
  state: StateStore;
  log: Logger;
  /** How long a lease lasts without renewal (ms); takeover after a silent leader waits this long. */
  ttlMs?: number | undefined;
  /** Called when this process becomes leader (a new epoch): reload, repair, publish. */
  onElected?: (lease: Lease) => void;
}

export class SnapshotLeadership {
  /** `host/pid/random`: unique, and tells candidates on this host whether the holder lives. */
  readonly candidate = `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  readonly ttlMs: number;
  private lease: Lease | undefined;
  /** performance.now() until which the lease is surely still ours. */
  private validUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<Lease | undefined> | undefined;
  /** performance.now() of the last attempt that found another leader. */
  private lastDenied = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: LeadershipOptions) {
    this.ttlMs = o.ttlMs ?? DEFAULT_LEADER_TTL_MS;
  }

  /** The lease, while it is surely valid. */
  current(): Lease | undefined {
    return this.lease && performance.now() < this.validUntil ? this.lease : undefined;
  }

  /** The lease, renewed or acquired now if it is not surely valid for another half period. */
  async ensure(): Promise<Lease | undefined> {
    if (this.lease && performance.now() < this.validUntil - (this.ttlMs * SAFETY) / 2) return this.lease;
    if (!this.lease && this.timer && performance.now() - this.lastDenied < Math.min(FOLLOWER_RETRY_MS, this.ttlMs / 4)) return undefined;
    return this.refresh();
  }

  /** Renews the lease, or tries to take it; one attempt at a time. */
  refresh(): Promise<Lease | undefined> {
    this.renewing ??= this.attempt().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async attempt(): Promise<Lease | undefined> {
    const sent = performance.now();
    if (this.lease) {
      if (await this.o.state.renewLeadership(this.lease, this.ttlMs)) {
        this.validUntil = sent + this.ttlMs * SAFETY;
        return this.lease;
      }
      this.o.log.warn({ lease: this.lease }, 'lost the snapshot leadership');
      this.lease = undefined;
    }
    const info = await this.o.state.leader();
    const replacing = info && !info.expired && info.holder !== this.candidate && holderIsDeadHere(info.holder) ? info : undefined;
    const lease = await this.o.state.acquireLeadership(this.candidate, this.ttlMs, replacing);
    if (!lease) {
      this.lastDenied = performance.now();
      return undefined;
    }
    this.lease = lease;
    this.validUntil = sent + this.ttlMs * SAFETY;
    this.o.log.info({ holder: lease.holder, epoch: lease.epoch, replaced: replacing?.holder }, 'this process is the snapshot leader');
    this.o.onElected?.(lease);
    return lease;
  }

  /** Keeps renewing (or trying to lead) every quarter period. */
  start(): void {
    if (this.timer) return;
    const tick = () =>
      void this.refresh().catch((err: unknown) => {
        this.o.log.error({ err }, 'snapshot leadership check failed');
        if (performance.now() >= this.validUntil) this.lease = undefined;
      });
    tick();
    this.timer = setInterval(tick, Math.max(50, this.ttlMs / 4));
    this.timer.unref();
  }

  /**
   * Runs `fn` (a publication) with the lease renewed every quarter period, also in a process
   * that does not renew it all the time (a command that publishes once and exits): a first
   * publication of 16,384 bins, or a key rotation re-signing them, outlasts a 10 s lease, and
   * the store refuses the commit of an expired one.
   */
  async renewedDuring<T>(fn: () => Promise<T>): Promise<T> {
    if (this.timer) return fn(); // start() renews already
    const timer = setInterval(() => void this.refresh().catch((err: unknown) => this.o.log.error({ err }, 'snapshot leadership check failed')), Math.max(50, this.ttlMs / 4));
    timer.unref();
    try {
      return await fn();
    } finally {
      clearInterval(timer);
    }
  }

  /** Stops renewing and ends the lease, so that another process takes over without waiting. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing?.catch(() => undefined);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await this.o.state.releaseLeadership(lease).catch(() => undefined);
  }
}
