// SPDX-License-Identifier: Apache-2.0
// Snapshot Merkle trees (TAP 16, draft; docs/merkle-snapshots.md): the tree whose root the
// timestamp carries in `x-bulwark-merkle`, the three file formats that publish it (top, group,
// shard), their verification against the hash each is named by, and an incremental builder
// for the snapshot process. Pure code: no file system, no network.
//
// Hand-written: RFC 6962's Merkle Tree Hash is a dozen lines over node:crypto, and the npm
// Merkle libraries (merkletreejs…) neither domain-separate leaves and nodes as RFC 6962 does
// nor split at the largest power of two, so their roots would not be the documented ones.
import { hash } from 'node:crypto';
import { canonicalString, compareCodePoints, type JsonValue } from './canonical-json.js';
import { MerkleMalformedError, MerkleProofError, MerkleTooLargeError } from './errors.js';
import { parseStrictJson } from './strict-json.js';

/** The timestamp's custom field naming the tree. */
export const MERKLE_FIELD = 'x-bulwark-merkle';

/** `x-bulwark-merkle` of a timestamp: the tree's root and shape. */
export interface MerkleField {
  root: string;
  shards: number;
  groups: number;
}

/** One snapshot entry as a leaf: the role, its version and (when listed) its file's length and SHA-256. */
export interface MerkleLeaf {
  role: string;
  version: number;
  length?: number;
  sha256?: string;
  /** The leaf's exact text, which is what is hashed. */
  text: string;
}

/** A file of the tree to publish under metadata/merkle/. */
export interface MerkleFile {
  name: string;
  bytes: Buffer;
}

/** Largest shard count accepted (2^24): far above any index, and keeps shard indexes in 32 bits. */
const MAX_SHARD_BITS = 24;
export const MERKLE_GROUP_LIMIT = 1024 * 1024;
export const MERKLE_SHARD_LIMIT = 1024 * 1024;
/** The top file's limit: 64 KiB per 16,384 shards (rounded up). */
export function merkleTopLimit(shards: number): number {
  return 64 * 1024 * Math.max(1, Math.ceil(shards / 16384));
}

const HEX64 = /^[0-9a-f]{64}$/;
const EMPTY_HASH = sha256(Buffer.alloc(0));
const LEAF_PREFIX = Buffer.of(0);
const NODE_PREFIX = Buffer.of(1);

/** One-shot SHA-256 (crypto.hash: about three times faster than createHash for small inputs). */
function sha256(data: Buffer | string): Buffer {
  return hash('sha256', data, 'buffer');
}

// ---------------------------------------------------------------------------------------------
// Leaves and hashing

/**
 * A snapshot entry's canonical fragment, `"ROLE.json":{"hashes":{"sha256":"…"},"length":N,"version":V}`
 * (or `"ROLE.json":{"version":V}`): a leaf of the tree and a line of the classic snapshot alike.
 */
export function leafText(role: string, version: number, file?: { length: number; sha256: string }): string {
  const meta = file ? `{"hashes":{"sha256":"${file.sha256}"},"length":${file.length},"version":${version}}` : `{"version":${version}}`;
  return `${canonicalString(`${role}.json`)}:${meta}`;
}

/** RFC 6962 §2.1 leaf hash: SHA-256(0x00 ‖ leaf). */
export function leafHash(leaf: string): Buffer {
  return sha256(Buffer.concat([LEAF_PREFIX, Buffer.from(leaf, 'utf8')]));
}

/** RFC 6962 §2.1 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(Buffer.concat([NODE_PREFIX, left, right]));
}

/** RFC 6962 Merkle Tree Hash over already-hashed items: MTH([]) = SHA-256(""), MTH([x]) = x. */
export function merkleTreeHash(items: readonly Uint8Array[]): Buffer {
  return mth(items, 0, items.length);
}

function mth(items: readonly Uint8Array[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return EMPTY_HASH;
  if (n === 1) return Buffer.isBuffer(items[start]) ? (items[start] as Buffer) : Buffer.from(items[start] as Uint8Array);
  let k = 1;
  while (k * 2 < n) k *= 2; // the largest power of two below n
  return nodeHash(mth(items, start, start + k), mth(items, start + k, end));
}

/** The shard of a role: the first log2(shards) bits of SHA-256("ROLE.json"), big-endian. */
export function shardOf(role: string, shards: number): number {
  const bits = shardBits(shards);
  if (bits === 0) return 0;
  return sha256(`${role}.json`).readUInt32BE(0) >>> (32 - bits);
}

/** G = 2^floor(s/2) groups for S = 2^s shards. */
export function groupCount(shards: number): number {
  return 2 ** Math.floor(shardBits(shards) / 2);
}

function shardBits(shards: number): number {
  const bits = Math.log2(shards);
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_SHARD_BITS) throw new MerkleMalformedError(`a Merkle tree's shard count must be a power of two up to 2^${MAX_SHARD_BITS}, not ${shards}`);
  return bits;
}

