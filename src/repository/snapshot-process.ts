// SPDX-License-Identifier: Apache-2.0
// The snapshot process (PEP 458 §Snapshot Process, PEP 480 §5): the single writer of metadata.
// Each publication takes every role changed by applied project transactions, plus online roles
// close to expiry, and publishes one consistent snapshot:
//   1. bins (and other changed roles) as VERSION.ROLE.json          — unreferenced until 3
//   2. VERSION.snapshot.json (on its cadence) and the Merkle tree's new files (top, changed
//      groups and shards), created in one batch with 1                — unreferenced until 3
//   3. database commit: new versions, journal entries → published, the timestamp bytes
//   4. timestamp.json, atomically                                   — the publication point
//   5. compressed copies (.gz, .br), after the timestamp: optional for readers
// Every file is written atomically (temp, fsync, link or rename). The write-ordering invariant:
// every file that the timestamp written in 4 names, directly or through its snapshot or its
// tree's root, is durable (its data fsynced before it got its name, its directory fsynced
// after) before the commit in 3, since a crash after 3 makes start-up write that timestamp.
// The batch in 1–2 meets it with one fsync per file and one per directory (test:
// test/crash/fsync-order.test.ts). A crash before 3 leaves files no timestamp reaches (removed
// or reused by the next attempt); a crash between 3 and 4 is repaired at start-up by rewriting
// timestamp.json from the bytes committed in 3. Readers therefore only ever see whole snapshots.
// Across processes (issue 6) only the snapshot leader publishes (see leadership.ts). Its files
// in 1 and 2 are created, never replaced (BlobStore.putNew), after their names were recorded in
// the store under its lease; 3 is fenced by the lease. A leader taking over removes the files a
// publication that never committed left behind, so a deposed leader can neither commit nor
// overwrite a version that another leader published.
import { createHash } from 'node:crypto';
import { gzip, brotliCompress, constants as zlibConstants } from 'node:zlib';
import { promisify } from 'node:util';
import {
  DelegatedRole,
  Delegations,
  expiresIn,
  Key,
  SuccinctRoles,
  formatExpires,
  Metadata,
  signCanonical,
  Targets,
  type Signer,
} from '../tuf/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { NotLeaderError, type Lease } from '../storage/state/types.js';
import { crashPoint } from '../storage/crash-points.js';
import type { RoleState, StateStore } from '../storage/state/types.js';
import { merkleSettings, type ExpiryPeriods, type MerkleSettings, type RepositoryConfig } from './config.js';
import { BIN_PREFIX, metadataBlobPath, PROJECT_ROLE_PREFIX, ROLES, usesNameBins, type OnlineRole } from './layout.js';
import { isNameBinRole, nameBinCountOf } from './name-bins.js';
import { RecentlyClaimedBins } from './recently-claimed-bins.js';
import { CoalescingRunner } from './coalescing-runner.js';
import { ClassicSnapshotBuilder } from './classic-snapshot.js';
import { WHEELS_ROLE_PREFIX } from '../attest/wheels-role.js';
import type { SnapshotLeadership } from './leadership.js';
import type { PublicationWaiters } from './publication-waiters.js';
import type { Logger } from './logger.js';
import { binCanonicalFromBody, SnapshotMeta, timestampCanonical } from './metadata-builder.js';
import { compressMerkleFiles, ensureTreeFiles, leafOfRole, merkleBlobs, timestampNamesTree, treeOfRoles } from './merkle-files.js';
import type { MerkleFile, MerkleTreeBuilder, StagedTree } from '../tuf/index.js';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Dirty roles whose target rows (and signed files) one publication holds in memory at once. */
const BIN_CHUNK = 512;
/**
 * New metadata is compressed this long after its publication (ms), if nothing superseded it
 * meanwhile. Under load a newer snapshot follows within a fraction of a second, and compressing
 * each 2 MiB snapshot (gzip and brotli, ~50 ms of CPU) took a quarter of the leader's CPU in the
 * cluster benchmark; the copies nobody would be sent are now never made.
 */
const COMPRESS_DELAY_MS = 1000;
/** Compressed copies held in memory and written together. */
const COPIES_PER_BATCH = 64;

/** The .gz and .br copies of a metadata file, for clients that accept them. */
async function compressedCopies(path: string, raw: Buffer): Promise<{ path: string; bytes: Buffer }[]> {
  const [gz, br] = await Promise.all([gzipAsync(raw, { level: 6 }), brotliAsync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } })]);
  return [
    { path: `${path}.gz`, bytes: gz },
    { path: `${path}.br`, bytes: br },
  ];
}

export interface PublicationResult {
  /**
   * The publication's version: its timestamp's version, which is also the version of the
   * classic snapshot when it writes one (snapshot versions skip the publications that do not).
   */
  snapshotVersion: number;
  /** The classic snapshot the timestamp names (this publication's, or an earlier one). */
  classicSnapshotVersion: number;
  roles: string[];
  publishedSeqs: number[];
  ms: { build: number; write: number; commit: number; total: number };
}

