// The auditor (src/auditor/): it signs a statement only for a tree it verified against the last
// one, and refuses, with its reason, a rolled-back role, a forged path, a mix of leaves from two
// trees and a missing role. The malicious trees are built with the real merkle module and signed
// with the real timestamp key (the attacker holds it: that is what the auditor is for).
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { Auditor, AuditorStateError } from '../../src/auditor/auditor.js';
import { verifyStatement } from '../../src/auditor/statement.js';
import { leafText, MerkleTreeBuilder, shardOf, type MerkleField, type RepositoryError } from '../../src/tuf/index.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';
import { BASE, someRoles, TreeDouble } from './tree-double.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeTempDir(d);
});

interface Harness {
  index: TreeDouble;
  statements: Buffer[];
  fetched: string[];
  auditor(): Auditor;
}

async function harness(shards = 16): Promise<Harness> {
  const index = await new TreeDouble(shards).init();
  const dir = await tempDir('bulwark-auditor');
  dirs.push(dir);
  await Auditor.init(dir, index.root.bytes);
  const statements: Buffer[] = [];
  const fetched: string[] = [];
  const fetcher = { fetch: (url: string, max: number) => (fetched.push(url), index.fetch(url, max)) };
  return {
    index,
    statements,
    fetched,
    // A new Auditor each time: what it knows comes from its directory, as after a restart.
    auditor: () => new Auditor({ dir, indexUrl: BASE, signer: index.auditorKey, token: 'unused', fetcher, publish: async (s) => void statements.push(s) }),
  };
}

const refusal = (code: string, reason?: string) => (e: unknown) => {
  const err = e as RepositoryError & { reason?: string };
  assert.equal(err.code, code, err.message);
  if (reason) assert.equal(err.reason, reason, err.message);
  return true;
};

/** A shard that holds at least two of these roles, and two of its roles. */
function twoRolesInOneShard(roles: string[], shards: number): [string, string] {
  const byShard = new Map<number, string[]>();
  for (const r of roles) byShard.set(shardOf(r, shards), [...(byShard.get(shardOf(r, shards)) ?? []), r]);
  const pair = [...byShard.values()].find((rs) => rs.length >= 2);
  assert.ok(pair, 'no shard holds two roles');
  return [pair[0] as string, pair[1] as string];
}

describe('bulwark auditor: what it signs', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });

  it('signs a statement for a verified tree that clients can check against root', async () => {
    const ts = await h.index.publish(someRoles(40));
    const outcome = await h.auditor().poll();
    assert.equal(outcome.status, 'signed');
    assert.equal(h.statements.length, 1);
    const s = verifyStatement(h.statements[0] as Buffer, h.index.auditorKey.keyId, h.index.root.signed, new Date());
    assert.equal(s.timestampVersion, ts.signed.version);
    assert.equal(s.merkleRoot, (ts.signed.unrecognized['x-bulwark-merkle'] as { root: string }).root);
    assert.deepEqual(s.timestamp.signedBytes, ts.signedBytes, 'the statement embeds the timestamp the index signed');
  });

  it('after a restart, reads only the top file and the nodes and shard that changed, and signs the new tree', async () => {
    const roles = someRoles(40);
    await h.index.publish(roles);
    await h.auditor().poll();
    h.fetched.length = 0;
    await h.index.publish({ ...roles, 'bins-07': 2 });
    const outcome = await h.auditor().poll();
    assert.equal(outcome.status, 'signed');
    assert.equal(outcome.status === 'signed' && outcome.changedShards, 1);
    const merkleFiles = h.fetched.filter((u) => u.includes('/merkle/')).map((u) => u.replace(/^.*\/merkle\/[0-9a-f]+\./, ''));
    assert.deepEqual(merkleFiles, ['tree.json', 'node.json', 'node.json', 'shard.json']);
    const s = verifyStatement(h.statements[1] as Buffer, h.index.auditorKey.keyId, h.index.root.signed, new Date());
    assert.ok(s.version > 0 && s.timestampVersion === 2);
  });

  it('with nothing new, does not sign again until half the statement’s life has passed', async () => {
    await h.index.publish(someRoles(8));
    await h.auditor().poll();
    assert.equal((await h.auditor().poll()).status, 'unchanged');
    assert.equal(h.statements.length, 1);
  });
});

