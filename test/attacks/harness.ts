// The attack harness: a real Bulwark repository (demo keys on disk, a small bin count, uploads
// through the repository API) served over HTTP on 127.0.0.1 by a mirror the test controls, path
// by path: replace bytes, serve an older file, 404, endless bytes, a decompression bomb, bytes
// dripped slowly, or no answer at all. The attacker (or the operator) signs metadata with the
// repository's own key files, as someone who stole them, or with fresh keys of their own, and
// publishes it on the mirror with a new snapshot and timestamp. The client under attack is
// Bulwark's own (Updater, VerifiedIndex, `bulwark fetch`) with a throwaway metadata cache.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HttpFetcher, type Fetcher, type HttpFetcherOptions } from '../../src/client/fetcher.js';
import { Updater, type UpdaterLimits } from '../../src/client/updater.js';
import { VerifiedIndex } from '../../src/client/verified-index.js';
import { initDemoRepository } from '../../src/repository/init.js';
import { loadConfig, saveConfig } from '../../src/repository/config.js';
import { exportRootRotation, importRootRotation, signCeremonyFile } from '../../src/repository/ceremony.js';
import { OFFLINE_ROLES, ONLINE_ROLES, type OfflineRole, type OnlineRole } from '../../src/repository/layout.js';
import { Repository } from '../../src/repository/repository.js';
import type { UserRecord } from '../../src/storage/state/types.js';
import {
  DownloadError,
  Ed25519Signer,
  encodeCanonical,
  expiresIn,
  formatExpires,
  Metadata,
  MetaFile,
  parseStrictJson,
  RepositoryError,
  signCanonical,
  Timestamp,
  TufError,
  type Signer,
} from '../../src/tuf/index.js';
import { removeTempDir, runBulwark, tempDir, type CommandResult } from '../helpers/processes.js';
import { memorySdist } from '../helpers/memory-dists.js';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A role's `signed` part as plain JSON: attacks reach into any field. */
export type Doc = Record<string, any>;

// ---- keys ----------------------------------------------------------------------------------

/** Every private key of a demo repository, read from its key files as a thief would. */
export type StolenKeys = Record<OnlineRole | OfflineRole, Ed25519Signer>;

export async function stealKeys(dataDir: string): Promise<StolenKeys> {
  const keys = {} as StolenKeys;
  for (const role of ONLINE_ROLES) keys[role] = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'online', `${role}.pem`), 'utf8'));
  for (const role of OFFLINE_ROLES) keys[role] = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'offline-DEMO-ONLY', `${role}.pem`), 'utf8'));
  return keys;
}

// ---- the repository ------------------------------------------------------------------------

export interface Uploaded {
  project: string;
  filename: string;
  /** The TUF target path, `<project>/<file>`. */
  path: string;
  bytes: Buffer;
  sha256: string;
  /** Where the static tree holds it: `targets/<project>/<sha256>.<file>`. */
  blob: string;
}

/**
 * A real demo repository in a temp dir, its background processes running, driven through the
 * repository API. Its clock can run ahead, so that the snapshot process re-signs the online
 * roles close to expiry (new versions of unclaimed, recently-claimed and every bin) for real.
 */
export class AttackRepository {
  readonly publicDir: string;
  private readonly mirrors: Mirror[] = [];
  /** Every timestamp.json the repository published, oldest first (the mirror of yesterday serves these). */
  readonly timestamps: Buffer[] = [];

