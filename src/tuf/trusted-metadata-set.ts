// SPDX-License-Identifier: Apache-2.0
// The client's trusted metadata: the security state machine of the TUF client workflow
// (specification §5.3–5.6), after python-tuf's TrustedMetadataSet. Bytes in, verified
// objects out; no I/O, and one fixed reference time for the whole update (§5.1).
//
// Invariants:
//  - Update order is root* → timestamp → snapshot → targets → delegated targets; nothing can be
//    loaded once something later in that order is. Calling out of order is a programming error
//    (TrustedSetUsageError), never a RepositoryError.
//  - Nothing unverified is ever stored: a role is stored only after its signatures, hashes and
//    rollback checks passed. A failed update leaves the set as it was, with one exception
//    (python-tuf's "intermediate" metadata): a timestamp or snapshot that verifies but is expired
//    (or, for the snapshot, not the version the timestamp names) is stored and then refused with
//    an error. It is a rollback baseline for the next one only: snapshot, targets and delegated
//    targets load only on top of a current timestamp and a current, matching snapshot.
//  - Roots load only before the timestamp, so timestamp, snapshot and targets are verified with
//    the keys of the final root. Intermediate roots may be expired; the final one may not
//    (§5.3.10, checked when the timestamp is loaded).
//  - Fast-forward attack recovery (§5.3.11): a cached timestamp or snapshot is verified with
//    the final root's keys, so one signed only by keys rotated out no longer loads. That is not
//    enough when only the snapshot keys rotated: the cached timestamp still verifies and names
//    the attacker's inflated snapshot version. So once a root update in this session removes a
//    timestamp or snapshot key, the timestamp and snapshot trusted so far stop being rollback
//    baselines for the rest of the session (the spec deletes them); `fastForwardRecovery` says so.
//  - Every check is linear in the size of the metadata (the snapshot check walks the trusted
//    snapshot's meta once, with map lookups).
//  - Merkle mode (docs/merkle-snapshots.md): when the timestamp names a snapshot Merkle tree
//    (`x-bulwark-merkle`) and its top file is loaded, targets roles take their version, length
//    and hash from the tree's leaves instead of a snapshot: top → node → node → shard, each verified
//    against the hash its parent lists, every leaf of a shard checked against the versions
//    trusted before (rollback). No snapshot is loaded in this mode.
import { BadMetadataError, BadVersionError, ExpiredMetadataError, MerkleRoleMissingError, MerkleRollbackError, RepositoryError, ROLE_NAME_FIELD } from './errors.js';
import type { Key } from './keys.js';
import { MERKLE_FIELD, merkleSteps, nodeFileName, parseMerkleField, shardFileName, shardOf, topFileName, verifyNodeFile, verifyShardFile, verifyTopFile, type MerkleField, type MerkleLeaf } from './merkle.js';
import type { RoleKeys } from './models/delegations.js';
import { MetaFile } from './models/meta-file.js';
import { Metadata } from './models/metadata.js';
import type { Root, Snapshot, Targets, Timestamp } from './models/roles.js';
import { verifiedMerkleFile } from './verified-merkle-memo.js';
import { recallVerifiedRole, rememberVerifiedRole, selfSignedRootKey, verifiedRoleKey } from './verified-role-memo.js';

export class TrustedSetUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrustedSetUsageError';
  }
}

export class TrustedMetadataSet {
  private trustedRoot: Metadata<Root>;
  private trustedTimestamp: Metadata<Timestamp> | undefined;
  private trustedSnapshot: Metadata<Snapshot> | undefined;
  private readonly targetsRoles = new Map<string, Metadata<Targets>>();
  private keysRotated = false;
  /** Merkle mode: the hashes each verified top or node file lists, by `LEVEL/INDEX` (0/0: the top file); loaded shards' leaves. */
  private readonly merkleNodes = new Map<string, string[]>();
  private readonly merkleShards = new Set<number>();
  private readonly merkleLeaves = new Map<string, MerkleLeaf>();
  /** Versions of targets roles trusted before this update (the Merkle rollback baseline). */
  private merkleBaseline: ReadonlyMap<string, number> = new Map();
  /** The reference time of this update (§5.1), fixed at construction. */
  readonly now: Date;