/** Code-point order of the role file names (`ROLE.json`), as in the classic snapshot. */
function compareRoles(a: string, b: string): number {
  return compareCodePoints(`${a}.json`, `${b}.json`);
}

// ---------------------------------------------------------------------------------------------
// File names and formats

export function topFileName(root: string): string {
  return `${root}.top.json`;
}
export function groupFileName(hash: string): string {
  return `${hash}.group.json`;
}
export function shardFileName(hash: string): string {
  return `${hash}.shard.json`;
}

function hexList(hashes: readonly Uint8Array[]): string {
  return hashes.map((h) => `"${Buffer.from(h).toString('hex')}"`).join(',');
}
export function topFileBytes(groupHashes: readonly Uint8Array[], shards: number): Buffer {
  return Buffer.from(`{"groups":[${hexList(groupHashes)}],"shards":${shards}}`, 'utf8');
}
export function groupFileBytes(shardHashes: readonly Uint8Array[]): Buffer {
  return Buffer.from(`{"shards":[${hexList(shardHashes)}]}`, 'utf8');
}
export function shardFileBytes(leaves: readonly string[]): Buffer {
  return Buffer.from(`{"entries":[${leaves.map(canonicalString).join(',')}]}`, 'utf8');
}

/** Validates a timestamp's `x-bulwark-merkle` value (hostile until checked). */
export function parseMerkleField(value: unknown): MerkleField {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MerkleMalformedError(`${MERKLE_FIELD} must be an object`);
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => k !== 'root' && k !== 'shards' && k !== 'groups');
  if (extra.length > 0) throw new MerkleMalformedError(`${MERKLE_FIELD} has unknown field(s) ${extra.join(', ')}`);
  if (typeof v.root !== 'string' || !HEX64.test(v.root)) throw new MerkleMalformedError(`${MERKLE_FIELD}.root must be 64 lower-case hex digits`);
  if (typeof v.shards !== 'number') throw new MerkleMalformedError(`${MERKLE_FIELD}.shards must be a number`);
  shardBits(v.shards);
  if (v.groups !== groupCount(v.shards)) throw new MerkleMalformedError(`${MERKLE_FIELD}.groups must be ${groupCount(v.shards)} for ${v.shards} shards`);
  return { root: v.root, shards: v.shards, groups: v.groups };
}

function parseFile(bytes: Uint8Array, limit: number, what: string): Record<string, JsonValue> {
  if (bytes.length > limit) throw new MerkleTooLargeError(what, limit);
  let value: JsonValue;
  try {
    value = parseStrictJson(bytes, what);
  } catch (cause) {
    throw new MerkleMalformedError(`${what} is not valid JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MerkleMalformedError(`${what} must be a JSON object`);
  return value;
}

function hashArray(value: JsonValue | undefined, count: number, what: string): Buffer[] {
  if (!Array.isArray(value) || value.length !== count) throw new MerkleMalformedError(`${what} must list ${count} hashes`);
  return value.map((h) => {
    if (typeof h !== 'string' || !HEX64.test(h)) throw new MerkleMalformedError(`${what} lists a hash that is not 64 lower-case hex digits`);
    return Buffer.from(h, 'hex');
  });
}

function onlyKeys(obj: Record<string, JsonValue>, keys: string[], what: string): void {
  const extra = Object.keys(obj).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw new MerkleMalformedError(`${what} has unknown field(s) ${extra.join(', ')}`);
}

/** Verifies a top file against the timestamp's field; returns the group hashes (hex). */
export function verifyTopFile(bytes: Uint8Array, field: MerkleField): string[] {
  const what = `Merkle top file ${topFileName(field.root)}`;
  const obj = parseFile(bytes, merkleTopLimit(field.shards), what);
  onlyKeys(obj, ['groups', 'shards'], what);
  if (obj.shards !== field.shards) throw new MerkleMalformedError(`${what} says ${String(obj.shards)} shards, the timestamp ${field.shards}`);
  const groups = hashArray(obj.groups, field.groups, `${what}: groups`);
  if (merkleTreeHash(groups).toString('hex') !== field.root) throw new MerkleProofError('root', `${what} does not hash to the timestamp's Merkle root`);
  return groups.map((g) => g.toString('hex'));
}

/** Verifies a group file against the hash the top file lists for it; returns its shard hashes (hex). */
export function verifyGroupFile(bytes: Uint8Array, expected: string, field: MerkleField): string[] {
  const what = `Merkle group file ${groupFileName(expected)}`;
  const obj = parseFile(bytes, MERKLE_GROUP_LIMIT, what);
  onlyKeys(obj, ['shards'], what);
  const shards = hashArray(obj.shards, field.shards / field.groups, `${what}: shards`);
  if (merkleTreeHash(shards).toString('hex') !== expected) throw new MerkleProofError('group', `${what} does not hash to the node it is named by`);
  return shards.map((s) => s.toString('hex'));
}

/**
 * Verifies shard `shard`'s file against the hash its group lists for it: every leaf well formed,
 * in this shard, sorted without duplicates, and the whole hashing to `expected`.
 */
export function verifyShardFile(bytes: Uint8Array, expected: string, shard: number, field: MerkleField): MerkleLeaf[] {
  const what = `Merkle shard file ${shardFileName(expected)}`;
  const obj = parseFile(bytes, MERKLE_SHARD_LIMIT, what);
  onlyKeys(obj, ['entries'], what);
  if (!Array.isArray(obj.entries)) throw new MerkleMalformedError(`${what}: entries must be a list`);
  const leaves = obj.entries.map((e) => {
    if (typeof e !== 'string') throw new MerkleMalformedError(`${what}: every entry must be a string`);
    return parseLeaf(e);
  });
  // The hash first: a file that does not hash to its name is a forgery, whatever else is wrong.
  if (merkleTreeHash(leaves.map((l) => leafHash(l.text))).toString('hex') !== expected) {
    throw new MerkleProofError('shard', `${what} does not hash to the node it is named by`);
  }
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i] as MerkleLeaf;
    if (shardOf(leaf.role, field.shards) !== shard) throw new MerkleProofError('placement', `${what} lists ${leaf.role}, which belongs in another shard`);
    if (i > 0 && compareRoles((leaves[i - 1] as MerkleLeaf).role, leaf.role) >= 0) throw new MerkleProofError('order', `${what} is not sorted by role, or lists ${leaf.role} twice`);
  }
  return leaves;
}

