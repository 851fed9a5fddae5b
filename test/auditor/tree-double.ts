// An index's published metadata in memory, for the auditor and the auditor-requiring client:
// a root naming one auditor, timestamps signed with the real timestamp key and carrying
// `x-bulwark-merkle`, and the Merkle files built by the real merkle module. Tests publish honest
// trees, or forge one (the attacker holds the timestamp key and writes the files it likes), and
// serve it through the Fetcher port, the transport seam the auditor and the client use.
import {
  DownloadError,
  Ed25519Signer,
  leafText,
  MERKLE_FIELD,
  MerkleTreeBuilder,
  nodeFileName,
  Metadata,
  MetaFile,
  Root,
  shardFileName,
  shardFileBytes,
  shardOf,
  Timestamp,
  type MerkleField,
  type Signer,
  type TopLevelRole,
} from '../../src/tuf/index.js';
import type { Fetcher } from '../../src/client/fetcher.js';
import { withAuditors } from '../../src/auditor/root-auditors.js';

export const BASE = 'http://index.test';
const DAY = 86_400_000;

export type Versions = Record<string, number>;

export class TreeDouble implements Fetcher {
  readonly rootKey = Ed25519Signer.generate();
  readonly timestampKey = Ed25519Signer.generate();
  readonly snapshotKey = Ed25519Signer.generate();
  readonly targetsKey = Ed25519Signer.generate();
  readonly auditorKey: Signer = Ed25519Signer.generate();
  /** Everything served, by path under /metadata/. */
  readonly files = new Map<string, Buffer>();
  root!: Metadata<Root>;
  timestamp!: Metadata<Timestamp>;
  private timestampVersion = 0;

  constructor(
    readonly shards = 16,
    private readonly now = new Date()
  ) {}

  async init(): Promise<this> {
    const auditors = withAuditors({}, { keys: [this.auditorKey.publicKey] });
    const keys = [this.rootKey, this.timestampKey, this.snapshotKey, this.targetsKey].map((s) => [s.keyId, s.publicKey] as const);
    const root = new Root({
      version: 1,
      expires: new Date(this.now.getTime() + 365 * DAY),
      keys: new Map([...keys, ...auditors.keys.map((k) => [k.keyId, k] as const)]),
      roles: new Map<TopLevelRole, { keyids: string[]; threshold: number }>([
        ['root', { keyids: [this.rootKey.keyId], threshold: 1 }],
        ['timestamp', { keyids: [this.timestampKey.keyId], threshold: 1 }],
        ['snapshot', { keyids: [this.snapshotKey.keyId], threshold: 1 }],
        ['targets', { keyids: [this.targetsKey.keyId], threshold: 1 }],
      ]),
      consistentSnapshot: true,
      unrecognized: auditors.unrecognized,
    });
    this.root = await Metadata.sign(root, [this.rootKey]);
    this.files.set('1.root.json', this.root.bytes);
    return this;
  }

  /** The tree of these role versions, built by the merkle module, its files served. */
  tree(versions: Versions): MerkleTreeBuilder {
    const tree = MerkleTreeBuilder.build(
      this.shards,
      Object.entries(versions).map(([role, version]) => ({ role, leaf: leafText(role, version) }))
    );
    for (const f of tree.allFiles()) this.files.set(`merkle/${f.name}`, f.bytes);
    return tree;
  }

  /** A timestamp (signed with the timestamp key) naming `field`, served as timestamp.json. */
  async sign(field: MerkleField, opts: { version?: number; expires?: Date } = {}): Promise<Metadata<Timestamp>> {
    this.timestampVersion = opts.version ?? this.timestampVersion + 1;
    const ts = new Timestamp({
      version: this.timestampVersion,
      expires: opts.expires ?? new Date(this.now.getTime() + DAY),
      snapshotMeta: new MetaFile(1),
      unrecognized: { [MERKLE_FIELD]: { ...field } },
    });
    this.timestamp = await Metadata.sign(ts, [this.timestampKey]);
    this.files.set('timestamp.json', this.timestamp.bytes);
    return this.timestamp;
  }

  /** Publishes an honest tree of these versions. */
  async publish(versions: Versions): Promise<Metadata<Timestamp>> {
    return this.sign(this.tree(versions).field);
  }

  /**
   * A shard file listing these leaves, served under `name` (a forgery when the leaves do not
   * hash to it). Returns the shard index of the first role.
   */
  serveShard(name: string, versions: Versions): number {
    const leaves = Object.entries(versions).map(([role, v]) => leafText(role, v));
    this.files.set(`merkle/${shardFileName(name)}`, shardFileBytes(leaves));
    return shardOf(Object.keys(versions)[0] as string, this.shards);
  }

  nodeFile(hash: string): Buffer | undefined {
    return this.files.get(`merkle/${nodeFileName(hash)}`);
  }

  async fetch(url: string, maxLength: number): Promise<Buffer> {
    const path = url.startsWith(`${BASE}/metadata/`) ? url.slice(`${BASE}/metadata/`.length) : undefined;
    const bytes = path === undefined ? undefined : this.files.get(path);
    if (!bytes) throw new DownloadError('NOT_FOUND', `not found: ${url}`, url, 404);
    if (bytes.length > maxLength) throw new DownloadError('LENGTH_EXCEEDED', `${url} is over ${maxLength} bytes`, url);
    return bytes;
  }
}

/** Roles spread over the shards, each at version 1. */
export function someRoles(n: number): Versions {
  const v: Versions = { targets: 1, claimed: 1, 'recently-claimed': 1, unclaimed: 1 };
  for (let i = 0; i < n; i++) v[`bins-${i.toString(16).padStart(2, '0')}`] = 1;
  return v;
}
