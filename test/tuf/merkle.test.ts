// The snapshot Merkle tree (src/tuf/merkle.ts): hashing checked against an independent
// implementation (python3's hashlib, written from RFC 6962 and docs/merkle-snapshots.md), the
// fan-out rule, the file formats (top → node → node → shard) verified and refused with their own
// errors, and the incremental builder agreeing with a tree built from scratch.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  leafHash,
  leafText,
  merkleFanout,
  merkleSteps,
  merkleTreeHash,
  MerkleTreeBuilder,
  nodeFileName,
  parseLeaf,
  parseMerkleField,
  readMerkleNodes,
  shardFileBytes,
  shardOf,
  topFileName,
  verifyNodeFile,
  verifyShardFile,
  verifyTopFile,
  type MerkleField,
} from '../../src/tuf/merkle.js';
import { MerkleMalformedError, MerkleProofError, MerkleTooLargeError } from '../../src/tuf/errors.js';

const PYTHON_TREE = String.raw`
import hashlib, json, sys
shards, entries = json.load(sys.stdin)
h = lambda b: hashlib.sha256(b).digest()
def mth(items):
    if not items: return h(b"")
    if len(items) == 1: return items[0]
    k = 1
    while k * 2 < len(items): k *= 2
    return h(b"\x01" + mth(items[:k]) + mth(items[k:]))
bits = shards.bit_length() - 1
buckets = [[] for _ in range(shards)]
for role, leaf in entries:
    s = int.from_bytes(h((role + ".json").encode())[:4], "big") >> (32 - bits) if bits else 0
    buckets[s].append(((role + ".json").encode("utf-32-be"), leaf))
shard_hashes = [mth([h(b"\x00" + leaf.encode()) for _, leaf in sorted(b)]) for b in buckets]
g = 2 ** (bits // 2)
per = shards // g
groups = [mth(shard_hashes[i * per:(i + 1) * per]) for i in range(g)]
print(json.dumps({"root": mth(groups).hex(), "shard_of": {role: int.from_bytes(h((role + ".json").encode())[:4], "big") >> (32 - bits) for role, _ in entries}}))
`;

function entries(n: number, version = 1): { role: string; leaf: string }[] {
  const out: { role: string; leaf: string }[] = [];
  for (let i = 0; i < n; i++) {
    const role = i % 3 === 0 ? `bins-${i.toString(16).padStart(4, '0')}` : `projects/pkg-ünï-${i}`;
    const file = i % 5 === 0 ? undefined : { length: 100 + i, sha256: (i % 16).toString(16).repeat(64) };
    out.push({ role, leaf: leafText(role, version + (i % 4), file) });
  }
  return out;
}

