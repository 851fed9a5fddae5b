// Garbage collection keeps what the newest snapshots reach and every root, removes the rest,
// and a client that asks for a snapshot removed under its feet starts over and succeeds; trees
// older than a timestamp of the two-level layout are not kept (and do not stop it).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpFetcher, type Fetcher } from '../../src/client/fetcher.js';
import { Updater } from '../../src/client/updater.js';
import Database from 'better-sqlite3';
import { collectGarbage } from '../../src/repository/gc.js';
import { DATABASE_FILE } from '../../src/repository/paths.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { tempDir } from '../helpers/processes.js';
import { copyFile } from 'node:fs/promises';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('garbage collection', () => {
  let index: IndexUnderTest;
  let token: string;
  let uploaded = 0;

  const upload = async () => {
    uploaded++;
    const { bytes } = memorySdist({ name: 'gcpkg', version: `1.${uploaded}` });
    const name = `gcpkg-1.${uploaded}.tar.gz`;
    const res = await fetch(`${index.url}/legacy/`, {
      method: 'POST',
      headers: { authorization: basicAuth(token) },
      body: uploadForm({ ':action': 'file_upload', name: 'gcpkg', version: `1.${uploaded}`, filetype: 'sdist', sha256_digest: sha256(bytes) }, { name, bytes }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  const verifyAll = async (fetcher?: Fetcher, snapshotMode: 'auto' | 'classic' = 'auto') => {
    const metadataDir = await tempDir('gc-client');
    await copyFile(join(index.dataDir, 'root.json'), join(metadataDir, 'root.json'));
    const updater = new Updater({ metadataDir, indexUrl: index.url, snapshotMode, ...(fetcher ? { fetcher } : {}) });
    await updater.refresh();
    const page = await updater.getTargetInfo('gcpkg/index.json');
    assert.ok(page);
    const files = (JSON.parse((await updater.downloadTarget(page)).toString()) as { files: { filename: string }[] }).files;
    for (const f of files) {
      const info = await updater.getTargetInfo(`gcpkg/${f.filename}`);
      assert.ok(info, f.filename);
      await updater.downloadTarget(info);
    }
    return files.length;
  };

  before(async () => {
    index = await startIndex({ bins: 16 });
    token = await index.user('gc');
    for (let i = 0; i < 5; i++) await upload();
    await index.repo.settle();
  });
  after(() => index.close());

  it('a dry run removes nothing', async () => {
    const before = await readdir(join(index.dataDir, 'public', 'metadata'));
    const r = await collectGarbage(index.repo, { keep: 1, graceMs: 0, dryRun: true });
    assert.ok(r.removed.length > 0);
    assert.deepEqual(await readdir(join(index.dataDir, 'public', 'metadata')), before);
  });

  it('keeps the newest snapshots, every root and every current target; removes the rest', async () => {
    // Classic snapshots are written on their cadence, so their versions skip publications.
    const classic = (await readdir(join(index.dataDir, 'public', 'metadata')))
      .map((f) => /^(\d+)\.snapshot\.json$/.exec(f)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => b - a);
    const current = index.repo.publisher.roleState('snapshot')?.version;
    assert.equal(classic[0], current);
    assert.ok(classic.length > 2, `classic snapshots ${classic.join()}`);
    const r = await collectGarbage(index.repo, { keep: 2, graceMs: 0 });
    assert.deepEqual(r.keptSnapshots, classic.slice(0, 2));
    assert.ok(r.removed.some((p) => p === `metadata/${classic[2]}.snapshot.json`));
    assert.ok(r.removed.some((p) => p.startsWith('targets/gcpkg/') && p.endsWith('.index.json')), 'old pages removed');
    await access(join(index.dataDir, 'public', 'metadata', '1.root.json'));
    await access(join(index.dataDir, 'public', 'metadata', `${current}.snapshot.json`));
    await assert.rejects(access(join(index.dataDir, 'public', 'metadata', `${classic[2]}.snapshot.json`)));
    assert.equal(await verifyAll(), 5, 'every file still verifies and downloads');
  });

  it('a client whose snapshot was collected meanwhile starts over from the newest timestamp', async () => {
    let triggered = false;
    const inner = new HttpFetcher();
    const fetcher: Fetcher = {
      fetch: async (url, max) => {
        if (!triggered && /\/metadata\/\d+\.snapshot\.json$/.test(url)) {
          triggered = true; // between the client's timestamp and snapshot requests: publish and collect
          await upload();
          await index.repo.settle();
          await collectGarbage(index.repo, { keep: 1, graceMs: 0 });
        }
        return inner.fetch(url, max);
      },
    };
    assert.equal(await verifyAll(fetcher, 'classic'), 6);
    assert.ok(triggered);
  });

  it('keeps the Merkle trees of the newest publications, and removes the files only older trees reached', async () => {
    await upload();
    await index.repo.settle();
    await upload();
    await index.repo.settle();
    const rootOf = (b: Buffer) => (JSON.parse(b.toString()) as { signed: { 'x-bulwark-merkle'?: { root: string } } }).signed['x-bulwark-merkle']?.root;
    const distinct = (list: Buffer[]) => [...new Set(list.map(rootOf).filter((r): r is string => r !== undefined))];
    const kept = distinct(await index.repo.state.recentTimestamps(3));
    const older = distinct(await index.repo.state.recentTimestamps(100)).filter((r) => !kept.includes(r));
    assert.ok(kept.length === 2 && older.length > 0, `${kept.length} trees kept, ${older.length} older`);
    const r = await collectGarbage(index.repo, { keep: 1, keepTrees: 3, graceMs: 0 });
    assert.deepEqual(r.keptTrees, kept);
    const merkle = join(index.dataDir, 'public', 'metadata', 'merkle');
    const left = await readdir(merkle);
    for (const root of kept) assert.ok(left.includes(`${root}.tree.json`), `tree ${root} kept`);
    for (const root of older) assert.ok(!left.includes(`${root}.tree.json`), `tree ${root} removed`);
    // A Merkle client still finds everything through the newest tree.
    assert.equal(await verifyAll(), 8);
  });

  it('stops at a timestamp that names a tree of the two-level layout, keeping the newer trees', async () => {
    await upload();
    await index.repo.settle();
    await upload();
    await index.repo.settle();
    // The publication before the newest as a two-level index recorded it.
    const db = new Database(join(index.dataDir, DATABASE_FILE));
    const rows = db.prepare('SELECT snapshot_version, timestamp_bytes FROM publications ORDER BY snapshot_version DESC LIMIT 2').all() as { snapshot_version: number; timestamp_bytes: Buffer }[];
    const [newest, previous] = rows as [(typeof rows)[0], (typeof rows)[0]];
    const doc = JSON.parse(previous.timestamp_bytes.toString()) as { signed: Record<string, { root: string; shards: number }> };
    const field = doc.signed['x-bulwark-merkle'] as { root: string; shards: number };
    doc.signed['x-bulwark-merkle'] = { groups: 4, root: field.root, shards: field.shards } as never;
    db.prepare('UPDATE publications SET timestamp_bytes = ? WHERE snapshot_version = ?').run(Buffer.from(JSON.stringify(doc)), previous.snapshot_version);
    db.close();
    const r = await collectGarbage(index.repo, { keep: 1, keepTrees: 100, graceMs: 0 });
    const newestRoot = (JSON.parse(newest.timestamp_bytes.toString()) as { signed: { 'x-bulwark-merkle': { root: string } } }).signed['x-bulwark-merkle'].root;
    assert.deepEqual(r.keptTrees, [newestRoot]);
    assert.ok((await verifyAll()) > 0, 'a Merkle client still finds everything through the newest tree');
  });
});
