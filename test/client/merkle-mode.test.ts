// Merkle mode end to end over real HTTP (docs/merkle-snapshots.md): a client against an index
// whose timestamp names a snapshot Merkle tree never downloads snapshot.json; a warm refresh
// after an upload elsewhere downloads the timestamp, the new top file and only the node and
// shard files whose hash changed; the cached files are reused by hash. Against an index without
// a tree, the client falls back to the classic snapshot and says so once.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpFetcher, type Fetcher } from '../../src/client/fetcher.js';
import { Updater } from '../../src/client/updater.js';
import { loadConfig, saveConfig } from '../../src/repository/config.js';
import { basicAuth, sdistUploadForm, startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';


/** A fetcher that records every URL and the bytes each carried. */
function recording(): Fetcher & { log: { url: string; bytes: number }[] } {
  const inner = new HttpFetcher();
  const log: { url: string; bytes: number }[] = [];
  return {
    log,
    async fetch(url, max) {
      const b = await inner.fetch(url, max);
      log.push({ url, bytes: b.length });
      return b;
    },
  };
}

async function upload(index: IndexUnderTest, token: string, project: string, version: string): Promise<void> {
  const res = await fetch(`${index.url}/legacy/`, { method: 'POST', body: sdistUploadForm(project, version), headers: { authorization: basicAuth(token) } });
  assert.equal(res.status, 200, await res.text());
}

describe('Merkle client mode over HTTP', () => {
  let index: IndexUnderTest;
  let token: string;
  let cacheDir: string;

  before(async () => {
    index = await startIndex({ bins: 256 }); // 256 shards, fan-out [4, 8, 8]
    token = await index.user('alice');
    cacheDir = await tempDir('merkle-client');
  });
  after(async () => {
    await index.close();
    await removeTempDir(cacheDir);
  });

  it('a cold refresh reads the tree, never snapshot.json; a warm one after an upload elsewhere fetches only the new top and changed files', async () => {
    await upload(index, token, 'mine', '1.0');
    await writeFile(join(cacheDir, 'root.json'), await (await fetch(`${index.url}/metadata/1.root.json`)).arrayBuffer().then((b) => Buffer.from(b)));
    const path = 'mine/mine-1.0.tar.gz';

    const cold = recording();
    const u1 = new Updater({ metadataDir: cacheDir, indexUrl: index.url, fetcher: cold });
    await u1.refresh();
    const found = await u1.findTarget(path);
    assert.ok(found, `${path} is listed`);
    await u1.downloadTarget(found.target);
    const coldUrls = cold.log.map((l) => l.url.slice(index.url.length));
    assert.deepEqual(coldUrls.filter((u) => u.includes('snapshot')), [], 'no classic snapshot');
    assert.equal(coldUrls.filter((u) => u.endsWith('.tree.json')).length, 1);
    assert.ok(coldUrls.some((u) => u.endsWith('.node.json')) && coldUrls.some((u) => u.endsWith('.shard.json')));

    // An upload of another project, in another bin.
    const bins = index.repo.bins;
    const other = ['elsewhere', 'elsewhere2', 'elsewhere3', 'elsewhere4'].find((p) => bins.roleForTarget(`${p}/index.json`) !== bins.roleForTarget('mine/index.json'));
    assert.ok(other);
    const cachedBefore = new Set(await readdir(join(cacheDir, 'merkle')));
    await upload(index, token, other, '1.0');

    const warm = recording();
    const u2 = new Updater({ metadataDir: cacheDir, indexUrl: index.url, fetcher: warm });
    await u2.refresh();
    assert.ok(await u2.findTarget(path));
    const warmUrls = warm.log.map((l) => l.url.slice(index.url.length));
    assert.deepEqual(warmUrls.filter((u) => u.includes('snapshot')), [], 'no classic snapshot');
    const merkleFetched = warmUrls.filter((u) => u.startsWith('/metadata/merkle/'));
    assert.equal(merkleFetched.filter((u) => u.endsWith('.tree.json')).length, 1, 'the new top file');
    for (const u of merkleFetched) assert.ok(!cachedBefore.has(u.split('/').at(-1) as string), `${u} was cached already: fetched again`);
    // Every other request is the timestamp (and the probe for a newer root): no role changed on
    // the path to mine/, so none is downloaded again.
    const rest = warmUrls.filter((u) => !u.startsWith('/metadata/merkle/'));
    assert.deepEqual(rest.filter((u) => !/^\/metadata\/(timestamp|\d+\.root)\.json$/.test(u)), [], 'only the timestamp and the root probe besides tree files');
    const bytes = warm.log.reduce((n, l) => n + l.bytes, 0);
    const classic = (await (await fetch(`${index.url}/metadata/timestamp.json`)).json()) as { signed: { meta: { 'snapshot.json': { length: number } } } };
    assert.ok(bytes < classic.signed.meta['snapshot.json'].length, `a warm refresh (${warm.log.length} requests, ${bytes} bytes) costs less than the classic snapshot (${classic.signed.meta['snapshot.json'].length} bytes)`);
  });

  it('falls back to the classic snapshot on an index without a tree, and says so once', async () => {
    const plain = await startIndexWithoutMerkle();
    const dir = await tempDir('merkle-client-classic');
    try {
      await writeFile(join(dir, 'root.json'), Buffer.from(await (await fetch(`${plain.url}/metadata/1.root.json`)).arrayBuffer()));
      const notices: string[] = [];
      for (let i = 0; i < 2; i++) {
        const rec = recording();
        const u = new Updater({ metadataDir: dir, indexUrl: plain.url, fetcher: rec, notice: (m) => notices.push(m) });
        await u.refresh();
        assert.ok(await u.findTarget('nothing/here.tar.gz').then(() => true));
        assert.deepEqual(rec.log.filter((l) => l.url.includes('/merkle/')), []);
        if (i === 0) assert.ok(rec.log.some((l) => /\/\d+\.snapshot\.json$/.test(l.url)), 'the classic snapshot');
      }
      assert.equal(notices.length, 1, notices.join('\n'));
      assert.match(notices[0] as string, /classic snapshot/);
    } finally {
      await plain.close();
      await removeTempDir(dir);
    }
  });
});

/** startIndex() on a repository whose config turns Merkle trees off (as before issue 12). */
async function startIndexWithoutMerkle(): Promise<IndexUnderTest> {
  const probe = await startIndex({ bins: 16 });
  // Re-open the same data directory with the tree turned off.
  await probe.app.close();
  await probe.repo.close();
  const cfg = await loadConfig(probe.dataDir);
  if (!cfg) throw new Error('no config');
  await saveConfig(probe.dataDir, { ...cfg, merkle: { enabled: false } });
  const { Repository } = await import('../../src/repository/repository.js');
  const { buildServer } = await import('../../src/server/app.js');
  const repo = await Repository.open(probe.dataDir, { compress: false });
  await repo.start();
  const app = await buildServer(repo, {});
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    ...probe,
    url,
    repo,
    app,
    async close() {
      await app.close();
      await repo.close();
      await removeTempDir(probe.dataDir);
    },
  };
}
