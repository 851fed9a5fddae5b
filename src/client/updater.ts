// SPDX-License-Identifier: Apache-2.0
// The TUF client workflow (specification §5) on top of the trusted-metadata state machine:
// load the local cache, update root one version at a time, then timestamp, snapshot and
// targets; look targets up through delegations (§5.6.7.2: preorder depth-first, stopping at
// terminating delegations, with a bound on roles visited); download targets under their
// consistent-snapshot names and verify them. The state machine decides what is trusted; this
// module only moves bytes between the network, the cache and it.
// Merkle mode (docs/merkle-snapshots.md): when the timestamp names a snapshot Merkle tree, a
// role's version, length and hash come from its leaf (tree → node → node → shard files, each cached by
// the hash it proves), and snapshot.json is never downloaded. Without the field, the classic
// snapshot, said once per index.
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BadMetadataError,
  canonicalBytes,
  DownloadError,
  MERKLE_SHARD_LIMIT,
  MerkleProofError,
  MerkleRoleMissingError,
  MerkleTooLargeError,
  merkleNodeLimit,
  nodeFileName,
  Metadata,
  parseStrictJson,
  RepositoryError,
  shardFileName,
  shardOf,
  topFileName,
  TrustedMetadataSet,
  type MerkleLeaf,
  type Root,
  type Snapshot,
  type Targets,
  type Timestamp,
  type TargetFile,
} from '../tuf/index.js';
import { recallMerkleFileBytes } from '../tuf/verified-merkle-memo.js';
import { auditedTimestamp, type VerifiedFetch } from './audit-requirement.js';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { HttpFetcher, type Fetcher } from './fetcher.js';
import { cacheFileHolds, noteCacheFile } from './known-cache-files.js';
import { pruneMerkleCache } from './merkle-cache.js';
import { localFileName, quoteName } from './quote.js';
import { Sources } from './sources.js';

export interface UpdaterLimits {
  maxRootRotations: number;
  maxDelegations: number; // roles visited in one target search
  rootMaxLength: number; // bytes
  timestampMaxLength: number;
  snapshotMaxLength: number;
  targetsMaxLength: number;
}

export const DEFAULT_LIMITS: UpdaterLimits = {
  maxRootRotations: 256,
  maxDelegations: 32,
  rootMaxLength: 512_000,
  timestampMaxLength: 16_384,
  snapshotMaxLength: 32_000_000, // a 16,384-bin snapshot is about 0.6 MB
  targetsMaxLength: 8_000_000,
};

export interface UpdaterOptions {
  /** Local metadata cache: `root.json`, `timestamp.json`, `snapshot.json`, `<role>.json`. */
  metadataDir: string;
  /** The index's base URL: metadata under `URL/metadata/`, targets under `URL/targets/`. */
  indexUrl: string;
  /** Mirrors with the same layout, tried in order before the index. */
  mirrors?: readonly string[];
  /** Overrides for the conformance protocol's separate URLs. */
  metadataBaseUrl?: string;
  targetBaseUrl?: string;
  fetcher?: Fetcher;
  /** The fixed reference time of this update (§5.1). */
  now?: Date;
  limits?: Partial<UpdaterLimits>;
  /** `--require-auditor`: load the timestamp auditors vouch for instead of timestamp.json (client/audit-requirement.ts). */
  requireAuditor?: boolean;
  /**
   * 'auto' (default): Merkle mode when the timestamp names a tree, else the classic snapshot.
   * 'classic': always the classic snapshot (a mirror copies it for standard clients).
   */
  snapshotMode?: 'auto' | 'classic';
  /** Where the one notice of a fall-back to the classic snapshot goes (default: a process warning). */
  notice?: (message: string) => void;
}

/** Indexes already told about (once per process): the fall-back notice is not repeated. */
const classicNoticeGiven = new Set<string>();
/** Cache of Merkle files, by the hash they prove, inside the metadata directory. */
const MERKLE_CACHE = 'merkle';
/** The versions of targets roles trusted from verified leaves (the Merkle rollback baseline). */
const MERKLE_VERSIONS = 'merkle-versions.json';