  /**
   * @param rootBytes the locally trusted root, verified against itself (§5.2)
   * @throws RepositoryError if it does not verify
   */
  constructor(rootBytes: Uint8Array, opts: { now?: Date } = {}) {
    this.now = new Date((opts.now ?? new Date()).getTime()); // a copy: the caller's Date may change
    // §5.2: the trusted root is verified against itself only; its expiry does not matter yet.
    // The same bytes verified so earlier in this process are not parsed and checked again.
    const memoKey = selfSignedRootKey(rootBytes);
    let root = recallVerifiedRole<Root>(memoKey);
    if (!root) {
      root = Metadata.parse(rootBytes, 'root');
      root.verifyRole('root', this.roleKeys(root.signed, 'root'), root.signed.keys);
      rememberVerifiedRole(memoKey, root);
    }
    this.trustedRoot = root;
  }

  get root(): Metadata<Root> {
    return this.trustedRoot;
  }
  get timestamp(): Metadata<Timestamp> | undefined {
    return this.trustedTimestamp;
  }
  get snapshot(): Metadata<Snapshot> | undefined {
    return this.trustedSnapshot;
  }
  getTargets(role: string): Metadata<Targets> | undefined {
    return this.targetsRoles.get(role);
  }
  /**
   * True once a root update in this session removed a timestamp or snapshot key (§5.3.11):
   * timestamp and snapshot metadata trusted before it are not rollback baselines.
   */
  get fastForwardRecovery(): boolean {
    return this.keysRotated;
  }

  private roleKeys(root: Root, role: 'root' | 'timestamp' | 'snapshot' | 'targets') {
    const keys = root.roles.get(role);
    if (!keys) throw new BadMetadataError(`root does not define ${role}`);
    return keys;
  }

  private checkNotExpired(role: string, expires: Date): void {
    if (this.now.getTime() >= expires.getTime()) throw new ExpiredMetadataError(role, expires);
  }

  /**
   * §5.3: the next root. It must be signed by a threshold of the current root's root keys and
   * of its own, and be exactly one version newer. Expiry is checked only on the final root
   * (when the timestamp is loaded), so an old root can still be rotated through.
   */
  updateRoot(bytes: Uint8Array): Metadata<Root> {
    if (this.trustedTimestamp) throw new TrustedSetUsageError('cannot update root after timestamp');
    const next = Metadata.parse(bytes, 'root');
    const current = this.trustedRoot;
    // §5.3.4: signed by the trusted root's keys and threshold…
    next.verifyRole('root', this.roleKeys(current.signed, 'root'), current.signed.keys);
    // §5.3.5: …and rollback: exactly the next version. The same version again is EQUAL_VERSION:
    // the spec discards it and goes on with the trusted root.
    const expected = current.signed.version + 1;
    if (next.signed.version !== expected) {
      const code = next.signed.version === current.signed.version ? 'EQUAL_VERSION' : 'BAD_VERSION';
      throw new BadVersionError('root', `${expected}`, next.signed.version, code);
    }
    // §5.3.4: and by its own keys and threshold.
    next.verifyRole('root', this.roleKeys(next.signed, 'root'), next.signed.keys);
    // §5.3.11: remember a rotation of the timestamp or snapshot keys.
    if (keysRemoved(current.signed, next.signed, 'timestamp') || keysRemoved(current.signed, next.signed, 'snapshot')) {
      this.keysRotated = true;
    }
    this.trustedRoot = next; // §5.3.7
    return next;
  }

