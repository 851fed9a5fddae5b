// The client's Merkle tree cache (src/client/merkle-cache.ts) over real HTTP: after refreshes
// across many trees it holds one top file (not one per refresh), and node and shard files of the
// current tree or of the two before it (a file of level d outlives its tree by at most d − 1
// refreshes); a client restarted on the pruned cache verifies without downloading any tree file
// again; a prune cut short (some old files left) is finished by the next refresh; and files of
// the two-level layout (.top.json, .group.json) are removed.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpFetcher, type Fetcher } from '../../src/client/fetcher.js';
import { Updater } from '../../src/client/updater.js';
import { Metadata, nodeFileName, parseMerkleField, readMerkleNodes, shardFileName, topFileName } from '../../src/tuf/index.js';
import { basicAuth, sdistUploadForm, startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';

const TARGET = 'mine/mine-1.0.tar.gz';

function recording(): Fetcher & { urls: string[] } {
  const inner = new HttpFetcher();
  const urls: string[] = [];
  return {
    urls,
    async fetch(url, max) {
      urls.push(url);
      return inner.fetch(url, max);
    },
  };
}

async function upload(index: IndexUnderTest, token: string, project: string): Promise<void> {
  const res = await fetch(`${index.url}/legacy/`, { method: 'POST', body: sdistUploadForm(project, '1.0'), headers: { authorization: basicAuth(token) } });
  assert.equal(res.status, 200, await res.text());
}

/** The names of every file of the tree the index's timestamp names now. */
async function currentTree(index: IndexUnderTest): Promise<Set<string>> {
  const metadata = join(index.dataDir, 'public', 'metadata');
  const ts = Metadata.parse(await readFile(join(metadata, 'timestamp.json')), 'timestamp');
  const field = parseMerkleField(ts.signed.unrecognized['x-bulwark-merkle']);
  const { nodes, shards } = await readMerkleNodes(field, async (name, verify) => verify(await readFile(join(metadata, 'merkle', name))));
  return new Set([topFileName(field.root), ...nodes.flat().map(nodeFileName), ...shards.map(shardFileName)]);
}

describe('the client keeps its Merkle cache to the current tree', () => {
  let index: IndexUnderTest;
  let token: string;
  let cacheDir: string;
  const cached = () => readdir(join(cacheDir, 'merkle'));

  async function refresh(fetcher?: Fetcher): Promise<void> {
    const u = new Updater({ metadataDir: cacheDir, indexUrl: index.url, ...(fetcher ? { fetcher } : {}) });
    await u.refresh();
    assert.ok(await u.findTarget(TARGET), `${TARGET} is listed`);
  }

  /** One top file; node and shard files of the current tree or of the trees refreshed from (`earlier`: the two before it). */
  async function assertBounded(earlier: Set<string>[]): Promise<void> {
    const tree = await currentTree(index);
    const names = await cached();
    assert.equal(names.filter((n) => n.endsWith('.tree.json')).length, 1, `one top file: ${names.join(' ')}`);
    for (const n of names) {
      if (n.endsWith('.tree.json')) assert.ok(tree.has(n), `${n} is not the current top file`);
      else assert.ok(tree.has(n) || earlier.some((t) => t.has(n)), `${n} is a file of neither the current tree nor the two before`);
    }
  }

  before(async () => {
    index = await startIndex({ bins: 64 }); // 64 shards, fan-out [4, 4, 4]
    token = await index.user('alice');
    cacheDir = await tempDir('merkle-cache');
    await upload(index, token, 'mine');
    await writeFile(join(cacheDir, 'root.json'), Buffer.from(await (await fetch(`${index.url}/metadata/1.root.json`)).arrayBuffer()));
  });
  after(async () => {
    await index.close();
    await removeTempDir(cacheDir);
  });

  it('after refreshes across eight trees, holds one top file, and node and shard files of the current tree or the two before', async () => {
    await refresh();
    const trees = [await currentTree(index)];
    for (let i = 0; i < 8; i++) {
      await upload(index, token, `other-${i}`);
      await refresh();
      await assertBounded(trees.slice(-2));
      trees.push(await currentTree(index));
    }
  });

  it('a restart on the pruned cache verifies without downloading a tree file; a prune cut short is finished by the next refresh', async () => {
    await refresh();
    const before = new Map<string, Buffer>();
    for (const n of await cached()) before.set(n, await readFile(join(cacheDir, 'merkle', n)));
    await upload(index, token, 'other-next');
    await refresh(); // prunes the files of the tree before

    const restarted = recording();
    await refresh(restarted);
    assert.deepEqual(
      restarted.urls.filter((u) => u.includes('/merkle/')),
      [],
      'every tree file the client needs was kept'
    );

    // As if a prune had removed the old node files, then the process died: the old top and shards are back.
    for (const [n, bytes] of before) if (!n.endsWith('.node.json')) await writeFile(join(cacheDir, 'merkle', n), bytes);
    assert.equal((await cached()).filter((n) => n.endsWith('.tree.json')).length, 2);
    // And files of the two-level layout, from a client that refreshed before the upgrade.
    const root = [...(await currentTree(index))].find((n) => n.endsWith('.tree.json'))?.slice(0, 64) as string;
    await writeFile(join(cacheDir, 'merkle', `${root}.top.json`), '{"groups":[],"shards":64}');
    await writeFile(join(cacheDir, 'merkle', `${'ab'.repeat(32)}.group.json`), '{"shards":[]}');
    const beforeLast = await currentTree(index);
    await upload(index, token, 'other-after');
    await refresh();
    await assertBounded([beforeLast, new Set(before.keys())]);
    assert.deepEqual((await cached()).filter((n) => n.endsWith('.top.json') || n.endsWith('.group.json')), [], 'the two-level layout files are gone');
  });
});
