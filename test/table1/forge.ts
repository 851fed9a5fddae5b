// PEP 480 Table 1: the attacker's metadata workshop. It reads the honest repository's public
// tree (what any mirror sees), changes what the attack needs, and signs every file it changed
// with the keys it holds and nothing else: a file it changed but cannot sign keeps the honest
// signatures, which no longer cover it, and the client will say so. Whether an attack works is
// decided by the client under test, never here.
//
// A forgery starts from a published state (a timestamp.json the index once served) and ends as
// a set of files to serve in place of (or beside) the honest ones:
//   - targets roles it changed under `metadata/VERSION.ROLE.json` (same version: overwritten;
//     bumped version: a new file),
//   - a new snapshot and timestamp when the list of role versions (or hashes) changed or when
//     asked for fresh ones, `N.root.json` when it rotated root keys, and the attacker's targets.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDITORS_FIELD } from '../../src/auditor/root-auditors.js';
import { signStatement } from '../../src/auditor/statement.js';
import { PROJECT_ROLE_PREFIX, projectDelegators, targetBlobPath } from '../../src/repository/layout.js';
import { NAME_BIN_COUNT } from '../../src/repository/name-bins.js';
import {
  Ed25519Signer,
  encodeCanonical,
  formatExpires,
  isTargetInPathPattern,
  leafText,
  Metadata,
  MERKLE_FIELD,
  MerkleTreeBuilder,
  merkleFanout,
  merkleSteps,
  nodeFileName,
  shardFileName,
  shardOf,
  signCanonical,
  verifyNodeFile,
  verifyShardFile,
  verifyTopFile, SuccinctRoles, type Signature, type Signer } from '../../src/tuf/index.js';

/**
 * The roles that may delegate a project's role, whatever the repository's number of name bins
 * (a power of two up to 1,024): the forgeries work on any scenario.
 */
export function delegatorsOfProject(project: string): string[] {
  const out = new Set<string>();
  for (let count = 1; count <= NAME_BIN_COUNT; count *= 2) for (const r of projectDelegators(project, count)) out.add(r);
  return [...out];
}

// ---- metadata as JSON ----------------------------------------------------------------------

export interface MetaEntry {
  version: number;
  length?: number;
  hashes?: Record<string, string>;
}
export interface DelegatedRoleJson {
  name: string;
  keyids: string[];
  threshold: number;
  terminating: boolean;
  paths?: string[];
  path_hash_prefixes?: string[];
}
export interface SuccinctJson {
  keyids: string[];
  threshold: number;
  bit_length: number;
  name_prefix: string;
}
export interface TargetsSigned {
  _type: 'targets';
  spec_version: string;
  version: number;
  expires: string;
  targets: Record<string, { hashes: Record<string, string>; length: number; custom?: unknown }>;
  delegations?: { keys: Record<string, unknown>; roles?: DelegatedRoleJson[]; succinct_roles?: SuccinctJson };
}
export interface RootSigned {
  _type: 'root';
  spec_version: string;
  version: number;
  expires: string;
  keys: Record<string, unknown>;
  roles: Record<'root' | 'timestamp' | 'snapshot' | 'targets', { keyids: string[]; threshold: number }>;
  consistent_snapshot: boolean;
}
export interface SnapshotSigned {
  _type: 'snapshot';
  spec_version: string;
  version: number;
  expires: string;
  meta: Record<string, MetaEntry>;
}
export interface TimestampSigned {
  _type: 'timestamp';
  spec_version: string;
  version: number;
  expires: string;
  meta: { 'snapshot.json': MetaEntry };
}
export interface Envelope<T> {
  signatures: Signature[];
  signed: T;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;

function envelopeBytes(signed: unknown, signatures: readonly Signature[]): Buffer {
  return Buffer.from(encodeCanonical({ signatures: signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })), signed }), 'utf8');
}

// ---- the honest public tree ----------------------------------------------------------------

