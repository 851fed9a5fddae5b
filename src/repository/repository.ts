// SPDX-License-Identifier: Apache-2.0
// An open repository: the state store, the blob store, the online signers, and the two
// processes that turn uploads into published snapshots (transaction worker → snapshot
// process). One process runs all of them by default; on PostgreSQL any number of processes
// share the work (start() says which parts run here): API servers record uploads, workers apply
// them, and the one elected snapshot leader publishes. Processes learn of each other's work
// from the store's announcements, and by polling as a fallback.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, type Signer, type SuccinctRoles } from '../tuf/index.js';
import { FsBlobStore, type BlobStore } from '../storage/blob-store.js';
import { databaseUrlFrom, openStateStore } from '../storage/state/open-state.js';
import type { StateStore, StoreEvent } from '../storage/state/types.js';
import { Accounts } from './accounts.js';
import { loadConfig, type RepositoryConfig } from './config.js';
import { loadTrustedSigners } from './keyring.js';
import { metadataBlobPath, ROLES, type OnlineRole } from './layout.js';
import { errorsToStderr, type Logger } from './logger.js';
import { PUBLIC_DIR, TMP_DIR } from './paths.js';
import { SnapshotLeadership } from './leadership.js';
import { PublicationWaiters } from './publication-waiters.js';
import { SnapshotProcess } from './snapshot-process.js';
import { TransactionWorker } from './transaction-worker.js';
import { ProjectRoleService } from './project-roles.js';
import { UploadService } from './uploads.js';

/** Bumped by a key rotation ceremony: running processes reload their online signers. */
export const KEYS_GENERATION = 'keys-generation';

/** Online signers matching the keys the published root and targets trust. */
async function trustedOnlineSigners(dataDir: string, config: RepositoryConfig, state: StateStore, blobs: BlobStore): Promise<Record<OnlineRole, Signer>> {
  const states = new Map((await state.roleStates()).map((r) => [r.name, r]));
  const load = async (role: string) => {
    const st = states.get(role);
    const bytes = st && (await blobs.get(metadataBlobPath(role, st.version)));
    if (!bytes) throw new Error(`${dataDir}: the published ${role} role is missing; the repository is damaged`);
    return bytes;
  };
  const root = Metadata.parse(await load(ROLES.root), 'root').signed;
  // A targets role signed in a ceremony but not yet published already names the keys to use.
  const signedTargets = await state.latestSignedRole(ROLES.targets);
  const publishedTargets = states.get(ROLES.targets)?.version ?? 0;
  const targets = Metadata.parse(signedTargets && signedTargets.version > publishedTargets ? signedTargets.bytes : await load(ROLES.targets), 'targets').signed;
  const trusted: Record<OnlineRole, readonly string[]> = {
    timestamp: root.roles.get('timestamp')?.keyids ?? [],
    snapshot: root.roles.get('snapshot')?.keyids ?? [],
    'recently-claimed': targets.delegations?.roles?.get(ROLES.recentlyClaimed)?.keyids ?? [],
    unclaimed: targets.delegations?.roles?.get(ROLES.unclaimed)?.keyids ?? [],
  };
  return loadTrustedSigners(config.onlineKeys, dataDir, trusted);
}

export class NoRepositoryError extends Error {
  constructor(dataDir: string) {
    super(`no repository in ${dataDir}: run \`bulwark init --data ${dataDir}\` first (or \`bulwark serve\`, which creates a demo one)`);
    this.name = 'NoRepositoryError';
  }
}

export interface OpenOptions {
  log?: Logger;
  clock?: () => Date;
  /** How often to check for online roles close to expiry (ms; default 60 s). */
  expiryCheckMs?: number;
  /** How often to look for work recorded by other processes (ms; default 1 s). */
  pollMs?: number;
  compress?: boolean;
  /** postgres://… to keep the state in PostgreSQL (default $BULWARK_DATABASE_URL, else the embedded file). */
  databaseUrl?: string | undefined;
  /** How long the snapshot leader's lease lasts without renewal (ms; default 10 s). */
  leaderTtlMs?: number;
  /** Concurrent project transactions in this process's worker (default 8). */
  workerConcurrency?: number;
}