/** Parses one leaf, accepting only the exact canonical text leafText() writes. */
export function parseLeaf(text: string): MerkleLeaf {
  let value: JsonValue;
  try {
    value = parseStrictJson(`{${text}}`, 'Merkle leaf');
  } catch (cause) {
    throw new MerkleMalformedError('a Merkle leaf is not a snapshot entry', { cause });
  }
  const names = Object.keys(value as object);
  const [file] = names;
  if (names.length !== 1 || file === undefined || !file.endsWith('.json') || file.length === 5) throw new MerkleMalformedError('a Merkle leaf must name one role file');
  const role = file.slice(0, -5);
  const meta = (value as Record<string, JsonValue>)[file];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new MerkleMalformedError(`the Merkle leaf of ${role} is not an object`);
  const { version, length, hashes } = meta as Record<string, JsonValue>;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw new MerkleMalformedError(`the Merkle leaf of ${role} has no valid version`);
  let fileInfo: { length: number; sha256: string } | undefined;
  if (hashes !== undefined || length !== undefined) {
    const sha256 = typeof hashes === 'object' && hashes !== null && !Array.isArray(hashes) ? hashes.sha256 : undefined;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || typeof sha256 !== 'string' || !HEX64.test(sha256)) {
      throw new MerkleMalformedError(`the Merkle leaf of ${role} must give both a length and a sha256 hash, or neither`);
    }
    fileInfo = { length, sha256 };
  }
  // Only the canonical form: one leaf, one text, one hash.
  if (leafText(role, version, fileInfo) !== text) throw new MerkleMalformedError(`the Merkle leaf of ${role} is not in canonical form`);
  return { role, version, ...fileInfo, text };
}

// ---------------------------------------------------------------------------------------------
// Incremental builder (the snapshot process)

/** A role's new leaf, or undefined to remove the role from the tree. */
export interface LeafChange {
  role: string;
  leaf: string | undefined;
}

/** A tree computed from changes, not yet the builder's: commit() makes it so. */
export interface StagedTree {
  field: MerkleField;
  /** The top file and the group and shard files whose hash changed. */
  files: MerkleFile[];
  commit(): void;
}

/**
 * The tree of every targets role's snapshot entry, kept as per-shard leaves and the shard and
 * group hashes, so a publication that changes a few roles rehashes their shards, their groups
 * and the root (a few hundred SHA-256 calls), not the tree.
 */
export class MerkleTreeBuilder {
  readonly groups: number;
  private readonly perGroup: number;
  private readonly leaves: Map<string, string>[];
  private shardHashes: Buffer[];
  private groupHashes: Buffer[];
  private rootHash: Buffer;