  private constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly repo: Repository,
    readonly keys: StolenKeys,
    readonly rootBytes: Buffer,
    private readonly uploader: UserRecord,
    /** How far the repository's clock runs ahead of the real one. */
    private readonly clock: { offsetMs: number }
  ) {
    this.publicDir = join(dataDir, 'public');
  }

  /**
   * `name` says which attack the repository is built for (temp dirs and logs carry it).
   * `merkle`: publish snapshot Merkle trees (docs/merkle-snapshots.md). Off by default: the
   * classic attacks target the classic snapshot, which a Merkle client would not read; the
   * Merkle attacks (merkle-*.test.ts) turn it on.
   */
  static async create(name: string, opts: { bins?: number; merkle?: boolean } = {}): Promise<AttackRepository> {
    const dataDir = await tempDir(`attack-${name}`);
    await initDemoRepository(dataDir, { bins: opts.bins ?? 16 });
    const cfg = await loadConfig(dataDir);
    if (!cfg) throw new Error(`${dataDir} has no config.json`);
    await saveConfig(dataDir, { ...cfg, merkle: { ...cfg.merkle, enabled: opts.merkle ?? false } });
    const clock = { offsetMs: 0 };
    const repo = await AttackRepository.open(dataDir, clock);
    const { user } = await repo.accounts.addUser('uploader');
    const fx = new AttackRepository(name, dataDir, repo, await stealKeys(dataDir), await readFile(join(dataDir, 'root.json')), user, clock);
    await fx.recordTimestamp();
    return fx;
  }

  private async recordTimestamp(): Promise<void> {
    const ts = await readFile(join(this.publicDir, 'metadata', 'timestamp.json'));
    if (!this.timestamps.at(-1)?.equals(ts)) this.timestamps.push(ts);
  }

  /** The version of a role in the repository's latest publication. */
  async version(role: string): Promise<number> {
    const state = (await this.repo.state.roleStates()).find((r) => r.name === role);
    assert.ok(state, `the repository has published ${role}`);
    return state.version;
  }

  /** A role file of the repository's static tree (default: its latest version). */
  async metadata(role: string, version?: number): Promise<Buffer> {
    return readFile(join(this.publicDir, 'metadata', `${version ?? (await this.version(role))}.${role}.json`));
  }

  private static async open(dataDir: string, clock: { offsetMs: number }): Promise<Repository> {
    const repo = await Repository.open(dataDir, { clock: () => new Date(Date.now() + clock.offsetMs), compress: false, pollMs: 50, expiryCheckMs: 3_600_000 });
    await repo.start();
    return repo;
  }

  /** Uploads an sdist (bytes unique to this call) as an unclaimed project and waits for its snapshot. */
  async upload(project: string, version: string, content?: Buffer): Promise<Uploaded> {
    const filename = `${project}-${version}.tar.gz`;
    const bytes = content ?? memorySdist({ name: project, version, salt: `${filename}: the genuine release (${randomBytes(8).toString('hex')})` }).bytes;
    const tmpPath = join(this.repo.tmpDir, `upload-${randomUUID()}`);
    await writeFile(tmpPath, bytes);
    const form = new Map<string, string[]>([
      ['protocol_version', ['1']],
      ['name', [project]],
      ['version', [version]],
      ['filetype', ['sdist']],
      ['sha256_digest', [sha256(bytes)]],
    ]);
    await this.repo.uploads.upload(this.uploader, form, { tmpPath, filename, size: bytes.length, sha256: sha256(bytes), md5: md5(bytes) });
    await this.repo.settle();
    await this.recordTimestamp();
    const path = `${project}/${filename}`;
    return { project, filename, path, bytes, sha256: sha256(bytes), blob: `targets/${project}/${sha256(bytes)}.${filename}` };
  }

  /** The hashed bin a target path belongs to (`bins-a`…). */
  binFor(path: string): string {
    return this.repo.bins.roleForTarget(path);
  }

  /**
   * Moves the repository's clock ahead and lets the snapshot process re-sign every online role
   * that is now close to expiry (bins, unclaimed, recently-claimed, snapshot, timestamp).
   */
  async advanceClockAndResign(ms: number): Promise<void> {
    this.clock.offsetMs += ms;
    await this.repo.settle();
    const before = await this.version('snapshot');
    // request(), not publish(): publications must never run side by side.
    this.repo.publisher.request();
    await this.repo.publisher.idle();
    assert.ok((await this.version('snapshot')) > before, 'the snapshot process re-signed the roles close to expiry');
    await this.recordTimestamp();
  }

  /**
   * The operator's root rotation ceremony, for real: `admin root export` with new keys for
   * these online roles, signed with the demo offline root key, imported; the running
   * repository reloads its signers and publishes with the new keys. `keys` then holds them.
   */
  async rotateOnlineKeys(roles: ('timestamp' | 'snapshot')[]): Promise<Buffer> {
    const file = await exportRootRotation(this.repo, { rotateOnline: roles });
    const summary = await importRootRotation(this.repo, await signCeremonyFile(file, [this.keys.root]));
    Object.assign(this.keys, await stealKeys(this.dataDir));
    const newKeyIds = new Set(roles.map((r) => this.keys[r].keyId));
    // The running repository notices the new keys generation and publishes with them.
    const deadline = Date.now() + 10_000;
    for (;;) {
      await this.repo.publisher.idle();
      const ts = await readFile(join(this.publicDir, 'metadata', 'timestamp.json'));
      const snapshotVersion = (signedDoc(ts)['meta'] as Doc)['snapshot.json'].version as number;
      const snap = await readFile(join(this.publicDir, 'metadata', `${snapshotVersion}.snapshot.json`));
      const signedBy = [ts, snap].map((b) => (parseStrictJson(b) as { signatures: { keyid: string }[] }).signatures[0]?.keyid);
      if (roles.every((r) => newKeyIds.has(signedBy[r === 'timestamp' ? 0 : 1] as string))) break;
      assert.ok(Date.now() < deadline, 'the repository published with the rotated keys');
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.recordTimestamp();
    return this.metadata('root', summary.version);
  }

  /** A mirror of this repository's static tree (closed with the repository). */
  async mirror(label = 'mirror'): Promise<Mirror> {
    const m = await Mirror.start(this.publicDir, `${this.name}-${label}`);
    this.mirrors.push(m);
    return m;
  }

  async close(): Promise<void> {
    for (const m of this.mirrors) await m.close();
    await this.repo.close();
    await removeTempDir(this.dataDir);
  }
}