/** Which parts of the index run in this process (all of them by default). */
export interface StartOptions {
  /** Apply project transactions (a `bulwark worker`). */
  worker?: boolean;
  /** Stand as a candidate for the snapshot leader. */
  snapshot?: boolean;
}

export class Repository {
  readonly accounts: Accounts;
  readonly uploads: UploadService;
  readonly projectRoles: ProjectRoleService;
  readonly worker: TransactionWorker;
  readonly publisher: SnapshotProcess;
  readonly leadership: SnapshotLeadership;
  readonly publications: PublicationWaiters;
  readonly tmpDir: string;
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;

  private constructor(
    readonly dataDir: string,
    readonly config: RepositoryConfig,
    readonly state: StateStore,
    readonly blobs: BlobStore,
    readonly bins: SuccinctRoles,
    signers: Record<OnlineRole, Signer>,
    private readonly opts: OpenOptions
  ) {
    const log = opts.log ?? errorsToStderr;
    const clock = opts.clock ?? (() => new Date());
    this.tmpDir = join(dataDir, TMP_DIR);
    this.accounts = new Accounts(state);
    this.publications = new PublicationWaiters(state);
    this.leadership = new SnapshotLeadership({ state, log, ttlMs: opts.leaderTtlMs, onElected: () => {
        // Publish what waited for a leader; a repository opened but not started publishes when asked.
        if (this.timer) this.publisher.request();
      },
    });
    this.publisher = new SnapshotProcess({
      leadership: this.leadership,
      waiters: this.publications,
      state,
      blobs,
      config,
      signers,
      clock,
      log,
      compress: opts.compress ?? true,
      reloadSigners: async () => this.publisher.setSigners(await trustedOnlineSigners(dataDir, config, state, blobs)),
    });
    this.worker = new TransactionWorker({ state, blobs, bins, log, clock, concurrency: opts.workerConcurrency, onApplied: () => this.publisher.request() });
    this.uploads = new UploadService(state, blobs, () => this.worker.kick(), clock);
    this.projectRoles = new ProjectRoleService(state, blobs, () => this.worker.kick(), clock);
  }

  /** Opens the repository in `dataDir` without starting its background processes. */
  static async open(dataDir: string, opts: OpenOptions = {}): Promise<Repository> {
    const config = await loadConfig(dataDir);
    if (!config) throw new NoRepositoryError(dataDir);
    // Resolved once, so that what else opens the database (the web store) opens the same one.
    const databaseUrl = databaseUrlFrom(opts.databaseUrl);
    const state = await openStateStore(dataDir, databaseUrl);
    const blobs = new FsBlobStore(join(dataDir, PUBLIC_DIR));
    let signers: Record<OnlineRole, Signer>;
    try {
      signers = await trustedOnlineSigners(dataDir, config, state, blobs);
    } catch (e) {
      await state.close();
      throw e;
    }
    // The bin layout comes from the published unclaimed role, the one clients follow.
    const unclaimedState = (await state.roleStates()).find((r) => r.name === ROLES.unclaimed);
    const unclaimedBytes = unclaimedState && (await blobs.get(metadataBlobPath(ROLES.unclaimed, unclaimedState.version)));
    const bins = unclaimedBytes && Metadata.parse(unclaimedBytes, 'targets', ROLES.unclaimed).signed.delegations?.succinctRoles;
    if (!bins) {
      await state.close();
      throw new Error(`${dataDir}: the unclaimed role is missing or has no hashed bins; the repository is damaged`);
    }
    return new Repository(dataDir, config, state, blobs, bins, signers, { ...opts, databaseUrl });
  }

  /** The PostgreSQL URL the state lives in (--database, else $BULWARK_DATABASE_URL), or undefined for the embedded file. */
  get databaseUrl(): string | undefined {
    return this.opts.databaseUrl;
  }

