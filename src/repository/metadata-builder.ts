// SPDX-License-Identifier: Apache-2.0
// Builds the canonical JSON of the roles the snapshot process re-signs all the time (bins,
// snapshot, timestamp) straight from cached fragments, in time linear in their size. Building
// a model and encoding it generically would cost several times as much on a 16,384-entry
// snapshot; the tests check that both give the same bytes.
import { canonicalString, compareCodePoints, formatExpires, leafText, MERKLE_FIELD, SPEC_VERSION, type MerkleField } from '../tuf/index.js';

/** `{"_type":"targets",…}` for a role with targets and no delegations (a hashed bin). */
export function binCanonical(version: number, expires: Date, targets: readonly { path: string; entry: string }[]): string {
  const parts: string[] = new Array<string>(targets.length);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] as { path: string; entry: string };
    parts[i] = `${canonicalString(t.path)}:${t.entry}`;
  }
  return binCanonicalFromBody(version, expires, parts.join(','));
}

/**
 * The same from the body of its `targets` object, already canonical and in order (as
 * StateStore.roleTargetsCanonical() gives it).
 */
export function binCanonicalFromBody(version: number, expires: Date, targetsBody: string): string {
  return `{"_type":"targets","expires":"${formatExpires(expires)}","spec_version":"${SPEC_VERSION}","targets":{${targetsBody}},"version":${version}}`;
}

/** Canonical fragment of one target: `{"hashes":{"sha256":"…"},"length":N}`. */
export function targetEntry(sha256: string, length: number): string {
  return `{"hashes":{"sha256":"${sha256}"},"length":${length}}`;
}

/** A role's line in a snapshot being staged: its new version and file. */
export interface SnapshotChange {
  name: string;
  version: number;
  length?: number;
  sha256?: string;
}

/** Fragments per cached chunk: a publication re-joins the chunks it changed, not 16,384 fragments. */
const CHUNK = 256;

/**
 * The versions of every targets role the snapshot lists, kept in canonical order, with each
 * entry's fragment cached and every CHUNK consecutive fragments cached joined: a publication
 * that changes a few bins re-joins their chunks and concatenates ~64 chunk strings, instead of
 * copying two 16,384-entry maps and joining 16,384 fragments (about 18 ms a publication at
 * PyPI's size; bench/snapshot-bench.ts).
 */
export class SnapshotMeta {
  private versions = new Map<string, number>();
  private fragments = new Map<string, string>();
  /** Role names in canonical order, or undefined after a new name (sorted again on next use). */
  private order: string[] | undefined = [];
  /** Each name's index in `order`; replaced, never changed in place (clones share it). */
  private position = new Map<string, number>();
  /** chunks[k]: fragments k·CHUNK … (k+1)·CHUNK−1 joined, or undefined when one changed. */
  private chunks: (string | undefined)[] = [];
  /** chunkBytes[k]: chunks[k] encoded (UTF-8), for canonicalBytes(); undefined when it changed. */
  private chunkBytes: (Buffer | undefined)[] = [];

  /**
   * Lists a role at a version, with the length and SHA-256 of its file. The hashes are what make
   * a targets-type key alone useless to an attacker (PEP 480 Table 1): without them, whoever
   * holds the unclaimed (or a project's) key could re-sign a role under the version the snapshot
   * names and clients that have not cached it would accept it.
   */
  set(role: string, version: number, file?: { length: number; sha256: string }): void {
    if (!this.versions.has(role)) this.order = undefined;
    else if (this.order) {
      const k = Math.floor((this.position.get(role) as number) / CHUNK);
      this.chunks[k] = undefined;
      this.chunkBytes[k] = undefined;
    }
    this.versions.set(role, version);
    this.fragments.set(role, fragment(role, version, file));
  }

  /** A copy to stage changes on; the original changes only once they are committed. */
  clone(): SnapshotMeta {
    this.ensureOrder(); // once here, not in every throw-away clone
    const c = new SnapshotMeta();
    c.versions = new Map(this.versions);
    c.fragments = new Map(this.fragments);
    c.order = this.order;
    c.position = this.position;
    c.chunks = this.chunks.slice();
    c.chunkBytes = this.chunkBytes.slice();
    return c;
  }

  get(role: string): number | undefined {
    return this.versions.get(role);
  }

  get size(): number {
    return this.versions.size;
  }