// ---- the mirror ----------------------------------------------------------------------------

/** What the mirror does for one path. */
export type Behaviour =
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'from'; path: string }
  | { kind: 'status'; status: number }
  /** Bytes for ever (until the client hangs up or `cap` bytes), chunked or with a lying length. */
  | { kind: 'endless'; declaredLength?: number; cap: number }
  /** A small gzip body that inflates to `size` bytes, with Content-Encoding: gzip. */
  | { kind: 'gzip-bomb'; body: Buffer }
  /** The real bytes (or `bytes`), `chunk` bytes every `intervalMs`. */
  | { kind: 'drip'; bytes?: Buffer; chunk: number; intervalMs: number }
  /** Accepts the connection and never answers. */
  | { kind: 'hang' }
  /** Sends the headers, then nothing. */
  | { kind: 'silence' };

export interface PathStats {
  requests: number;
  bytesSent: number;
  /** The client hung up before the mirror finished sending. */
  clientHungUp: boolean;
}

/** An HTTP server over a static tree, with per-path attacks. */
export class Mirror {
  private readonly behaviours = new Map<string, Behaviour>();
  /** Every path asked for, in order (decoded, without the leading slash). */
  readonly requests: string[] = [];
  readonly stats = new Map<string, PathStats>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;

  private constructor(
    readonly root: string,
    readonly label: string,
    private readonly server: Server,
    readonly url: string
  ) {}