  /**
   * §5.4: a new timestamp. Loads also the locally cached one (first call), which may be
   * expired: it is then a baseline for the rollback check only.
   * @throws RepositoryError with code EQUAL_VERSION when it is the version already trusted.
   */
  updateTimestamp(bytes: Uint8Array): Metadata<Timestamp> {
    if (this.trustedSnapshot) throw new TrustedSetUsageError('cannot update timestamp after snapshot');
    // §5.3.10: the final root must not be expired.
    this.checkNotExpired('root', this.trustedRoot.signed.expires);
    const root = this.trustedRoot.signed;
    // §5.4.2, unless these bytes were verified with these keys earlier in this process.
    const roleKeys = this.roleKeys(root, 'timestamp');
    const memoKey = verifiedRoleKey('timestamp', bytes, undefined, roleKeys, root.keys);
    let next = recallVerifiedRole<Timestamp>(memoKey);
    if (!next) {
      next = Metadata.parse(bytes, 'timestamp');
      next.verifyRole('timestamp', roleKeys, root.keys);
      rememberVerifiedRole(memoKey, next);
    }
    // §5.3.11: after a rotation the timestamp trusted so far is no baseline.
    const trusted = this.keysRotated ? undefined : this.trustedTimestamp;
    if (trusted) {
      // §5.4.3.1: rollback of the timestamp itself…
      if (next.signed.version < trusted.signed.version) {
        throw new BadVersionError('timestamp', `≥ ${trusted.signed.version}`, next.signed.version);
      }
      if (next.signed.version === trusted.signed.version) {
        throw new BadVersionError('timestamp', `> ${trusted.signed.version}`, next.signed.version, 'EQUAL_VERSION');
      }
      // §5.4.3.2: …and of the snapshot version it names.
      if (next.signed.snapshotMeta.version < trusted.signed.snapshotMeta.version) {
        throw new BadVersionError('snapshot (named by timestamp)', `≥ ${trusted.signed.snapshotMeta.version}`, next.signed.snapshotMeta.version);
      }
    }
    // Stored before the expiry check, as python-tuf does: an expired timestamp is still the
    // baseline against rollback, but nothing after it may be loaded (§5.4.4).
    this.trustedTimestamp = next;
    this.checkNotExpired('timestamp', next.signed.expires);
    return next;
  }

  /**
   * The snapshot Merkle tree the trusted timestamp names, or undefined for a classic timestamp.
   * @throws MerkleMalformedError when the field is present but not well formed
   */
  get merkle(): MerkleField | undefined {
    const value = this.trustedTimestamp?.signed.unrecognized[MERKLE_FIELD];
    return value === undefined ? undefined : parseMerkleField(value);
  }

  /** True once the top file of the timestamp's tree is loaded: roles are then verified from its leaves. */
  get merkleMode(): boolean {
    return this.merkleNodes.has('0/0');
  }

  /**
   * The versions of targets roles trusted before (from leaves verified in earlier sessions):
   * no leaf may list a role below them. Ignored after a timestamp key rotation (§5.3.11), since
   * an attacker holding the old key may have fast-forwarded them.
   */
  setMerkleBaseline(versions: ReadonlyMap<string, number>): void {
    if (!this.keysRotated) this.merkleBaseline = versions;
  }

  private requireMerkle(): MerkleField {
    if (this.trustedSnapshot) throw new TrustedSetUsageError('a snapshot is loaded: the Merkle tree is not used in this update');
    this.requireCurrentTimestamp();
    const field = this.merkle;
    if (!field) throw new TrustedSetUsageError('the trusted timestamp names no Merkle tree');
    return field;
  }

  /** The top file of the timestamp's tree; returns the hashes of level 1 it lists. */
  updateMerkleTop(bytes: Uint8Array): readonly string[] {
    const field = this.requireMerkle();
    const nodes = verifiedMerkleFile(topFileName(field.root), treeShape(field), bytes, () => verifyTopFile(bytes, field));
    this.merkleNodes.set('0/0', nodes);
    return nodes;
  }

  /**
   * The next file to load on the path to shard `shard`: a file of `level` (its index among that
   * level's files), where level fanout.length is the shard file itself; `hash` names it, once
   * its parent is loaded (undefined before the top file).
   */
  merklePath(shard: number): { level: number; index: number; hash: string | undefined } {
    const steps = merkleSteps(shard, this.requireMerkle().fanout);
    let hash: string | undefined;
    for (const [level, { node, slot }] of steps.entries()) {
      const list = this.merkleNodes.get(`${level}/${node}`);
      if (!list) return { level, index: node, hash };
      hash = list[slot];
    }
    return { level: steps.length, index: shard, hash };
  }

