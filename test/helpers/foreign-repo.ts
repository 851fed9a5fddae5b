// A TUF repository made by another tool, for testing Bulwark's client as an outsider would: the
// metadata is plain JSON built here, signed by python3-securesystemslib (test/helpers/sslib.ts:
// its keys, its canonical JSON, its signature formats), written as python-tuf writes files
// (indented), and served over real HTTP on 127.0.0.1 with the layout python-tuf repositories use:
// `metadata/N.root.json`, `metadata/timestamp.json`, `metadata/[N.]snapshot.json`,
// `metadata/[N.]<role, percent-encoded>.json`, `targets/[<dir>/]<sha256>.<name>`. Nothing here
// uses Bulwark's code: role names are quoted by a separate implementation, and every request the
// client makes is recorded, as it arrived, so tests can check what was asked for.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Json, Sslib, SslibKeyType } from './sslib.js';

export type Doc = { [k: string]: Json };
const DAY = 86_400_000;
const TOP = ['root', 'timestamp', 'snapshot', 'targets'] as const;

/** `urllib.parse.quote(name, safe="")`, written independently of Bulwark's quoteName. */
export function pyQuote(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

export interface ForeignRepoOptions {
  consistentSnapshot: boolean;
  /** Fields added to every object where the specification allows unknown ones. */
  extra?: (where: string) => Doc;
  /** Whether snapshot and timestamp list lengths and hashes (sigstore's snapshot does not). */
  hashes?: boolean;
}

export class ForeignRepo {
  readonly keyids = new Map<string, string>(); // key name -> key id
  readonly publicKeys = new Map<string, Doc>();
  /** The `signed` part of every role, changed at will by tests. */
  readonly docs = new Map<string, Doc>();
  /** Key names that sign each role when it is published. */
  readonly signers = new Map<string, string[]>();
  /** Served files: path below the server root → bytes. */
  readonly files = new Map<string, Buffer>();
  /** Every request path, raw, in order. */
  readonly requests: string[] = [];
  private server: Server | undefined;
  url = '';

  constructor(
    readonly sslib: Sslib,
    readonly o: ForeignRepoOptions
  ) {}

  private extra(where: string): Doc {
    return this.o.extra?.(where) ?? {};
  }

  async key(name: string, type: SslibKeyType): Promise<string> {
    const { keyid, key } = await this.sslib.key(name, type, this.extra('key'));
    this.keyids.set(name, keyid);
    this.publicKeys.set(name, key);
    return keyid;
  }

  private roleEntry(keyNames: readonly string[], threshold: number): Doc {
    return { ...this.extra('role'), keyids: keyNames.map((n) => this.keyids.get(n) as string), threshold };
  }

  expires(days = 365): string {
    return isoSeconds(new Date(Date.now() + days * DAY));
  }

  /** Root v1 and the other top-level roles; `keys` names each role's keys (made already). */
  init(keys: Record<(typeof TOP)[number], { names: string[]; threshold: number }>): void {
    const roles: Doc = {};
    for (const role of TOP) roles[role] = this.roleEntry(keys[role].names, keys[role].threshold);
    this.docs.set('root', {
      ...this.extra('signed'),
      _type: 'root',
      spec_version: '1.0.31',
      version: 1,
      expires: this.expires(),
      consistent_snapshot: this.o.consistentSnapshot,
      keys: {},
      roles,
    });
    this.syncRootKeys();
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      this.docs.set(role, { ...this.extra('signed'), _type: role, spec_version: '1.0.31', version: 0, expires: this.expires(), ...(role === 'targets' ? { targets: {} } : { meta: {} }) });
    }
    for (const role of TOP) this.signers.set(role, keys[role].names.slice(0, keys[role].threshold));
  }

  get root(): Doc {
    return this.docs.get('root') as Doc;
  }

  /** The root's `keys`: exactly the keys its roles name. */
  syncRootKeys(): void {
    const keys: Doc = {};
    for (const entry of Object.values(this.root['roles'] as Doc)) {
      for (const id of (entry as { keyids: string[] }).keyids) {
        const name = [...this.keyids].find(([, k]) => k === id)?.[0] as string;
        keys[id] = this.publicKeys.get(name) as Json;
      }
    }
    this.root['keys'] = keys;
  }

  /** Replaces a top-level role's keys and threshold in the root (not yet published). */
  setRole(role: (typeof TOP)[number], names: string[], threshold: number): void {
    (this.root['roles'] as Doc)[role] = this.roleEntry(names, threshold);
    this.syncRootKeys();
  }

  /** The next root, signed by the named keys (old and new, as a rotation needs). */
  async publishRoot(signers: readonly string[], change: (root: Doc) => void = () => {}): Promise<void> {
    this.root['version'] = (this.root['version'] as number) + 1;
    change(this.root);
    await this.signRoot(signers);
  }

  /** Signs the root as it stands (the first root, or a corrected file for the same version). */
  async signRoot(signers: readonly string[]): Promise<void> {
    this.files.set(`metadata/${this.root['version'] as number}.root.json`, Buffer.from(await this.sslib.sign(this.root, signers)));
  }

  /** Adds a delegation from `delegator` to a new role with the given keys. */
  delegate(delegator: string, role: string, names: string[], threshold: number, paths: string[]): void {
    const doc = this.docs.get(delegator) as Doc;
    const delegations = (doc['delegations'] ??= { ...this.extra('delegations'), keys: {}, roles: [] }) as Doc;
    for (const n of names) (delegations['keys'] as Doc)[this.keyids.get(n) as string] = this.publicKeys.get(n) as Json;
    (delegations['roles'] as Json[]).push({ ...this.extra('delegated role'), name: role, ...this.roleEntry(names, threshold), terminating: false, paths });
    this.docs.set(role, { ...this.extra('signed'), _type: 'targets', spec_version: '1.0.31', version: 0, expires: this.expires(), targets: {} });
    this.signers.set(role, names.slice(0, threshold));
  }

  /** Adds a target file to a targets role (published with the role's next version). */
  addTarget(role: string, path: string, content: string): void {
    const bytes = Buffer.from(content);
    const hash = sha256(bytes);
    ((this.docs.get(role) as Doc)['targets'] as Doc)[path] = { ...this.extra('target'), length: bytes.length, hashes: { sha256: hash } };
    const slash = path.lastIndexOf('/');
    const served = this.o.consistentSnapshot ? `${path.slice(0, slash + 1)}${hash}.${path.slice(slash + 1)}` : path;
    this.files.set(`targets/${served}`, bytes);
  }

  private metaEntry(version: number, bytes: Buffer): Doc {
    return { ...this.extra('meta'), version, ...(this.o.hashes ? { length: bytes.length, hashes: { sha256: sha256(bytes) } } : {}) };
  }

  /** Signs the role's doc as it stands, with its signers (or the ones given), and stores it. */
  async signRole(role: string, signers = this.signers.get(role) as string[]): Promise<Buffer> {
    const doc = this.docs.get(role) as Doc;
    const bytes = Buffer.from(await this.sslib.sign(doc, signers));
    const version = doc['version'] as number;
    const name = role === 'timestamp' ? 'timestamp.json' : this.o.consistentSnapshot ? `${version}.${pyQuote(role)}.json` : `${pyQuote(role)}.json`;
    this.files.set(`metadata/${name}`, bytes);
    return bytes;
  }

  /**
   * A release: each named targets role one version up and signed, then a new snapshot listing
   * every targets role, then a new timestamp.
   */
  async release(roles: readonly string[] = []): Promise<void> {
    const snapshot = this.docs.get('snapshot') as Doc;
    const meta = (snapshot['meta'] ?? {}) as Doc;
    for (const role of roles) {
      const doc = this.docs.get(role) as Doc;
      doc['version'] = (doc['version'] as number) + 1;
      meta[`${role}.json`] = this.metaEntry(doc['version'] as number, await this.signRole(role));
    }
    snapshot['meta'] = meta;
    snapshot['version'] = (snapshot['version'] as number) + 1;
    const snapshotBytes = await this.signRole('snapshot');
    await this.publishTimestamp(snapshot['version'] as number, snapshotBytes);
  }

  /** A new timestamp naming a snapshot version (the current one unless given). */
  async publishTimestamp(snapshotVersion?: number, snapshotBytes?: Buffer): Promise<void> {
    const snapshot = this.docs.get('snapshot') as Doc;
    const version = snapshotVersion ?? (snapshot['version'] as number);
    const bytes = snapshotBytes ?? (this.files.get(this.o.consistentSnapshot ? `metadata/${version}.snapshot.json` : 'metadata/snapshot.json') as Buffer);
    const ts = this.docs.get('timestamp') as Doc;
    ts['version'] = (ts['version'] as number) + 1;
    ts['meta'] = { 'snapshot.json': { ...this.metaEntry(version, bytes), length: bytes.length, hashes: { sha256: sha256(bytes) } } };
    await this.signRole('timestamp');
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').slice(1);
      this.requests.push(path);
      const body = this.files.get(path);
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/octet-stream' });
      res.end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => (this.server as Server).listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
