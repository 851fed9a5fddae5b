// SPDX-License-Identifier: Apache-2.0
// Snapshot Merkle trees (TAP 16, draft; docs/merkle-snapshots.md): the tree whose root the
// timestamp carries in `x-bulwark-merkle`, the file formats that publish it (top, node,
// shard: the binary tree cut into levels of files), their verification against the hash each is named by, and an incremental builder
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
  /** How many hashes a file of each level lists: the top file, then the node files (merkleFanout). */
  fanout: number[];
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
export const MERKLE_SHARD_LIMIT = 1024 * 1024;
/** The limit of a top or node file: 64 KiB per 16,384 shards (rounded up). */
export function merkleNodeLimit(shards: number): number {
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

/**
 * How the tree over S = 2^s shards is cut into files: three levels of 2^a, 2^b, 2^c hashes, with
 * a = floor(s/3), b = floor((s−a)/2), c = s−a−b (16,384 shards: [16, 32, 32]), so a path costs
 * about 3·∛S hashes. A fixed function of S, checked by clients.
 */
export function merkleFanout(shards: number): number[] {
  const s = shardBits(shards);
  const a = Math.floor(s / 3);
  const b = Math.floor((s - a) / 2);
  return [2 ** a, 2 ** b, 2 ** (s - a - b)];
}

/**
 * Where shard `shard` hangs: for each level d of files (0 = top), the index of its file among
 * that level's files (`node`) and of the hash it lists on the path (`slot`).
 */
export function merkleSteps(shard: number, fanout: readonly number[]): { node: number; slot: number }[] {
  const steps: { node: number; slot: number }[] = [];
  let below = fanout.reduce((a, b) => a * b, 1);
  for (const f of fanout) {
    below /= f; // shards under each hash a file of this level lists
    const child = Math.floor(shard / below);
    steps.push({ node: Math.floor(child / f), slot: child % f });
  }
  return steps;
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

/**
 * The top file: named `.tree.json`, not `.top.json` as the two-level layout's was, whose root
 * is the same (one binary tree, cut differently): an immutable URL must not change content.
 */
export function topFileName(root: string): string {
  return `${root}.tree.json`;
}
export function nodeFileName(hash: string): string {
  return `${hash}.node.json`;
}
export function shardFileName(hash: string): string {
  return `${hash}.shard.json`;
}

function hexList(hashes: readonly Uint8Array[]): string {
  return hashes.map((h) => `"${Buffer.from(h).toString('hex')}"`).join(',');
}
export function topFileBytes(nodeHashes: readonly Uint8Array[], shards: number): Buffer {
  return Buffer.from(`{"nodes":[${hexList(nodeHashes)}],"shards":${shards}}`, 'utf8');
}
export function nodeFileBytes(hashes: readonly Uint8Array[]): Buffer {
  return Buffer.from(`{"nodes":[${hexList(hashes)}]}`, 'utf8');
}
export function shardFileBytes(leaves: readonly string[]): Buffer {
  return Buffer.from(`{"entries":[${leaves.map(canonicalString).join(',')}]}`, 'utf8');
}

/** Validates a timestamp's `x-bulwark-merkle` value (hostile until checked). */
export function parseMerkleField(value: unknown): MerkleField {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MerkleMalformedError(`${MERKLE_FIELD} must be an object`);
  const v = value as Record<string, unknown>;
  const extra = Object.keys(v).filter((k) => k !== 'root' && k !== 'shards' && k !== 'fanout');
  if (extra.length > 0) throw new MerkleMalformedError(`${MERKLE_FIELD} has unknown field(s) ${extra.join(', ')}`);
  if (typeof v.root !== 'string' || !HEX64.test(v.root)) throw new MerkleMalformedError(`${MERKLE_FIELD}.root must be 64 lower-case hex digits`);
  if (typeof v.shards !== 'number') throw new MerkleMalformedError(`${MERKLE_FIELD}.shards must be a number`);
  const fanout = merkleFanout(v.shards);
  if (!Array.isArray(v.fanout) || v.fanout.length !== fanout.length || fanout.some((f, i) => (v.fanout as unknown[])[i] !== f)) {
    throw new MerkleMalformedError(`${MERKLE_FIELD}.fanout must be [${fanout.join(',')}] for ${v.shards} shards`);
  }
  return { root: v.root, shards: v.shards, fanout };
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

/** Verifies a top file against the timestamp's field; returns the hashes of level 1 it lists (hex). */
export function verifyTopFile(bytes: Uint8Array, field: MerkleField): string[] {
  const what = `Merkle top file ${topFileName(field.root)}`;
  const obj = parseFile(bytes, merkleNodeLimit(field.shards), what);
  onlyKeys(obj, ['nodes', 'shards'], what);
  if (obj.shards !== field.shards) throw new MerkleMalformedError(`${what} says ${String(obj.shards)} shards, the timestamp ${field.shards}`);
  const nodes = hashArray(obj.nodes, field.fanout[0] as number, `${what}: nodes`);
  if (merkleTreeHash(nodes).toString('hex') !== field.root) throw new MerkleProofError('root', `${what} does not hash to the timestamp's Merkle root`);
  return nodes.map((g) => g.toString('hex'));
}

/**
 * Verifies a node file of level `level` (1 … fanout.length − 1; the client knows it from the
 * file's place on the path) against the hash its parent lists; returns the hashes it lists
 * (hex): nodes of the next level, or shard hashes at the last level.
 */
export function verifyNodeFile(bytes: Uint8Array, expected: string, level: number, field: MerkleField): string[] {
  const what = `Merkle node file ${nodeFileName(expected)}`;
  const count = field.fanout[level];
  if (level < 1 || count === undefined) throw new MerkleMalformedError(`${what}: a tree of ${field.fanout.length} levels has no node level ${level}`);
  const obj = parseFile(bytes, merkleNodeLimit(field.shards), what);
  onlyKeys(obj, ['nodes'], what);
  const nodes = hashArray(obj.nodes, count, `${what}: nodes (level ${level})`);
  if (merkleTreeHash(nodes).toString('hex') !== expected) throw new MerkleProofError('node', `${what} does not hash to the node it is named by`);
  return nodes.map((s) => s.toString('hex'));
}

/** Reads one top or node file and returns `verify(bytes)`, or undefined to skip its subtree (missing, or already seen). */
export type MerkleNodeReader = (name: string, verify: (bytes: Uint8Array) => string[]) => Promise<string[] | undefined>;

/**
 * The hashes every level lists of the tree `field` names: its top and node files level by level
 * (each distinct file once), each verified against the hash its parent lists. `nodes[d]`: what
 * the files of level d list, in order (the names of level d + 1's files); `shards`: the S shard
 * hashes. Those under a file `read` skips are '' (GC: a subtree it marked already, or a missing file).
 */
export async function readMerkleNodes(field: MerkleField, read: MerkleNodeReader): Promise<{ nodes: string[][]; shards: string[] }> {
  const nodes: string[][] = [];
  const lists = new Map<string, Promise<string[] | undefined>>();
  let level: string[] = [field.root];
  for (const [d, f] of field.fanout.entries()) {
    const next = await Promise.all(
      level.map(async (hash) => {
        if (hash === '') return new Array<string>(f).fill('');
        const name = d === 0 ? topFileName(hash) : nodeFileName(hash);
        let list = lists.get(name);
        if (!list) lists.set(name, (list = read(name, (b) => (d === 0 ? verifyTopFile(b, field) : verifyNodeFile(b, hash, d, field)))));
        return (await list) ?? new Array<string>(f).fill('');
      })
    );
    level = next.flat();
    nodes.push(level);
  }
  return { nodes: nodes.slice(0, -1), shards: level };
}

/**
 * Verifies shard `shard`'s file against the hash its last-level node file lists for it: every leaf well formed,
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
  /** The top file and the node and shard files whose hash changed. */
  files: MerkleFile[];
  commit(): void;
}

/**
 * The tree of every targets role's snapshot entry, kept as per-shard leaves and the hashes of
 * every level, so a publication that changes a few roles rehashes their shards, then one node
 * per level up to the root (a few hundred SHA-256 calls), not the tree.
 */
export class MerkleTreeBuilder {
  readonly fanout: number[];
  private readonly leaves: Map<string, string>[];
  /**
   * hashes[d]: the hashes naming the files of level d (hashes[0] = [root], the top file), and
   * hashes[fanout.length] the shard hashes; file j of level d lists hashes[d + 1][j·f … (j+1)·f).
   */
  private hashes: Buffer[][];

  constructor(readonly shards: number) {
    this.fanout = merkleFanout(shards);
    this.leaves = Array.from({ length: shards }, () => new Map<string, string>());
    this.hashes = this.levelsOver(new Array<Buffer>(shards).fill(merkleTreeHash([])));
  }

  /** A tree of these leaves, built at once (start-up). */
  static build(shards: number, entries: Iterable<{ role: string; leaf: string }>): MerkleTreeBuilder {
    const t = new MerkleTreeBuilder(shards);
    for (const e of entries) (t.leaves[shardOf(e.role, shards)] as Map<string, string>).set(e.role, e.leaf);
    t.hashes = t.levelsOver(t.leaves.map((m) => shardHash(m)));
    return t;
  }

  get root(): string {
    return (this.hashes[0]?.[0] as Buffer).toString('hex');
  }

  get field(): MerkleField {
    return { root: this.root, shards: this.shards, fanout: this.fanout.slice() };
  }

  /** The leaf of a role, if the tree lists it. */
  leaf(role: string): string | undefined {
    return this.leaves[shardOf(role, this.shards)]?.get(role);
  }

  /** Every file of the current tree (start-up, when they may not have been written yet). */
  allFiles(): MerkleFile[] {
    const files: MerkleFile[] = [];
    for (let d = 0; d < this.fanout.length; d++) {
      for (let j = 0; j < (this.hashes[d] as Buffer[]).length; j++) files.push(this.nodeFile(this.hashes, d, j));
    }
    const shardHashes = this.hashes[this.fanout.length] as Buffer[];
    for (let s = 0; s < this.shards; s++) files.push(shardFile(this.leaves[s] as Map<string, string>, shardHashes[s] as Buffer));
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
    const depth = this.fanout.length;
    const hashes = this.hashes.slice();
    const shardHashes = (hashes[depth] = (this.hashes[depth] as Buffer[]).slice());
    const files: MerkleFile[] = [];
    let changed = new Set<number>();
    for (const [s, m] of changedShards) {
      const h = shardHash(m);
      if (h.equals(shardHashes[s] as Buffer)) continue;
      shardHashes[s] = h;
      files.push(shardFile(m, h));
      changed.add(s);
    }
    // Up the levels: only the file above each changed hash is rehashed and written.
    for (let d = depth - 1; d >= 0 && changed.size > 0; d--) {
      const f = this.fanout[d] as number;
      const level = (hashes[d] = (hashes[d] as Buffer[]).slice());
      const parents = new Set([...changed].map((i) => Math.floor(i / f)));
      for (const j of parents) {
        level[j] = merkleTreeHash((hashes[d + 1] as Buffer[]).slice(j * f, (j + 1) * f));
        if (d > 0) files.push(this.nodeFile(hashes, d, j));
      }
      changed = parents;
    }
    files.unshift(this.nodeFile(hashes, 0, 0));
    const root = (hashes[0]?.[0] as Buffer).toString('hex');
    return {
      field: { root, shards: this.shards, fanout: this.fanout.slice() },
      files,
      commit: () => {
        for (const [s, m] of changedShards) this.leaves[s] = m;
        this.hashes = hashes;
      },
    };
  }

  /** Every level's hashes over these shard hashes. */
  private levelsOver(shardHashes: Buffer[]): Buffer[][] {
    const hashes: Buffer[][] = [shardHashes];
    for (let d = this.fanout.length - 1; d >= 0; d--) {
      const below = hashes[0] as Buffer[];
      const f = this.fanout[d] as number;
      hashes.unshift(Array.from({ length: below.length / f }, (_, j) => merkleTreeHash(below.slice(j * f, (j + 1) * f))));
    }
    return hashes;
  }

  /** File j of level d (0: the top file). */
  private nodeFile(hashes: readonly Buffer[][], d: number, j: number): MerkleFile {
    const f = this.fanout[d] as number;
    const members = (hashes[d + 1] as Buffer[]).slice(j * f, (j + 1) * f);
    const name = (hashes[d]?.[j] as Buffer).toString('hex');
    return d === 0 ? { name: topFileName(name), bytes: topFileBytes(members, this.shards) } : { name: nodeFileName(name), bytes: nodeFileBytes(members) };
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