describe('snapshot Merkle tree', () => {
  it('hashes as an independent RFC 6962 implementation (python3 hashlib) does', () => {
    const shards = 64;
    const list = entries(300);
    const py = JSON.parse(execFileSync('python3', ['-c', PYTHON_TREE], { input: JSON.stringify([shards, list.map((e) => [e.role, e.leaf])]) }).toString()) as {
      root: string;
      shard_of: Record<string, number>;
    };
    const tree = MerkleTreeBuilder.build(shards, list);
    assert.equal(tree.root, py.root);
    for (const e of list) assert.equal(shardOf(e.role, shards), py.shard_of[e.role], e.role);
  });

  it('follows RFC 6962 for small trees: empty, one item, and the split at the largest power of two', () => {
    const [a, b, c] = ['a', 'b', 'c'].map(leafHash) as [Buffer, Buffer, Buffer];
    assert.equal(merkleTreeHash([]).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.deepEqual(merkleTreeHash([a]), a);
    const node = (l: Buffer, r: Buffer) => merkleTreeHash([l, r]);
    assert.deepEqual(merkleTreeHash([a, b, c]), node(node(a, b), c));
    assert.notDeepEqual(leafHash('ab'), merkleTreeHash([leafHash('a'), leafHash('b')]));
  });

  it('uses the classic snapshot fragment as the leaf, and parses only that canonical form back', () => {
    const text = leafText('bins-0a', 3, { length: 12, sha256: 'ab'.repeat(32) });
    assert.equal(text, `"bins-0a.json":{"hashes":{"sha256":"${'ab'.repeat(32)}"},"length":12,"version":3}`);
    assert.deepEqual(parseLeaf(text), { role: 'bins-0a', version: 3, length: 12, sha256: 'ab'.repeat(32), text });
    assert.deepEqual(parseLeaf('"claimed.json":{"version":7}'), { role: 'claimed', version: 7, text: '"claimed.json":{"version":7}' });
    for (const bad of ['"a.json":{"version":1} ', '"a.json":{"version":0}', '"a.json":{"length":1,"version":1}', '"a":{"version":1}', '"a.json":{"version":1},"b.json":{"version":1}', '"a.json":{"version":1,"x":1}', '{']) {
      assert.throws(() => parseLeaf(bad), MerkleMalformedError, bad);
    }
  });

  it('cuts S = 2^s shards into three levels of 2^a, 2^b, 2^c hashes (a = ⌊s/3⌋, b = ⌊(s−a)/2⌋), and clients check it', () => {
    assert.deepEqual(merkleFanout(16384), [16, 32, 32]);
    assert.deepEqual(merkleFanout(64), [4, 4, 4]);
    assert.deepEqual(merkleFanout(128), [4, 4, 8]);
    assert.deepEqual(merkleFanout(1), [1, 1, 1]);
    assert.deepEqual(merkleFanout(2), [1, 1, 2]);
    for (let s = 0; s <= 24; s++) {
      const f = merkleFanout(2 ** s);
      assert.equal(f.reduce((a, b) => a * b, 1), 2 ** s, `s=${s}`);
      assert.ok((f[0] as number) <= (f[1] as number) && (f[1] as number) <= (f[2] as number) && (f[2] as number) <= 2 * (f[0] as number), `s=${s}: ${f.join()}`);
    }
    assert.throws(() => merkleFanout(48), MerkleMalformedError);
    const root = 'ab'.repeat(32);
    assert.deepEqual(parseMerkleField({ fanout: [16, 32, 32], root, shards: 16384 }), { fanout: [16, 32, 32], root, shards: 16384 });
    for (const bad of [
      { fanout: [32, 16, 32], root, shards: 16384 }, // not the rule's
      { fanout: [16, 32], root, shards: 16384 },
      { fanout: [4, 4, 4], root, shards: 16384 },
      { groups: 128, root, shards: 16384 }, // the two-level layout's field
      { fanout: [16, 32, 32], groups: 128, root, shards: 16384 },
      { fanout: '16,32,32', root, shards: 16384 },
    ]) {
      assert.throws(() => parseMerkleField(bad), MerkleMalformedError, JSON.stringify(bad));
    }
  });

  it('builds files that verify top → node → node → shard, and every shard lists exactly its roles', async () => {
    const shards = 128; // fan-out [4, 4, 8]: each level's count differs from the next's
    const list = entries(300);
    const tree = MerkleTreeBuilder.build(shards, list);
    const field: MerkleField = parseMerkleField(tree.field);
    assert.deepEqual(field.fanout, [4, 4, 8]);
    const files = new Map(tree.allFiles().map((f) => [f.name, f.bytes]));
    assert.equal(files.size, 1 + 4 + 16 + new Set(tree.allFiles().filter((f) => f.name.endsWith('.shard.json')).map((f) => f.name)).size);
    // Walked by hand along each shard's path...
    for (const e of list.slice(0, 20)) {
      const shard = shardOf(e.role, shards);
      let hash = field.root;
      for (const [level, { slot }] of merkleSteps(shard, field.fanout).entries()) {
        const listed = level === 0 ? verifyTopFile(files.get(topFileName(hash)) as Buffer, field) : verifyNodeFile(files.get(nodeFileName(hash)) as Buffer, hash, level, field);
        hash = listed[slot] as string;
      }
      assert.ok(verifyShardFile(files.get(`${hash}.shard.json`) as Buffer, hash, shard, field).some((l) => l.text === e.leaf), e.role);
    }
    // ...and whole, level by level.
    const { nodes, shards: shardHashes } = await readMerkleNodes(field, async (name, verify) => verify(files.get(name) as Buffer));
    assert.deepEqual(nodes.map((n) => n.length), [4, 16]);
    const seen = shardHashes.flatMap((h, i) => verifyShardFile(files.get(`${h}.shard.json`) as Buffer, h, i, field).map((l) => l.text));
    assert.deepEqual(seen.sort(), list.map((e) => e.leaf).sort());
  });

  it('refuses forged, misplaced, unsorted, malformed and oversized files with their own errors', () => {
    const shards = 128;
    const list = entries(300);
    const tree = MerkleTreeBuilder.build(shards, list);
    const field = tree.field;
    const files = new Map(tree.allFiles().map((f) => [f.name, f.bytes]));
    const top = files.get(topFileName(field.root)) as Buffer;
    const reason = (r: string) => (e: unknown) => e instanceof MerkleProofError && e.reason === r;

    // A top file of another tree under this root.
    const other = MerkleTreeBuilder.build(shards, entries(301));
    const otherTop = other.allFiles()[0]?.bytes as Buffer;
    assert.throws(() => verifyTopFile(otherTop, field), reason('root'));
    // A node file whose hash is not the one its parent lists.
    const level1 = verifyTopFile(top, field);
    const n0 = files.get(nodeFileName(level1[0] as string)) as Buffer;
    assert.throws(() => verifyNodeFile(n0, level1[1] as string, 1, field), reason('node'));
    const level2 = verifyNodeFile(n0, level1[0] as string, 1, field);
    const m0 = files.get(nodeFileName(level2[0] as string)) as Buffer;
    // A node file at the wrong level: a last-level file (8 hashes) as level 1 (4), and back.
    assert.throws(() => verifyNodeFile(m0, level2[0] as string, 1, field), MerkleMalformedError);
    assert.throws(() => verifyNodeFile(n0, level1[0] as string, 2, field), MerkleMalformedError);
    // No level 0 or 3 of node files.
    assert.throws(() => verifyNodeFile(n0, level1[0] as string, 0, field), MerkleMalformedError);
    assert.throws(() => verifyNodeFile(n0, level1[0] as string, 3, field), MerkleMalformedError);
    // A node file listing one hash too many, hashing to what is named: refused for its count.
    const extra = [...level2, 'cd'.repeat(32)].map((h) => Buffer.from(h, 'hex'));
    assert.throws(() => verifyNodeFile(Buffer.from(`{"nodes":[${extra.map((h) => `"${h.toString('hex')}"`).join(',')}]}`), merkleTreeHash(extra).toString('hex'), 1, field), MerkleMalformedError);
    // A shard: the right hash, but placed under another shard index.
    const shardHashes = verifyNodeFile(m0, level2[0] as string, 2, field);
    const nonEmpty = shardHashes.findIndex((h) => (files.get(`${h}.shard.json`) as Buffer).length > 20);
    const h = shardHashes[nonEmpty] as string;
    assert.throws(() => verifyShardFile(files.get(`${h}.shard.json`) as Buffer, h, (nonEmpty + 1) % shards, field), reason('placement'));
    // Unsorted entries (hashed as they are, so only the order check can catch it).
    const leaves = verifyShardFile(files.get(`${h}.shard.json`) as Buffer, h, nonEmpty, field).map((l) => l.text);
    const twice = [leaves[0] as string, leaves[0] as string];
    const twiceHash = merkleTreeHash(twice.map(leafHash)).toString('hex');
    assert.throws(() => verifyShardFile(shardFileBytes(twice), twiceHash, nonEmpty, field), reason('order'));
    // Malformed and oversized.
    assert.throws(() => verifyTopFile(Buffer.from('{"nodes":[],"shards":128}'), field), MerkleMalformedError);
    assert.throws(() => verifyTopFile(Buffer.from(`{"groups":${JSON.stringify(level1)},"shards":128}`), field), MerkleMalformedError);
    assert.throws(() => verifyTopFile(Buffer.from('not json'), field), MerkleMalformedError);
    assert.throws(() => verifyNodeFile(Buffer.alloc(64 * 1024 + 1, 0x20), level1[0] as string, 1, field), MerkleTooLargeError);
    assert.throws(() => verifyShardFile(Buffer.alloc(1024 * 1024 + 1, 0x20), h, nonEmpty, field), MerkleTooLargeError);
    assert.throws(() => parseMerkleField({ root: field.root, shards: 12, fanout: [2, 2, 3] }), MerkleMalformedError);
  });

  it('updates incrementally: after random changes, the same tree as a rebuild, and only the changed files of each level', () => {
    const shards = 256; // fan-out [4, 8, 8]
    const random = (() => {
      let x = 12345;
      return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    })();
    const current = new Map(entries(500).map((e) => [e.role, e.leaf]));
    const tree = MerkleTreeBuilder.build(shards, [...current].map(([role, leaf]) => ({ role, leaf })));
    let published = new Set(tree.allFiles().map((f) => f.name));
    for (let round = 0; round < 12; round++) {
      const before = tree.root;
      const roles = [...current.keys()];
      const changes = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => {
        const r = random();
        if (r < 0.2) return { role: roles[Math.floor(random() * roles.length)] as string, leaf: undefined };
        const role = r < 0.4 ? `projects/new-${round}-${i}` : (roles[Math.floor(random() * roles.length)] as string);
        return { role, leaf: leafText(role, 100 + round) };
      });
      const staged = tree.stage(changes);
      assert.equal(tree.root, before, 'staging changes nothing');
      for (const c of changes) {
        if (c.leaf === undefined) current.delete(c.role);
        else current.set(c.role, c.leaf);
      }
      const kinds = staged.files.map((f) => f.name.split('.')[1]);
      assert.equal(kinds.filter((k) => k === 'tree').length, 1, 'one top file');
      assert.ok(kinds.filter((k) => k === 'shard').length <= changes.length, kinds.join());
      assert.ok(kinds.filter((k) => k === 'node').length <= 2 * changes.length, kinds.join()); // at most one per level per change
      staged.commit();
      const rebuilt = MerkleTreeBuilder.build(shards, [...current].map(([role, leaf]) => ({ role, leaf })));
      assert.equal(tree.root, rebuilt.root);
      assert.equal(staged.field.root, rebuilt.root);
      // The files staged are the rebuilt tree's, with the same bytes; with those published before, they are all of it.
      const all = new Map(rebuilt.allFiles().map((f) => [f.name, f.bytes]));
      for (const f of staged.files) assert.deepEqual(f.bytes, all.get(f.name), f.name);
      published = new Set([...published, ...staged.files.map((f) => f.name)]);
      for (const name of all.keys()) assert.ok(published.has(name), `${name} of the new tree was never written`);
      assert.deepEqual(tree.allFiles(), rebuilt.allFiles());
    }
  });
});
