// SPDX-License-Identifier: Apache-2.0
// The auditor's copy of the last tree it verified, kept as the index publishes it: the top file
// and the node files in DIR/groups/, the shard files in DIR/shards/, each named by the hash it
// proves. state.json names only the tree's root, so a new tree costs the files that changed (the
// top, a node per level, a shard: ≈ 10 KB at 16,384 shards) instead of rewriting every shard
// hash (≈ 1.1 MB at 16,384 shards, which state.json held before).
//
// Crash safety: a tree's files are written (each atomically) before state.json names its root,
// and the files it replaced are removed only after. Files are content-addressed, so a crash at
// any point leaves the old or the new state, each with every file it names, plus files nobody
// names; the next commit removes those it wrote, a restart removes the rest (sweep).
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { mapPool } from '../mirror/pool.js';
import {
  nodeFileName,
  readMerkleNodes,
  RepositoryError,
  shardFileName,
  topFileName,
  verifyShardFile,
  type MerkleField,
  type MerkleLeaf,
} from '../tuf/index.js';
import type { TreeAuditResult, VerifiedTree } from './tree-audit.js';

export class AuditorStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditorStateError';
  }
}

/** Files and bytes one poll read from or wrote to the state directory (for `--json` and the lag benchmark). */
export interface IoCount {
  files: number;
  bytes: number;
}

export class StateIo {
  read: IoCount = { files: 0, bytes: 0 };
  written: IoCount = { files: 0, bytes: 0 };

  async readFile(path: string): Promise<Buffer> {
    const bytes = await readFile(path);
    this.read = { files: this.read.files + 1, bytes: this.read.bytes + bytes.length };
    return bytes;
  }

  async write(path: string, bytes: Buffer | string, durable: boolean): Promise<void> {
    await writeFileAtomic(path, bytes, { durable });
    this.written = { files: this.written.files + 1, bytes: this.written.bytes + Buffer.byteLength(bytes) };
  }

  reset(): void {
    this.read = { files: 0, bytes: 0 };
    this.written = { files: 0, bytes: 0 };
  }
}

const GROUPS = 'groups';
const SHARDS = 'shards';
const WRITE_CONCURRENCY = 16;