/** Read-only view of the honest repository's `public/` tree, as any mirror would see it. */
export class HonestTree {
  private readonly bytes = new Map<string, Buffer | null>();
  private versionsByRole: Map<string, number[]> | undefined;

  constructor(readonly publicDir: string) {}

  /** A file of the tree by its path under public/ (undefined when there is none). */
  file(path: string): Buffer | undefined {
    if (!this.bytes.has(path)) {
      let b: Buffer | null = null;
      try {
        b = readFileSync(join(this.publicDir, path));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'EISDIR') throw e;
      }
      this.bytes.set(path, b);
    }
    return this.bytes.get(path) ?? undefined;
  }

  metadataBytes(role: string, version: number): Buffer {
    const b = this.file(`metadata/${version}.${role}.json`);
    if (!b) throw new Error(`the honest tree has no metadata/${version}.${role}.json`);
    return b;
  }

  /** A fresh (mutable) parse of `VERSION.ROLE.json`. */
  metadata<T>(role: string, version: number): Envelope<T> {
    return JSON.parse(this.metadataBytes(role, version).toString('utf8')) as Envelope<T>;
  }

  /** Every published version of a role, ascending. */
  versions(role: string): number[] {
    if (!this.versionsByRole) {
      const map = new Map<string, number[]>();
      for (const name of readdirSync(join(this.publicDir, 'metadata'))) {
        const m = /^(\d+)\.(.+)\.json$/.exec(name);
        if (!m) continue;
        const list = map.get(m[2] as string) ?? [];
        list.push(Number(m[1]));
        map.set(m[2] as string, list);
      }
      for (const list of map.values()) list.sort((a, b) => a - b);
      this.versionsByRole = map;
    }
    return this.versionsByRole.get(role) ?? [];
  }

  newest(role: string): number {
    const v = this.versions(role);
    return v[v.length - 1] ?? 0;
  }

  /** Every snapshot the index ever published: the history an inconsistency is checked against. */
  snapshots(): SnapshotSigned[] {
    return this.versions('snapshot').map((v) => this.metadata<SnapshotSigned>('snapshot', v).signed);
  }

  /**
   * The versions of `roles` in every snapshot Merkle tree the index published (each top file
   * under metadata/merkle/, read down to the roles' leaves): trees can be published without a
   * classic snapshot, so an inconsistency is checked against these too.
   */
  trees(roles: readonly string[]): Map<string, number | undefined>[] {
    const names = (() => {
      try {
        return readdirSync(join(this.publicDir, 'metadata', 'merkle')).filter((n) => n.endsWith('.tree.json'));
      } catch {
        return [];
      }
    })();
    return names.map((name) => {
      const top = this.file(`metadata/merkle/${name}`) as Buffer;
      const { shards } = JSON.parse(top.toString('utf8')) as { shards: number };
      const field = { root: name.slice(0, -'.tree.json'.length), shards, fanout: merkleFanout(shards) };
      const versions = new Map<string, number | undefined>();
      for (const role of roles) {
        const shard = shardOf(role, shards);
        let shardHash = field.root;
        for (const [level, { slot }] of merkleSteps(shard, field.fanout).entries()) {
          const listed = level === 0 ? verifyTopFile(top, field) : verifyNodeFile(this.file(`metadata/merkle/${nodeFileName(shardHash)}`) as Buffer, shardHash, level, field);
          shardHash = listed[slot] as string;
        }
        const leaves = verifyShardFile(this.file(`metadata/merkle/${shardFileName(shardHash)}`) as Buffer, shardHash, shard, field);
        versions.set(role, leaves.find((l) => l.role === role)?.version);
      }
      return versions;
    });
  }
}

// ---- the forgery ---------------------------------------------------------------------------

interface Doc {
  name: string;
  env: Envelope<TargetsSigned>;
  /** Canonical JSON of the honest `signed` this doc was loaded from ('' for a new role). */
  orig: string;
  bumped: boolean;
}