describe('bulwark auditor: what it refuses to sign', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });

  /** Polls and expects a refusal: no statement, and the next honest tree is still checked against the last good one. */
  async function refused(check: (e: unknown) => boolean): Promise<void> {
    const before = h.statements.length;
    await assert.rejects(h.auditor().poll(), check);
    assert.equal(h.statements.length, before, 'nothing was signed');
  }

  it('a rolled-back role: a new tree lists bins-07 at version 1 after version 3', async () => {
    const roles = someRoles(40);
    await h.index.publish({ ...roles, 'bins-07': 3 });
    await h.auditor().poll();
    await h.index.publish({ ...roles, 'bins-07': 1, 'bins-08': 2 }); // a consistent tree, signed with the timestamp key
    await refused(refusal('MERKLE_ROLLBACK'));
    // The honest next tree is compared with the last verified one (bins-07 at 3), and signed.
    await h.index.publish({ ...roles, 'bins-07': 4 });
    assert.equal((await h.auditor().poll()).status, 'signed');
  });

  it('a forged path: a shard file whose leaves do not hash to the name its node file gives it', async () => {
    const roles = someRoles(40);
    await h.index.publish(roles);
    await h.auditor().poll();
    const next = h.index.tree({ ...roles, 'bins-07': 2 });
    await h.index.sign(next.field);
    // The attacker swaps the new shard's file for one listing a version of its choosing.
    const shardHash = shardHashOf(next, 'bins-07');
    h.index.serveShard(shardHash, { 'bins-07': 9 });
    await refused(refusal('MERKLE_PROOF', 'shard'));
  });

  it('a forged path: a node file that does not hash to the hash its parent names', async () => {
    const first = h.index.tree(someRoles(40));
    await h.index.sign(first.field);
    await h.auditor().poll();
    const next = h.index.tree({ ...someRoles(40), 'bins-07': 2 });
    await h.index.sign(next.field);
    const nodesOf = (root: string) => (JSON.parse((h.index.files.get(`merkle/${root}.tree.json`) as Buffer).toString()) as { nodes: string[] }).nodes;
    const changed = nodesOf(next.root).find((g, i) => g !== nodesOf(first.root)[i]) as string;
    const node = JSON.parse((h.index.nodeFile(changed) as Buffer).toString()) as { nodes: string[] };
    node.nodes.reverse();
    h.index.files.set(`merkle/${changed}.node.json`, Buffer.from(JSON.stringify(node)));
    await refused(refusal('MERKLE_PROOF', 'node'));
  });

  it('a mix of leaves from two trees: one shard from the older tree, the rest from the newer', async () => {
    const roles = someRoles(40);
    const [a, b] = twoRolesInOneShard(Object.keys(roles), 16);
    const older = { ...roles, [a]: 2, [b]: 2 };
    const newer = { ...roles, [a]: 3, [b]: 3 };
    await h.index.publish(older);
    await h.auditor().poll();
    await h.index.publish(newer);
    await h.auditor().poll();
    // Mixed inside one shard: a from the newer tree, b from the older. The file hashes right
    // (the attacker built the tree), so it is the history that refuses it.
    await h.index.publish({ ...newer, [b]: 2 });
    await refused(refusal('MERKLE_ROLLBACK'));
    // Mixed by file: the newer tree's node file names its shard, but the older tree's file for
    // that shard is served under the newer name.
    const olderTree = MerkleTreeBuilder.build(16, Object.entries(older).map(([role, v]) => ({ role, leaf: leafText(role, v) })));
    const next = h.index.tree({ ...newer, [a]: 4 });
    await h.index.sign(next.field);
    h.index.files.set(`merkle/${shardHashOf(next, a)}.shard.json`, h.index.files.get(`merkle/${shardHashOf(olderTree, a)}.shard.json`) as Buffer);
    await refused(refusal('MERKLE_PROOF', 'shard'));
  });

  it('a missing role: a tree that drops a role listed before, or a first tree without targets', async () => {
    const roles = someRoles(40);
    await h.index.publish(roles);
    await h.auditor().poll();
    const { 'bins-07': _dropped, ...rest } = roles;
    await h.index.publish({ ...rest, 'bins-08': 2 });
    await refused(refusal('MERKLE_ROLE_MISSING'));

    const fresh = await harness();
    const { targets: _t, ...noTargets } = roles;
    await fresh.index.publish(noTargets);
    await assert.rejects(fresh.auditor().poll(), refusal('MERKLE_ROLE_MISSING'));
    assert.equal(fresh.statements.length, 0);
  });

  it('a leaf placed in a shard its role does not hash to', async () => {
    const roles = someRoles(40);
    await h.index.publish(roles);
    await h.auditor().poll();
    const next = h.index.tree({ ...roles, 'bins-07': 2 });
    const stranger = Object.keys(roles).find((r) => shardOf(r, 16) !== shardOf('bins-07', 16)) as string;
    await h.index.sign(next.field);
    // The shard's file gains a leaf of another shard: whatever else, the hash no longer matches
    // and, were it matched, placement would not.
    h.index.serveShard(shardHashOf(next, 'bins-07'), { 'bins-07': 2, [stranger]: 1 });
    await refused(refusal('MERKLE_PROOF'));
  });

  it('keeps its state only in its directory: verified tree files, the state, root and timestamp', async () => {
    await h.index.publish(someRoles(8));
    await h.auditor().poll();
    const dir = dirOf(h);
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['groups', 'root.json', 'shards', 'state.json', 'timestamp.json']);
    assert.ok((await readdir(join(dir, 'shards'))).length > 0);
  });
});

