// The snapshot leader inside one repository: only the lease holder publishes; a leader deposed
// while it still believes it leads can neither commit nor leave a file behind; the files of a
// publication that never committed are removed by the next leader; and a metadata file that is
// already there with other bytes is never replaced.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initDemoRepository } from '../../src/repository/init.js';
import { SnapshotLeadership } from '../../src/repository/leadership.js';
import { silentLogger } from '../../src/repository/logger.js';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { Repository } from '../../src/repository/repository.js';
import { BlobConflictError } from '../../src/storage/blob-store.js';
import { Metadata } from '../../src/tuf/index.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('the snapshot leader', () => {
  let index: IndexUnderTest;
  let token: string;
  let n = 0;
  const metaDir = () => join(index.dataDir, 'public', 'metadata');

  const upload = async (wait: boolean) => {
    n++;
    const { bytes } = memorySdist({ name: 'leadpkg', version: `1.${n}` });
    const res = await fetch(`${index.url}/legacy/${wait ? '' : '?wait=0'}`, {
      method: 'POST',
      headers: { authorization: basicAuth(token) },
      body: uploadForm({ ':action': 'file_upload', name: 'leadpkg', version: `1.${n}`, filetype: 'sdist', sha256_digest: sha256(bytes) }, { name: `leadpkg-1.${n}.tar.gz`, bytes }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { transaction: number }).transaction;
  };

  /** The newest timestamp, and a check that the snapshot file it names has the named hash. */
  const verifyNewest = async () => {
    const ts = Metadata.parse(await readFile(join(metaDir(), 'timestamp.json')), 'timestamp');
    const v = ts.signed.snapshotMeta.version;
    ts.signed.snapshotMeta.verify('snapshot', await readFile(join(metaDir(), `${v}.snapshot.json`)));
    return v;
  };
  /** The version of the next publication: the timestamp's, plus one. */
  const nextPublication = async () => Metadata.parse(await readFile(join(metaDir(), 'timestamp.json')), 'timestamp').signed.version + 1;

  before(async () => {
    index = await startIndex({ bins: 16 });
    token = await index.user('leader');
    await upload(true);
  });
  after(() => index.close());

  it('only the lease holder publishes', async () => {
    assert.ok(index.repo.leadership.current(), 'the index leads');
    const other = await Repository.open(index.dataDir);
    try {
      assert.equal(await other.publisher.publish(), undefined, 'a second process does not publish');
      assert.equal(other.leadership.current(), undefined);
    } finally {
      await other.close();
    }
    assert.ok(index.repo.leadership.current(), 'closing the other process did not end our lease');
  });

  it('a deposed leader that still believes it leads commits nothing and writes no file', async () => {
    await index.repo.settle(); // no publication under way (the classic snapshot built beside them is named)
    const state = index.repo.state;
    const ours = index.repo.leadership.current();
    assert.ok(ours);
    const before = new Set(await readdir(metaDir()));
    const timestampBefore = await readFile(join(metaDir(), 'timestamp.json'));
    // Another process takes the lease (as if it had found us dead).
    const usurper = await state.acquireLeadership('elsewhere/1/usurper', 60_000, ours);
    assert.ok(usurper);
    assert.ok(index.repo.leadership.current(), 'we still believe we lead');
    const seq = await upload(false);
    await index.repo.worker.idle();
    assert.equal(await index.repo.publisher.publish(), undefined, 'the publication is abandoned');
    assert.equal((await state.journalEntry(seq))?.state, 'applied', 'applied, not published');
    const added = (await readdir(metaDir())).filter((f) => !before.has(f) && !f.endsWith('.gz') && !f.endsWith('.br'));
    assert.deepEqual(added, [], 'no metadata file was created');
    assert.deepEqual(await readFile(join(metaDir(), 'timestamp.json')), timestampBefore);
    // The usurper leaves; we lead again in a new epoch and publish what waited.
    await state.releaseLeadership(usurper);
    const again = await index.repo.leadership.refresh();
    assert.ok(again && again.epoch > ours.epoch);
    await index.repo.settle();
    assert.equal((await state.journalEntry(seq))?.state, 'published');
    await verifyNewest();
  });

  it('removes the files of a publication that never committed, then publishes that version', async () => {
    const lease = index.repo.leadership.current();
    assert.ok(lease);
    const next = await nextPublication();
    const path = `metadata/${next}.snapshot.json`;
    await index.repo.state.recordPublicationIntent(lease, [path]);
    await writeFile(join(index.dataDir, 'public', path), 'half a publication');
    await writeFile(join(index.dataDir, 'public', `${path}.gz`), 'stale');
    // The leader goes away (as in a crash) and comes back as a new leader.
    await index.repo.leadership.stop();
    assert.ok(await index.repo.leadership.refresh());
    index.repo.publisher.forceNext(); // a classic snapshot with the publication, whatever its cadence
    await upload(true);
    assert.equal(await verifyNewest(), next);
    assert.deepEqual(await index.repo.state.publicationIntents(), []);
    assert.notEqual((await readFile(join(index.dataDir, 'public', `${path}.gz`)).catch(() => Buffer.from(''))).toString(), 'stale');
  });

  it('never replaces a metadata file that holds other bytes: the attempt fails, the next one repairs', async () => {
    await index.repo.settle(); // the classic snapshot caught up: the next publication is `next`
    const next = await nextPublication();
    const foreign = join(metaDir(), `${next}.snapshot.json`);
    await writeFile(foreign, 'written by someone else');
    index.repo.publisher.forceNext(); // a classic snapshot with it, whatever its cadence
    await upload(false);
    // The publication fails (and is retried after a pause) ...
    const deadline = Date.now() + 10_000;
    while (!(index.repo.publisher.lastError instanceof BlobConflictError)) {
      assert.ok(Date.now() < deadline, 'the publication met the foreign file');
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal((await readFile(foreign)).toString(), 'written by someone else', 'not replaced');
    // ... and the failed attempt recorded the name: the retry, as a new leader would, removes it first.
    await index.repo.settle();
    assert.equal(await verifyNewest(), next);
  });
});

/**
 * Makes the store count the lease's renewals, and returns a wait that lasts until the lease
 * held when it is called has run out and has been renewed twice since, or, if nothing renews
 * it, until it is surely lost: the store answering slowly.
 */
function slowStore(repo: Repository): () => Promise<{ epoch: number; leaseExpired: string; renewals: number }> {
  let renewals = 0;
  const renew = repo.state.renewLeadership.bind(repo.state);
  repo.state.renewLeadership = async (...args) => {
    const renewed = await renew(...args);
    if (renewed) renewals++;
    return renewed;
  };
  return async () => {
    const lease = await repo.state.leader();
    assert.ok(lease);
    const renewedBefore = renewals;
    const giveUp = Date.parse(lease.expiresAt) + 2 * repo.leadership.ttlMs;
    while ((Date.now() <= Date.parse(lease.expiresAt) || renewals < renewedBefore + 2) && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 50));
    return { epoch: lease.epoch, leaseExpired: lease.expiresAt, renewals: renewals - renewedBefore };
  };
}

