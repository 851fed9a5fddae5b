// SPDX-License-Identifier: Apache-2.0
// `bulwark mirror sync URL DIR`: copy an index's current consistent snapshot into DIR, laid out
// exactly like the index's static tree, verifying every byte through TUF with our client.
//
//   DIR/metadata/N.root.json …     every root version, the chain verified from the pinned root
//   DIR/metadata/V.ROLE.json       every targets role the snapshot reaches, at its version
//   DIR/metadata/V.snapshot.json   the snapshot the timestamp names
//   DIR/metadata/timestamp.json    written LAST
//   DIR/targets/<p>/<hash>.<name>  every target those roles list, hash-verified
//   DIR/files/<p>/<name>           pip-facing aliases (hard links, or copies across devices)
//   DIR/.bulwark-mirror/           the client's trusted metadata cache, sync state, lock
//
// Every file is written atomically and nothing the mirror serves is removed or replaced before
// the new snapshot is complete: until timestamp.json is renamed into place, clients see the
// previous snapshot and everything it reaches. A failure (verification or download) therefore
// leaves the previous mirror servable. Resuming: a target already present under its consistent
// name is skipped when the state file says a sync verified it (same role version, or named by
// the role version verified before), else when its bytes hash right; only the rest is fetched.
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Fetcher } from '../client/fetcher.js';
import { seedRoot } from '../client/client-cache.js';
import { Sources } from '../client/sources.js';
import { Updater, type UpdaterLimits } from '../client/updater.js';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { DownloadError, Metadata, RepositoryError, TrustedMetadataSet, type Root, type TargetFile } from '../tuf/index.js';
import { copyAuditStatements } from '../auditor/mirror-copy.js';
import { mapPool } from './pool.js';
import { LocalOrHttpFetcher } from './source.js';
import { aliasPath, consistentTargetPath, roleFilePath, walkSnapshot, type WalkedRole } from './walk.js';
import { copyMerkleTree } from './merkle-copy.js';

export const STATE_DIR = '.bulwark-mirror';
const TIMESTAMP_FILE = 'metadata/timestamp.json';
const ROOT_MAX_LENGTH = 512_000;

export interface MirrorSyncOptions {
  /** Base URL of the index or mirror to copy (metadata under URL/metadata/, targets under URL/targets/); `file:` URLs read a local tree. */
  upstream: string;
  /** The mirror directory. */
  dir: string;
  /** The pinned root.json; needed on the first sync only (the trusted cache keeps the newest root). */
  rootPath?: string;
  /** After a successful sync, keep only the newest N snapshots in DIR (and what they reach). */
  keep?: number;
  /** Transport (tests inject one); default HTTP, and `file:` URLs from disk. */
  fetcher?: Fetcher;
  /** Parallel downloads (default 8). */
  concurrency?: number;
  now?: Date;
  limits?: Partial<UpdaterLimits>;
  onProgress?: (phase: 'roles' | 'targets', done: number, total: number) => void;
}

export interface MirrorSyncResult {
  upstream: string;
  dir: string;
  root: number;
  timestamp: number;
  snapshot: number;
  /** Whether the mirror now serves a newer timestamp.json than before. */
  updated: boolean;
  /** Every file of the snapshot: fetched over the network, or skipped (already verified here or in the trusted cache). */
  files: { total: number; fetched: number; skipped: number };
  metadata: { total: number; fetched: number; skipped: number };
  targets: { total: number; fetched: number; skipped: number; rehashed: number };
  /** Bytes received from upstream. */
  bytes: number;
  /** Requests made, 404s included. */
  requests: number;
  /** `files/` aliases created or repaired. */
  aliases: number;
  /** With --keep: files removed from DIR. */
  removed?: { files: number; bytes: number; keptSnapshots: number[] };
  /** Roles the snapshot lists that no delegation reaches (not copied: nothing can verify them, no client loads them). */
  unreachableRoles: string[];
  /** Roles delegated but not listed by the snapshot. */
  missingRoles: string[];
}

export type MirrorFailureKind = 'verification' | 'download' | 'usage' | 'locked';

/** Why a sync was refused; `code` is the TUF error code for verification failures. */
export class MirrorSyncError extends Error {
  constructor(
    readonly code: string,
    readonly kind: MirrorFailureKind,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.name = 'MirrorSyncError';
  }
}

