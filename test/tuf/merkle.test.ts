// The snapshot Merkle tree (src/tuf/merkle.ts): hashing checked against an independent
// implementation (python3's hashlib, written from RFC 6962 and docs/merkle-snapshots.md), the
// three file formats verified and refused with their own errors, and the incremental builder
// agreeing with a tree built from scratch.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  groupCount,
  leafHash,
  leafText,
  merkleTreeHash,
  MerkleTreeBuilder,
  parseLeaf,
  parseMerkleField,
  shardFileBytes,
  shardOf,
  verifyGroupFile,
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

  it('builds files that verify top → group → shard, and every shard lists exactly its roles', () => {
    const shards = 16;
    const list = entries(50);
    const tree = MerkleTreeBuilder.build(shards, list);
    const field: MerkleField = parseMerkleField(tree.field);
    assert.equal(field.groups, groupCount(shards));
    const files = new Map(tree.allFiles().map((f) => [f.name, f.bytes]));
    const groups = verifyTopFile(files.get(`${field.root}.top.json`) as Buffer, field);
    const seen: string[] = [];
    for (let g = 0; g < groups.length; g++) {
      const shardHashes = verifyGroupFile(files.get(`${groups[g]}.group.json`) as Buffer, groups[g] as string, field);
      shardHashes.forEach((h, i) => {
        for (const leaf of verifyShardFile(files.get(`${h}.shard.json`) as Buffer, h, g * (shards / field.groups) + i, field)) seen.push(leaf.text);
      });
    }
    assert.deepEqual(seen.sort(), list.map((e) => e.leaf).sort());
  });

  it('refuses forged, misplaced, unsorted, malformed and oversized files with their own errors', () => {
    const shards = 16;
    const list = entries(40);
    const tree = MerkleTreeBuilder.build(shards, list);
    const field = tree.field;
    const files = new Map(tree.allFiles().map((f) => [f.name, f.bytes]));
    const top = files.get(`${field.root}.top.json`) as Buffer;
    const reason = (r: string) => (e: unknown) => e instanceof MerkleProofError && e.reason === r;

    // A top file of another tree under this root.
    const other = MerkleTreeBuilder.build(shards, entries(41));
    const otherTop = other.allFiles()[0]?.bytes as Buffer;
    assert.throws(() => verifyTopFile(otherTop, field), reason('root'));
    // A group file whose hash is not the one named.
    const groups = verifyTopFile(top, field);
    const g0 = files.get(`${groups[0]}.group.json`) as Buffer;
    assert.throws(() => verifyGroupFile(g0, groups[1] as string, field), reason('group'));
    // A shard: the right hash, but placed under another shard index.
    const shardHashes = verifyGroupFile(g0, groups[0] as string, field);
    const nonEmpty = shardHashes.findIndex((h) => (files.get(`${h}.shard.json`) as Buffer).length > 20);
    const h = shardHashes[nonEmpty] as string;
    assert.throws(() => verifyShardFile(files.get(`${h}.shard.json`) as Buffer, h, (nonEmpty + 1) % shards, field), reason('placement'));
    // Unsorted entries (hashed as they are, so only the order check can catch it).
    const leaves = verifyShardFile(files.get(`${h}.shard.json`) as Buffer, h, nonEmpty, field).map((l) => l.text);
    const twice = [leaves[0] as string, leaves[0] as string];
    const twiceHash = merkleTreeHash(twice.map(leafHash)).toString('hex');
    assert.throws(() => verifyShardFile(shardFileBytes(twice), twiceHash, nonEmpty, field), reason('order'));
    // Malformed and oversized.
    assert.throws(() => verifyTopFile(Buffer.from('{"groups":[],"shards":16}'), field), MerkleMalformedError);
    assert.throws(() => verifyTopFile(Buffer.from('not json'), field), MerkleMalformedError);
    assert.throws(() => verifyShardFile(Buffer.alloc(1024 * 1024 + 1, 0x20), h, nonEmpty, field), MerkleTooLargeError);
    assert.throws(() => parseMerkleField({ root: field.root, shards: 12, groups: 3 }), MerkleMalformedError);
    assert.throws(() => parseMerkleField({ root: field.root, shards: 16, groups: 8 }), MerkleMalformedError);
  });

  it('updates incrementally: the same root as a rebuild, and only the changed shard and group files', () => {
    const shards = 256;
    const list = entries(500);
    const tree = MerkleTreeBuilder.build(shards, list);
    const before = tree.root;
    const changed = list[7] as { role: string; leaf: string };
    const staged = tree.stage([
      { role: changed.role, leaf: leafText(changed.role, 99) },
      { role: 'projects/new-one', leaf: leafText('projects/new-one', 1) },
      { role: (list[8] as { role: string }).role, leaf: undefined },
    ]);
    assert.equal(tree.root, before, 'staging changes nothing');
    const kinds = staged.files.map((f) => f.name.split('.')[1]);
    assert.equal(kinds.filter((k) => k === 'top').length, 1);
    assert.ok(kinds.filter((k) => k === 'shard').length <= 3 && kinds.filter((k) => k === 'group').length <= 3, kinds.join());
    staged.commit();
    const rebuilt = MerkleTreeBuilder.build(shards, [
      ...list.filter((_, i) => i !== 7 && i !== 8),
      { role: changed.role, leaf: leafText(changed.role, 99) },
      { role: 'projects/new-one', leaf: leafText('projects/new-one', 1) },
    ]);
    assert.equal(tree.root, rebuilt.root);
    assert.equal(staged.field.root, rebuilt.root);
    // The files staged are the rebuilt tree's files.
    const all = new Set(rebuilt.allFiles().map((f) => f.name));
    for (const f of staged.files) assert.ok(all.has(f.name), f.name);
  });
});