const dirOf = (h: Harness) => (h.auditor() as unknown as { o: { dir: string } }).o.dir;

/** The files a tree consists of, as the auditor names them in groups/ and shards/. */
function treeFiles(tree: MerkleTreeBuilder): { groups: string[]; shards: string[] } {
  const names = [...new Set(tree.allFiles().map((f) => f.name))];
  return { groups: names.filter((n) => !n.endsWith('.shard.json')).sort(), shards: names.filter((n) => n.endsWith('.shard.json')).sort() };
}

async function storedFiles(dir: string): Promise<{ groups: string[]; shards: string[] }> {
  return { groups: (await readdir(join(dir, 'groups'))).sort(), shards: (await readdir(join(dir, 'shards'))).sort() };
}

describe('bulwark auditor: its state grows with what changed, not with the tree', () => {
  it('per new tree writes the changed top, nodes and shard and a small state.json, and reads no file of the tree it did not change', async () => {
    const h = await harness(256); // fan-out [4, 8, 8]
    const roles = someRoles(40);
    await h.index.publish(roles);
    const auditor = h.auditor(); // the long-running loop: one Auditor
    await auditor.poll();
    for (let v = 2; v <= 4; v++) {
      await h.index.publish({ ...roles, 'bins-07': v });
      const outcome = await auditor.poll();
      assert.equal(outcome.status, 'signed');
      const io = (outcome as { io: { stateRead: { files: number; bytes: number }; stateWritten: { files: number; bytes: number } } }).io;
      // Written: top, a node of each of the two levels, shard, timestamp.json, state.json. Read: state.json and root.json.
      assert.equal(io.stateWritten.files, 6, JSON.stringify(io));
      assert.equal(io.stateRead.files, 2, JSON.stringify(io));
    }
    // Before, state.json listed every shard hash (256 × 67 bytes here, 1.1 MB at 16,384 shards).
    const size = (await stat(join(dirOf(h), 'state.json'))).size;
    assert.ok(size < 1024, `state.json is ${size} bytes`);
  });

  it('holds exactly the files of the last tree it verified, after many trees and after a restart', async () => {
    const h = await harness();
    const roles = someRoles(40);
    let tree = h.index.tree(roles);
    await h.index.sign(tree.field);
    await h.auditor().poll();
    for (let v = 2; v <= 6; v++) {
      Object.assign(roles, { 'bins-07': v, [`bins-${(v * 3).toString(16).padStart(2, '0')}`]: v });
      tree = h.index.tree(roles);
      await h.index.sign(tree.field);
      assert.equal((await h.auditor().poll()).status, 'signed');
      assert.deepEqual(await storedFiles(dirOf(h)), treeFiles(tree));
    }
  });

  it('a statement that could not be uploaded: the state is not moved on, and the files written for that tree go with the next commit or restart', async () => {
    const h = await harness();
    const roles = { ...someRoles(40), 'bins-07': 3 };
    await h.index.publish(roles);
    await h.auditor().poll();
    const unsent = h.index.tree({ ...roles, 'bins-07': 4 });
    await h.index.sign(unsent.field);
    const dir = dirOf(h);
    const failing = new Auditor({ dir, indexUrl: BASE, signer: h.index.auditorKey, token: 'unused', fetcher: h.index, publish: async () => Promise.reject(new Error('the index is down')) });
    await assert.rejects(failing.poll(), /the index is down/);
    // The baseline is still the last tree signed: bins-07 at 3, not the unsigned tree's 4.
    await h.index.publish({ ...roles, 'bins-07': 2, 'bins-08': 2 });
    await assert.rejects(h.auditor().poll(), refusal('MERKLE_ROLLBACK'));
    const next = h.index.tree({ ...roles, 'bins-08': 3 });
    await h.index.sign(next.field);
    assert.equal((await h.auditor().poll()).status, 'signed');
    assert.deepEqual(await storedFiles(dir), treeFiles(next), 'no file of the tree never committed is left');
  });

  it('a damaged file of its own is a state error, never a verdict on the index', async () => {
    const h = await harness();
    const roles = someRoles(40);
    const tree = h.index.tree(roles);
    await h.index.sign(tree.field);
    await h.auditor().poll();
    const node = treeFiles(tree).groups.find((n) => n.endsWith('.node.json')) as string;
    await writeFile(join(dirOf(h), 'groups', node), '{"nodes":[]}');
    await h.index.publish({ ...roles, 'bins-07': 2 });
    await assert.rejects(h.auditor().poll(), (e: unknown) => e instanceof AuditorStateError && /start over/.test(e.message));
    assert.equal(h.statements.length, 1);
  });

  for (const layout of ['every hash in state.json', 'a two-level tree'] as const) {
    it(`a state directory of an earlier layout (${layout}): the history starts again, without a crash, and its files go`, async () => {
      const h = await harness();
      const roles = someRoles(40);
      const tree = h.index.tree({ ...roles, 'bins-07': 3 });
      await h.index.sign(tree.field);
      await h.auditor().poll();
      // Rewrite it as auditors wrote it before.
      const dir = dirOf(h);
      const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as Record<string, unknown> & { field: MerkleField };
      const { field, ...rest } = state;
      const old = { root: field.root, shards: field.shards, groups: 4 };
      const groups = Array.from({ length: 4 }, (_, i) => String(i).repeat(64));
      await rm(join(dir, 'groups'), { recursive: true });
      await mkdir(join(dir, 'groups'));
      if (layout === 'every hash in state.json') {
        await writeFile(join(dir, 'state.json'), JSON.stringify({ ...rest, tree: { field: old, groups, shards: [] } }));
      } else {
        await writeFile(join(dir, 'state.json'), JSON.stringify({ ...rest, field: old }));
        await writeFile(join(dir, 'groups', `${field.root}.top.json`), JSON.stringify({ groups, shards: field.shards }));
        await writeFile(join(dir, 'groups', `${groups[0]}.group.json`), JSON.stringify({ shards: [] }));
      }
      // bins-07 back to 1: a rollback against the old history, which this auditor cannot read.
      const next = h.index.tree({ ...roles, 'bins-07': 1 });
      await h.index.sign(next.field);
      assert.equal((await h.auditor().poll()).status, 'signed');
      assert.deepEqual(await storedFiles(dir), treeFiles(next));
      // And the new history holds: the same rollback is refused from now on.
      await h.index.publish({ ...roles, 'bins-07': 2, 'bins-08': 2 });
      assert.equal((await h.auditor().poll()).status, 'signed');
      await h.index.publish({ ...roles, 'bins-07': 1, 'bins-08': 3 });
      await assert.rejects(h.auditor().poll(), refusal('MERKLE_ROLLBACK'));
    });
  }
});

/** The hash of the shard that holds `role` in `tree`. */
function shardHashOf(tree: MerkleTreeBuilder, role: string): string {
  const file = tree.allFiles().find((f) => f.name.endsWith('.shard.json') && JSON.parse(f.bytes.toString()).entries.some((e: string) => e.startsWith(`"${role}.json"`)));
  assert.ok(file, `${role} is in no shard`);
  return file.name.slice(0, 64);
}