interface MirrorState {
  format: 1;
  upstream?: string;
  /** Roles whose every target is present in DIR and verified, at this version. */
  verifiedRoles: Record<string, number>;
  last?: { root: number; timestamp: number; snapshot: number; at: string };
}

interface Counters {
  requests: number;
  metadataFetched: number;
  targetsFetched: number;
  bytes: number;
}

// ---- small file helpers ----------------------------------------------------------------------

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

async function statIfExists(path: string): Promise<{ size: number; ino: number; dev: number } | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st : undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

async function listFiles(dir: string, area: string): Promise<string[]> {
  const entries = await readdir(join(dir, area), { withFileTypes: true, recursive: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1).split('\\').join('/'));
}

// ---- lock and state ----------------------------------------------------------------------------

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One sync at a time per mirror: `.bulwark-mirror/lock` holds the pid; a dead holder's lock is taken over. */
async function acquireLock(stateDir: string): Promise<() => Promise<void>> {
  const path = join(stateDir, 'lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => unlink(path).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new MirrorSyncError('LOCKED', 'locked', `another sync (pid ${pid}) is running on ${dirname(stateDir)}`);
      }
      await unlink(path).catch(() => undefined); // its process is gone (killed): stale
    }
  }
  throw new MirrorSyncError('LOCKED', 'locked', `cannot take the lock ${path}`);
}

async function loadState(path: string): Promise<MirrorState> {
  const bytes = await readIfExists(path);
  if (bytes) {
    try {
      const s = JSON.parse(bytes.toString('utf8')) as Partial<MirrorState>;
      if (s.format === 1 && s.verifiedRoles && typeof s.verifiedRoles === 'object') return s as MirrorState;
    } catch {
      // unreadable state: start over (files already present are re-hashed, not re-fetched)
    }
  }
  return { format: 1, verifiedRoles: {} };
}

// ---- the sync ------------------------------------------------------------------------------------

/**
 * Brings DIR up to the upstream's current snapshot.
 * @throws MirrorSyncError (verification: exit 1 with the TUF code; download; usage; locked)
 */
export async function syncMirror(o: MirrorSyncOptions): Promise<MirrorSyncResult> {
  const dir = resolve(o.dir);
  const stateDir = join(dir, STATE_DIR);
  await mkdir(stateDir, { recursive: true });
  const release = await acquireLock(stateDir);
  try {
    try {
      await seedRoot(join(stateDir, 'metadata'), o.rootPath);
    } catch (e) {
      throw new MirrorSyncError('NO_ROOT', 'usage', (e as Error).message, { cause: e });
    }
    const counters: Counters = { requests: 0, metadataFetched: 0, targetsFetched: 0, bytes: 0 };
    for (let attempt = 0; ; attempt++) {
      try {
        return await new MirrorSync(o, dir, counters).run();
      } catch (e) {
        // A snapshot the upstream garbage-collected while we copied it: start over once from
        // its newest timestamp (everything verified so far is skipped).
        if (attempt === 0 && e instanceof DownloadError && e.code === 'NOT_FOUND') continue;
        throw await refusal(e, dir);
      }
    }
  } finally {
    await release();
  }
}

async function refusal(e: unknown, dir: string): Promise<unknown> {
  if (e instanceof MirrorSyncError) return e;
  let still = 'the mirror has no complete snapshot yet';
  const ts = await readIfExists(join(dir, TIMESTAMP_FILE));
  if (ts) {
    try {
      const md = Metadata.parse(ts, 'timestamp');
      still = `the mirror still serves timestamp ${md.signed.version} (snapshot ${md.signed.snapshotMeta.version}), unchanged`;
    } catch {
      still = 'the mirror keeps its previous timestamp.json';
    }
  }
  // More bytes than the metadata vouches for is an endless-data attack, not a network fault.
  if (e instanceof RepositoryError || (e instanceof DownloadError && e.code === 'LENGTH_EXCEEDED')) {
    return new MirrorSyncError(e.code, 'verification', `sync refused: TUF verification failed (${e.code}): ${e.message}; ${still}`, { cause: e });
  }
  if (e instanceof DownloadError) {
    return new MirrorSyncError(e.code, 'download', `sync failed: download failed (${e.code}): ${e.message}; ${still}; run it again to resume`, { cause: e });
  }
  return e;
}

interface TargetEntry {
  role: WalkedRole;
  target: TargetFile;
  /** `targets/<p>/<hash>.<name>` */
  rel: string;
}