export class TreeStore {
  /** The tree whose files the directory holds (what state.json names once committed). */
  private tree: VerifiedTree | undefined;
  /** How many shards of `tree` have each hash (empty shards share one): a file goes when its count does. */
  private shardUse = new Map<string, number>();
  private readonly leafCache = new Map<string, readonly MerkleLeaf[]>();
  /** Files written for a tree that was not committed (its statement's upload failed). */
  private readonly staged = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly io: StateIo
  ) {}

  static async prepare(dir: string): Promise<void> {
    await mkdir(join(dir, GROUPS), { recursive: true });
    await mkdir(join(dir, SHARDS), { recursive: true });
  }

  private path(name: string): string {
    return join(this.dir, name.endsWith('.shard.json') ? SHARDS : GROUPS, name);
  }

  /** One of our own files, verified again all the same: missing or damaged means the state is. */
  private async ownFile<T>(name: string, verify: (bytes: Buffer) => T): Promise<T> {
    let bytes: Buffer;
    try {
      bytes = await this.io.readFile(this.path(name));
    } catch (cause) {
      throw new AuditorStateError(`the verified file ${name} is missing from ${this.dir}: the state is damaged; start over with a new directory`, { cause });
    }
    try {
      return verify(bytes);
    } catch (cause) {
      if (!(cause instanceof RepositoryError)) throw cause;
      throw new AuditorStateError(`the verified file ${name} in ${this.dir} no longer verifies (${cause.message}): the state is damaged; start over with a new directory`, { cause });
    }
  }

  /**
   * The tree state.json names: from memory, or after a restart read from its top and node
   * files (verified again), and files of no tree removed.
   */
  async load(field: MerkleField): Promise<VerifiedTree> {
    if (this.tree?.field.root === field.root) return this.tree;
    const { nodes, shards } = await readMerkleNodes(field, (name, verify) => this.ownFile(name, verify));
    this.adopt({ field, nodes, shards });
    await this.sweep();
    return this.tree as VerifiedTree;
  }

  /** The leaves of shard `index` of the stored tree (kept in memory once read or written). */
  async previousLeaves(index: number, hash: string, field: MerkleField): Promise<readonly MerkleLeaf[]> {
    const cached = this.leafCache.get(hash);
    if (cached) return cached;
    const leaves = await this.ownFile(shardFileName(hash), (b) => verifyShardFile(b, hash, index, field));
    this.leafCache.set(hash, leaves);
    return leaves;
  }

  /**
   * Writes a verified tree's new files (before state.json names it). A first tree is every
   * file: those are not fsynced one by one (16,513 at 16,384 shards); a crash that loses some
   * leaves a state naming missing files, which the next poll reports. Later trees are a few
   * files, each durable.
   */
  async stage(result: TreeAuditResult, first: boolean): Promise<void> {
    const files: [string, Buffer][] = [
      [topFileName(result.tree.field.root), result.top],
      ...result.changedNodes.map((g): [string, Buffer] => [nodeFileName(g.hash), g.bytes]),
      ...result.changed.map((c): [string, Buffer] => [shardFileName(c.hash), c.bytes]),
    ];
    for (const c of result.changed) this.leafCache.set(c.hash, c.leaves);
    await mapPool(files, WRITE_CONCURRENCY, async ([name, bytes]) => {
      this.staged.add(name);
      await this.io.write(this.path(name), bytes, !first);
    });
  }

  /**
   * After state.json names `next`: removes the files of the stored tree that `next` replaced,
   * and files staged for trees never committed. Looks only at what changed (the shards whose
   * hash differs), never at the whole tree.
   */
  async commit(next: VerifiedTree): Promise<void> {
    const before = this.tree;
    const gone: string[] = [];
    if (!before || before.field.shards !== next.field.shards) {
      if (before) gone.push(...before.shards.map(shardFileName), ...before.nodes.flat().map(nodeFileName), topFileName(before.field.root));
      this.adopt(next);
    } else {
      const use = this.shardUse;
      for (let i = 0; i < next.shards.length; i++) {
        const old = before.shards[i] as string;
        const now = next.shards[i] as string;
        if (old === now) continue;
        use.set(now, (use.get(now) ?? 0) + 1);
        const left = (use.get(old) ?? 1) - 1;
        if (left > 0) use.set(old, left);
        else {
          use.delete(old);
          gone.push(shardFileName(old));
        }
      }
      const nextNodes = new Set(next.nodes.flat());
      for (const g of before.nodes.flat()) if (!nextNodes.has(g)) gone.push(nodeFileName(g));
      if (before.field.root !== next.field.root) gone.push(topFileName(before.field.root));
      this.tree = next;
    }
    const nodes = new Set(next.nodes.flat());
    const kept = (name: string) =>
      name === topFileName(next.field.root) || (name.endsWith('.node.json') ? nodes.has(name.slice(0, 64)) : name.endsWith('.shard.json') && this.shardUse.has(name.slice(0, 64)));
    for (const name of this.staged) if (!kept(name)) gone.push(name);
    this.staged.clear();
    for (const name of new Set(gone)) {
      if (kept(name)) continue;
      this.leafCache.delete(name.slice(0, 64));
      await rm(this.path(name), { force: true });
    }
    if (!before) await this.sweep(); // a first tree: files of an earlier history or layout go
  }

  private adopt(tree: VerifiedTree): void {
    this.tree = tree;
    this.shardUse = new Map();
    for (const s of tree.shards) this.shardUse.set(s, (this.shardUse.get(s) ?? 0) + 1);
  }

  /** Removes files of no tree (left by a crash, or by a tree never committed before a restart). */
  private async sweep(): Promise<void> {
    const tree = this.tree as VerifiedTree;
    const groups = new Set([topFileName(tree.field.root), ...tree.nodes.flat().map(nodeFileName)]);
    for (const [sub, keep] of [
      [GROUPS, (n: string) => groups.has(n)],
      [SHARDS, (n: string) => n.endsWith('.shard.json') && this.shardUse.has(n.slice(0, 64))],
    ] as const) {
      for (const name of await readdir(join(this.dir, sub))) if (!keep(name)) await rm(join(this.dir, sub, name), { force: true });
    }
  }
}
