// SPDX-License-Identifier: Apache-2.0
// A small TUF repository in memory for tests: root, timestamp, snapshot, targets and delegated
// targets roles with fresh Ed25519 keys. Every role's `signed` part is a plain JSON object a
// test may change at will (role(name)), then sign again (sign) or re-publish the whole chain
// with consistent versions, lengths and hashes (publish). Signing goes through the core's
// Metadata.sign, so it also exercises the models; signRaw signs JSON the models would refuse.
import { createHash } from 'node:crypto';
import {
  Ed25519Signer,
  encodeCanonical,
  formatExpires,
  Metadata,
  Root,
  signCanonical,
  Snapshot,
  SPEC_VERSION,
  Targets,
  Timestamp,
  type AnySigned,
  type JsonValue,
} from '../../src/tuf/index.js';

/** A role's `signed` JSON. Loosely typed on purpose: tests reach into any field to tweak it. */
export type Doc = Record<string, any>;

export type TopRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const TOP_ROLES: readonly TopRole[] = ['root', 'timestamp', 'snapshot', 'targets'];

/** The reference time tests use: metadata expires one day after it unless a test says otherwise. */
export const NOW = new Date('2030-01-01T00:00:00Z');
const DAY = 86_400_000;

export function expiresAt(date: Date): string {
  return formatExpires(date);
}

export interface DelegationOptions {
  delegator?: string;
  paths?: string[];
  pathHashPrefixes?: string[];
  terminating?: boolean;
  keys?: number;
  threshold?: number;
}