class MirrorSync {
  private readonly stateDir: string;
  private readonly statePath: string;
  private readonly metadataDir: string;
  private readonly upstream: string;
  private readonly fetcher: Fetcher;
  private readonly rootsSeen = new Map<number, Buffer>();
  private state!: MirrorState;
  private stateSavedAt = 0;
  private skipped = 0;
  private rehashed = 0;
  private aliases = 0;

  constructor(
    private readonly o: MirrorSyncOptions,
    private readonly dir: string,
    private readonly counters: Counters
  ) {
    this.stateDir = join(dir, STATE_DIR);
    this.statePath = join(this.stateDir, 'state.json');
    this.metadataDir = join(this.stateDir, 'metadata');
    this.upstream = o.upstream.replace(/\/+$/, '');
    const inner = o.fetcher ?? new LocalOrHttpFetcher();
    const metadataBase = `${this.upstream}/metadata/`;
    const targetsBase = `${this.upstream}/targets/`;
    this.fetcher = {
      fetch: async (url, maxLength) => {
        counters.requests++;
        const bytes = await inner.fetch(url, maxLength);
        counters.bytes += bytes.length;
        if (url.startsWith(targetsBase)) counters.targetsFetched++;
        else counters.metadataFetched++;
        // Keep the bytes of every root the updater walks through: the mirror serves them all.
        const root = url.startsWith(metadataBase) ? /^(\d+)\.root\.json$/.exec(url.slice(metadataBase.length)) : null;
        if (root) this.rootsSeen.set(Number(root[1]), bytes);
        return bytes;
      },
    };
  }

  private abs(rel: string): string {
    return join(this.dir, rel);
  }

  private async saveState(force = false): Promise<void> {
    if (!force && Date.now() - this.stateSavedAt < 1000) return;
    this.stateSavedAt = Date.now();
    await writeFileAtomic(this.statePath, `${JSON.stringify(this.state)}\n`, { durable: force });
  }