export interface ForgeryOptions {
  tree: HonestTree;
  /** The timestamp.json of the published state the forgery starts from. */
  base: Buffer;
  /** The keys the attacker holds: the compromised ones only. */
  keys: ReadonlyMap<string, Signer>;
  /** The victim's clock: expiry dates are set from it. */
  clock: Date;
}

export class Forgery {
  readonly tree: HonestTree;
  private readonly keys = new Map<string, Signer>();
  private readonly clock: Date;
  private readonly honestRoot: Envelope<RootSigned>;
  private root: Envelope<RootSigned> | undefined;
  /** The auditor a rotated root names instead of the honest one: the attacker's own key. */
  private ownAuditor: Ed25519Signer | undefined;
  private readonly baseTimestamp: Envelope<TimestampSigned>;
  private readonly baseTimestampBytes: Buffer;
  private readonly baseSnapshot: Envelope<SnapshotSigned>;
  private readonly docs = new Map<string, Doc>();
  private readonly files = new Map<string, Buffer>();
  private forceTimestamp = false;
  private forceSnapshot = false;
  /** What was done, for reports. */
  readonly steps: string[] = [];
  /** Roles replaced by an older honest version, and that version. */
  readonly rolledBack = new Map<string, number>();

  constructor(o: ForgeryOptions) {
    this.tree = o.tree;
    for (const [id, s] of o.keys) this.keys.set(id, s);
    this.clock = o.clock;
    this.honestRoot = o.tree.metadata<RootSigned>('root', o.tree.newest('root'));
    this.baseTimestampBytes = o.base;
    this.baseTimestamp = JSON.parse(o.base.toString('utf8')) as Envelope<TimestampSigned>;
    this.baseSnapshot = o.tree.metadata<SnapshotSigned>('snapshot', this.baseTimestamp.signed.meta['snapshot.json'].version);
  }

  private get currentRoot(): RootSigned {
    return (this.root ?? this.honestRoot).signed;
  }

  /** Role versions as the starting snapshot lists them. */
  baseVersion(role: string): number | undefined {
    return this.baseSnapshot.signed.meta[`${role}.json`]?.version;
  }

  /** The role as the forgery has it now (loaded from the starting state on first use). */
  role(name: string): TargetsSigned {
    return this.doc(name).env.signed;
  }

  has(name: string): boolean {
    return this.docs.has(name) || this.baseVersion(name) !== undefined;
  }

  private doc(name: string): Doc {
    let d = this.docs.get(name);
    if (!d) {
      const version = this.baseVersion(name);
      if (version === undefined) throw new Error(`the starting snapshot lists no ${name}`);
      d = this.load(name, version);
      this.docs.set(name, d);
    }
    return d;
  }

  private load(name: string, version: number): Doc {
    const env = this.tree.metadata<TargetsSigned>(name, version);
    return { name, env, orig: encodeCanonical(env.signed), bumped: false };
  }

  /** A fresh key of the attacker's own (not a compromised one): for roles it delegates itself. */
  private freshKey(): Ed25519Signer {
    const s = Ed25519Signer.generate();
    this.keys.set(s.keyId, s);
    return s;
  }

  /** Lists an attacker-chosen file as a target of `role`, and serves its bytes. */
  list(role: string, path: string, bytes: Buffer): void {
    const hash = sha256(bytes);
    this.role(role).targets[path] = { hashes: { sha256: hash }, length: bytes.length };
    this.files.set(targetBlobPath(path, hash), bytes);
    this.steps.push(`list ${path} in ${role}`);
  }

  /** Adds, first in `delegator`'s list, a terminating delegation of `paths` to a new role of the attacker's own key. */
  delegate(delegator: string, name: string, paths: string[]): void {
    const d = this.role(delegator);
    if (d.delegations?.succinct_roles) throw new Error(`${delegator} delegates to hashed bins only`);
    const key = this.freshKey();
    const delegations = (d.delegations ??= { keys: {}, roles: [] });
    delegations.keys[key.keyId] = key.publicKey.toJSON();
    (delegations.roles ??= []).unshift({ name, keyids: [key.keyId], threshold: 1, terminating: true, paths });
    this.docs.set(name, {
      name,
      env: { signatures: [], signed: { _type: 'targets', spec_version: this.baseSnapshot.signed.spec_version, version: 1, expires: '', targets: {} } },
      orig: '',
      bumped: false,
    });
    this.steps.push(`delegate ${paths.join(',')} from ${delegator} to a new role ${name}`);
  }