export interface SnapshotProcessOptions {
  state: StateStore;
  blobs: BlobStore;
  config: RepositoryConfig;
  signers: Record<OnlineRole, Signer>;
  clock?: () => Date;
  log: Logger;
  /** Reloads `signers` to match the newest (possibly not yet published) metadata. */
  reloadSigners?: () => Promise<void>;
  /** Write .gz and .br copies of new metadata for clients that accept them (default true). */
  compress?: boolean;
  /** Only the leader publishes. */
  leadership: SnapshotLeadership;
  /** Told which journal entries each publication published. */
  waiters: PublicationWaiters;
}

export class SnapshotProcess {
  private readonly meta = new SnapshotMeta();
  private readonly roles = new Map<string, RoleState>();
  /**
   * No online role needs re-signing before this time (ms): the earliest re-sign deadline seen.
   * Only lowered between scans; a re-signed role's deadline only moves later.
   */
  private nextExpiry = Number.NEGATIVE_INFINITY;
  /** The lease epoch this process's view of the published state belongs to. */
  private epoch: number | undefined;
  private enabled = true;
  private serial: Promise<unknown> = Promise.resolve();
  private readonly runner: CoalescingRunner;
  private readonly clock: () => Date;
  private readonly listeners: ((r: PublicationResult) => void)[] = [];
  private pendingCompression: Promise<unknown> = Promise.resolve();
  /** Ends the delay of each compression still waiting (idle() and close() do not wait for it). */
  private readonly compressionDelays = new Set<() => void>();
  private forced = false;
  /** With name bins (ADR 0005): re-signs only the recently-claimed bins that changed. */
  private readonly recentBins: RecentlyClaimedBins | undefined;
  private readonly merkle: MerkleSettings;
  /** The tree of the published state (leader only: built when it takes over). */
  private tree: MerkleTreeBuilder | undefined;
  /** With a tree and a large classic snapshot: builds it beside publications (classic-snapshot.ts). */
  private readonly classic: ClassicSnapshotBuilder;
  /** When a publication last wrote a classic snapshot itself (ms by the clock; 0: not yet). */
  private classicAt = 0;
  /** The publication whose state the newest named classic snapshot lists (its timestamp version). */
  private classicCaptured = 0;
  /** The newest publication that changed a role (its timestamp version). */
  private rolesChangedAt = 0;
  /** Roles changed since the classic snapshot was captured: the timer starts a new build. */
  private classicBehind = false;
  private classicTimer: NodeJS.Timeout | undefined;
  /** The next publication writes a classic snapshot itself (idle(), close()). */
  private classicNow = false;
  /** forced and classicNow as the publication under way took them, until it commits. */
  private taken: { forced: boolean; flush: boolean } | undefined;
  private pendingSnapshotCompression: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: SnapshotProcessOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.merkle = merkleSettings(o.config);
    this.classic = new ClassicSnapshotBuilder({
      state: o.state,
      blobs: o.blobs,
      log: o.log,
      minIntervalMs: this.merkle.classicSnapshotIntervalMs,
      compress: o.compress === false ? undefined : async (path, bytes) => o.blobs.putAll(await compressedCopies(path, bytes)),
      onReady: () => this.request(),
      onSettled: (ok) => {
        if (!this.classicBehind) return;
        if (ok) return this.scheduleClassic();
        // A failed build (a file of that name from a deposed leader, a full disk…) is not tried
        // again for the same state: the next publication writes a classic snapshot itself, at
        // its own new version.
        this.classicNow = true;
        this.request();
      },
    });
    if (usesNameBins(o.config)) this.recentBins = new RecentlyClaimedBins(o.state, o.blobs, (name) => this.roles.get(name)?.version ?? 0, nameBinCountOf(o.config));
    // After a failed publication, start over as a new leader would: reload the published state
    // and remove what the attempt left behind.
    this.runner = new CoalescingRunner(() => this.publish(), o.log, 'publication', () => {
      this.epoch = undefined;
      return Promise.resolve();
    });
  }

  /** Loads the published state (any process; a leader reloads it when it takes over). */
  async init(): Promise<void> {
    this.roles.clear();
    this.nextExpiry = Number.NEGATIVE_INFINITY; // scan at the next check
    for (const r of await this.o.state.roleStates()) {
      this.setRole(r);
      // Version 0: a project role recorded but never published yet (not listed until it is).
      if (leafOfRole(r) !== undefined) this.meta.set(r.name, r.version, r);
    }
    this.o.waiters.latestVersion = Math.max(this.o.waiters.latestVersion, this.snapshotVersion);
  }

  /**
   * Becoming leader: reload the published state, remove the files of a publication that never
   * committed (a crash, or a deposed leader), and repair timestamp.json if a publication was cut
   * between its commit and the timestamp write (step 3 → 4).
   */
  async takeOver(lease: Lease): Promise<void> {
    await this.init();
    if (this.merkle.enabled) {
      // The tree of what is published, from the stored state (bench/merkle-bench.ts: start-up time).
      const listed = [...this.roles.values()].filter((r) => leafOfRole(r) !== undefined);
      this.tree = treeOfRoles(this.merkle.shards, listed);
      if (await ensureTreeFiles(this.o.blobs, this.tree, { compress: this.o.compress !== false })) {
        this.o.log.info({ root: this.tree.root, roles: listed.length }, 'wrote every file of the snapshot Merkle tree');
      }
      const latest = await this.o.state.latestTimestamp();
      if (latest && !timestampNamesTree(latest.bytes, this.tree)) this.forced = true; // e.g. a timestamp of the two-level layout
    }
    // The last leader may have left the classic snapshot behind the newest timestamp (assume
    // the roles changed since: at worst one classic snapshot too many).
    this.classic.discard();
    this.classicAt = 0; // a small one is written by the first publication
    this.classicCaptured = this.roles.get(ROLES.snapshot)?.version ?? 0;
    this.rolesChangedAt = this.roles.get(ROLES.timestamp)?.version ?? 0;
    this.classicBehind = this.classicCaptured < this.rolesChangedAt;
    const leftovers = await this.o.state.publicationIntents();
    if (leftovers.length > 0) {
      this.o.log.warn({ files: leftovers.length }, 'removing the files of a publication that did not commit');
      for (const path of leftovers) {
        await Promise.all([path, `${path}.gz`, `${path}.br`].map((p) => this.o.blobs.delete(p)));
      }
      await this.o.state.clearPublicationIntents(lease);
    }
    await this.repairTimestamp();
    this.epoch = lease.epoch;
    if (this.classicBehind) this.scheduleClassic();
  }

  /** Rewrites timestamp.json from the newest committed publication if it differs (leader only). */
  async repairTimestamp(): Promise<void> {
    const latest = await this.o.state.latestTimestamp();
    if (!latest) return;
    const onDisk = await this.o.blobs.get(metadataBlobPath(ROLES.timestamp, null));
    if (onDisk?.equals(latest.bytes)) return;
    if (!this.o.leadership.current()) return; // only the leader writes timestamp.json
    this.o.log.warn({ snapshotVersion: latest.snapshotVersion }, 'repairing timestamp.json after an interrupted publication');
    await this.o.blobs.put(metadataBlobPath(ROLES.timestamp, null), latest.bytes);
  }

  /** Stops publishing in this process (an API server that is no snapshot candidate). */
  disable(): void {
    this.enabled = false;
  }

  onPublished(listener: (r: PublicationResult) => void): void {
    this.listeners.push(listener);
  }

  /**
   * The newest publication's version (its timestamp's version; see PublicationResult). Upload
   * answers and announcements name publications by it.
   */
  get snapshotVersion(): number {
    return Math.max(this.roles.get(ROLES.timestamp)?.version ?? 0, this.roles.get(ROLES.snapshot)?.version ?? 0);
  }

  roleState(name: string): RoleState | undefined {
    return this.roles.get(name);
  }

  /** Asks for a publication; requests made while one runs are folded into the next one. */
  request(): void {
    if (this.enabled) this.runner.request();
  }

  /** Resolves with the snapshot version that published journal entry `seq`. */
  waitForSeq(seq: number): Promise<number> {
    return this.o.waiters.waitFor(seq);
  }

  private setRole(r: RoleState): void {
    this.roles.set(r.name, r);
    const deadline = this.resignDeadline(r);
    if (deadline !== undefined && deadline < this.nextExpiry) this.nextExpiry = deadline;
  }

  /** After this time (ms) an online role has less than half its validity left; undefined for offline roles. */
  private resignDeadline(r: RoleState): number | undefined {
    const period = this.periodOf(r.name);
    return period === undefined ? undefined : Date.parse(r.expires) - (period * 1000) / 2;
  }

  /**
   * Online roles that must be re-signed now: less than half their validity left. Scans the
   * roles (16,384 bins: ~8 ms) only once the earliest deadline has come; before that, none.
   */
  private expiringRoles(now: Date): string[] {
    if (now.getTime() <= this.nextExpiry) return [];
    const out: string[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const r of this.roles.values()) {
      const deadline = this.resignDeadline(r);
      if (deadline === undefined) continue; // offline roles are re-signed in a ceremony
      if (now.getTime() > deadline) out.push(r.name);
      next = Math.min(next, deadline);
    }
    this.nextExpiry = next;
    return out;
  }

  private periodOf(name: string): number | undefined {
    const e: ExpiryPeriods = this.o.config.expiry;
    if (name.startsWith(`${BIN_PREFIX}-`)) return e.bins;
    if (name.startsWith(PROJECT_ROLE_PREFIX)) return undefined; // signed by its developers
    if (isNameBinRole(ROLES.recentlyClaimed, name)) return e['recently-claimed'];
    switch (name) {
      case ROLES.timestamp:
        return e.timestamp;
      case ROLES.snapshot:
        return e.snapshot;
      case ROLES.recentlyClaimed:
        return e['recently-claimed'];
      case ROLES.unclaimed:
        return e.unclaimed;
      default:
        return undefined;
    }
  }

  /** After a key rotation: the signers that the newest metadata trusts. */
  setSigners(signers: Record<OnlineRole, Signer>): void {
    this.o.signers = signers;
  }

  /** The next publication re-signs snapshot and timestamp even if nothing changed. */
  forceNext(): void {
    this.forced = true;
  }

  /** True when a publication would do something (used by the expiry timer). */
  needsPublication(): boolean {
    return this.expiringRoles(this.clock()).length > 0;
  }

  /**
   * One publication, if this process leads (else undefined). Exposed for tests and benchmarks;
   * normally driven by request().
   */
  publish(): Promise<PublicationResult | undefined> {
    // One publication at a time in this process, whether asked by request() or called directly.
    const run = this.serial.then(() => this.publishOnce());
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async publishOnce(): Promise<PublicationResult | undefined> {
    if (!this.enabled) return undefined;
    const lease = await this.o.leadership.ensure();
    if (!lease) return undefined;
    try {
      return await this.o.leadership.renewedDuring(async () => {
        if (this.epoch !== lease.epoch) await this.takeOver(lease);
        return this.publishAs(lease);
      });
    } catch (e) {
      // A forced or flushing publication that did not commit: the next attempt is one too.
      if (this.taken) {
        this.forced ||= this.taken.forced;
        this.classicNow ||= this.taken.flush;
        this.taken = undefined;
      }
      if (!(e instanceof NotLeaderError)) throw e;
      // Another process leads now; nothing of this attempt was committed.
      this.o.log.warn({ err: e }, 'publication abandoned: no longer the snapshot leader');
      this.epoch = undefined;
      return undefined;
    }
  }

  private async publishAs(lease: Lease): Promise<PublicationResult | undefined> {
    const t0 = performance.now();
    const now = this.clock();
    const expiring = this.expiringRoles(now);
    const expiringBins = expiring.filter((n) => n.startsWith(`${BIN_PREFIX}-`));
    const inputs = await this.o.state.collectPublishInputs(expiringBins);
    const classicDue = this.classicNow || (this.inlineClassic() && now.getTime() - this.classicAt >= this.merkle.classicSnapshotIntervalMs);
    if (inputs.dirtyRoles.length === 0 && inputs.appliedSeqs.length === 0 && expiring.length === 0 && !this.forced && !(this.classicBehind && classicDue) && !this.classic.hasReady) {
      return undefined;
    }
    // A classic snapshot written by this publication: always without a tree. With one: a small
    // one on its cadence; any when forced (ceremonies), flushed (idle(), close()) or close to
    // expiry. Otherwise the timestamp names the newest one built beside publications, if one is
    // ready (classic-snapshot.ts).
    const writeClassic = !this.tree || classicDue || this.forced || expiring.includes(ROLES.snapshot);
    // Taken by this attempt; given back if it fails before its commit (publishOnce).
    this.taken = { forced: this.forced, flush: this.classicNow };
    this.forced = false;
    this.classicNow = false;
    const publishedClassic = this.roles.get(ROLES.snapshot)?.version ?? 0;
    let readyClassic: RoleState | undefined;
    if (writeClassic) this.classic.discard();
    else readyClassic = this.classic.take(lease.epoch, this.o.signers.snapshot.keyId, publishedClassic);

    const newStates: RoleState[] = [];
    const writes: { path: string; bytes: Buffer }[] = [];
    const put = (name: string, version: number, bytes: Buffer, expires: Date) => {
      writes.push({ path: metadataBlobPath(name, version), bytes });
      newStates.push({ name, version, expires: formatExpires(expires), length: bytes.length, sha256: sha256(bytes) });
    };
    const nextVersion = (name: string) => (this.roles.get(name)?.version ?? 0) + 1;
    // The publication's version: the timestamp's, and the classic snapshot's if one is written.
    const snapshotVersion = this.snapshotVersion + 1;
    const snapshotPath = metadataBlobPath(ROLES.snapshot, snapshotVersion);
    const classicPaths = writeClassic ? [snapshotPath] : [];

    // 1. Changed bins, and bins close to expiry, rebuilt from their target rows; project roles
    //    as their developers signed them; recently-claimed rebuilt from the delegations.
    // A new targets role may delegate to new online keys: sign everything below with them.
    if (inputs.dirtyRoles.some((r) => r.name === ROLES.targets)) await this.o.reloadSigners?.();
    const binExpires = expiresIn(now, this.o.config.expiry.bins);
    const rebuilt = new Set<string>();
    // Target rows are read BIN_CHUNK roles at a time, and each chunk's files are written before
    // the next is read: after a bulk load every bin is dirty (millions of rows at PyPI size).
    // Still consistent: each role's generation to clear was read above; its targets, read
    // later, are at least that new; a role changed meanwhile has a higher generation, stays
    // dirty and is published again by the next publication.
    let chunkTargets = new Map<string, string>();
    for (const [i, role] of inputs.dirtyRoles.entries()) {
      if (i % BIN_CHUNK === 0) {
        if (writes.length > 0) await this.createFiles(lease, writes.splice(0), classicPaths);
        const chunk = inputs.dirtyRoles.slice(i, i + BIN_CHUNK).filter((r) => r.name.startsWith(`${BIN_PREFIX}-`));
        chunkTargets = await this.o.state.roleTargetsCanonical(chunk.map((r) => r.name));
      }
      rebuilt.add(role.name);
      if (role.name.startsWith(`${BIN_PREFIX}-`)) {
        const version = nextVersion(role.name);
        const body = chunkTargets.get(role.name);
        if (body === undefined) throw new Error(`the targets of ${role.name} were not read`);
        const { bytes } = await signCanonical(binCanonicalFromBody(version, binExpires, body), [this.o.signers.unclaimed]);
        put(role.name, version, bytes, binExpires);
      } else if (role.name.startsWith(PROJECT_ROLE_PREFIX)) {
        const signed = await this.o.state.latestProjectRole(role.name.slice(PROJECT_ROLE_PREFIX.length));
        if (!signed) throw new Error(`no signed metadata for ${role.name}`);
        const md = Metadata.parse(signed.bytes, 'targets', role.name);
        if (md.signed.version !== (this.roles.get(role.name)?.version ?? 0)) put(role.name, md.signed.version, signed.bytes, md.signed.expires);
      } else if (role.name === ROLES.recentlyClaimed && this.recentBins) {
        const expiringRecent = new Set(expiring.filter((n) => n === ROLES.recentlyClaimed || isNameBinRole(ROLES.recentlyClaimed, n)));
        for (const r of await this.recentBins.changed(this.o.signers['recently-claimed'], expiresIn(now, this.o.config.expiry['recently-claimed']), expiringRecent)) {
          put(r.name, r.version, r.bytes, r.expires);
          rebuilt.add(r.name);
        }
        for (const n of expiringRecent) rebuilt.add(n);
      } else if (role.name === ROLES.recentlyClaimed) {
        const { bytes, expires, version } = await this.buildRecentlyClaimed(now);
        put(role.name, version, bytes, expires);
      } else if (role.name === ROLES.unclaimed) {
        const { bytes, expires, version } = await this.resignDelegator(role.name, now);
        put(role.name, version, bytes, expires);
      } else if (role.name.startsWith(WHEELS_ROLE_PREFIX)) {
        // Verified wheels (issue 15): published as a threshold of their builders signed them.
        const signed = await this.o.state.latestSignedRole(role.name);
        if (!signed) throw new Error(`no builder-signed ${role.name} to publish`);
        const md = Metadata.parse(signed.bytes, 'targets', role.name);
        if (md.signed.version > (this.roles.get(role.name)?.version ?? 0)) put(role.name, md.signed.version, signed.bytes, md.signed.expires);
      } else if (role.name === ROLES.claimed || role.name === ROLES.targets || isNameBinRole(ROLES.claimed, role.name)) {
        // Offline roles: published as signed in the ceremony, never signed here.
        const signed = await this.o.state.latestSignedRole(role.name);
        if (!signed) throw new Error(`no offline-signed ${role.name} to publish`);
        const md = Metadata.parse(signed.bytes, 'targets', role.name);
        if (md.signed.version > (this.roles.get(role.name)?.version ?? 0)) put(role.name, md.signed.version, signed.bytes, md.signed.expires);
      } else {
        throw new Error(`no publisher for dirty role ${role.name}`);
      }
    }
    // Online delegators close to expiry: same content, next version, new expiry.
    const expiringRecent = new Set(expiring.filter((n) => !rebuilt.has(n) && (n === ROLES.recentlyClaimed || isNameBinRole(ROLES.recentlyClaimed, n))));
    if (this.recentBins && expiringRecent.size > 0) {
      for (const r of await this.recentBins.changed(this.o.signers['recently-claimed'], expiresIn(now, this.o.config.expiry['recently-claimed']), expiringRecent)) {
        put(r.name, r.version, r.bytes, r.expires);
        rebuilt.add(r.name);
      }
    }
    for (const name of expiring) {
      if (rebuilt.has(name)) continue;
      if (name === ROLES.recentlyClaimed) {
        const { bytes, expires, version } = await this.buildRecentlyClaimed(now);
        put(name, version, bytes, expires);
      } else if (name === ROLES.unclaimed) {
        const { bytes, expires, version } = await this.resignDelegator(name, now);
        put(name, version, bytes, expires);
      }
    }
    const tBuild = performance.now();

    // 2. The Merkle tree's new files (only the shards and groups that changed, and the top),
    //    and on its cadence the classic snapshot over the new working set. The snapshot needs
    //    only the new roles' hashes, so it is signed while the store records the files' names,
    //    and then every file is created at once; none before its name is recorded (so a new
    //    leader can remove them). Tree files are named by their hash and need no record.
    const staged: StagedTree | undefined = this.tree?.stage(newStates.map((st) => ({ role: st.name, leaf: leafOfRole(st) })));
    const snapshotExpires = expiresIn(now, this.o.config.expiry.snapshot);
    const intents = this.o.state.recordPublicationIntent(lease, [...writes.map((f) => f.path), ...classicPaths]);
    const [snapshot] = await Promise.all([
      writeClassic ? signCanonical(this.meta.canonical(snapshotVersion, snapshotExpires, newStates), [this.o.signers.snapshot]) : undefined,
      intents,
    ]);
    // One batch, made durable together: each file fsynced, then linked, then metadata/ and
    // metadata/merkle/ fsynced once each (not two fsyncs per file). Tree files already present
    // (content-addressed: same name, same bytes) are not rewritten.
    await this.o.blobs.putNewAll([...writes, ...(snapshot ? [{ path: snapshotPath, bytes: snapshot.bytes }] : []), ...merkleBlobs(staged?.files ?? [])]);
    crashPoint('publish:after-files');
    const snapshotState: RoleState | undefined = snapshot
      ? { name: ROLES.snapshot, version: snapshotVersion, expires: formatExpires(snapshotExpires), length: snapshot.bytes.length, sha256: sha256(snapshot.bytes) }
      : readyClassic;
    const classic = snapshotState ?? this.roles.get(ROLES.snapshot);
    if (!classic) throw new Error('no classic snapshot was ever published (the repository was not initialised)');
    const timestampExpires = expiresIn(now, this.o.config.expiry.timestamp);
    const timestampVersion = snapshotVersion;
    const timestamp = await signCanonical(
      timestampCanonical(timestampVersion, timestampExpires, { version: classic.version, length: classic.length, sha256: classic.sha256 }, staged?.field),
      [this.o.signers.timestamp]
    );
    const timestampState: RoleState = {
      name: ROLES.timestamp,
      version: timestampVersion,
      expires: formatExpires(timestampExpires),
      length: timestamp.bytes.length,
      sha256: sha256(timestamp.bytes),
    };
    const tWrite = performance.now();

    // 3. Commit, then 4. publish the timestamp.
    const allStates = [...newStates, ...(snapshotState ? [snapshotState] : []), timestampState];
    await this.o.state.commitPublication({
      lease,
      roles: allStates,
      clearedDirty: inputs.dirtyRoles.map((r) => ({ name: r.name, generation: r.generation })),
      publishedSeqs: inputs.appliedSeqs,
      snapshotVersion,
      timestampBytes: timestamp.bytes,
      now: now.toISOString(),
    });
    this.taken = undefined;
    crashPoint('publish:after-commit');
    for (const s of allStates) this.setRole(s);
    for (const s of newStates) this.meta.set(s.name, s.version, s);
    staged?.commit();
    if (newStates.length > 0) this.rolesChangedAt = timestampVersion;
    if (snapshot) {
      this.classicCaptured = snapshotVersion;
      this.classicAt = now.getTime();
    } else if (readyClassic) this.classicCaptured = readyClassic.version;
    this.classicBehind = this.classicCaptured < this.rolesChangedAt;
    if (this.classicBehind) this.scheduleClassic();
    // A leader whose lease may have run out since the commit leaves timestamp.json to the next
    // leader (which rewrites it from the committed bytes): it might otherwise replace a newer one.
    if (this.o.leadership.current()?.epoch === lease.epoch) await this.o.blobs.put(metadataBlobPath(ROLES.timestamp, null), timestamp.bytes);
    else this.o.log.warn({ snapshotVersion }, 'the lease ran out after the commit; the next leader writes timestamp.json');
    crashPoint('publish:after-timestamp');
    const tEnd = performance.now();

    this.o.waiters.resolve(inputs.appliedSeqs, snapshotVersion);
    if (this.o.compress !== false) {
      // With a tree, a classic snapshot written here is rare (forced, flushed): compressed at
      // once. One built beside publications was compressed by its build. Without a tree, the
      // delayed path skips superseded ones.
      if (snapshot && snapshotState && this.tree) this.compressSnapshot(snapshotState, snapshot.bytes);
      if (staged) this.compressTreeFiles(staged.files);
      this.compressLater(snapshot && snapshotState && !this.tree ? [...newStates, snapshotState] : newStates);
    }
    const result: PublicationResult = {
      snapshotVersion,
      classicSnapshotVersion: classic.version,
      roles: allStates.map((s) => s.name),
      publishedSeqs: inputs.appliedSeqs,
      ms: { build: tBuild - t0, write: tWrite - tBuild, commit: tEnd - tWrite, total: tEnd - t0 },
    };
    this.o.log.debug({ snapshotVersion, roles: result.roles.length, seqs: inputs.appliedSeqs.length, ms: result.ms }, 'published');
    for (const l of this.listeners) l(result);
    return result;
  }

  /**
   * Creates new metadata files after recording their names under the lease (so the next leader
   * can remove them if this publication never commits). `alsoIntended` are files written later.
   */
  private async createFiles(lease: Lease, files: readonly { path: string; bytes: Buffer }[], alsoIntended: readonly string[] = []): Promise<void> {
    await this.o.state.recordPublicationIntent(lease, [...files.map((f) => f.path), ...alsoIntended]);
    await this.o.blobs.putNewAll(files);
  }

  /** recently-claimed: one terminating delegation `<project>/*` per project waiting for promotion. */
  private async buildRecentlyClaimed(now: Date): Promise<{ bytes: Buffer; expires: Date; version: number }> {
    const keys = new Map<string, Key>();
    const roles = new Map<string, DelegatedRole>();
    for (const d of await this.o.state.delegations(ROLES.recentlyClaimed)) {
      for (const [id, key] of Object.entries(d.keys)) keys.set(id, Key.fromJSON(key, `delegation ${d.project}`));
      roles.set(d.role, new DelegatedRole(d.role, d.keyids, d.threshold, true, [`${d.project}/*`]));
    }
    const version = (this.roles.get(ROLES.recentlyClaimed)?.version ?? 0) + 1;
    const expires = expiresIn(now, this.o.config.expiry['recently-claimed']);
    const md = await Metadata.sign(
      new Targets({ version, expires, targets: new Map(), delegations: new Delegations(keys, roles) }),
      [this.o.signers['recently-claimed']]
    );
    return { bytes: md.bytes, expires, version };
  }

  private async resignDelegator(name: string, now: Date): Promise<{ bytes: Buffer; expires: Date; version: number }> {
    const current = this.roles.get(name);
    if (!current) throw new Error(`role ${name} has never been published`);
    const bytes = await this.o.blobs.get(metadataBlobPath(name, current.version));
    if (!bytes) throw new Error(`${metadataBlobPath(name, current.version)} is missing`);
    const old = Metadata.parse(bytes, 'targets', name).signed;
    const version = current.version + 1;
    const expires = expiresIn(now, this.periodOf(name) as number);
    const signer = name === ROLES.unclaimed ? this.o.signers.unclaimed : this.o.signers['recently-claimed'];
    // The bins are signed with the unclaimed key: after a rotation, delegate them to the new one.
    const succinct = old.delegations?.succinctRoles;
    const delegations =
      name === ROLES.unclaimed && succinct
        ? new Delegations(new Map([[signer.keyId, signer.publicKey]]), undefined, new SuccinctRoles([signer.keyId], 1, succinct.bitLength, succinct.namePrefix))
        : (old.delegations ?? new Delegations(new Map(), new Map()));
    const next = new Targets({
      version,
      expires,
      targets: old.targets,
      delegations,
      unrecognized: old.unrecognized,
      specVersion: old.specVersion,
    });
    const signed = await Metadata.sign(next, [signer]);
    return { bytes: signed.bytes, expires, version };
  }

  /**
   * gzip and brotli copies beside the new files, off the publication's critical path, made
   * COMPRESS_DELAY_MS later. A version superseded by then is skipped: under load the snapshot
   * changes several times a second, and compressing a 2 MiB snapshot nobody will be sent costs
   * ~50 ms of CPU (clients asking for it meanwhile get the uncompressed file).
   */
  private compressLater(states: RoleState[]): void {
    const delayed = new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.compressionDelays.delete(end);
        resolve();
      };
      const timer = setTimeout(end, COMPRESS_DELAY_MS);
      this.compressionDelays.add(end);
    });
    const superseded = (s: RoleState) => (this.roles.get(s.name)?.version ?? 0) > s.version;
    const job = async () => {
      const copies: { path: string; bytes: Uint8Array }[] = [];
      for (const s of states) {
        if (s.length < 1024 || superseded(s)) continue;
        const path = metadataBlobPath(s.name, s.version);
        const raw = await this.o.blobs.get(path);
        if (!raw || superseded(s)) continue;
        copies.push(...(await compressedCopies(path, raw)));
        // Written together (one directory fsync), a bounded number at a time (a bulk load dirties every bin).
        if (copies.length >= COPIES_PER_BATCH) await this.o.blobs.putAll(copies.splice(0));
      }
      await this.o.blobs.putAll(copies);
    };
    // Each job waits for its own delay and for the job before it: one compression at a time.
    this.pendingCompression = Promise.all([this.pendingCompression, delayed])
      .then(job)
      .catch((err: unknown) => this.o.log.warn({ err }, 'compression failed'));
  }

  /** gzip and brotli copies of a classic snapshot this publication wrote, from its bytes in memory, made right away (one at a time). */
  private compressSnapshot(state: RoleState, raw: Buffer): void {
    const job = async () => {
      if ((this.roles.get(state.name)?.version ?? 0) > state.version) return; // superseded meanwhile
      const path = metadataBlobPath(state.name, state.version);
      await this.o.blobs.putAll(await compressedCopies(path, raw));
    };
    this.pendingSnapshotCompression = this.pendingSnapshotCompression.then(job).catch((err: unknown) => this.o.log.warn({ err }, 'compression failed'));
  }

  /** The .gz copies of a publication's larger tree files (top, nodes, shards), after its timestamp, one batch at a time. */
  private compressTreeFiles(files: readonly MerkleFile[]): void {
    const job = () => compressMerkleFiles(this.o.blobs, files);
    this.pendingSnapshotCompression = this.pendingSnapshotCompression.then(job).catch((err: unknown) => this.o.log.warn({ err }, 'compression failed'));
  }

  /** Whether a publication writes the classic snapshot itself: while it is small (merkle.inlineClassicMaxBytes). */
  private inlineClassic(): boolean {
    return (this.roles.get(ROLES.snapshot)?.length ?? 0) <= this.merkle.inlineClassicMaxBytes;
  }

  /**
   * The timer that brings the newest state to classic clients: a small classic snapshot by a
   * publication at most one interval later, a large one by a build once its interval has
   * passed (classic-snapshot.ts).
   */
  private scheduleClassic(): void {
    if (this.classicTimer || !this.tree) return;
    const inline = this.inlineClassic();
    if (!inline && this.classic.building) return; // its end schedules the next
    const due = inline ? this.classicAt + this.merkle.classicSnapshotIntervalMs : this.classic.nextStart();
    const wait = Math.min(2 ** 31 - 1, Math.max(0, due - this.clock().getTime()));
    this.classicTimer = setTimeout(() => {
      this.classicTimer = undefined;
      if (!this.inlineClassic()) return this.startClassic();
      this.classicNow = true;
      this.request();
    }, wait);
    this.classicTimer.unref();
  }

  /** Starts a build of the classic snapshot of the committed state, if it is behind (leader only). */
  private startClassic(): void {
    if (!this.enabled || !this.classicBehind || !this.tree) return;
    const lease = this.o.leadership.current();
    if (!lease || lease.epoch !== this.epoch || this.classic.building) return;
    // Captured between publications: this.meta and the roles are the committed state of the
    // newest timestamp, which named an older classic snapshot (or the version would be taken).
    const version = this.roles.get(ROLES.timestamp)?.version ?? 0;
    if (version <= (this.roles.get(ROLES.snapshot)?.version ?? 0)) return;
    const now = this.clock();
    this.classic.start({ lease, version, expires: expiresIn(now, this.o.config.expiry.snapshot), meta: this.meta, signer: this.o.signers.snapshot }, now.getTime());
  }

  /** Publishes the classic snapshot now if a publication left it behind (leader only). */
  private async flushClassic(): Promise<void> {
    // A build under way is named first (it requests a publication once written).
    await this.classic.idle();
    await this.runner.idle();
    if (!this.classicBehind || !this.enabled) return;
    this.classicNow = true;
    this.request();
    await this.runner.idle();
  }

  /** Waits for the classic snapshot build under way, if any, and the publication that names it (tests, benchmarks). */
  async classicBuilt(): Promise<void> {
    await this.runner.idle();
    await this.classic.idle();
    await this.runner.idle();
  }

  /** Compresses what is waiting now instead of after its delay. */
  private compressNow(): Promise<unknown> {
    for (const end of [...this.compressionDelays]) end();
    return Promise.all([this.pendingCompression, this.pendingSnapshotCompression]);
  }

  /** Waits for the publication under way, if any, publishes the classic snapshot if behind, and stops taking requests. */
  async close(): Promise<void> {
    await this.runner.idle();
    await this.flushClassic();
    await this.runner.close();
    clearTimeout(this.classicTimer);
    this.classicTimer = undefined;
    await this.compressNow();
  }

  /**
   * Waits until no publication is running or requested (bounded; see CoalescingRunner.idle),
   * the classic snapshot included: it is published now rather than on its timer.
   */
  async idle(): Promise<void> {
    await this.runner.idle();
    await this.flushClassic();
    await this.compressNow();
  }

  /** Why the last publication failed, while publications keep failing. */
  get lastError(): unknown {
    return this.runner.lastError;
  }
}