  async run(): Promise<MirrorSyncResult> {
    this.state = await loadState(this.statePath);
    this.state.upstream = this.upstream;
    const startRoot = await readFile(join(this.metadataDir, 'root.json'));
    const updater = new Updater({
      metadataDir: this.metadataDir,
      indexUrl: this.upstream,
      fetcher: this.fetcher,
      snapshotMode: 'classic', // the walk below copies what the classic snapshot reaches
      ...(this.o.now ? { now: this.o.now } : {}),
      ...(this.o.limits ? { limits: this.o.limits } : {}),
    });

    // 1. Root chain, timestamp, snapshot, top-level targets: our client, from the trusted root.
    await updater.refresh();
    const top = updater.getVerifiedTopLevel();
    if (!top.root.signed.consistentSnapshot) {
      throw new MirrorSyncError('UNSUPPORTED', 'verification', 'the upstream root does not use consistent snapshots: a mirror could not switch snapshots atomically');
    }
    const served = await readIfExists(this.abs(TIMESTAMP_FILE));
    let servedVersion = 0;
    try {
      if (served) servedVersion = Metadata.parse(served, 'timestamp').signed.version;
    } catch {
      // not a timestamp: replaced below
    }
    if (top.timestamp.signed.version < servedVersion) {
      throw new RepositoryError('BAD_VERSION', `upstream timestamp ${top.timestamp.signed.version} is older than the ${servedVersion} this mirror serves (rollback?)`);
    }
    const roots = await this.rootChain(startRoot, top.root);

    // 2. Every targets role of the snapshot, through the delegations.
    const walk = await walkSnapshot(updater, {
      concurrency: this.o.concurrency ?? 8,
      onRole: (done, total) => this.o.onProgress?.('roles', done, total),
    });
    const roleFiles = walk.roles.map((r) => ({ rel: roleFilePath(r.name, r.version), bytes: r.metadata.bytes }));

    // 3. Every target those roles list, under its consistent name.
    const entries: TargetEntry[] = [];
    for (const role of walk.roles) for (const target of role.metadata.signed.targets.values()) entries.push({ role, target, rel: consistentTargetPath(target) });
    const aliases = await this.aliasTargets(updater, entries);
    const known = await this.knownTargets(walk.roles);
    const remaining = new Map<string, number>();
    for (const e of entries) remaining.set(e.role.name, (remaining.get(e.role.name) ?? 0) + 1);
    for (const r of walk.roles) if (!remaining.has(r.name)) this.state.verifiedRoles[r.name] = r.version;
    const inflight = new Map<string, Promise<void>>();
    let done = 0;
    const total = new Set(entries.map((e) => e.rel)).size;
    try {
      await mapPool(entries, this.o.concurrency ?? 8, async (e) => {
        let job = inflight.get(e.rel);
        if (!job) {
          job = this.copyTarget(updater, e, known.get(e.role.name), aliases.get(e.rel));
          inflight.set(e.rel, job);
          await job;
          this.o.onProgress?.('targets', ++done, total);
        } else await job;
        const left = (remaining.get(e.role.name) ?? 1) - 1;
        remaining.set(e.role.name, left);
        if (left === 0) {
          this.state.verifiedRoles[e.role.name] = e.role.version;
          await this.saveState();
        }
      });
    } finally {
      await this.saveState(true); // what was verified survives a failure: the next run resumes
    }

    // 3b. What Merkle clients need: the tree the timestamp names, and the roles its leaves name
    //     newer than the classic snapshot (which trails the tree by up to its interval), with
    //     their targets.
    const merkle = await copyMerkleTree({
      timestamp: top.timestamp,
      dir: this.dir,
      copied: new Map(walk.roles.map((r) => [r.name, r.version])),
      fetchMetadata: (rel, max) => this.fetcher.fetch(`${this.upstream}/metadata/${rel}`, max),
      concurrency: this.o.concurrency ?? 8,
    });
    const copiedTargets = new Set(entries.map((e) => e.rel));
    for (const r of merkle?.newerRoles ?? []) {
      const role: WalkedRole = { name: r.name, delegator: '', version: r.version, metadata: r.metadata };
      for (const target of r.metadata.signed.targets.values()) {
        const rel = consistentTargetPath(target);
        if (copiedTargets.has(rel)) continue;
        copiedTargets.add(rel);
        await this.copyTarget(updater, { role, target, rel }, undefined, aliasPath(target));
      }
    }

    // 4. Metadata, newest snapshot last; then the roots; timestamp.json last of all.
    let metadataWritten = 0;
    const put = async (rel: string, bytes: Buffer) => {
      const current = await readIfExists(this.abs(rel));
      if (current?.equals(bytes)) return;
      await writeFileAtomic(this.abs(rel), bytes);
      metadataWritten++;
    };
    await mapPool(roleFiles, this.o.concurrency ?? 8, (f) => put(f.rel, f.bytes));
    if (merkle) await mapPool([...merkle.newerRoles, ...merkle.files], this.o.concurrency ?? 8, (f) => put(f.rel, f.bytes));
    await put(roleFilePath('snapshot', top.snapshot.signed.version), top.snapshot.bytes);
    for (const [version, bytes] of [...roots].sort((a, b) => a[0] - b[0])) await put(roleFilePath('root', version), bytes);
    const before = metadataWritten;
    await put(TIMESTAMP_FILE, top.timestamp.bytes);
    const updated = metadataWritten > before;
    await copyAuditStatements(top.root.signed, `${this.upstream}/metadata`, this.fetcher, put); // src/auditor/mirror-copy.ts

    const verifiedRoles: Record<string, number> = {};
    for (const r of walk.roles) verifiedRoles[r.name] = r.version;
    this.state.verifiedRoles = verifiedRoles;
    this.state.last = { root: top.root.signed.version, timestamp: top.timestamp.signed.version, snapshot: top.snapshot.signed.version, at: new Date().toISOString() };
    await this.saveState(true);

    const removed = this.o.keep !== undefined ? await pruneMirror(this.dir, this.o.keep) : undefined;
    const metadataTotal = roots.size + 2 + walk.roles.length;
    const metadataFetched = Math.min(this.counters.metadataFetched, metadataTotal);
    const targetsFetched = this.counters.targetsFetched;
    return {
      upstream: this.upstream,
      dir: this.dir,
      root: top.root.signed.version,
      timestamp: top.timestamp.signed.version,
      snapshot: top.snapshot.signed.version,
      updated,
      files: { total: metadataTotal + total, fetched: metadataFetched + targetsFetched, skipped: metadataTotal - metadataFetched + this.skipped },
      metadata: { total: metadataTotal, fetched: metadataFetched, skipped: metadataTotal - metadataFetched },
      targets: { total, fetched: targetsFetched, skipped: this.skipped, rehashed: this.rehashed },
      bytes: this.counters.bytes,
      requests: this.counters.requests,
      aliases: this.aliases,
      ...(removed ? { removed: { files: removed.removed.length, bytes: removed.bytes, keptSnapshots: removed.keptSnapshots } } : {}),
      unreachableRoles: walk.unreachable,
      missingRoles: walk.missing,
    };
  }

