// Attacks on snapshot Merkle trees (docs/merkle-snapshots.md), against a Merkle client (the
// timestamp names a tree): the mirror, or an attacker holding the stolen timestamp key, serves
// forged tree files. Each is refused with its own error, nothing refused is cached, and the
// classic snapshot is never asked for:
//  - a forged path: a node file (either level) that does not hash to the hash its parent lists (MERKLE_PROOF/node);
//  - a leaf from an older tree: the shard file of an older tree under the new shard's name (MERKLE_PROOF/shard);
//  - a leaf of another role: a tree, signed into a timestamp, whose shard lists a role that hashes elsewhere (MERKLE_PROOF/placement);
//  - a version rollback in a new tree: a correct tree over an older version of a role (MERKLE_ROLLBACK);
//  - a timestamp whose root matches no tree: top file missing (MERKLE_PROOF/root) or another tree's (MERKLE_PROOF/root);
//  - malformed and oversized files (MERKLE_MALFORMED, MERKLE_TOO_LARGE).
// The other two Merkle attacks need an auditor: an unaudited tree (UNAUDITED_TREE) and a
// stale audit statement, expired or older than the timestamp the client trusts (STALE_AUDIT), are
// in test/auditor/audit-requirement.test.ts; test/table1 runs both against the full updater too
// (an auditor-requiring client refuses a freeze with STALE_AUDIT).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  compareCodePoints,
  leafHash,
  merkleTreeHash,
  shardFileBytes,
  MerkleProofError,
  MerkleTreeBuilder,
  parseMerkleField,
  readMerkleNodes,
  shardFileName,
  shardOf,
  topFileName,
  verifyShardFile,
  type MerkleField,
} from '../../src/tuf/index.js';
import { forgeMerklePath, readMerklePath } from '../helpers/merkle-path.js';
import { AttackRepository, Client, type Doc, type Mirror, refused, resign, signedDoc } from './harness.js';

const PAGE = 'victim/index.json';