describe('a publication that outlasts the lease', () => {
  it('keeps the lease renewed in a process that does not renew it all the time (a command)', async () => {
    const dataDir = await tempDir('long-publication');
    await initDemoRepository(dataDir, { bins: 16 });
    // Not started: like a CLI command that publishes once (a first publication of 16,384 bins,
    // a key rotation), nothing renews the lease on a timer. The store answers slowly here: until
    // the lease the publication had when it asked has run out, and has been renewed twice since.
    // A lease of 2 s (renewed every 500 ms, locally valid for 1.6 s) leaves a loaded machine
    // about a second of stall before the lease lapses for real.
    const repo = await Repository.open(dataDir, { leaderTtlMs: 2000 });
    try {
      const outlastLease = slowStore(repo); // if nothing renews it, the commit must fail
      let outlasted: { leaseExpired: string; renewals: number } | undefined;
      const record = repo.state.recordPublicationIntent.bind(repo.state);
      repo.state.recordPublicationIntent = async (...args) => {
        outlasted = await outlastLease();
        return record(...args);
      };
      await repo.publisher.init();
      const before = repo.publisher.snapshotVersion;
      repo.publisher.forceNext();
      const published = await repo.publisher.publish();
      assert.ok(outlasted, 'the publication went through the slow store');
      assert.equal(published?.snapshotVersion, before + 1, `committed under a lease renewed meanwhile (${JSON.stringify(outlasted)})`);
      assert.equal((await repo.state.leader())?.holder, repo.leadership.candidate, 'still the leader');
    } finally {
      await repo.close();
      await removeTempDir(dataDir);
    }
  });
});