  /**
   * Every root version 1 … N: from the one trusted before this sync up to the newest, the chain
   * the updater verified (checked again here, link by link); below it, each older root must be
   * self-signed and have signed the next one (the chain verified backwards).
   */
  private async rootChain(startBytes: Buffer, final: Metadata<Root>): Promise<Map<number, Buffer>> {
    const chain = new Map<number, Buffer>();
    const set = new TrustedMetadataSet(startBytes);
    const start = set.root.signed.version;
    chain.set(start, startBytes);
    for (let v = start + 1; v <= final.signed.version; v++) {
      const bytes = this.rootsSeen.get(v);
      if (!bytes) throw new RepositoryError('BAD_VERSION', `root ${v} is missing from the verified chain`);
      set.updateRoot(bytes);
      chain.set(v, bytes);
    }
    if (!set.root.bytes.equals(final.bytes)) throw new RepositoryError('BAD_METADATA', 'the root chain does not end at the root the client trusts');
    const sources = new Sources([`${this.upstream}/metadata`], this.fetcher);
    let next = startBytes;
    for (let v = start - 1; v >= 1; v--) {
      const linksTo = next;
      const check = (b: Buffer) => {
        const older = new TrustedMetadataSet(b);
        older.updateRoot(linksTo); // the next root must be signed by this one's keys, and be version v + 1
        return b;
      };
      let bytes: Buffer | undefined;
      const local = await readIfExists(this.abs(roleFilePath('root', v)));
      if (local) {
        try {
          bytes = check(local);
        } catch (e) {
          if (!(e instanceof RepositoryError)) throw e;
        }
      }
      bytes ??= await sources.fetchVerified(`${v}.root.json`, ROOT_MAX_LENGTH, check);
      chain.set(v, bytes);
      next = bytes;
    }
    return chain;
  }

  /**
   * The `files/` alias of each path goes to the target a client gets for it: when two roles
   * list one path with different hashes, the role the delegation search reaches first wins.
   */
  private async aliasTargets(updater: Updater, entries: TargetEntry[]): Promise<Map<string, string>> {
    const byPath = new Map<string, Set<string>>();
    for (const e of entries) {
      const set = byPath.get(e.target.path) ?? new Set<string>();
      set.add(e.rel);
      byPath.set(e.target.path, set);
    }
    const out = new Map<string, string>();
    for (const e of entries) {
      const alias = aliasPath(e.target);
      if (!alias || out.has(e.rel)) continue;
      if ((byPath.get(e.target.path)?.size ?? 0) > 1) {
        const found = await updater.findTarget(e.target.path);
        if (!found || consistentTargetPath(found.target) !== e.rel) continue;
      }
      out.set(e.rel, alias);
    }
    return out;
  }

  /**
   * Consistent names a previous sync verified, per role: all of a role still at the version
   * verified, or those the previously verified version of the role listed.
   */
  private async knownTargets(roles: WalkedRole[]): Promise<Map<string, 'all' | Set<string>>> {
    const known = new Map<string, 'all' | Set<string>>();
    for (const r of roles) {
      const prev = this.state.verifiedRoles[r.name];
      if (prev === undefined) continue;
      if (prev === r.version) {
        known.set(r.name, 'all');
        continue;
      }
      const old = await readIfExists(this.abs(roleFilePath(r.name, prev)));
      if (!old) continue;
      try {
        const md = Metadata.parse(old, 'targets', r.name);
        known.set(r.name, new Set([...md.signed.targets.values()].map((t) => consistentTargetPath(t))));
      } catch {
        // not usable: its targets are re-hashed instead
      }
    }
    return known;
  }