/** A target found by a search, with the role that lists it and the delegations walked to it. */
export interface FoundTarget {
  target: TargetFile;
  role: string;
  /** From 'targets' down to `role`, each delegated by the one before it. */
  delegationPath: readonly string[];
}

/**
 * A metadata cache file's bytes, or undefined when there is none. Read synchronously on purpose:
 * these are small local files, in the page cache after the first refresh, and fs/promises'
 * readFile costs ~10x the CPU of readFileSync (open, fstat, read and close each a thread-pool
 * round trip: ~235 against ~24 µs here), which a client refreshing every few seconds pays on
 * every file of every refresh (issue 12: ≤ 5 ms of CPU per refresh).
 */
function readCacheFile(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The cache file of a role: its quoted name, one path segment inside the metadata directory. */
function roleFile(role: string): string {
  return localFileName(role, '.json');
}

export class Updater {
  private trusted: TrustedMetadataSet | undefined;
  private readonly limits: UpdaterLimits;
  private readonly metadataSources: Sources;
  private readonly targetSources: Sources;
  private readonly now: Date;
  /** Merkle files being loaded, by name (concurrent role loads share one download). */
  private readonly merkleLoads = new Map<string, Promise<unknown>>();
  private merkleVersions = new Map<string, number>();
  /** Bytes fetched over the network in this updater's life (for benchmarks and reports). */
  bytesFetched = 0;

  constructor(private readonly o: UpdaterOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    const base = new HttpFetcher();
    const inner = o.fetcher ?? base;
    const counting: Fetcher = {
      fetch: async (url, max) => {
        const b = await inner.fetch(url, max);
        this.bytesFetched += b.length;
        return b;
      },
    };
    const mirrors = o.mirrors ?? [];
    this.metadataSources = o.metadataBaseUrl
      ? new Sources([o.metadataBaseUrl], counting)
      : Sources.forIndex(o.indexUrl, mirrors, 'metadata', counting);
    this.targetSources = o.targetBaseUrl ? new Sources([o.targetBaseUrl], counting) : Sources.forIndex(o.indexUrl, mirrors, 'targets', counting);
    this.now = o.now ?? new Date();
  }

  private async readCache(role: string): Promise<Buffer | undefined> {
    return readCacheFile(join(this.o.metadataDir, roleFile(role)));
  }

  private async writeCache(role: string, bytes: Buffer): Promise<void> {
    await mkdir(this.o.metadataDir, { recursive: true });
    await writeFileAtomic(join(this.o.metadataDir, roleFile(role)), bytes, { durable: false });
  }

  private get set(): TrustedMetadataSet {
    if (!this.trusted) throw new Error('call refresh() first');
    return this.trusted;
  }

  /**
   * §5.2–5.5: root rotation, timestamp, snapshot and top-level targets.
   * @throws RepositoryError when anything fails verification (possible attack)
   * @throws DownloadError when nothing could be fetched
   */
  async refresh(): Promise<void> {
    const rootBytes = await this.readCache('root');
    if (!rootBytes) throw new BadMetadataError(`no trusted root in ${this.o.metadataDir}: initialise it with the index's root.json`);
    for (let attempt = 0; ; attempt++) {
      // A retry starts from the root the first attempt may have rotated to (and cached).
      this.trusted = new TrustedMetadataSet(attempt === 0 ? rootBytes : ((await this.readCache('root')) ?? rootBytes), { now: this.now });
      try {
        await this.updateRoot();
        await this.forgetFastForwardedMetadata();
        await this.updateTimestamp();
        if (this.o.snapshotMode !== 'classic' && this.set.merkle) await this.updateMerkleTop();
        else {
          if (this.o.snapshotMode !== 'classic') this.classicNotice();
          await this.updateSnapshot();
        }
        await this.loadTargets('targets', 'root');
        return;
      } catch (e) {
        // A snapshot removed by garbage collection between our timestamp and snapshot
        // requests: start over once from the newest timestamp.
        if (attempt === 0 && e instanceof DownloadError && e.code === 'NOT_FOUND') continue;
        throw e;
      }
    }
  }

  /** §5.3: fetch N+1.root.json until there is none; each must verify against the previous. */
  private async updateRoot(): Promise<void> {
    const start = this.set.root.signed.version;
    for (let next = start + 1; next <= start + this.limits.maxRootRotations; next++) {
      let bytes: Buffer;
      try {
        bytes = await this.metadataSources.fetchVerified(
          `${next}.root.json`,
          this.limits.rootMaxLength,
          (b) => {
            this.set.updateRoot(b);
            return b;
          },
          { notFoundIsAnswer: true }
        );
      } catch (e) {
        if (e instanceof DownloadError && e.code === 'NOT_FOUND') return; // no newer root
        throw e;
      }
      // Forget fast-forwarded metadata before the new root is cached: once it is, a later
      // session could no longer tell that the keys rotated.
      await this.forgetFastForwardedMetadata();
      await this.writeCache('root', bytes);
    }
  }

  /**
   * §5.3.11: when the new root rotated the timestamp or snapshot keys, the cached timestamp and
   * snapshot must stop being rollback baselines in later sessions too (an attacker may have
   * fast-forwarded them): delete them.
   */
  private async forgetFastForwardedMetadata(): Promise<void> {
    if (!this.set.fastForwardRecovery) return;
    for (const role of ['timestamp', 'snapshot']) await rm(join(this.o.metadataDir, roleFile(role)), { force: true });
    await rm(join(this.o.metadataDir, MERKLE_VERSIONS), { force: true });
  }

  private async updateTimestamp(): Promise<void> {
    const local = await this.readCache('timestamp');
    if (local) this.tryLocal(() => this.set.updateTimestamp(local));
    const load = (b: Buffer): Buffer | undefined => {
      try {
        this.set.updateTimestamp(b);
      } catch (e) {
        // §5.4.3.2: the same version again means nothing new; keep what we trust.
        if (e instanceof RepositoryError && e.code === 'EQUAL_VERSION') return undefined;
        throw e;
      }
      return b;
    };
    const fetchVerified: VerifiedFetch = (path, max, verify) => this.metadataSources.fetchVerified(path, max, verify);
    const bytes = this.o.requireAuditor
      ? load((await auditedTimestamp(this.set.root.signed, fetchVerified, this.set.timestamp, this.now)).bytes)
      : await fetchVerified('timestamp.json', this.limits.timestampMaxLength, load);
    if (bytes) await this.writeCache('timestamp', bytes);
  }

  private classicNotice(): void {
    if (classicNoticeGiven.has(this.o.indexUrl)) return;
    classicNoticeGiven.add(this.o.indexUrl);
    const message = `${this.o.indexUrl}: the timestamp names no snapshot Merkle tree; using the classic snapshot.json`;
    if (this.o.notice) this.o.notice(message);
    else process.stderr.write(`bulwark: notice: ${message}\n`); // one line, not a Node warning with its --trace-warnings hint
  }

  /** Merkle mode: the rollback baseline from earlier sessions, then the top file the timestamp's root names. */
  private async updateMerkleTop(): Promise<void> {
    this.merkleVersions = await this.readMerkleVersions();
    this.set.setMerkleBaseline(this.merkleVersions);
    const field = this.set.merkle;
    if (!field) throw new Error('timestamp names no Merkle tree');
    let nodes: readonly string[];
    try {
      nodes = await this.loadMerkleFile(topFileName(field.root), merkleNodeLimit(field.shards), (b) => this.set.updateMerkleTop(b));
    } catch (e) {
      // No tree has this root: the timestamp names a tree nobody published (or one collected).
      if (e instanceof DownloadError && e.code === 'NOT_FOUND') throw new MerkleProofError('root', `no Merkle tree with the timestamp's root ${field.root} is published (${e.message})`);
      throw e;
    }
    // Earlier trees' files are no use from now on: keep the cache to this tree.
    await pruneMerkleCache(join(this.o.metadataDir, MERKLE_CACHE), field, nodes);
  }

  /** The cached baseline; an unreadable one is ignored, as an unverifiable cached snapshot is. */
  private async readMerkleVersions(): Promise<Map<string, number>> {
    const versions = new Map<string, number>();
    if (this.set.fastForwardRecovery) return versions;
    try {
      const bytes = readCacheFile(join(this.o.metadataDir, MERKLE_VERSIONS));
      if (!bytes) return versions;
      const value = parseStrictJson(bytes, MERKLE_VERSIONS);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        for (const [role, v] of Object.entries(value)) if (typeof v === 'number' && Number.isSafeInteger(v)) versions.set(role, v);
      }
    } catch {
      // none yet, or damaged: no baseline beyond what this session verifies
    }
    return versions;
  }

  /**
   * Loads the shard that holds `role`'s leaf (and the node files above it first), from the cache or the
   * network, each verified against the hash its parent lists; then records every leaf's
   * version as the baseline for later sessions.
   */
  private async ensureMerkleShard(role: string): Promise<void> {
    const field = this.set.merkle;
    if (!field) throw new Error('timestamp names no Merkle tree');
    const shard = shardOf(role, field.shards);
    if (this.set.hasMerkleShard(shard)) return;
    // Down the levels (the top file is loaded): each node file verified against its parent's hash.
    for (let step = this.set.merklePath(shard); step.level < field.fanout.length; step = this.set.merklePath(shard)) {
      const { level, index } = step;
      await this.loadMerkleFile(nodeFileName(step.hash as string), merkleNodeLimit(field.shards), (b) => this.set.updateMerkleNode(level, index, b));
    }
    const leaves = await this.loadMerkleFile(shardFileName(this.set.merklePath(shard).hash as string), MERKLE_SHARD_LIMIT, (b) => this.set.updateMerkleShard(shard, b));
    await this.recordMerkleVersions(leaves);
  }

  private async recordMerkleVersions(leaves: readonly MerkleLeaf[]): Promise<void> {
    let changed = false;
    for (const leaf of leaves) {
      if ((this.merkleVersions.get(leaf.role) ?? 0) >= leaf.version) continue;
      this.merkleVersions.set(leaf.role, leaf.version);
      changed = true;
    }
    if (!changed) return;
    await mkdir(this.o.metadataDir, { recursive: true });
    await writeFileAtomic(join(this.o.metadataDir, MERKLE_VERSIONS), canonicalBytes(Object.fromEntries(this.merkleVersions)), { durable: false });
  }

  /**
   * A Merkle file by name: the cached copy if it verifies, else downloaded (over its size limit:
   * MerkleTooLargeError) and cached once verified. One download per name at a time.
   */
  private loadMerkleFile<T>(name: string, limit: number, verify: (bytes: Buffer) => T): Promise<T> {
    const running = this.merkleLoads.get(name);
    if (running) return running.then(() => this.loadMerkleFileOnce(name, limit, verify));
    const load = this.loadMerkleFileOnce(name, limit, verify);
    this.merkleLoads.set(name, load);
    return load.finally(() => this.merkleLoads.delete(name));
  }

  private async loadMerkleFileOnce<T>(name: string, limit: number, verify: (bytes: Buffer) => T): Promise<T> {
    const cached = join(this.o.metadataDir, MERKLE_CACHE, name);
    // The bytes this process verified under this name and knows the cache file holds: they
    // need not be read again (known-cache-files.ts); they are still given to verify().
    const remembered = cacheFileHolds(cached, name) ? recallMerkleFileBytes(name) : undefined;
    let local = remembered;
    try {
      local ??= readCacheFile(cached);
    } catch {
      // unreadable: downloaded again
    }
    if (local) {
      try {
        const result = verify(local);
        noteCacheFile(cached, name);
        return result;
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e; // a damaged cache entry: download it again
      }
    }
    let result: T | undefined;
    let bytes: Buffer;
    try {
      // One byte over the limit is enough to know it is too large.
      bytes = await this.metadataSources.fetchVerified(`${MERKLE_CACHE}/${name}`, limit + 1, (b) => {
        result = verify(b);
        return b;
      });
    } catch (e) {
      if (e instanceof DownloadError && e.code === 'LENGTH_EXCEEDED') throw new MerkleTooLargeError(`Merkle file ${name}`, limit);
      throw e;
    }
    await mkdir(join(this.o.metadataDir, MERKLE_CACHE), { recursive: true });
    await writeFileAtomic(cached, bytes, { durable: false });
    noteCacheFile(cached, name);
    return result as T;
  }

  private async updateSnapshot(): Promise<void> {
    const local = await this.readCache('snapshot');
    if (local && this.tryLocal(() => this.set.updateSnapshot(local, { trusted: true }))) {
      // The cached snapshot is the one the new timestamp names: nothing to fetch.
      const wanted = this.set.timestamp?.signed.snapshotMeta;
      if (wanted && this.set.snapshot?.signed.version === wanted.version) {
        try {
          wanted.verify('snapshot', local);
          return;
        } catch {
          // fall through to a download
        }
      }
    }
    const meta = this.set.timestamp?.signed.snapshotMeta;
    if (!meta) throw new Error('timestamp not loaded');
    const name = this.set.root.signed.consistentSnapshot ? `${meta.version}.snapshot.json` : 'snapshot.json';
    const bytes = await this.metadataSources.fetchVerified(name, meta.length ?? this.limits.snapshotMaxLength, (b) => {
      this.set.updateSnapshot(b);
      return b;
    });
    await this.writeCache('snapshot', bytes);
  }

  /**
   * Loads a targets role (top-level or delegated) from the cache when current, else the network,
   * verified with the keys `delegator` trusts for it. Public so that mirrors and audits can walk
   * every role of a snapshot, not only those on one target's search path.
   */
  async loadTargets(role: string, delegator: string): Promise<Metadata<Targets>> {
    const existing = this.set.getTargets(role);
    if (existing) return existing;
    const update = (b: Buffer) => (role === 'targets' ? this.set.updateTargets(b) : this.set.updateDelegatedTargets(b, role, delegator));
    if (this.set.merkleMode) await this.ensureMerkleShard(role);
    const file = join(this.o.metadataDir, roleFile(role));
    const sha256 = this.listedSha256(role);
    // The cached file holds the bytes the listing names, verified earlier in this process: the
    // role verified then is recalled instead of reading and hashing the file (known-cache-files.ts).
    // One that fails this update's checks (expired, another version) goes the usual way, and
    // fails there as it would have.
    if (sha256 !== undefined && cacheFileHolds(file, sha256)) {
      const recalled = this.tryLocal(() => this.set.recallDelegatedTargets(role, delegator));
      if (recalled) return recalled;
    }
    const local = await this.readCache(role);
    if (local) {
      const loaded = this.tryLocal(() => update(local));
      if (loaded) {
        noteCacheFile(file, sha256);
        return loaded;
      }
    }
    const meta = this.expectedMeta(role);
    // Requested as python-tuf requests it: the role name percent-encoded, never a path.
    const quoted = quoteName(role);
    const name = this.set.root.signed.consistentSnapshot ? `${meta.version}.${quoted}.json` : `${quoted}.json`;
    let loaded: Metadata<Targets> | undefined;
    const bytes = await this.metadataSources.fetchVerified(name, meta.length ?? this.limits.targetsMaxLength, (b) => {
      loaded = update(b);
      return b;
    });
    await this.writeCache(role, bytes);
    noteCacheFile(file, sha256);
    return loaded as Metadata<Targets>;
  }

  /** The SHA-256 the verified snapshot or Merkle leaf lists for a role's file, if it lists one. */
  private listedSha256(role: string): string | undefined {
    if (this.set.merkleMode) return this.set.merkleLeaf(role)?.sha256;
    return this.set.snapshot?.signed.meta.get(`${role}.json`)?.hashes?.['sha256'];
  }

  /** What the snapshot, or in Merkle mode the role's leaf, says of a role's file. */
  private expectedMeta(role: string): { version: number; length?: number | undefined } {
    if (this.set.merkleMode) {
      const leaf = this.set.merkleLeaf(role);
      if (!leaf) throw new MerkleRoleMissingError(role);
      return leaf;
    }
    const meta = this.set.snapshot?.signed.meta.get(`${role}.json`);
    if (!meta) throw new RepositoryError('UNKNOWN_ROLE', `snapshot does not list ${role}.json`);
    return meta;
  }

  /** Runs a state-machine update on cached bytes; a cache that does not verify is ignored. */
  private tryLocal<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (e instanceof RepositoryError) return undefined;
      throw e;
    }
  }

  /**
   * §5.6.7.2: the target's info from the first role that lists it, searching delegations
   * preorder depth-first; a terminating delegation ends the search below it.
   */
  async getTargetInfo(path: string): Promise<TargetFile | undefined> {
    return (await this.findTarget(path))?.target;
  }

  /**
   * Like getTargetInfo, also naming the role that vouched for the target and the chain of
   * verified delegations that led to it (`['targets', 'recently-claimed', 'project-x']`): each
   * role in it was verified with the keys its predecessor delegated to it.
   */
  async findTarget(path: string): Promise<FoundTarget | undefined> {
    const stack: { role: string; chain: readonly string[] }[] = [{ role: 'targets', chain: ['targets'] }];
    const visited = new Set<string>();
    while (stack.length > 0 && visited.size < this.limits.maxDelegations) {
      const { role, chain } = stack.pop() as { role: string; chain: readonly string[] };
      if (visited.has(role)) continue;
      visited.add(role);
      const md = await this.loadTargets(role, chain.at(-2) ?? 'root');
      const target = md.signed.targets.get(path);
      if (target) return { target, role, delegationPath: chain };
      const delegations = md.signed.delegations;
      if (!delegations) continue;
      const children: { role: string; chain: readonly string[] }[] = [];
      for (const child of delegations.rolesForTarget(path)) {
        children.push({ role: child.name, chain: [...chain, child.name] });
        if (child.terminating) {
          stack.length = 0; // no backtracking past a terminating delegation
          break;
        }
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as { role: string; chain: readonly string[] });
    }
    return undefined;
  }

  /** The root, timestamp and snapshot refresh() verified, with their exact bytes (`.bytes`). */
  getVerifiedTopLevel(): { root: Metadata<Root>; timestamp: Metadata<Timestamp>; snapshot: Metadata<Snapshot> } {
    const { root, timestamp, snapshot } = this.set;
    if (timestamp && this.set.merkleMode) throw new Error('a Merkle-mode update loads no snapshot: create the Updater with snapshotMode "classic" to walk the classic snapshot');
    if (!timestamp || !snapshot) throw new Error('call refresh() first');
    return { root, timestamp, snapshot };
  }

  /**
   * Whether the verified snapshot (or, in Merkle mode, the verified tree) lists a targets role:
   * a role not listed has not been published yet. Call refresh() first.
   */
  async isListed(role: string): Promise<boolean> {
    if (this.set.merkleMode) {
      await this.ensureMerkleShard(role);
      return this.set.merkleLeaf(role) !== undefined;
    }
    const snapshot = this.set.snapshot;
    if (!snapshot) throw new Error('call refresh() first');
    return snapshot.signed.meta.has(`${role}.json`);
  }

  /** The verified metadata of a role already loaded by refresh() or a target search. */
  getVerifiedRole(role: string): Metadata<Targets> | undefined {
    return this.set.getTargets(role);
  }

  /** Downloads a target by its consistent-snapshot name and verifies its length and hashes. */
  async downloadTarget(target: TargetFile): Promise<Buffer> {
    const slash = target.path.lastIndexOf('/');
    const dir = target.path.slice(0, slash + 1);
    const base = target.path.slice(slash + 1);
    const name = this.set.root.signed.consistentSnapshot ? `${dir}${Object.values(target.hashes)[0] as string}.${base}` : target.path;
    return this.targetSources.fetchVerified(name.split('/').map(encodeURIComponent).join('/'), target.length, (b) => {
      target.verify(b);
      return b;
    });
  }
}