  /** Points `delegator`'s delegation of `child` (a named role, or its hashed bins) at an attacker key. */
  rekey(delegator: string, child: string): void {
    const d = this.role(delegator);
    const key = this.freshKey();
    const delegations = d.delegations;
    if (!delegations) throw new Error(`${delegator} delegates nothing`);
    const entry = child === '*bins*' ? delegations.succinct_roles : delegations.roles?.find((r) => r.name === child);
    if (!entry) throw new Error(`${delegator} does not delegate ${child}`);
    delegations.keys[key.keyId] = key.publicKey.toJSON();
    entry.keyids = [key.keyId];
    entry.threshold = 1;
    this.steps.push(`rekey ${child} in ${delegator}`);
  }

  /** Replaces a role by an older honest version (unchanged bytes, honest signatures). */
  rollback(name: string, version: number): void {
    this.docs.set(name, this.load(name, version));
    this.rolledBack.set(name, version);
    this.steps.push(`roll ${name} back to version ${version}`);
  }

  /** Gives every role changed later a version above any the index published. */
  bump(name: string): void {
    const d = this.doc(name);
    d.bumped = true;
    d.env.signed.version = Math.max(this.tree.newest(name), d.env.signed.version) + 1;
  }

  bumpAll(): void {
    for (const d of this.docs.values()) if (this.isChanged(d)) this.bump(d.name);
    this.steps.push('bump versions');
  }

  freshTimestamp(): void {
    this.forceTimestamp = true;
    this.steps.push('fresh timestamp');
  }

  freshSnapshot(): void {
    this.forceSnapshot = true;
    this.steps.push('fresh snapshot');
  }