  /** One target: skipped when verified before or when the bytes present hash right, else downloaded and verified. */
  private async copyTarget(updater: Updater, e: TargetEntry, known: 'all' | Set<string> | undefined, alias: string | undefined): Promise<void> {
    const path = this.abs(e.rel);
    const st = await statIfExists(path);
    let ok = false;
    if (st && st.size === e.target.length) {
      if (known === 'all' || known?.has(e.rel)) ok = true;
      else {
        try {
          e.target.verify(await readFile(path));
          ok = true;
          this.rehashed++;
        } catch (err) {
          if (!(err instanceof RepositoryError)) throw err;
        }
      }
    }
    if (ok) this.skipped++;
    else await writeFileAtomic(path, await updater.downloadTarget(e.target));
    if (alias) await this.ensureAlias(alias, e.rel);
  }

  /** `files/<p>/<name>` as a hard link to the target (a copy across devices), replaced atomically. */
  private async ensureAlias(aliasRel: string, targetRel: string): Promise<void> {
    const alias = this.abs(aliasRel);
    const target = this.abs(targetRel);
    const [a, t] = await Promise.all([statIfExists(alias), stat(target)]);
    if (a && a.ino === t.ino && a.dev === t.dev) return;
    if (a && a.size === t.size && (await readFile(alias)).equals(await readFile(target))) return;
    await mkdir(dirname(alias), { recursive: true });
    const tmp = join(dirname(alias), `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await link(target, tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
      await copyFile(target, tmp);
    }
    await rename(tmp, alias);
    this.aliases++;
  }
}

// ---- keeping the newest N snapshots ----------------------------------------------------------------

/**
 * Removes from DIR what none of the newest `keep` snapshots reaches (every root and
 * timestamp.json stay), like `bulwark gc` on the index. Runs only after a complete sync.
 */
export async function pruneMirror(dirPath: string, keep: number): Promise<{ removed: string[]; bytes: number; keptSnapshots: number[] }> {
  const dir = resolve(dirPath);
  const ts = Metadata.parse(await readFile(join(dir, TIMESTAMP_FILE)), 'timestamp');
  const metadataFiles = await listFiles(dir, 'metadata');
  const marked = new Set<string>([TIMESTAMP_FILE]);
  for (const p of metadataFiles) if (/^metadata\/\d+\.root\.json$/.test(p)) marked.add(p);
  for (const p of metadataFiles) if (p.startsWith('metadata/audit/')) marked.add(p); // auditors' statements (src/auditor/mirror-copy.ts)
  const versions = metadataFiles
    .map((p) => /^metadata\/(\d+)\.snapshot\.json$/.exec(p)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .filter((v) => v <= ts.signed.snapshotMeta.version)
    .sort((a, b) => b - a)
    .slice(0, Math.max(1, keep));
  for (const v of versions) {
    const rel = roleFilePath('snapshot', v);
    marked.add(rel);
    const snap = Metadata.parse(await readFile(join(dir, rel)), 'snapshot');
    for (const [file, meta] of snap.signed.meta) {
      const role = file.slice(0, -'.json'.length);
      let roleRel: string;
      try {
        roleRel = roleFilePath(role, meta.version);
      } catch {
        continue;
      }
      marked.add(roleRel);
      const bytes = await readIfExists(join(dir, roleRel));
      if (!bytes) continue;
      for (const t of Metadata.parse(bytes, 'targets', role).signed.targets.values()) {
        try {
          marked.add(consistentTargetPath(t));
          const alias = aliasPath(t);
          if (alias) marked.add(alias);
        } catch {
          // never copied
        }
      }
    }
  }
  // The tree the timestamp names, and what its leaves reach (all in DIR after a complete sync).
  const merkle = await copyMerkleTree({
    timestamp: ts,
    dir,
    copied: new Map(),
    fetchMetadata: (rel) => Promise.reject(new DownloadError('NOT_FOUND', `${rel} is missing from the mirror`)),
  });
  for (const rel of merkle?.reached ?? []) marked.add(rel).add(`${rel}.gz`);
  for (const r of merkle?.newerRoles ?? []) {
    marked.add(r.rel);
    for (const t of r.metadata.signed.targets.values()) {
      marked.add(consistentTargetPath(t));
      const alias = aliasPath(t);
      if (alias) marked.add(alias);
    }
  }
  const removed: string[] = [];
  let bytes = 0;
  for (const p of [...metadataFiles, ...(await listFiles(dir, 'targets')), ...(await listFiles(dir, 'files'))]) {
    if (marked.has(p)) continue;
    const st = await statIfExists(join(dir, p));
    await unlink(join(dir, p)).catch(() => undefined);
    removed.push(p);
    bytes += st?.size ?? 0;
  }
  return { removed, bytes, keptSnapshots: versions };
}