  private ensureOrder(): string[] {
    if (this.order) return this.order;
    // Sort by the file name as it appears in the JSON (`bins-0000.json`), by code point.
    const order = [...this.versions.keys()].sort((a, b) => compareCodePoints(`${a}.json`, `${b}.json`));
    this.order = order;
    this.position = new Map(order.map((name, i) => [name, i]));
    this.chunks = new Array<string | undefined>(Math.ceil(order.length / CHUNK)).fill(undefined);
    this.chunkBytes = new Array<Buffer | undefined>(this.chunks.length).fill(undefined);
    return order;
  }

  /** Chunk k joined, with `staged` fragments in place of the cached ones (then not cached). */
  private chunk(k: number, staged?: ReadonlyMap<string, string>): string {
    const cached = this.chunks[k];
    if (cached !== undefined && !staged) return cached;
    const order = this.order as string[];
    const end = Math.min(order.length, (k + 1) * CHUNK);
    const parts = new Array<string>(end - k * CHUNK);
    for (let i = k * CHUNK; i < end; i++) {
      const name = order[i] as string;
      parts[i - k * CHUNK] = staged?.get(name) ?? (this.fragments.get(name) as string);
    }
    const joined = parts.join(',');
    if (!staged) this.chunks[k] = joined;
    return joined;
  }

  /**
   * The canonical `signed` of a snapshot listing these roles, with `changes` applied over them
   * without changing this object (a publication stages its new roles here and sets them only
   * once they are committed).
   */
  canonical(version: number, expires: Date, changes: readonly SnapshotChange[] = []): string {
    if (changes.some((c) => !this.versions.has(c.name))) {
      // A role the snapshot never listed (a new project role): rare, so the simple way.
      const staged = this.clone();
      for (const c of changes) staged.set(c.name, c.version, fileOf(c));
      return staged.canonical(version, expires);
    }
    const order = this.ensureOrder();
    const stagedByChunk = new Map<number, Map<string, string>>();
    for (const c of changes) {
      const k = Math.floor((this.position.get(c.name) as number) / CHUNK);
      let staged = stagedByChunk.get(k);
      if (!staged) stagedByChunk.set(k, (staged = new Map()));
      staged.set(c.name, fragment(c.name, c.version, fileOf(c)));
    }
    const parts = new Array<string>(Math.ceil(order.length / CHUNK));
    for (let k = 0; k < parts.length; k++) parts[k] = this.chunk(k, stagedByChunk.get(k));
    return `{"_type":"snapshot","expires":"${formatExpires(expires)}","meta":{${parts.join(',')}},"spec_version":"${SPEC_VERSION}","version":${version}}`;
  }

  /**
   * canonical(version, expires) already encoded, from cached encoded chunks: at PyPI's size
   * (216,000 roles, 30 MB) encoding the whole string again costs 30–100 ms of the event loop,
   * copying the cached chunks ≈ 10 ms. The classic snapshot written beside publications uses it.
   */
  canonicalBytes(version: number, expires: Date): Buffer {
    const order = this.ensureOrder();
    const comma = Buffer.from(',');
    const parts: Buffer[] = [Buffer.from(`{"_type":"snapshot","expires":"${formatExpires(expires)}","meta":{`, 'utf8')];
    const n = Math.ceil(order.length / CHUNK);
    for (let k = 0; k < n; k++) {
      if (k > 0) parts.push(comma);
      let bytes = this.chunkBytes[k];
      if (bytes === undefined) this.chunkBytes[k] = bytes = Buffer.from(this.chunk(k), 'utf8');
      parts.push(bytes);
    }
    parts.push(Buffer.from(`},"spec_version":"${SPEC_VERSION}","version":${version}}`, 'utf8'));
    return Buffer.concat(parts);
  }
}

function fileOf(c: SnapshotChange): { length: number; sha256: string } | undefined {
  return c.length !== undefined && c.sha256 !== undefined ? { length: c.length, sha256: c.sha256 } : undefined;
}

/** `"ROLE.json":{…}`, the role's line in the snapshot's meta: also its leaf in the Merkle tree. */
const fragment = leafText;

/** The timestamp, naming the classic snapshot and (when given) the Merkle tree's root. */
export function timestampCanonical(version: number, expires: Date, snapshot: { version: number; length: number; sha256: string }, merkle?: MerkleField): string {
  // "x-bulwark-merkle" sorts after "version" (code points), so it ends the object.
  const tree = merkle ? `,"${MERKLE_FIELD}":{"fanout":[${merkle.fanout.join(',')}],"root":"${merkle.root}","shards":${merkle.shards}}` : '';
  return `{"_type":"timestamp","expires":"${formatExpires(expires)}","meta":{"snapshot.json":{"hashes":{"sha256":"${snapshot.sha256}"},"length":${snapshot.length},"version":${snapshot.version}}},"spec_version":"${SPEC_VERSION}","version":${version}${tree}}`;
}