  /** A new root (signed with whatever root keys the attacker holds) replacing every top-level key it does not hold by its own. */
  rotateRoot(): void {
    const next = JSON.parse(JSON.stringify(this.honestRoot)) as Envelope<RootSigned>;
    next.signed.version += 1;
    next.signed.expires = formatExpires(new Date(this.clock.getTime() + 365 * DAY));
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      if (next.signed.roles[role].keyids.some((id) => this.keys.has(id))) continue;
      const key = this.freshKey();
      next.signed.keys[key.keyId] = key.publicKey.toJSON();
      next.signed.roles[role] = { keyids: [key.keyId], threshold: 1 };
    }
    // The root key also names the auditors: the attacker's own, which will vouch for its tree.
    const auditors = (next.signed as unknown as Record<string, unknown>)[AUDITORS_FIELD];
    if (auditors) {
      this.ownAuditor = this.freshKey();
      next.signed.keys[this.ownAuditor.keyId] = this.ownAuditor.publicKey.toJSON();
      (next.signed as unknown as Record<string, unknown>)[AUDITORS_FIELD] = { keyids: [this.ownAuditor.keyId], threshold: 1 };
    }
    this.root = next;
    this.steps.push('rotate root keys');
  }

  private isChanged(d: Doc): boolean {
    return d.orig === '' || d.bumped || encodeCanonical(d.env.signed) !== d.orig;
  }

  /** The key ids the (forged) delegator of `name` trusts for it. */
  private authorizedKeyids(name: string): string[] {
    if (name === 'targets') return this.currentRoot.roles.targets.keyids;
    // A project role is delegated by claimed / recently-claimed or by their name bins (ADR 0005).
    const bins = name.startsWith(PROJECT_ROLE_PREFIX) ? delegatorsOfProject(name.slice(PROJECT_ROLE_PREFIX.length)) : [];
    const order = ['targets', 'claimed', 'recently-claimed', 'unclaimed', ...bins, ...this.docs.keys()];
    for (const delegator of new Set(order)) {
      if (delegator === name || !this.has(delegator)) continue;
      const dl = this.role(delegator).delegations;
      const named = dl?.roles?.find((r) => r.name === name);
      if (named) return named.keyids;
      const succinct = dl?.succinct_roles;
      if (succinct && new SuccinctRoles(succinct.keyids, succinct.threshold, succinct.bit_length, succinct.name_prefix).isDelegatedRole(name)) return succinct.keyids;
    }
    return [];
  }

  private async sign(signed: unknown, keyids: readonly string[], old: readonly Signature[]): Promise<{ bytes: Buffer; signedByAttacker: boolean }> {
    const signers = keyids.map((id) => this.keys.get(id)).filter((s): s is Signer => s !== undefined);
    if (signers.length === 0) return { bytes: envelopeBytes(signed, old), signedByAttacker: false };
    return { bytes: (await signCanonical(encodeCanonical(signed), signers)).bytes, signedByAttacker: true };
  }

  private stillSigned(signatures: readonly Signature[], keyids: readonly string[]): boolean {
    return signatures.some((s) => keyids.includes(s.keyid));
  }

  /**
   * Signs what changed and returns the files to serve (path under the static tree → bytes).
   * `unsigned` lists the files the attacker changed but could not sign.
   */
  async finalize(o: { stopWhen?: (unsigned: readonly string[]) => boolean } = {}): Promise<{ files: Map<string, Buffer>; unsigned: string[]; stopped?: true }> {
    const out = new Map<string, Buffer>();
    const unsigned: string[] = [];
    // `stopWhen`: the caller has no use for a forgery with these files unsigned, so skip the rest
    // (signing, the Merkle tree) and say so.
    const stop = (file: string) => {
      unsigned.push(file);
      return o.stopWhen?.(unsigned) === true;
    };
    // The top of the delegation tree, so that a role whose keys changed is re-signed.
    for (const r of ['targets', 'claimed', 'recently-claimed', 'unclaimed']) if (this.has(r)) this.doc(r);
    if (this.root) {
      const r = await this.sign(this.root.signed, this.honestRoot.signed.roles.root.keyids, this.root.signatures);
      if (!r.signedByAttacker && stop('root')) return { files: out, unsigned, stopped: true };
      out.set(`metadata/${this.root.signed.version}.root.json`, r.bytes);
    }
    const expires = formatExpires(new Date(this.clock.getTime() + 30 * DAY));
    const finalBytes = new Map<string, Buffer>();
    for (const d of [...this.docs.values()]) {
      const keyids = this.authorizedKeyids(d.name);
      if (!this.isChanged(d) && this.stillSigned(d.env.signatures, keyids)) continue;
      d.env.signed.expires = expires;
      const r = await this.sign(d.env.signed, keyids, d.env.signatures);
      if (!r.signedByAttacker && stop(d.name)) return { files: out, unsigned, stopped: true };
      finalBytes.set(d.name, r.bytes);
      out.set(`metadata/${d.env.signed.version}.${d.name}.json`, r.bytes);
    }

    // Snapshot: the versions (and hashes, if the index lists them) of the roles as forged.
    const base = this.baseSnapshot.signed;
    const meta: Record<string, MetaEntry> = JSON.parse(JSON.stringify(base.meta)) as Record<string, MetaEntry>;
    for (const d of this.docs.values()) {
      const key = `${d.name}.json`;
      const entry: MetaEntry = { version: d.env.signed.version };
      const like = base.meta[key] ?? Object.values(base.meta)[0];
      if (like?.length !== undefined || like?.hashes !== undefined) {
        const bytes = finalBytes.get(d.name) ?? this.tree.metadataBytes(d.name, d.env.signed.version);
        if (like.length !== undefined) entry.length = bytes.length;
        if (like.hashes !== undefined) entry.hashes = { sha256: sha256(bytes) };
      }
      meta[key] = entry;
    }
    const root = this.currentRoot;
    let snapshotBytes = this.tree.metadataBytes('snapshot', base.version);
    const snapshotChanged = this.forceSnapshot || encodeCanonical(meta) !== encodeCanonical(base.meta) || !this.stillSigned(this.baseSnapshot.signatures, root.roles.snapshot.keyids);
    let snapshotVersion = base.version;
    if (snapshotChanged) {
      snapshotVersion = this.tree.newest('snapshot') + 1;
      const signed: SnapshotSigned = { ...base, version: snapshotVersion, expires: formatExpires(new Date(this.clock.getTime() + 7 * DAY)), meta };
      const r = await this.sign(signed, root.roles.snapshot.keyids, this.baseSnapshot.signatures);
      if (!r.signedByAttacker && stop('snapshot')) return { files: out, unsigned, stopped: true };
      snapshotBytes = r.bytes;
      out.set(`metadata/${snapshotVersion}.snapshot.json`, snapshotBytes);
    }

    let timestampBytes = this.baseTimestampBytes;
    if (this.forceTimestamp || snapshotChanged || !this.stillSigned(this.baseTimestamp.signatures, root.roles.timestamp.keyids)) {
      const signed: TimestampSigned = {
        ...this.baseTimestamp.signed,
        version: Math.max(this.baseTimestamp.signed.version, newestTimestampVersion(this.tree)) + 1,
        expires: formatExpires(new Date(this.clock.getTime() + DAY)),
        meta: { 'snapshot.json': { hashes: { sha256: sha256(snapshotBytes) }, length: snapshotBytes.length, version: snapshotVersion } },
      };
      // With the timestamp key, the Merkle tree of the forged snapshot's entries too: for a
      // Merkle client without an auditor the timestamp key does the snapshot key's job.
      const field = (this.baseTimestamp.signed as { [MERKLE_FIELD]?: { shards: number } })[MERKLE_FIELD];
      if (field) {
        const tree = MerkleTreeBuilder.build(
          field.shards,
          Object.entries(meta).map(([file, m]) => {
            const role = file.slice(0, -'.json'.length);
            return { role, leaf: leafText(role, m.version, m.length !== undefined && m.hashes?.sha256 ? { length: m.length, sha256: m.hashes.sha256 } : undefined) };
          })
        );
        for (const f of tree.allFiles()) out.set(`metadata/merkle/${f.name}`, f.bytes);
        (signed as unknown as Record<string, unknown>)[MERKLE_FIELD] = tree.field;
      }
      const r = await this.sign(signed, root.roles.timestamp.keyids, this.baseTimestamp.signatures);
      if (!r.signedByAttacker && stop('timestamp')) return { files: out, unsigned, stopped: true };
      timestampBytes = r.bytes;
    }
    out.set('metadata/timestamp.json', timestampBytes);
    if (this.ownAuditor && !unsigned.includes('root')) {
      const statement = await signStatement({ timestamp: Metadata.parse(timestampBytes, 'timestamp'), version: 1, now: this.clock, expirySeconds: 86_400 }, [this.ownAuditor]);
      out.set(`metadata/audit/${this.ownAuditor.keyId}.json`, statement);
    }
    for (const [p, b] of this.files) out.set(p, b);
    return { files: out, unsigned };
  }
}

/** The newest timestamp version the index published (timestamp.json is the only unversioned file). */
export function newestTimestampVersion(tree: HonestTree): number {
  const b = tree.file('metadata/timestamp.json');
  return b ? (JSON.parse(b.toString('utf8')) as Envelope<TimestampSigned>).signed.version : 0;
}

/** Does `role` (as JSON) delegate `path` to any role? */
export function delegatesPath(role: TargetsSigned, path: string): boolean {
  return (role.delegations?.roles ?? []).some((r) => (r.paths ?? []).some((p) => isTargetInPathPattern(path, p)));
}
