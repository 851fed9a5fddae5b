// SPDX-License-Identifier: Apache-2.0
// The classic snapshot.json built beside publications (src/repository/classic-snapshot.ts,
// issue 12): with a Merkle tree no publication writes it on its cadence (at PyPI's size that was
// a second of every publication); a build captures one publication's state and a later
// timestamp names it; an overtaken or orphaned build is never named; the cadence grows with
// the cost of a build.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ClassicSnapshotBuilder, CLASSIC_COST_FACTOR } from '../../src/repository/classic-snapshot.js';
import { ROLES } from '../../src/repository/layout.js';
import { silentLogger } from '../../src/repository/logger.js';
import { SnapshotMeta } from '../../src/repository/metadata-builder.js';
import type { PublicationResult } from '../../src/repository/snapshot-process.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import type { Lease, StateStore } from '../../src/storage/state/types.js';
import { Ed25519Signer, Metadata } from '../../src/tuf/index.js';
import { basicAuth, sdistUploadForm, startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';

async function upload(index: IndexUnderTest, token: string, project: string, version: string): Promise<void> {
  const res = await fetch(`${index.url}/legacy/`, { method: 'POST', body: sdistUploadForm(project, version), headers: { authorization: basicAuth(token) } });
  assert.equal(res.status, 200, await res.text());
}

/** Every classic snapshot built beside publications, however small (as at PyPI's size). */
const OUT_OF_BAND = { inlineClassicMaxBytes: 0 };

const metaPath = (index: IndexUnderTest, name: string) => join(index.dataDir, 'public', 'metadata', name);

/** Every snapshot version the timestamps of these publications named never decreases. */
function assertClassicNeverGoesBack(results: readonly PublicationResult[]): void {
  for (let i = 1; i < results.length; i++) {
    const [a, b] = [results[i - 1] as PublicationResult, results[i] as PublicationResult];
    assert.ok(b.classicSnapshotVersion >= a.classicSnapshotVersion, `publication ${b.snapshotVersion} named classic ${b.classicSnapshotVersion} after ${a.classicSnapshotVersion}`);
  }
}

describe('the classic snapshot built beside publications', () => {
  it('a small one is written by the publication itself, so classic clients see an answered upload', async () => {
    const index = await startIndex({ bins: 16 });
    try {
      const token = await index.user('dave');
      await new Promise((r) => setTimeout(r, 1100)); // one interval after the first publication
      const results: PublicationResult[] = [];
      index.repo.publisher.onPublished((r) => results.push(r));
      await upload(index, token, 'inline', '1.0');
      const own = results.find((r) => r.publishedSeqs.length > 0);
      assert.ok(own && own.classicSnapshotVersion === own.snapshotVersion, 'the upload\'s publication wrote the classic snapshot');
    } finally {
      await index.close();
    }
  });

  it('no publication writes a large one, even with no interval; a later timestamp names the state one captured', async () => {
    // Interval 0: the cadence that made every publication write one before.
    const index = await startIndex({ bins: 16, configure: (cfg) => ({ ...cfg, merkle: { ...OUT_OF_BAND, classicSnapshotIntervalMs: 0 } }) });
    try {
      const token = await index.user('alice');
      const results: PublicationResult[] = [];
      index.repo.publisher.onPublished((r) => results.push(r));
      for (let i = 0; i < 8; i++) await upload(index, token, `side${i % 3}`, `1.${i}`);
      await index.repo.publisher.classicBuilt();
      // (settle() below may flush one written by a publication itself: that is its job.)
      assert.ok(results.length >= 8);
      for (const r of results) {
        assert.ok(r.classicSnapshotVersion < r.snapshotVersion, `publication ${r.snapshotVersion} wrote classic snapshot ${r.classicSnapshotVersion} itself`);
      }
      assert.ok(results.some((r) => r.roles.includes(ROLES.snapshot)), 'some timestamp named a newly built classic snapshot');
      assertClassicNeverGoesBack(results);
      await index.repo.settle();

      // After settle() it lists every role at its newest version, signed and named by hash.
      const ts = Metadata.parse(await readFile(metaPath(index, 'timestamp.json')), 'timestamp');
      const snapBytes = await readFile(metaPath(index, `${ts.signed.snapshotMeta.version}.snapshot.json`));
      ts.signed.snapshotMeta.verify('snapshot', snapBytes);
      const snap = Metadata.parse(snapBytes, 'snapshot');
      for (const [file, m] of snap.signed.meta) {
        const role = file.slice(0, -'.json'.length);
        assert.equal(m.version, index.repo.publisher.roleState(role)?.version, `${role} at its newest version`);
        m.verify(role, await readFile(metaPath(index, `${m.version}.${file}`)));
      }
    } finally {
      await index.close();
    }
  });

  it('a build overtaken by a classic snapshot a publication wrote itself is never named', async () => {
    const index = await startIndex({ bins: 16, configure: (cfg) => ({ ...cfg, merkle: OUT_OF_BAND }) });
    try {
      const token = await index.user('bob');
      await upload(index, token, 'overtaken', '1.0');
      await index.repo.settle();
      const results: PublicationResult[] = [];
      index.repo.publisher.onPublished((r) => results.push(r));
      // Hold the next build's file until a forced publication wrote a newer classic snapshot.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let held: number | undefined;
      const putNewAll = index.repo.blobs.putNewAll.bind(index.repo.blobs);
      index.repo.blobs.putNewAll = async (files) => {
        const snap = files.length === 1 ? /^metadata\/(\d+)\.snapshot\.json$/.exec(files[0]?.path ?? '') : null;
        if (snap && held === undefined) {
          held = Number(snap[1]);
          await gate;
        }
        return putNewAll(files);
      };
      await upload(index, token, 'overtaken', '1.1'); // behind: a build starts and waits at the gate
      const deadline = Date.now() + 10_000;
      while (held === undefined) {
        assert.ok(Date.now() < deadline, 'a classic snapshot build started');
        await new Promise((r) => setTimeout(r, 5));
      }
      index.repo.publisher.forceNext();
      await upload(index, token, 'overtaken', '1.2');
      const forced = results.at(-1);
      assert.ok(forced && forced.classicSnapshotVersion === forced.snapshotVersion, 'the forced publication wrote its own');
      release();
      await index.repo.settle();
      assert.ok(!results.some((r) => r.classicSnapshotVersion === held), `the overtaken build (version ${held}) was never named`);
      assertClassicNeverGoesBack(results);
    } finally {
      await index.close();
    }
  });

  it('a build a leader wrote but never named is removed by the next leader, and built again', async () => {
    const index = await startIndex({ bins: 16, configure: (cfg) => ({ ...cfg, merkle: OUT_OF_BAND }) });
    try {
      const token = await index.user('carol');
      await upload(index, token, 'orphan', '1.0');
      await index.repo.settle();
      const epoch = index.repo.leadership.current()?.epoch;
      // The leader loses its lease right after the build's file is durable, before any
      // publication names it (as if it crashed there).
      let orphan: { path: string; bytes: Buffer } | undefined;
      const putNewAll = index.repo.blobs.putNewAll.bind(index.repo.blobs);
      index.repo.blobs.putNewAll = async (files) => {
        await putNewAll(files);
        const f = files[0];
        if (files.length === 1 && f && /\.snapshot\.json$/.test(f.path) && orphan === undefined) {
          assert.deepEqual(await index.repo.state.publicationIntents(), [f.path], 'recorded under the lease before it was written');
          orphan = { path: f.path, bytes: Buffer.from(f.bytes) };
          await index.repo.leadership.stop();
        }
      };
      await upload(index, token, 'orphan', '1.1');
      const deadline = Date.now() + 10_000;
      while (orphan === undefined) {
        assert.ok(Date.now() < deadline, 'a classic snapshot build wrote its file');
        await new Promise((r) => setTimeout(r, 5));
      }
      index.repo.blobs.putNewAll = putNewAll;
      await index.repo.leadership.refresh();
      await index.repo.settle();
      assert.ok((index.repo.leadership.current()?.epoch ?? 0) > (epoch ?? 0), 'a new epoch');
      assert.deepEqual(await index.repo.state.publicationIntents(), []);
      // The timestamp names a classic snapshot that verifies: never the orphan's bytes.
      const ts = Metadata.parse(await readFile(metaPath(index, 'timestamp.json')), 'timestamp');
      const named = await readFile(metaPath(index, `${ts.signed.snapshotMeta.version}.snapshot.json`));
      ts.signed.snapshotMeta.verify('snapshot', named);
      assert.ok(!named.equals(orphan.bytes), 'the orphan was removed and built again, not named');
    } finally {
      await index.close();
    }
  });
});

describe('the classic snapshot cadence', () => {
  it(`waits ${CLASSIC_COST_FACTOR}× the last build's cost between builds, and at least the configured interval`, async () => {
    const meta = new SnapshotMeta();
    for (let i = 0; i < 100; i++) meta.set(`bins-${i}`, 1, { length: 10, sha256: 'ab'.repeat(32) });
    const slowMs = 60;
    const blobs = { putNewAll: () => new Promise<void>((r) => setTimeout(r, slowMs)) } as unknown as BlobStore;
    const state = { recordPublicationIntent: () => Promise.resolve() } as unknown as StateStore;
    let ready = 0;
    const builder = new ClassicSnapshotBuilder({ state, blobs, log: silentLogger, minIntervalMs: 5, onReady: () => ready++, onSettled: () => undefined });
    const lease = { epoch: 1 } as Lease;
    const signer = Ed25519Signer.generate();
    assert.ok(builder.start({ lease, version: 7, expires: new Date(Date.now() + 86_400_000), meta, signer }, 1000));
    assert.equal(builder.start({ lease, version: 8, expires: new Date(), meta, signer }, 1001), false, 'one build at a time');
    await builder.idle();
    assert.equal(ready, 1);
    assert.ok(builder.nextStart() >= 1000 + CLASSIC_COST_FACTOR * slowMs, `next start ${builder.nextStart()}`);
    // Named once, only under its lease and key, and only if newer than the published one.
    const taken = builder.take(1, signer.keyId, 6);
    assert.equal(taken?.version, 7);
    assert.equal(builder.take(1, signer.keyId, 6), undefined, 'taken once');
    assert.ok(builder.start({ lease, version: 9, expires: new Date(Date.now() + 86_400_000), meta, signer }, 5000));
    await builder.idle();
    assert.equal(builder.take(2, signer.keyId, 6), undefined, 'another epoch');
    assert.ok(builder.start({ lease, version: 10, expires: new Date(Date.now() + 86_400_000), meta, signer }, 9000));
    await builder.idle();
    assert.equal(builder.take(1, signer.keyId, 10), undefined, 'not newer than the published one');
  });
});