  /** The hash the loaded parent of file `index` of `level` lists for it (level fanout.length: a shard). */
  private merkleParentHash(level: number, index: number, field: MerkleField): string {
    const f = field.fanout[level - 1];
    if (f === undefined || level > field.fanout.length) throw new TrustedSetUsageError(`a Merkle tree of ${field.fanout.length} levels has no level ${level}`);
    const expected = this.merkleNodes.get(`${level - 1}/${Math.floor(index / f)}`)?.[index % f];
    if (expected === undefined) throw new TrustedSetUsageError(`load the Merkle file above file ${index} of level ${level} first`);
    return expected;
  }

  /** A node file of `level` (≥ 1), verified against the hash its parent lists. */
  updateMerkleNode(level: number, index: number, bytes: Uint8Array): readonly string[] {
    const field = this.requireMerkle();
    if (level >= field.fanout.length) throw new TrustedSetUsageError(`level ${level} of the Merkle tree is shard files, not node files`);
    const expected = this.merkleParentHash(level, index, field);
    const nodes = verifiedMerkleFile(nodeFileName(expected), `${treeShape(field)} level ${level}`, bytes, () => verifyNodeFile(bytes, expected, level, field));
    this.merkleNodes.set(`${level}/${index}`, nodes);
    return nodes;
  }

  /**
   * A shard file, verified against the hash its last-level node file lists, every leaf placed and ordered, and
   * no leaf below the version trusted before. Nothing is kept unless all of it verifies.
   */
  updateMerkleShard(shard: number, bytes: Uint8Array): readonly MerkleLeaf[] {
    const field = this.requireMerkle();
    const expected = this.merkleParentHash(field.fanout.length, shard, field);
    const leaves = verifiedMerkleFile(shardFileName(expected), `${treeShape(field)} shard ${shard}`, bytes, () => verifyShardFile(bytes, expected, shard, field));
    for (const leaf of leaves) {
      const trusted = this.merkleBaseline.get(leaf.role);
      if (trusted !== undefined && leaf.version < trusted) throw new MerkleRollbackError(leaf.role, trusted, leaf.version);
    }
    for (const leaf of leaves) this.merkleLeaves.set(leaf.role, leaf);
    this.merkleShards.add(shard);
    return leaves;
  }

  /** Whether shard `shard` of the tree is loaded. */
  hasMerkleShard(shard: number): boolean {
    return this.merkleShards.has(shard);
  }

  /** A role's verified leaf, if its shard is loaded and lists it. */
  merkleLeaf(role: string): MerkleLeaf | undefined {
    return this.merkleLeaves.get(role);
  }

  private requireCurrentTimestamp(): Metadata<Timestamp> {
    const ts = this.trustedTimestamp;
    if (!ts) throw new TrustedSetUsageError('cannot update snapshot before timestamp');
    this.checkNotExpired('timestamp', ts.signed.expires);
    return ts;
  }