/** The bytes of every role after publish(). */
export class Files {
  constructor(private readonly files: ReadonlyMap<string, Buffer>) {}
  get root(): Buffer {
    return this.role('root');
  }
  get timestamp(): Buffer {
    return this.role('timestamp');
  }
  get snapshot(): Buffer {
    return this.role('snapshot');
  }
  get targets(): Buffer {
    return this.role('targets');
  }
  role(name: string): Buffer {
    const bytes = this.files.get(name);
    if (!bytes) throw new Error(`no file for role ${name}`);
    return bytes;
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function newSigners(n: number): Ed25519Signer[] {
  return Array.from({ length: n }, () => Ed25519Signer.generate());
}

export class RepoBuilder {
  readonly now: Date;
  private readonly docs = new Map<string, Doc>();
  private readonly roleSigners = new Map<string, Ed25519Signer[]>();
  /** Delegated role name → the role that delegates to it. */
  private readonly delegatorOf = new Map<string, string>();

  constructor(opts: { now?: Date; consistentSnapshot?: boolean } = {}) {
    this.now = opts.now ?? NOW;
    for (const role of TOP_ROLES) this.roleSigners.set(role, newSigners(1));
    const root: Doc = this.common('root');
    root['keys'] = {};
    root['roles'] = {};
    root['consistent_snapshot'] = opts.consistentSnapshot ?? true;
    this.docs.set('root', root);
    for (const role of TOP_ROLES) this.setKeys(role, this.keys(role));
    this.docs.set('timestamp', { ...this.common('timestamp'), meta: { 'snapshot.json': { version: 1 } } });
    this.docs.set('snapshot', { ...this.common('snapshot'), meta: { 'targets.json': { version: 1 } } });
    this.docs.set('targets', { ...this.common('targets'), targets: {} });
  }

  private common(type: TopRole): Doc {
    return { _type: type, spec_version: SPEC_VERSION, version: 1, expires: expiresAt(new Date(this.now.getTime() + DAY)) };
  }

  /** The `signed` JSON of a role, live: changes show in the next sign() or publish(). */
  role(name: string): Doc {
    const doc = this.docs.get(name);
    if (!doc) throw new Error(`no role ${name}`);
    return doc;
  }

  keys(name: string): Ed25519Signer[] {
    const signers = this.roleSigners.get(name);
    if (!signers) throw new Error(`no keys for role ${name}`);
    return signers;
  }

  /** The names of all targets roles: targets first, then delegated roles in creation order. */
  targetsRoles(): string[] {
    return ['targets', ...this.delegatorOf.keys()];
  }

  /** Makes `signers` the keys of a role (in root, or in its delegator's delegations). */
  setKeys(name: string, signers: Ed25519Signer[], threshold = 1): void {
    this.roleSigners.set(name, signers);
    const delegator = this.delegatorOf.get(name);
    const holder = delegator === undefined ? this.role('root') : this.role(delegator)['delegations'];
    for (const s of signers) holder['keys'][s.keyId] = s.publicKey.toJSON();
    const entry = { keyids: signers.map((s) => s.keyId), threshold };
    if (delegator === undefined) holder['roles'][name] = entry;
    else if (holder['succinct_roles']) Object.assign(holder['succinct_roles'], entry);
    else Object.assign(findRole(holder, name), entry);
    this.pruneKeys(holder);
  }

  /** Replaces a role's keys with `n` new ones; returns the old signers. */
  rotate(name: string, n = 1, threshold = 1): Ed25519Signer[] {
    const old = this.keys(name);
    this.setKeys(name, newSigners(n), threshold);
    return old;
  }

  /** Drops keys no role names any more, as a repository would. */
  private pruneKeys(holder: Doc): void {
    const used = new Set<string>();
    if (holder['roles'] && !Array.isArray(holder['roles'])) {
      for (const r of Object.values(holder['roles'] as Doc)) for (const id of r['keyids']) used.add(id);
    } else if (Array.isArray(holder['roles'])) {
      for (const r of holder['roles'] as Doc[]) for (const id of r['keyids']) used.add(id);
    }
    if (holder['succinct_roles']) for (const id of holder['succinct_roles']['keyids']) used.add(id);
    for (const id of Object.keys(holder['keys'])) if (!used.has(id)) delete holder['keys'][id];
  }

  private ensureDelegations(delegator: string): Doc {
    const doc = this.role(delegator);
    doc['delegations'] ??= { keys: {}, roles: [] };
    return doc['delegations'];
  }

  private addTargetsRole(name: string, delegator: string, signers: Ed25519Signer[]): void {
    this.docs.set(name, { ...this.common('targets'), targets: {} });
    this.roleSigners.set(name, signers);
    this.delegatorOf.set(name, delegator);
    this.role('snapshot')['meta'][`${name}.json`] = { version: 1 };
  }

  /** Adds a delegated targets role (by path patterns or hash prefixes) with fresh keys. */
  addDelegation(name: string, opts: DelegationOptions = {}): Ed25519Signer[] {
    const delegator = opts.delegator ?? 'targets';
    const delegations = this.ensureDelegations(delegator);
    const signers = newSigners(opts.keys ?? 1);
    const entry: Doc = {
      name,
      keyids: signers.map((s) => s.keyId),
      threshold: opts.threshold ?? 1,
      terminating: opts.terminating ?? false,
    };
    if (opts.pathHashPrefixes) entry['path_hash_prefixes'] = opts.pathHashPrefixes;
    else entry['paths'] = opts.paths ?? ['*'];
    delegations['roles'].push(entry);
    for (const s of signers) delegations['keys'][s.keyId] = s.publicKey.toJSON();
    this.addTargetsRole(name, delegator, signers);
    return signers;
  }

  /** Adds TAP 15 succinct hashed bins under `delegator`, all signed by one fresh key. */
  addSuccinctRoles(bitLength: number, namePrefix: string, delegator = 'targets'): string[] {
    const doc = this.role(delegator);
    const signer = Ed25519Signer.generate();
    doc['delegations'] = {
      keys: { [signer.keyId]: signer.publicKey.toJSON() },
      succinct_roles: { keyids: [signer.keyId], threshold: 1, bit_length: bitLength, name_prefix: namePrefix },
    };
    const width = (2 ** bitLength - 1).toString(16).length;
    const names: string[] = [];
    for (let i = 0; i < 2 ** bitLength; i++) {
      const name = `${namePrefix}-${i.toString(16).padStart(width, '0')}`;
      this.addTargetsRole(name, delegator, [signer]);
      names.push(name);
    }
    return names;
  }

  /** Adds a target file entry to a targets role. */
  addTarget(role: string, path: string, content: Uint8Array): void {
    this.role(role)['targets'][path] = { length: content.length, hashes: { sha256: sha256(content) } };
  }

  bump(name: string, by = 1): void {
    this.role(name)['version'] += by;
  }

  /** Sets a role's expiry `seconds` after (or, if negative, before) the reference time. */
  expireIn(name: string, seconds: number): void {
    this.role(name)['expires'] = expiresAt(new Date(this.now.getTime() + seconds * 1000));
  }

  /** Signs a role's current JSON through the models (Metadata.sign). */
  async sign(name: string, signers: readonly Ed25519Signer[] = this.keys(name)): Promise<Buffer> {
    const md = await Metadata.sign(this.model(name), signers);
    return md.bytes;
  }

  /** Signs the JSON as it is, even if the models would refuse it (bad type, bad version…). */
  async signRaw(name: string, signers: readonly Ed25519Signer[] = this.keys(name)): Promise<Buffer> {
    const { bytes } = await signCanonical(encodeCanonical(this.role(name) as JsonValue), signers);
    return bytes;
  }

  private model(name: string): AnySigned {
    const doc = this.role(name);
    switch (doc['_type']) {
      case 'root':
        return Root.fromJSON(doc);
      case 'timestamp':
        return Timestamp.fromJSON(doc);
      case 'snapshot':
        return Snapshot.fromJSON(doc);
      default:
        return Targets.fromJSON(doc, name);
    }
  }

  /**
   * Signs every role bottom-up so that the chain is consistent: the snapshot lists each targets
   * role's version (and, with `hashes`, its length and SHA-256), the timestamp lists the
   * snapshot's. Returns all the bytes.
   */
  async publish(opts: { hashes?: boolean } = {}): Promise<Files> {
    const hashes = opts.hashes ?? true;
    const files = new Map<string, Buffer>();
    const snapshotMeta = this.role('snapshot')['meta'];
    for (const name of this.targetsRoles()) {
      const bytes = await this.sign(name);
      files.set(name, bytes);
      snapshotMeta[`${name}.json`] = this.metaFor(this.role(name)['version'], bytes, hashes);
    }
    const snapshot = await this.sign('snapshot');
    files.set('snapshot', snapshot);
    this.role('timestamp')['meta'] = { 'snapshot.json': this.metaFor(this.role('snapshot')['version'], snapshot, hashes) };
    files.set('timestamp', await this.sign('timestamp'));
    files.set('root', await this.sign('root'));
    return new Files(files);
  }

  private metaFor(version: number, bytes: Buffer, hashes: boolean): Doc {
    return hashes ? { version, length: bytes.length, hashes: { sha256: sha256(bytes) } } : { version };
  }
}

function findRole(delegations: Doc, name: string): Doc {
  const entry = (delegations['roles'] as Doc[]).find((r) => r['name'] === name);
  if (!entry) throw new Error(`no delegation to ${name}`);
  return entry;
}
