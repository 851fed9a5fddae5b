// SPDX-License-Identifier: Apache-2.0
// The classic snapshot.json beside the Merkle tree, built off the publication path (issue 12)
// once it is large (merkle.inlineClassicMaxBytes; a small one is written by publications). At
// PyPI's size it lists ≈ 216,000 roles: 30 MB to assemble, sign, hash, write durably and
// compress — about a second of the leader's time, and 2 s of CPU for the .gz and .br copies.
// Publications no longer wait for it: a build captures the committed state of one publication,
// does the expensive work on the thread pool while later publications go on, and records the
// file under the leader's lease like any publication's file. The next publication then names it
// in its timestamp (SnapshotProcess.publishAs). Standard clients see the state the build
// captured; Merkle clients, who never read snapshot.json, the newest one.
//
// Its version is the timestamp version of the publication it captures: unique (that
// publication wrote no classic snapshot, or this one would not be behind) and increasing, since
// builds capture ever newer publications and one that an in-publication classic snapshot
// overtook (forced, expiring, idle) is dropped unnamed (take()).
//
// Cadence: a build starts at most every max(merkle.classicSnapshotIntervalMs, COST_FACTOR × the
// last build's cost), so classic snapshots take at most 1/COST_FACTOR of the leader's time
// however large the index grows (≈ 1 minute at PyPI's size).
import { webcrypto } from 'node:crypto';
import type { BlobStore } from '../storage/blob-store.js';
import type { Lease, RoleState, StateStore } from '../storage/state/types.js';
import { formatExpires, signCanonicalBytes, type Signer } from '../tuf/index.js';
import { metadataBlobPath, ROLES } from './layout.js';
import type { Logger } from './logger.js';
import type { SnapshotMeta } from './metadata-builder.js';

/** A build may take this share of the leader's time, at most: the interval is COST_FACTOR × its cost. */
export const CLASSIC_COST_FACTOR = 20;

/** SHA-256 on the thread pool (Web Crypto's digest is asynchronous in Node; node:crypto's hash is not). */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

export interface ClassicCapture {
  lease: Lease;
  /** The timestamp version of the publication whose committed state is captured. */
  version: number;
  expires: Date;
  meta: SnapshotMeta;
  signer: Signer;
}

interface Ready {
  state: RoleState;
  epoch: number;
  keyId: string;
}

export interface ClassicSnapshotOptions {
  state: StateStore;
  blobs: BlobStore;
  log: Logger;
  /** The shortest interval between builds (merkle.classicSnapshotIntervalMs). */
  minIntervalMs: number;
  /** Makes the .gz and .br copies of a written snapshot from the bytes it holds (undefined: none). */
  compress?: ((path: string, bytes: Buffer) => Promise<void>) | undefined;
  /** Called when a built snapshot waits to be named (the snapshot process then publishes). */
  onReady: () => void;
  /** Called when a build ends: written (`ok`) or failed (the snapshot process then schedules the next, or writes one itself). */
  onSettled: (ok: boolean) => void;
}

export class ClassicSnapshotBuilder {
  private inFlight: Promise<void> | undefined;
  private ready: Ready | undefined;
  private startedAt = Number.NEGATIVE_INFINITY;
  private lastCostMs = 0;

  constructor(private readonly o: ClassicSnapshotOptions) {}

  /** When the next build may start (ms by the clock the caller passes to start()). */
  nextStart(): number {
    return this.startedAt + Math.max(this.o.minIntervalMs, CLASSIC_COST_FACTOR * this.lastCostMs);
  }

  get building(): boolean {
    return this.inFlight !== undefined;
  }

  get hasReady(): boolean {
    return this.ready !== undefined;
  }

  /**
   * Starts a build of the captured state unless one is under way. Only the encoding of the
   * bytes (from cached chunks, ≈ 10 ms at PyPI's size) happens before this returns.
   */
  start(c: ClassicCapture, nowMs: number): boolean {
    if (this.inFlight) return false;
    this.startedAt = nowMs;
    const t0 = performance.now();
    const signedBytes = c.meta.canonicalBytes(c.version, c.expires);
    this.inFlight = this.build(c, signedBytes, t0).then(
      () => this.settled(true),
      (err: unknown) => {
        this.o.log.warn({ err, version: c.version }, 'the classic snapshot was not built beside the publications; the next publication writes one');
        this.settled(false);
      }
    );
    return true;
  }

  private async build(c: ClassicCapture, signedBytes: Buffer, t0: number): Promise<void> {
    const path = metadataBlobPath(ROLES.snapshot, c.version);
    const [{ bytes }] = await Promise.all([signCanonicalBytes(signedBytes, [c.signer]), this.o.state.recordPublicationIntent(c.lease, [path])]);
    const sha256 = await sha256Hex(bytes);
    // Created, never replaced: a file of that name from another leader is not overwritten.
    await this.o.blobs.putNewAll([{ path, bytes }]);
    const state: RoleState = { name: ROLES.snapshot, version: c.version, expires: formatExpires(c.expires), length: bytes.length, sha256 };
    this.ready = { state, epoch: c.lease.epoch, keyId: c.signer.keyId };
    this.o.onReady();
    await this.o.compress?.(path, bytes); // from memory: not 30 MB read back
    this.lastCostMs = performance.now() - t0;
    this.o.log.debug({ version: c.version, bytes: bytes.length, ms: Math.round(this.lastCostMs) }, 'classic snapshot written');
  }

  private settled(ok: boolean): void {
    this.inFlight = undefined;
    this.o.onSettled(ok);
  }

  /**
   * The built snapshot for a publication to name, if it is still valid for it: built under the
   * same lease, signed with the current snapshot key, newer than the classic snapshot published.
   * A snapshot not valid is dropped (its file is an orphan for `bulwark gc`).
   */
  take(epoch: number, signerKeyId: string, publishedVersion: number): RoleState | undefined {
    const r = this.ready;
    this.ready = undefined;
    if (!r || r.epoch !== epoch || r.keyId !== signerKeyId || r.state.version <= publishedVersion) return undefined;
    return r.state;
  }

  /** Drops a built snapshot not yet named (a new leader, or one overtaken by an in-publication one). */
  discard(): void {
    this.ready = undefined;
  }

  /** Waits for the build under way, if any (its compression included). */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }
}