  constructor(readonly shards: number) {
    this.groups = groupCount(shards);
    this.perGroup = shards / this.groups;
    this.leaves = Array.from({ length: shards }, () => new Map<string, string>());
    const emptyShard = merkleTreeHash([]);
    this.shardHashes = new Array<Buffer>(shards).fill(emptyShard);
    this.groupHashes = Array.from({ length: this.groups }, (_, g) => this.groupHash(g, this.shardHashes));
    this.rootHash = merkleTreeHash(this.groupHashes);
  }

  /** A tree of these leaves, built at once (start-up). */
  static build(shards: number, entries: Iterable<{ role: string; leaf: string }>): MerkleTreeBuilder {
    const t = new MerkleTreeBuilder(shards);
    for (const e of entries) (t.leaves[shardOf(e.role, shards)] as Map<string, string>).set(e.role, e.leaf);
    t.shardHashes = t.leaves.map((m) => shardHash(m));
    t.groupHashes = Array.from({ length: t.groups }, (_, g) => t.groupHash(g, t.shardHashes));
    t.rootHash = merkleTreeHash(t.groupHashes);
    return t;
  }

  get root(): string {
    return this.rootHash.toString('hex');
  }

  get field(): MerkleField {
    return { root: this.root, shards: this.shards, groups: this.groups };
  }

  /** The leaf of a role, if the tree lists it. */
  leaf(role: string): string | undefined {
    return this.leaves[shardOf(role, this.shards)]?.get(role);
  }

  /** Every file of the current tree (start-up, when they may not have been written yet). */
  allFiles(): MerkleFile[] {
    const files: MerkleFile[] = [this.topFile(this.groupHashes)];
    for (let g = 0; g < this.groups; g++) files.push(this.groupFile(g, this.shardHashes));
    for (let s = 0; s < this.shards; s++) files.push(shardFile(this.leaves[s] as Map<string, string>, this.shardHashes[s] as Buffer));
    return files;
  }

  /** The tree with `changes` applied, without changing this one until commit(). */
  stage(changes: readonly LeafChange[]): StagedTree {
    const changedShards = new Map<number, Map<string, string>>();
    for (const c of changes) {
      const s = shardOf(c.role, this.shards);
      let m = changedShards.get(s);
      if (!m) changedShards.set(s, (m = new Map(this.leaves[s])));
      if (c.leaf === undefined) m.delete(c.role);
      else m.set(c.role, c.leaf);
    }
    const shardHashes = this.shardHashes.slice();
    const files: MerkleFile[] = [];
    const changedGroups = new Set<number>();
    for (const [s, m] of changedShards) {
      const h = shardHash(m);
      if (h.equals(this.shardHashes[s] as Buffer)) continue;
      shardHashes[s] = h;
      files.push(shardFile(m, h));
      changedGroups.add(Math.floor(s / this.perGroup));
    }
    const groupHashes = this.groupHashes.slice();
    for (const g of changedGroups) {
      groupHashes[g] = this.groupHash(g, shardHashes);
      files.push(this.groupFile(g, shardHashes));
    }
    const rootHash = changedGroups.size > 0 ? merkleTreeHash(groupHashes) : this.rootHash;
    files.unshift(this.topFile(groupHashes));
    return {
      field: { root: rootHash.toString('hex'), shards: this.shards, groups: this.groups },
      files,
      commit: () => {
        for (const [s, m] of changedShards) this.leaves[s] = m;
        this.shardHashes = shardHashes;
        this.groupHashes = groupHashes;
        this.rootHash = rootHash;
      },
    };
  }

  private groupHash(g: number, shardHashes: readonly Buffer[]): Buffer {
    return merkleTreeHash(shardHashes.slice(g * this.perGroup, (g + 1) * this.perGroup));
  }

  private topFile(groupHashes: readonly Buffer[]): MerkleFile {
    return { name: topFileName(merkleTreeHash(groupHashes).toString('hex')), bytes: topFileBytes(groupHashes, this.shards) };
  }

  private groupFile(g: number, shardHashes: readonly Buffer[]): MerkleFile {
    const members = shardHashes.slice(g * this.perGroup, (g + 1) * this.perGroup);
    return { name: groupFileName(merkleTreeHash(members).toString('hex')), bytes: groupFileBytes(members) };
  }

}

function shardFile(m: ReadonlyMap<string, string>, hash: Buffer): MerkleFile {
  return { name: shardFileName(hash.toString('hex')), bytes: shardFileBytes(sortedLeaves(m)) };
}

function sortedLeaves(m: ReadonlyMap<string, string>): string[] {
  return [...m.keys()].sort(compareRoles).map((r) => m.get(r) as string);
}

function shardHash(m: ReadonlyMap<string, string>): Buffer {
  return merkleTreeHash(sortedLeaves(m).map(leafHash));
}