  /**
   * §5.5: the snapshot the timestamp names. `trusted` marks a locally cached copy: its hashes
   * are not checked against the timestamp (it may be older), and it may be expired, so that it
   * serves as the rollback baseline.
   */
  updateSnapshot(bytes: Uint8Array, opts: { trusted?: boolean } = {}): Metadata<Snapshot> {
    if (this.targetsRoles.has('targets')) throw new TrustedSetUsageError('cannot update snapshot after targets');
    if (this.merkleMode) throw new TrustedSetUsageError('cannot update snapshot in Merkle mode');
    const ts = this.requireCurrentTimestamp();
    const meta = ts.signed.snapshotMeta;
    // §5.5.2: length and hashes as the timestamp lists them.
    if (!opts.trusted) meta.verify('snapshot', bytes);
    const root = this.trustedRoot.signed;
    const next = Metadata.parse(bytes, 'snapshot');
    // §5.5.3
    next.verifyRole('snapshot', this.roleKeys(root, 'snapshot'), root.keys);
    // §5.3.11: after a rotation the snapshot trusted so far is no baseline.
    const trusted = this.keysRotated ? undefined : this.trustedSnapshot;
    if (trusted) {
      // §5.5.5: no targets role may disappear or go back in version.
      for (const [name, old] of trusted.signed.meta) {
        const now = next.signed.meta.get(name);
        if (!now) throw new RepositoryError('BAD_VERSION', `new snapshot drops ${name}, listed by the trusted snapshot`);
        if (now.version < old.version) throw new BadVersionError(name, `≥ ${old.version}`, now.version);
      }
    }
    // Stored before the final checks, as python-tuf does: a cached older or expired snapshot is
    // still the rollback baseline, and nothing can be loaded after it (requireCurrentSnapshot).
    this.trustedSnapshot = next;
    this.requireCurrentSnapshot(); // §5.5.4 version named by the timestamp, §5.5.6 not expired
    return next;
  }

  private requireCurrentSnapshot(): Metadata<Snapshot> {
    const snap = this.trustedSnapshot;
    const ts = this.trustedTimestamp;
    if (!snap || !ts) throw new TrustedSetUsageError('cannot update targets before snapshot');
    if (snap.signed.version !== ts.signed.snapshotMeta.version) {
      throw new BadVersionError('snapshot', `${ts.signed.snapshotMeta.version} (as named by timestamp)`, snap.signed.version);
    }
    this.checkNotExpired('snapshot', snap.signed.expires);
    return snap;
  }

  /** §5.6: top-level targets. */
  updateTargets(bytes: Uint8Array): Metadata<Targets> {
    return this.updateDelegatedTargets(bytes, 'targets', 'root');
  }

  /** §5.6 for any targets role: version from the snapshot, signed by the delegator's keys. */
  updateDelegatedTargets(bytes: Uint8Array, roleName: string, delegatorName: string): Metadata<Targets> {
    const meta = this.metaFor(roleName);
    const { roleKeys, keys } = this.delegation(roleName, delegatorName);
    // §5.6.2: hashes and length, when the snapshot lists them.
    meta.verify(roleName, bytes);
    // §5.6.3: a threshold of the delegator's keys for this role. The same bytes checked with the
    // same keys earlier in this process need not be parsed and checked again (verified-role-memo.ts).
    const memoKey = verifiedRoleKey(roleName, bytes, meta.hashes?.['sha256']?.toLowerCase(), roleKeys, keys);
    let next = recallVerifiedRole<Targets>(memoKey);
    if (!next) {
      next = Metadata.parse(bytes, 'targets', roleName);
      next.verifyRole(roleName, roleKeys, keys);
      rememberVerifiedRole(memoKey, next);
    }
    return this.acceptTargets(roleName, meta, next);
  }

  /**
   * §5.6 without the bytes: the role the snapshot (or Merkle leaf) names by its SHA-256, when
   * this process already verified those exact bytes with the keys the delegator trusts for it
   * now (verified-role-memo.ts). The cached file need not be read and hashed again: the hash the
   * verified snapshot or leaf lists identifies the bytes. Undefined when the listing has no
   * SHA-256 or nothing is remembered (then load the bytes with updateDelegatedTargets).
   * @throws RepositoryError as updateDelegatedTargets does (version, expiry, name), memo or not.
   */
  recallDelegatedTargets(roleName: string, delegatorName: string): Metadata<Targets> | undefined {
    const meta = this.metaFor(roleName);
    const sha256 = meta.hashes?.['sha256']?.toLowerCase();
    if (sha256 === undefined) return undefined;
    const { roleKeys, keys } = this.delegation(roleName, delegatorName);
    const next = recallVerifiedRole<Targets>(verifiedRoleKey(roleName, undefined, sha256, roleKeys, keys));
    if (!next || (meta.length !== undefined && next.bytes.length !== meta.length)) return undefined;
    return this.acceptTargets(roleName, meta, next);
  }

