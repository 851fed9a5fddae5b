// The gzip and brotli copies of new metadata are made after the publication, in the background;
// a version superseded before its turn comes is not compressed (nobody is sent it any more), nor
// one superseded within a second of its publication (under load, most snapshots).
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initDemoRepository } from '../../src/repository/init.js';
import { metadataBlobPath, ROLES } from '../../src/repository/layout.js';
import { Repository } from '../../src/repository/repository.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';

const exists = (path: string) => access(path).then(() => true, () => false);

describe('compressed copies of metadata', () => {
  it('compresses the newest snapshot and skips one superseded before its turn', async () => {
    const dataDir = await tempDir('compression');
    await initDemoRepository(dataDir, { bins: 64 }); // a snapshot above the 1 KiB worth compressing
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

  it('waits a moment after a publication, so a snapshot superseded meanwhile is never even read', async () => {
    const dataDir = await tempDir('compression-delay');
    await initDemoRepository(dataDir, { bins: 64 });
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