describe('attacks on snapshot Merkle trees', () => {
  let fx: AttackRepository;
  let bin: string;
  /** The timestamps after victim 1.0 and after victim 1.1. */
  let older: Buffer;
  let newer: Buffer;

  before(async () => {
    fx = await AttackRepository.create('merkle', { merkle: true });
    await fx.upload('victim', '1.0');
    older = fx.timestamps.at(-1) as Buffer;
    await fx.upload('victim', '1.1');
    newer = fx.timestamps.at(-1) as Buffer;
    bin = fx.binFor(PAGE);
    assert.ok(fieldOf(newer), 'the timestamp names a Merkle tree');
  });
  after(() => fx?.close());

  const fieldOf = (ts: Buffer): MerkleField => parseMerkleField(signedDoc(ts)['x-bulwark-merkle']);

  /** The files on the path to `role`'s leaf in the tree `ts` names, read from the mirror's tree. */
  async function pathTo(mirror: Mirror, ts: Buffer, role: string) {
    const field = fieldOf(ts);
    const shard = shardOf(role, field.shards);
    const path = await readMerklePath(field, shard, (name) => mirror.read(`metadata/merkle/${name}`));
    const [topName, ...nodeNames] = path.names.map((n) => `metadata/merkle/${n}`) as [string, ...string[]];
    const shardName = `metadata/merkle/${path.shardName}`;
    const leaves = verifyShardFile((await mirror.read(shardName)) as Buffer, path.shardHash, shard, field);
    return { field, shard, path, topName, nodeNames, shardName, leaves };
  }

  /** A fresh Merkle client against a mirror; returns what it requested. */
  async function attempt(mirror: Mirror, client?: Client): Promise<{ error: Promise<unknown>; client: Client }> {
    const c = client ?? (await Client.create(fx.rootBytes));
    const run = (async () => {
      const u = c.updater({ index: mirror.url });
      await u.refresh();
      const found = await u.findTarget(PAGE);
      assert.ok(found, `${PAGE} listed`);
    })();
    return { error: run, client: c };
  }

  /** Nothing under merkle/ in the client's cache holds these bytes, and snapshot.json was never requested. */
  async function assertMerkleNotCached(client: Client, mirror: Mirror, bad: Buffer): Promise<void> {
    const { readdir, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = join(client.metadataDir, 'merkle');
    for (const f of await readdir(dir).catch(() => [] as string[])) assert.ok(!(await readFile(join(dir, f))).equals(bad), `the refused file was cached as ${f}`);
    assert.deepEqual(mirror.requested(/snapshot\.json$/), [], 'a Merkle client never asks for the classic snapshot');
  }

  it('an honest mirror: the client verifies the path to each role and never downloads snapshot.json', async () => {
    const mirror = await fx.mirror('honest');
    const { error } = await attempt(mirror);
    await error;
    assert.ok(mirror.requested(/^metadata\/merkle\/.*\.tree\.json$/).length === 1);
    const nodes = mirror.requested(/\.node\.json$/).length;
    assert.ok(nodes >= 2 && nodes <= 2 * mirror.requested(/\.shard\.json$/).length, 'a node file of each level on each path, each once');
    assert.ok(mirror.requested(/\.shard\.json$/).length >= 1);
    assert.deepEqual(mirror.requested(/snapshot\.json$/), []);
  });

  for (const level of [1, 2]) {
    it(`a forged path: a node file of level ${level} that does not hash to the hash its parent lists`, async () => {
      const mirror = await fx.mirror(`forged-node-${level}`);
      const p = await pathTo(mirror, newer, bin);
      // The node with one hash replaced: well formed, but not the node its parent names.
      const name = p.nodeNames[level - 1] as string;
      const doc = JSON.parse(((await mirror.read(name)) as Buffer).toString()) as { nodes: string[] };
      doc.nodes[0] = 'ab'.repeat(32);
      const forged = Buffer.from(JSON.stringify(doc));
      mirror.serve(name, forged);
      const { error, client } = await attempt(mirror);
      const e = await refused(error, 'MERKLE_PROOF', 'repository');
      assert.equal((e as MerkleProofError).reason, 'node');
      await assertMerkleNotCached(client, mirror, forged);
    });
  }

  it('a leaf from an older tree: the older shard served under the new shard name', async () => {
    const mirror = await fx.mirror('older-leaf');
    const now = await pathTo(mirror, newer, bin);
    const then = await pathTo(mirror, older, bin);
    assert.notEqual(now.shardName, then.shardName, 'the upload changed the bin, so its shard');
    const old = (await mirror.read(then.shardName)) as Buffer;
    mirror.serve(now.shardName, old);
    const { error, client } = await attempt(mirror);
    const e = await refused(error, 'MERKLE_PROOF', 'repository');
    assert.equal((e as MerkleProofError).reason, 'shard');
    // Cached as the older shard's own name is harmless; under the new name it must not be.
    const { access } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await assert.rejects(access(join(client.metadataDir, 'merkle', now.shardName.split('/').at(-1) as string)));
  });

  /**
   * The attacker's own tree, whole and self-consistent, named by a timestamp re-signed with the
   * stolen timestamp key and served with every file the tree needs.
   */
  async function serveTree(mirror: Mirror, tree: MerkleTreeBuilder, base: Buffer): Promise<Buffer> {
    for (const f of tree.allFiles()) mirror.serve(`metadata/merkle/${f.name}`, f.bytes);
    const ts = await resign(base, [fx.keys.timestamp], (doc: Doc) => {
      doc['version'] = (doc['version'] as number) + 1;
      doc['x-bulwark-merkle'] = tree.field;
    });
    mirror.serve('metadata/timestamp.json', ts);
    return ts;
  }

  /** The leaves of the tree `ts` names, all of them (read through its files). */
  async function allLeaves(mirror: Mirror, ts: Buffer): Promise<{ role: string; leaf: string }[]> {
    const field = fieldOf(ts);
    const { shards } = await readMerkleNodes(field, async (name, verify) => verify((await mirror.read(`metadata/merkle/${name}`)) as Buffer));
    const out: { role: string; leaf: string }[] = [];
    for (const [i, sh] of shards.entries()) {
      for (const l of verifyShardFile((await mirror.read(`metadata/merkle/${shardFileName(sh)}`)) as Buffer, sh, i, field)) out.push({ role: l.role, leaf: l.text });
    }
    return out;
  }

  /**
   * The tree `base` names with shard `shard` replaced by these entries (hashed as given), the
   * nodes and top above it recomputed, served with a timestamp re-signed with the stolen key.
   */
  async function serveWithShard(mirror: Mirror, base: Buffer, shard: number, entries: string[]): Promise<{ ts: Buffer; shardHash: string }> {
    const field = fieldOf(base);
    const path = await readMerklePath(field, shard, (name) => mirror.read(`metadata/merkle/${name}`));
    const shardHash = merkleTreeHash(entries.map(leafHash));
    const { root, files } = forgeMerklePath(field, shard, path, shardHash);
    mirror.serve(`metadata/merkle/${shardFileName(shardHash.toString('hex'))}`, shardFileBytes(entries));
    for (const f of files) mirror.serve(`metadata/merkle/${f.name}`, f.bytes);
    const ts = await resign(base, [fx.keys.timestamp], (doc: Doc) => {
      doc['version'] = (doc['version'] as number) + 1;
      doc['x-bulwark-merkle'] = { ...field, root };
    });
    mirror.serve('metadata/timestamp.json', ts);
    return { ts, shardHash: shardHash.toString('hex') };
  }

  it('a leaf of another role: the bin\'s shard also lists a role that hashes to another shard', async () => {
    const mirror = await fx.mirror('misplaced');
    const p = await pathTo(mirror, newer, bin);
    // Another role's leaf (a bin in another shard), slipped into the bin's shard in sorted order,
    // under a tree whose hashes are all right: only the placement check can catch it.
    const leaves = await allLeaves(mirror, newer);
    const other = leaves.find((l) => l.role.startsWith('bins-') && shardOf(l.role, p.field.shards) !== p.shard);
    assert.ok(other, 'a bin in another shard');
    const entries = [...p.leaves.map((l) => ({ role: l.role, leaf: l.text })), other].sort((a, b) => compareCodePoints(`${a.role}.json`, `${b.role}.json`)).map((e) => e.leaf);
    await serveWithShard(mirror, newer, p.shard, entries);
    const { error, client } = await attempt(mirror);
    const e = await refused(error, 'MERKLE_PROOF', 'repository');
    assert.equal((e as MerkleProofError).reason, 'placement');
    await assertMerkleNotCached(client, mirror, shardFileBytes(entries));
  });

  it('a version rollback in a new tree: a consistent tree over an older version of the bin', async () => {
    const client = await Client.create(fx.rootBytes);
    const honest = await fx.mirror('rollback-honest');
    await (await attempt(honest, client)).error; // the client trusts the bin at its newest version
    const mirror = await fx.mirror('rollback');
    const then = await pathTo(mirror, older, bin);
    const oldLeaf = then.leaves.find((l) => l.role === bin);
    assert.ok(oldLeaf);
    const leaves = (await allLeaves(mirror, newer)).map((l) => (l.role === bin ? { role: bin, leaf: oldLeaf.text } : l));
    const tree = MerkleTreeBuilder.build(then.field.shards, leaves);
    const ts = await serveTree(mirror, tree, newer);
    const { error } = await attempt(mirror, client);
    const e = await refused(error, 'MERKLE_ROLLBACK', 'repository');
    assert.match(e.message, new RegExp(bin));
    assert.ok(ts.length > 0);
  });

  it('a timestamp whose root matches no tree: the top file missing, or another tree’s under its name', async () => {
    const mirror = await fx.mirror('no-tree');
    const ts = await resign(newer, [fx.keys.timestamp], (doc: Doc) => {
      doc['version'] = (doc['version'] as number) + 1;
      (doc['x-bulwark-merkle'] as Doc)['root'] = 'cd'.repeat(32);
    });
    mirror.serve('metadata/timestamp.json', ts);
    const first = await refused((await attempt(mirror)).error, 'MERKLE_PROOF', 'repository');
    assert.equal((first as MerkleProofError).reason, 'root');
    // The current tree's top file served under the forged root's name.
    mirror.serve(`metadata/merkle/${topFileName('cd'.repeat(32))}`, (await mirror.read(`metadata/merkle/${topFileName(fieldOf(newer).root)}`)) as Buffer);
    const second = await refused((await attempt(mirror)).error, 'MERKLE_PROOF', 'repository');
    assert.equal((second as MerkleProofError).reason, 'root');
  });

  it('malformed and oversized tree files: typed errors, nothing cached', async () => {
    const mirror = await fx.mirror('malformed');
    const p = await pathTo(mirror, newer, bin);
    mirror.serve(p.shardName, Buffer.from('{"entries":"not a list"}'));
    const a = await attempt(mirror);
    await refused(a.error, 'MERKLE_MALFORMED', 'repository');
    mirror.reset();
    mirror.endless(p.nodeNames[1] as string, {});
    const b = await attempt(mirror);
    await refused(b.error, 'MERKLE_TOO_LARGE', 'repository');
    const { readdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const cachedB = await readdir(join(b.client.metadataDir, 'merkle')).catch(() => [] as string[]);
    assert.ok(!cachedB.includes((p.nodeNames[1] as string).split('/').at(-1) as string), 'the oversized node file was not cached');
  });
});