  /** Reloads the online signers (after a key rotation ceremony) and publishes with them. */
  async reloadSigners(): Promise<void> {
    this.publisher.setSigners(await trustedOnlineSigners(this.dataDir, this.config, this.state, this.blobs));
    this.publisher.forceNext();
    this.publisher.request();
  }

  /** The newest published snapshot version this process knows of. */
  get snapshotVersion(): number {
    return Math.max(this.publisher.snapshotVersion, this.publications.latestVersion);
  }

  /**
   * Recovers from a crash and starts the worker, the snapshot candidacy and the polling that
   * finds work other processes recorded and online roles close to expiry.
   */
  async start(parts: StartOptions = {}): Promise<void> {
    const runWorker = parts.worker ?? true;
    const runSnapshot = parts.snapshot ?? true;
    if (!runWorker) this.worker.disable();
    if (!runSnapshot) this.publisher.disable();
    await rm(this.tmpDir, { recursive: true, force: true }); // uploads that were never acknowledged
    await mkdir(this.tmpDir, { recursive: true });
    await this.publisher.init();
    this.stopListening = await this.state.listen((event) => this.onStoreEvent(event));
    if (runSnapshot) {
      // Lead at once if nobody else does, and repair what a crash of the last leader left.
      const lease = await this.leadership.refresh();
      // Renewed meanwhile: a first start writes the whole Merkle tree, longer than a lease at 16,384 bins.
      if (lease) await this.leadership.renewedDuring(() => this.publisher.takeOver(lease));
      this.leadership.start();
    }
    this.worker.kick(); // pending transactions from before a crash
    this.publisher.request(); // applied but unpublished ones, and anything near expiry
    let lastExpiryCheck = 0;
    let keysGeneration = await this.state.getSetting(KEYS_GENERATION);
    this.timer = setInterval(() => {
      void (async () => {
        const generation = await this.state.getSetting(KEYS_GENERATION);
        if (generation !== keysGeneration) {
          keysGeneration = generation;
          await this.reloadSigners();
        }
        if (await this.state.hasPendingWork()) {
          this.worker.kick();
          this.publisher.request();
        }
        this.publications.check();
        if (this.leadership.current()) await this.publisher.repairTimestamp();
        if (Date.now() - lastExpiryCheck >= (this.opts.expiryCheckMs ?? 60_000)) {
          lastExpiryCheck = Date.now();
          if (this.publisher.needsPublication()) this.publisher.request();
        }
      })().catch((err: unknown) => (this.opts.log ?? errorsToStderr).error({ err }, 'background check failed'));
    }, this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  private onStoreEvent(event: StoreEvent): void {
    switch (event.kind) {
      case 'journal':
        this.worker.kick();
        break;
      case 'applied':
      case 'dirty':
        this.publisher.request();
        break;
      case 'published':
        this.publications.check(event.snapshotVersion);
        break;
    }
  }

  /**
   * Waits until every pending transaction is applied and published.
   * @throws Error naming the worker's or the snapshot process's failure if it does not settle
   */
  async settle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await this.worker.idle();
      await this.publisher.idle();
      const pending = await this.state.pendingJournal(1);
      const inputs = await this.state.collectPublishInputs([]);
      if (pending.length === 0 && inputs.appliedSeqs.length === 0 && inputs.dirtyRoles.length === 0) return;
      this.worker.kick();
      this.publisher.request();
      await new Promise((r) => setTimeout(r, 5));
    }
    const cause = this.publisher.lastError ?? this.worker.lastError;
    throw new Error(`the repository did not settle: ${cause instanceof Error ? cause.message : 'still busy'}`, { cause });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.stopListening?.();
    await this.worker.close();
    await this.publisher.close();
    await this.leadership.stop();
    await this.state.close();
  }

  /** Files in tmp/ (for diagnostics). */
  async tmpFiles(): Promise<string[]> {
    return readdir(this.tmpDir).catch(() => []);
  }
}