  static async start(root: string, label = 'mirror'): Promise<Mirror> {
    let mirror: Mirror | undefined;
    const server = createServer((req, res) => {
      void mirror?.handle(req, res).catch(() => res.destroy());
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    mirror = new Mirror(root, label, server, `http://127.0.0.1:${port}`);
    return mirror;
  }

  // -- attacks, by path in the static tree (`metadata/timestamp.json`, `targets/p/<sha>.p-1.0.tar.gz`)

  /** Serves these bytes at `path` (replaced, forged, or an attacker's new file). */
  serve(path: string, bytes: Buffer): void {
    this.behaviours.set(path, { kind: 'bytes', bytes });
  }
  /** Serves whatever `olderPath` holds, under `path`. */
  serveOlder(path: string, olderPath: string): void {
    this.behaviours.set(path, { kind: 'from', path: olderPath });
  }
  notFound(path: string): void {
    this.behaviours.set(path, { kind: 'status', status: 404 });
  }
  endless(path: string, opts: { declaredLength?: number; cap?: number } = {}): void {
    this.behaviours.set(path, { kind: 'endless', cap: opts.cap ?? 256 * 1024 * 1024, ...(opts.declaredLength !== undefined ? { declaredLength: opts.declaredLength } : {}) });
  }
  gzipBomb(path: string, size: number): void {
    this.behaviours.set(path, { kind: 'gzip-bomb', body: gzipSync(Buffer.alloc(size, 0x20), { level: 9 }) });
  }
  drip(path: string, opts: { chunk: number; intervalMs: number; bytes?: Buffer }): void {
    this.behaviours.set(path, { kind: 'drip', ...opts });
  }
  hang(path: string): void {
    this.behaviours.set(path, { kind: 'hang' });
  }
  silence(path: string): void {
    this.behaviours.set(path, { kind: 'silence' });
  }
  /** Flips one byte of what `path` holds now, keeping the length. */
  async tamper(path: string): Promise<Buffer> {
    const bytes = Buffer.from((await this.read(path)) ?? Buffer.alloc(0));
    assert.ok(bytes.length > 0, `${path} exists`);
    const i = bytes.length >> 1;
    bytes[i] = (bytes[i] as number) ^ 0x01;
    this.serve(path, bytes);
    return bytes;
  }
  /** Back to honest, for one path; or for all, forgetting the requests seen so far. */
  reset(path?: string): void {
    if (path !== undefined) {
      this.behaviours.delete(path);
      return;
    }
    this.behaviours.clear();
    this.requests.length = 0;
    this.stats.clear();
  }

  /** What the mirror would serve at `path` (its forged files first, then the static tree). */
  async read(path: string): Promise<Buffer | undefined> {
    const b = this.behaviours.get(path);
    if (b?.kind === 'bytes') return b.bytes;
    if (b?.kind === 'from') return this.read(b.path);
    if (b) return undefined;
    return this.readTree(path);
  }

  private async readTree(path: string): Promise<Buffer | undefined> {
    if (path.split('/').includes('..')) return undefined;
    return readFile(join(this.root, path)).catch(() => undefined);
  }

  /** Waits until every response under way has ended (the client read it, or hung up). */
  async idle(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0) {
      if (Date.now() > deadline) throw new Error(`${this.label}: ${this.inFlight} response(s) still open`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Whether the client hung up on `path` before the mirror was done sending (after idle()). */
  async hungUp(path: string): Promise<boolean> {
    await this.idle();
    return this.stats.get(path)?.clientHungUp ?? false;
  }

  requested(pattern: RegExp): string[] {
    return this.requests.filter((p) => pattern.test(p));
  }

  private stat(path: string): PathStats {
    let s = this.stats.get(path);
    if (!s) this.stats.set(path, (s = { requests: 0, bytesSent: 0, clientHungUp: false }));
    return s;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://mirror').pathname).replace(/^\/+/, '');
    this.requests.push(path);
    const stat = this.stat(path);
    stat.requests++;
    this.inFlight++;
    let capped = false;
    res.on('close', () => {
      this.inFlight--;
      if (!res.writableFinished && !capped) stat.clientHungUp = true;
    });
    const b = this.behaviours.get(path);
    switch (b?.kind) {
      case undefined:
      case 'bytes':
      case 'from': {
        const bytes = await this.read(path);
        if (!bytes) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        stat.bytesSent += bytes.length;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
        return;
      }
      case 'status':
        res.writeHead(b.status, { 'content-type': 'text/plain' }).end(`${b.status}\n`);
        return;
      case 'gzip-bomb':
        stat.bytesSent += b.body.length;
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': b.body.length }).end(b.body);
        return;
      case 'endless': {
        const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
        if (b.declaredLength !== undefined) headers['content-length'] = b.declaredLength;
        res.writeHead(200, headers);
        const chunk = Buffer.alloc(64 * 1024, 0x7b); // '{{{{…'
        const pump = (): void => {
          while (!res.destroyed && stat.bytesSent < b.cap) {
            stat.bytesSent += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          if (res.destroyed) return;
          capped = true; // a client that never stops reading is a failed test, not a hung one
          res.destroy();
        };
        pump();
        return;
      }
      case 'drip': {
        const bytes = b.bytes ?? (await this.readTree(path)) ?? Buffer.alloc(0);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        res.flushHeaders();
        let offset = 0;
        const timer = setInterval(() => {
          if (res.destroyed || offset >= bytes.length) {
            clearInterval(timer);
            this.timers.delete(timer);
            if (!res.destroyed) res.end();
            return;
          }
          const piece = bytes.subarray(offset, offset + b.chunk);
          offset += piece.length;
          stat.bytesSent += piece.length;
          res.write(piece);
        }, b.intervalMs);
        this.timers.add(timer);
        res.on('close', () => {
          clearInterval(timer);
          this.timers.delete(timer);
        });
        return;
      }
      case 'hang':
        req.socket.on('close', () => res.destroy());
        return; // the socket stays open until the client gives up (or close())
      case 'silence':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.flushHeaders();
        return;
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---- forging and publishing metadata -------------------------------------------------------

/** The `signed` part of a metadata file, as JSON. */
export function signedDoc(bytes: Buffer): Doc {
  return (parseStrictJson(bytes) as Doc)['signed'] as Doc;
}

/** Signs a `signed` document as it is (canonical JSON, every signer). */
export async function signDoc(doc: Doc, signers: readonly Signer[]): Promise<Buffer> {
  return (await signCanonical(encodeCanonical(doc), signers)).bytes;
}

/** Takes a metadata file, lets `edit` change its `signed` part, and signs it again. */
export async function resign(bytes: Buffer, signers: readonly Signer[], edit: (doc: Doc) => void = () => {}): Promise<Buffer> {
  const doc = structuredClone(signedDoc(bytes));
  edit(doc);
  return signDoc(doc, signers);
}

export const inTheFuture = (ms = 30 * DAY): string => formatExpires(expiresIn(new Date(), ms / 1000));
export const inThePast = (ms = HOUR): string => formatExpires(expiresIn(new Date(), -ms / 1000));

/** A timestamp naming these snapshot bytes, built with the models and signed by `signers`. */
export async function forgeTimestamp(opts: { version: number; snapshot: Buffer; expires?: Date; signers: readonly Signer[] }): Promise<Buffer> {
  const snapshotVersion = signedDoc(opts.snapshot)['version'] as number;
  const ts = new Timestamp({
    version: opts.version,
    expires: opts.expires ?? expiresIn(new Date(), DAY / 1000),
    snapshotMeta: new MetaFile(snapshotVersion, opts.snapshot.length, { sha256: sha256(opts.snapshot) }),
  });
  return (await Metadata.sign(ts, opts.signers)).bytes;
}

/** What a mirror currently publishes: the timestamp, the snapshot it names, any role by name. */
export class Published {
  private constructor(
    readonly mirror: Mirror,
    readonly timestampBytes: Buffer,
    readonly snapshotBytes: Buffer
  ) {}

  static async of(mirror: Mirror): Promise<Published> {
    const ts = await mirror.read('metadata/timestamp.json');
    assert.ok(ts, 'the mirror has a timestamp');
    const version = (signedDoc(ts)['meta'] as Doc)['snapshot.json'].version as number;
    const snap = await mirror.read(`metadata/${version}.snapshot.json`);
    assert.ok(snap, `the mirror has snapshot ${version}`);
    return new Published(mirror, ts, snap);
  }

  get timestampVersion(): number {
    return signedDoc(this.timestampBytes)['version'] as number;
  }
  get snapshotVersion(): number {
    return signedDoc(this.snapshotBytes)['version'] as number;
  }
  /** The version of a targets role the snapshot lists. */
  version(role: string): number {
    const entry = (signedDoc(this.snapshotBytes)['meta'] as Doc)[`${role}.json`] as { version: number } | undefined;
    assert.ok(entry, `the snapshot lists ${role}`);
    return entry.version;
  }
  /** Static-tree path of a role at a version (default: the one the snapshot lists). */
  path(role: string, version = this.version(role)): string {
    return `metadata/${version}.${role}.json`;
  }
  async role(role: string, version = this.version(role)): Promise<Buffer> {
    const bytes = await this.mirror.read(this.path(role, version));
    assert.ok(bytes, `${this.path(role, version)} exists`);
    return bytes;
  }
}

/**
 * An `editSnapshot` that drops every role's length and hashes, keeping the versions: what a
 * repository that omits them (the spec allows it) publishes, or an attacker with the snapshot
 * key, so that only the version inside each role file is left to check.
 */
export function dropRoleHashes(doc: Doc): void {
  for (const entry of Object.values(doc['meta'] as Record<string, Doc>)) {
    delete entry['length'];
    delete entry['hashes'];
  }
}

export interface RepublishOptions {
  /** Signers of the new snapshot and timestamp (stolen online keys, or an attacker's). */
  snapshotSigners: readonly Signer[];
  timestampSigners: readonly Signer[];
  /** New targets-role files by role name; each is published under its own version. */
  roles?: Record<string, Buffer>;
  /** Changes to the new snapshot's `meta` (e.g. an older version of a role). */
  editSnapshot?: (doc: Doc) => void;
  snapshotExpires?: string;
  timestampExpires?: string;
  timestampVersion?: number;
}

/**
 * Publishes on the mirror what the snapshot process would: the given role files, a snapshot
 * (next version) listing them, and a timestamp (next version) naming that snapshot.
 */
export async function republish(mirror: Mirror, o: RepublishOptions): Promise<{ timestamp: Buffer; snapshot: Buffer; snapshotVersion: number }> {
  const now = await Published.of(mirror);
  const snapshot = structuredClone(signedDoc(now.snapshotBytes));
  for (const [role, bytes] of Object.entries(o.roles ?? {})) {
    const version = signedDoc(bytes)['version'] as number;
    mirror.serve(`metadata/${version}.${role}.json`, bytes);
    // As the snapshot process does: every role bound by its length and SHA-256.
    (snapshot['meta'] as Doc)[`${role}.json`] = { version, length: bytes.length, hashes: { sha256: sha256(bytes) } };
  }
  snapshot['version'] = now.snapshotVersion + 1;
  snapshot['expires'] = o.snapshotExpires ?? inTheFuture(7 * DAY);
  o.editSnapshot?.(snapshot);
  const snapshotBytes = await signDoc(snapshot, o.snapshotSigners);
  const snapshotVersion = snapshot['version'] as number;
  mirror.serve(`metadata/${snapshotVersion}.snapshot.json`, snapshotBytes);
  const timestamp = structuredClone(signedDoc(now.timestampBytes));
  timestamp['version'] = o.timestampVersion ?? now.timestampVersion + 1;
  timestamp['expires'] = o.timestampExpires ?? inTheFuture(DAY);
  timestamp['meta'] = { 'snapshot.json': { version: snapshotVersion, length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } } };
  const timestampBytes = await signDoc(timestamp, o.timestampSigners);
  mirror.serve('metadata/timestamp.json', timestampBytes);
  return { timestamp: timestampBytes, snapshot: snapshotBytes, snapshotVersion };
}

// ---- the client under attack ---------------------------------------------------------------

export interface ClientOptions {
  /** Where the metadata and targets live (`URL/metadata/`, `URL/targets/`). */
  index: string;
  mirrors?: readonly string[];
  now?: Date;
  fetcher?: HttpFetcherOptions | Fetcher;
  limits?: Partial<UpdaterLimits>;
}

/** A client with its own metadata cache, seeded with the pinned root. */
export class Client {
  private constructor(readonly metadataDir: string) {}

  static async create(rootBytes: Buffer, label = 'client'): Promise<Client> {
    const dir = await tempDir(`attack-${label}`);
    await writeFile(join(dir, 'root.json'), rootBytes);
    return new Client(dir);
  }

  updater(o: ClientOptions): Updater {
    const fetcher = o.fetcher === undefined ? new HttpFetcher({ connectTimeoutMs: 5_000 }) : 'fetch' in o.fetcher ? o.fetcher : new HttpFetcher(o.fetcher);
    return new Updater({
      metadataDir: this.metadataDir,
      indexUrl: o.index,
      fetcher,
      ...(o.mirrors ? { mirrors: o.mirrors } : {}),
      ...(o.now ? { now: o.now } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
    });
  }

  /** refresh(), then find and download one target: what `bulwark fetch` does for one file. */
  async fetchTarget(o: ClientOptions, path: string): Promise<{ bytes: Buffer; role: string }> {
    const u = this.updater(o);
    await u.refresh();
    const found = await u.findTarget(path);
    if (!found) throw new Error(`${path} is not listed`);
    return { bytes: await u.downloadTarget(found.target), role: found.role };
  }

  verifiedIndex(o: ClientOptions): VerifiedIndex {
    const fetcher = o.fetcher === undefined ? undefined : 'fetch' in o.fetcher ? o.fetcher : new HttpFetcher(o.fetcher);
    return new VerifiedIndex({
      indexUrl: o.index,
      metadataDir: this.metadataDir,
      ...(o.mirrors ? { mirrors: o.mirrors } : {}),
      ...(fetcher ? { fetcher } : {}),
      ...(o.limits ? { limits: o.limits } : {}),
    });
  }

  /** Every file of the metadata cache with its bytes. */
  async cache(): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const f of (await readdir(this.metadataDir)).sort()) out.set(f, await readFile(join(this.metadataDir, f)));
    return out;
  }

  async cached(role: string): Promise<Buffer | undefined> {
    return readFile(join(this.metadataDir, `${encodeURIComponent(role)}.json`)).catch(() => undefined);
  }

  /** The version of a cached role. */
  async cachedVersion(role: string): Promise<number | undefined> {
    const b = await this.cached(role);
    return b && (signedDoc(b)['version'] as number);
  }
}

// ---- assertions ----------------------------------------------------------------------------

/**
 * Awaits a refusal: a RepositoryError or DownloadError with exactly this code. Returns it.
 */
export async function refused(promise: Promise<unknown>, code: string, kind?: 'repository' | 'download'): Promise<TufError> {
  let error: unknown;
  try {
    const value = await promise;
    assert.fail(`expected a refusal with ${code}, got a result: ${describeValue(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    error = e;
  }
  assert.ok(error instanceof TufError, `expected a TufError ${code}, got ${String((error as Error)?.stack ?? error)}`);
  assert.equal(error.code, code, `${error.name}: ${error.message}`);
  if (kind === 'repository') assert.ok(error instanceof RepositoryError, `expected a RepositoryError, got ${error.name}`);
  if (kind === 'download') assert.ok(error instanceof DownloadError, `expected a DownloadError, got ${error.name}`);
  return error;
}

function describeValue(v: unknown): string {
  if (Buffer.isBuffer(v)) return `${v.length} bytes`;
  if (v && typeof v === 'object' && 'bytes' in v && Buffer.isBuffer((v as { bytes: unknown }).bytes)) return `${(v as { bytes: Buffer }).bytes.length} bytes`;
  return String(v);
}

/** None of these bytes sits anywhere in the client's metadata cache. */
export async function assertNotCached(client: Client, ...bad: Buffer[]): Promise<void> {
  for (const [file, bytes] of await client.cache()) {
    for (const b of bad) assert.ok(!bytes.equals(b), `the refused bytes were cached as ${file}`);
  }
}

/** The cache is byte for byte what it was. */
export async function assertCacheUnchanged(client: Client, before: Map<string, Buffer>): Promise<void> {
  const after = await client.cache();
  assert.deepEqual([...after.keys()], [...before.keys()], 'the same files in the cache');
  for (const [file, bytes] of before) assert.ok(after.get(file)?.equals(bytes), `${file} unchanged`);
}

// ---- the command ---------------------------------------------------------------------------

/** `bulwark fetch PROJECT --json` against an index (and mirrors), with a fresh cache and destination. */
export async function bulwarkFetch(o: {
  project: string;
  index: string;
  mirrors?: string[];
  rootFile: string;
  file?: string;
}): Promise<CommandResult & { dest: string; files: string[]; json: Doc | undefined }> {
  const dest = await tempDir('attack-fetch-dest');
  const cache = await tempDir('attack-fetch-cache');
  const args = ['fetch', o.project, '--index', o.index, '--root', o.rootFile, '--dest', dest, '--cache', cache, '--json'];
  for (const m of o.mirrors ?? []) args.push('--mirror', m);
  if (o.file) args.push('--file', o.file);
  const r = await runBulwark(args, { timeoutMs: 30_000 });
  let json: Doc | undefined;
  try {
    json = JSON.parse(r.stdout) as Doc;
  } catch {
    json = undefined;
  }
  return { ...r, dest, files: (await readdir(dest)).sort(), json };
}
