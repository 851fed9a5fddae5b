// The gzip and brotli copies of new metadata are made after the publication, in the background.
// With a Merkle tree (the default) the classic snapshot is written at most once a second and
// compressed at once, so an index publishing faster than that still serves it compressed. Without
// a tree, a version superseded before its turn comes is not compressed (nobody is sent it any
// more), nor one superseded within a second of its publication.
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, saveConfig } from '../../src/repository/config.js';
import { initDemoRepository } from '../../src/repository/init.js';
import { metadataBlobPath, ROLES } from '../../src/repository/layout.js';
import { Repository } from '../../src/repository/repository.js';
import { Metadata } from '../../src/tuf/index.js';
import { basicAuth, sdistUploadForm, startIndex } from '../helpers/index-under-test.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';

const exists = (path: string) => access(path).then(() => true, () => false);

async function withoutMerkle(dataDir: string): Promise<void> {
  const cfg = await loadConfig(dataDir);
  if (!cfg) throw new Error('no config');
  await saveConfig(dataDir, { ...cfg, merkle: { enabled: false } });
}


describe('compressed copies of metadata', () => {
  it('serves a compressed classic snapshot while publications come faster than one a second', async () => {
    const index = await startIndex({ bins: 64 }); // a snapshot above the 1 KiB worth compressing
    try {
      const token = await index.user('alice');
      const started = Date.now();
      let publications = 0;
      let compressedSeen = 0;
      // Uploads one after another (each answered once published) for 2.5 s and at least 8 of
      // them: many publications a second on an idle machine (a loaded one may manage fewer, so
      // the rate is not asserted). After each, is the snapshot that timestamp.json names served
      // compressed?
      while (Date.now() - started < 2500 || publications < 8) {
        const res = await fetch(`${index.url}/legacy/`, { method: 'POST', body: sdistUploadForm(`burst${publications % 7}`, `1.${publications}`), headers: { authorization: basicAuth(token) } });
        assert.equal(res.status, 200, await res.text());
        publications++;
        const ts = Metadata.parse(await readFile(join(index.dataDir, 'public', 'metadata', 'timestamp.json')), 'timestamp');
        if (await exists(join(index.dataDir, 'public', `${metadataBlobPath(ROLES.snapshot, ts.signed.snapshotMeta.version)}.gz`))) compressedSeen++;
      }
      const rate = `${publications} publications in ${Date.now() - started} ms`;
      assert.ok(compressedSeen > 0, `none of ${rate} named a compressed snapshot`);
      // Nobody calls idle(): the timer brings the newest state to classic clients on its own.
      const deadline = Date.now() + 30_000;
      for (;;) {
        // Caught up: the classic snapshot names the newest version of every role it lists.
        const metaDir = join(index.dataDir, 'public', 'metadata');
        const ts = Metadata.parse(await readFile(join(metaDir, 'timestamp.json')), 'timestamp');
        const snap = Metadata.parse(await readFile(join(metaDir, `${ts.signed.snapshotMeta.version}.snapshot.json`)), 'snapshot');
        const newer = await Promise.all([...snap.signed.meta].map(([file, m]) => exists(join(metaDir, `${m.version + 1}.${file}`))));
        if (!newer.includes(true)) break;
        assert.ok(Date.now() < deadline, 'the classic snapshot never caught up with the newest publication');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await index.close();
    }
  });

  it('without a Merkle tree: compresses the newest snapshot and skips one superseded before its turn', async () => {
    const dataDir = await tempDir('compression');
    await initDemoRepository(dataDir, { bins: 64 }); // a snapshot above the 1 KiB worth compressing
    await withoutMerkle(dataDir);
    const repo = await Repository.open(dataDir, { compress: true });
    try {
      await repo.publisher.init();
      // Hold the compression of the first publication's snapshot until the second is out.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const first = repo.publisher.snapshotVersion + 1;
      const get = repo.blobs.get.bind(repo.blobs);
      repo.blobs.get = async (path) => {
        if (path === metadataBlobPath(ROLES.snapshot, first)) await gate;
        return get(path);
      };
      repo.publisher.forceNext();
      assert.equal((await repo.publisher.publish())?.snapshotVersion, first);
      repo.publisher.forceNext();
      assert.equal((await repo.publisher.publish())?.snapshotVersion, first + 1);
      release();
      await repo.publisher.idle();
      const file = (v: number, ext: string) => join(dataDir, 'public', `${metadataBlobPath(ROLES.snapshot, v)}${ext}`);
      assert.equal(await exists(file(first, '')), true);
      assert.equal(await exists(file(first, '.gz')), false, 'superseded: not compressed');
      assert.equal(await exists(file(first, '.br')), false);
      assert.equal(await exists(file(first + 1, '.gz')), true, 'the newest is compressed');
      assert.equal(await exists(file(first + 1, '.br')), true);
    } finally {
      await repo.close();
      await removeTempDir(dataDir);
    }
  });

  it('without a Merkle tree: waits a moment after a publication, so a snapshot superseded meanwhile is never even read', async () => {
    const dataDir = await tempDir('compression-delay');
    await initDemoRepository(dataDir, { bins: 64 });
    await withoutMerkle(dataDir);
    const repo = await Repository.open(dataDir, { compress: true });
    try {
      await repo.publisher.init();
      const reads: string[] = [];
      const get = repo.blobs.get.bind(repo.blobs);
      repo.blobs.get = (path) => {
        reads.push(path);
        return get(path);
      };
      const first = repo.publisher.snapshotVersion + 1;
      for (let i = 0; i < 3; i++) {
        repo.publisher.forceNext();
        assert.equal((await repo.publisher.publish())?.snapshotVersion, first + i);
      }
      await repo.publisher.idle(); // compresses what waits, without waiting for the delay
      const snapshotPath = (v: number) => metadataBlobPath(ROLES.snapshot, v);
      assert.deepEqual(reads.filter((p) => p === snapshotPath(first) || p === snapshotPath(first + 1)), [], 'superseded within the delay: not read');
      assert.ok(reads.includes(snapshotPath(first + 2)), 'the newest is read to be compressed');
      assert.equal(await exists(join(dataDir, 'public', `${snapshotPath(first + 2)}.gz`)), true);
    } finally {
      await repo.close();
      await removeTempDir(dataDir);
    }
  });
});