  /** The checks that depend on this update (§5.6.4–5.6.5 and the role's name), then stores it. */
  private acceptTargets(roleName: string, meta: MetaFile, next: Metadata<Targets>): Metadata<Targets> {
    // §5.6.4: exactly the version the snapshot names (rollback and mix-and-match).
    if (next.signed.version !== meta.version) throw new BadVersionError(roleName, `${meta.version} (as named by snapshot)`, next.signed.version);
    // §5.6.5
    this.checkNotExpired(roleName, next.signed.expires);
    // Roles that share keys (Bulwark's name bins, ADR 0005) name themselves: one must not be
    // served as another, or a claimed project's bin could be swapped for a bin without it.
    const named = next.signed.unrecognized[ROLE_NAME_FIELD];
    if (named !== undefined && named !== roleName) throw new RepositoryError('ROLE_MISMATCH', `${roleName}: the metadata served is signed as ${JSON.stringify(named)}, another role`);
    this.targetsRoles.set(roleName, next);
    return next;
  }

  /**
   * A targets role's expected version, length and hashes: from the current snapshot, or in
   * Merkle mode from its verified leaf (whose shard must be loaded).
   */
  private metaFor(roleName: string): MetaFile {
    if (this.merkleMode) {
      const field = this.requireMerkle();
      const leaf = this.merkleLeaves.get(roleName);
      if (!leaf) {
        if (!this.merkleShards.has(shardOf(roleName, field.shards))) throw new TrustedSetUsageError(`load the Merkle shard of ${roleName} first`);
        throw new MerkleRoleMissingError(roleName);
      }
      return new MetaFile(leaf.version, leaf.length, leaf.sha256 === undefined ? undefined : { sha256: leaf.sha256 });
    }
    const meta = this.requireCurrentSnapshot().signed.meta.get(`${roleName}.json`);
    if (!meta) throw new RepositoryError('UNKNOWN_ROLE', `snapshot does not list ${roleName}.json`);
    return meta;
  }

  /** The keys a delegator trusts for `roleName`: root's for targets, else its delegations'. */
  private delegation(roleName: string, delegatorName: string): { roleKeys: RoleKeys; keys: ReadonlyMap<string, Key> } {
    if ((delegatorName === 'root') !== (roleName === 'targets')) {
      throw new TrustedSetUsageError(`targets is delegated by root and only by root (asked for ${roleName} from ${delegatorName})`);
    }
    if (delegatorName === 'root') {
      const root = this.trustedRoot.signed;
      return { roleKeys: this.roleKeys(root, 'targets'), keys: root.keys };
    }
    const delegator = this.targetsRoles.get(delegatorName);
    if (!delegator) throw new TrustedSetUsageError(`cannot load ${roleName} before its delegator ${delegatorName}`);
    const delegations = delegator.signed.delegations;
    const roleKeys = delegations?.roleKeys(roleName);
    if (!delegations || !roleKeys) throw new RepositoryError('UNKNOWN_ROLE', `${delegatorName} does not delegate to ${roleName}`);
    return { roleKeys, keys: delegations.keys };
  }
}

/** What verifying a tree file depends on besides its bytes and name (verified-merkle-memo.ts). */
function treeShape(field: MerkleField): string {
  return `${field.shards}/${field.fanout.join(',')}`;
}

/** Whether `next` stopped trusting a key (by id or by value) that `current` trusted for `role`. */
function keysRemoved(current: Root, next: Root, role: 'timestamp' | 'snapshot'): boolean {
  const before = current.roles.get(role)?.keyids ?? [];
  const after = new Set(next.roles.get(role)?.keyids ?? []);
  for (const id of before) {
    if (!after.has(id) || !sameKey(current.keys.get(id), next.keys.get(id))) return true;
  }
  return false;
}

function sameKey(a: Key | undefined, b: Key | undefined): boolean {
  return a !== undefined && b !== undefined && a.keytype === b.keytype && a.scheme === b.scheme && a.publicValue === b.publicValue;
}