describe('a take-over that outlasts the lease', () => {
  it('keeps the lease renewed while the new leader writes every file of the Merkle tree', async () => {
    const dataDir = await tempDir('long-takeover');
    await initDemoRepository(dataDir, { bins: 16 });
    // A first start writes the whole tree before it publishes (at 16,384 bins on a loaded
    // machine: 15 s, past the 10 s lease, and `serve` then exited as if another process led).
    // The store answers slowly here, as in the test above, while the tree's files are written.
    await rm(join(dataDir, 'public', 'metadata', 'merkle'), { recursive: true, force: true });
    const repo = await Repository.open(dataDir, { leaderTtlMs: 2000 });
    try {
      const outlastLease = slowStore(repo);
      let outlasted: { epoch: number; leaseExpired: string; renewals: number } | undefined;
      const putNewAll = repo.blobs.putNewAll.bind(repo.blobs);
      repo.blobs.putNewAll = async (files) => {
        if (!outlasted && files.some((f) => f.path.startsWith('metadata/merkle/'))) outlasted = await outlastLease();
        return putNewAll(files);
      };
      await repo.start();
      assert.ok(outlasted, 'the take-over wrote the tree through the slow store');
      assert.ok(repo.leadership.current(), `still the leader after the take-over (${JSON.stringify(outlasted)})`);
      assert.equal((await repo.state.leader())?.epoch, outlasted.epoch, 'the lease it took over with, never lost and taken again');
    } finally {
      await repo.close();
      await removeTempDir(dataDir);
    }
  });
});

describe('a follower (a candidate another process leads)', () => {
  it('does not ask the store on every publication request, and still takes over soon after a release', async () => {
    const dir = await tempDir('follower');
    const state = new SqliteState(join(dir, 'bulwark.db'));
    const leader = new SnapshotLeadership({ state, log: silentLogger, ttlMs: 10_000 });
    const follower = new SnapshotLeadership({ state, log: silentLogger, ttlMs: 10_000 });
    try {
      assert.ok(await leader.refresh(), 'the first candidate leads');
      let attempts = 0;
      const acquire = state.acquireLeadership.bind(state);
      state.acquireLeadership = (...args) => {
        attempts++;
        return acquire(...args);
      };
      follower.start(); // a standing candidate: its timer tries every quarter period
      // Every applied upload asks every worker for a publication: 200 quick requests.
      for (let i = 0; i < 200; i++) assert.equal(await follower.ensure(), undefined, 'another process leads');
      // One or two in practice; a little room for a slow machine (a stall past the retry interval).
      assert.ok(attempts <= 5, `the store was asked ${attempts} times for 200 requests`);
      await leader.stop(); // releases the lease
      await new Promise((r) => setTimeout(r, 600));
      const lease = await follower.ensure();
      assert.ok(lease, 'a request after the retry interval takes the released lease');
      assert.equal((await state.leader())?.holder, follower.candidate);
    } finally {
      await follower.stop();
      await leader.stop();
      await state.close();
      await removeTempDir(dir);
    }
  });
});
