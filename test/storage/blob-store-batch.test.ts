// The blob store's batch writes (a publication's files, made durable together): every file is
// created with its bytes, a name already there with the same bytes is kept as it is, one with
// other bytes is never replaced, and putAll replaces names atomically. The order of fsyncs is
// test/crash/fsync-order's job.
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobConflictError, FsBlobStore } from '../../src/storage/blob-store.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';

describe('FsBlobStore batch writes', () => {
  let dir: string;
  let blobs: FsBlobStore;
  before(async () => {
    dir = await tempDir('blob-batch');
    blobs = new FsBlobStore(dir);
  });
  after(() => removeTempDir(dir));

  it('putNewAll creates every file in two directories, keeps a name that has the same bytes, and leaves no temporary file', async () => {
    await mkdir(join(dir, 'metadata', 'merkle'), { recursive: true });
    await writeFile(join(dir, 'metadata', 'merkle', 'a.shard.json'), 'shard a');
    const kept = await stat(join(dir, 'metadata', 'merkle', 'a.shard.json'));
    await blobs.putNewAll([
      { path: 'metadata/2.bins-0.json', bytes: Buffer.from('bin 0') },
      { path: 'metadata/2.snapshot.json', bytes: Buffer.from('snapshot') },
      { path: 'metadata/merkle/a.shard.json', bytes: Buffer.from('shard a') },
      { path: 'metadata/merkle/b.top.json', bytes: Buffer.from('top b') },
    ]);
    assert.equal(await readFile(join(dir, 'metadata', '2.bins-0.json'), 'utf8'), 'bin 0');
    assert.equal(await readFile(join(dir, 'metadata', '2.snapshot.json'), 'utf8'), 'snapshot');
    assert.equal(await readFile(join(dir, 'metadata', 'merkle', 'b.top.json'), 'utf8'), 'top b');
    const after = await stat(join(dir, 'metadata', 'merkle', 'a.shard.json'));
    assert.deepEqual([after.ino, after.mtimeMs], [kept.ino, kept.mtimeMs], 'the existing file was not rewritten');
    const names = [...(await readdir(join(dir, 'metadata'), { recursive: true }))].map(String);
    assert.deepEqual(names.filter((n) => n.includes('.tmp-')), []);
  });

  it('putNewAll refuses a name that holds other bytes and leaves it as it was', async () => {
    await assert.rejects(
      blobs.putNewAll([
        { path: 'metadata/3.bins-0.json', bytes: Buffer.from('bin 0, version 3') },
        { path: 'metadata/2.bins-0.json', bytes: Buffer.from('another bin 0') },
      ]),
      (e: unknown) => e instanceof BlobConflictError && e.path === 'metadata/2.bins-0.json'
    );
    assert.equal(await readFile(join(dir, 'metadata', '2.bins-0.json'), 'utf8'), 'bin 0');
  });

  it('putAll writes and replaces every file', async () => {
    await blobs.putAll([
      { path: 'metadata/2.bins-0.json.gz', bytes: Buffer.from('gz 1') },
      { path: 'metadata/2.bins-0.json.br', bytes: Buffer.from('br 1') },
    ]);
    await blobs.putAll([{ path: 'metadata/2.bins-0.json.gz', bytes: Buffer.from('gz 2') }]);
    assert.equal(await readFile(join(dir, 'metadata', '2.bins-0.json.gz'), 'utf8'), 'gz 2');
    assert.equal(await readFile(join(dir, 'metadata', '2.bins-0.json.br'), 'utf8'), 'br 1');
  });
});
