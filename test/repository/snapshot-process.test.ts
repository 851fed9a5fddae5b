// The snapshot process against a real repository on disk: concurrent uploads all end up in
// one consistent published state; a publication cut short between its commit and the
// timestamp write is repaired at start-up; online roles close to expiry are re-signed; an index
// whose last timestamp names a tree of the two-level layout publishes a three-level one at start-up.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Updater } from '../../src/client/updater.js';
import { DATABASE_FILE } from '../../src/repository/paths.js';
import { Repository } from '../../src/repository/repository.js';
import { MERKLE_FIELD, Metadata, parseMerkleField, readMerkleNodes, shardFileName, verifyShardFile } from '../../src/tuf/index.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function sdist(project: string, version: string, size = 100) {
  const { bytes } = memorySdist({ name: project, version, payload: Buffer.alloc(size, `${project}-${version}`) });
  const name = `${project}-${version}.tar.gz`;
  const fields = {
    ':action': 'file_upload',
    protocol_version: '1',
    name: project,
    version,
    filetype: 'sdist',
    pyversion: 'source',
    sha256_digest: sha256(bytes),
  };
  return uploadForm(fields, { name, bytes });
}

async function readMeta(dataDir: string, name: string): Promise<Buffer> {
  return readFile(join(dataDir, 'public', 'metadata', name));
}

describe('snapshot process', () => {
  let index: IndexUnderTest;
  let token: string;

  before(async () => {
    index = await startIndex({ bins: 16 });
    token = await index.user('alice');
  });
  after(() => index.close());

  it('publishes 40 concurrent uploads, over several projects and bins, into one consistent state', async () => {
    const uploads = [];
    for (let i = 0; i < 40; i++) {
      uploads.push(
        fetch(`${index.url}/legacy/`, { method: 'POST', body: sdist(`proj${i % 10}`, `1.${i}`), headers: { authorization: basicAuth(token) } })
      );
    }
    const responses = await Promise.all(uploads);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { status: string; snapshot_version: number }[];
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.deepEqual(new Set(bodies.map((b) => b.status)), new Set(['published']));
    await index.repo.settle();

    // Walk the published metadata with our core: every uploaded file is listed in its bin,
    // with the hash of the bytes served under its consistent name.
    const ts = Metadata.parse(await readMeta(index.dataDir, 'timestamp.json'), 'timestamp');
    const snapshotBytes = await readMeta(index.dataDir, `${ts.signed.snapshotMeta.version}.snapshot.json`);
    ts.signed.snapshotMeta.verify('snapshot', snapshotBytes);
    const snapshot = Metadata.parse(snapshotBytes, 'snapshot');
    assert.ok(Math.max(...bodies.map((b) => b.snapshot_version)) <= snapshot.signed.version);
    const bins = index.repo.bins;
    let listed = 0;
    for (let i = 0; i < 40; i++) {
      const path = `proj${i % 10}/proj${i % 10}-1.${i}.tar.gz`;
      const bin = bins.roleForTarget(path);
      const version = snapshot.signed.meta.get(`${bin}.json`)?.version;
      assert.ok(version, `${bin} in snapshot`);
      const binMeta = Metadata.parse(await readMeta(index.dataDir, `${version}.${bin}.json`), 'targets', bin);
      const target = binMeta.signed.targets.get(path);
      assert.ok(target, `${path} listed in ${bin}`);
      const blob = await readFile(join(index.dataDir, 'public', 'targets', `proj${i % 10}`, `${target.hashes['sha256']}.proj${i % 10}-1.${i}.tar.gz`));
      target.verify(blob);
      listed++;
    }
    assert.equal(listed, 40);
    // Each project's pages list all four of its files.
    const page = (await (await fetch(`${index.url}/simple/proj3/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as { files: unknown[] };
    assert.equal(page.files.length, 4);
    const inputs = await index.repo.state.collectPublishInputs([]);
    assert.deepEqual(inputs, { dirtyRoles: [], appliedSeqs: [] }, 'nothing left unpublished');
  });

  it('repairs timestamp.json at start-up after a crash between the commit and the timestamp write', async () => {
    await index.repo.settle();
    const good = await readMeta(index.dataDir, 'timestamp.json');
    const stale = await readMeta(index.dataDir, '1.snapshot.json'); // anything else: a torn or old state
    await index.app.close();
    await index.repo.close();
    await writeFile(join(index.dataDir, 'public', 'metadata', 'timestamp.json'), stale);
    const reopened = await Repository.open(index.dataDir);
    await reopened.start();
    assert.deepEqual(await readMeta(index.dataDir, 'timestamp.json'), good);
    await reopened.close();
    index = await reopenIndex(index);
  });

  it('an index whose last timestamp names a two-level tree: a new leader publishes a three-level one, which a client follows', async () => {
    await index.repo.settle();
    await index.app.close();
    await index.repo.close();
    // As a two-level index left it: its last timestamp's field lists `groups`, its tree files
    // are .top.json and .group.json. (The signature no longer verifies: only the field matters
    // to the leader, and a client never sees this timestamp once the leader has published.)
    const merkleDir = join(index.dataDir, 'public', 'metadata', 'merkle');
    const db = new Database(join(index.dataDir, DATABASE_FILE));
    const row = db.prepare('SELECT snapshot_version, timestamp_bytes FROM publications ORDER BY snapshot_version DESC LIMIT 1').get() as { snapshot_version: number; timestamp_bytes: Buffer };
    const doc = JSON.parse(row.timestamp_bytes.toString()) as { signed: Record<string, unknown> & { version: number } };
    const field = parseMerkleField(doc.signed[MERKLE_FIELD]);
    doc.signed[MERKLE_FIELD] = { groups: 4, root: field.root, shards: field.shards };
    const old = Buffer.from(JSON.stringify(doc));
    db.prepare('UPDATE publications SET timestamp_bytes = ? WHERE snapshot_version = ?').run(old, row.snapshot_version);
    db.close();
    await writeFile(join(index.dataDir, 'public', 'metadata', 'timestamp.json'), old);
    for (const name of await readdir(merkleDir)) if (!name.includes('.shard.json')) await rm(join(merkleDir, name));
    await writeFile(join(merkleDir, `${field.root}.top.json`), JSON.stringify({ groups: [], shards: field.shards }));

    index = await reopenIndex(index);
    await index.repo.settle();
    const ts = Metadata.parse(await readMeta(index.dataDir, 'timestamp.json'), 'timestamp');
    assert.ok(ts.signed.version > doc.signed.version, 'a new timestamp was published at start-up');
    const now = parseMerkleField(ts.signed.unrecognized[MERKLE_FIELD]); // the three-level layout's field
    assert.equal(now.fanout.length, 3);
    // Every file of the tree it names is there and verifies.
    const { shards } = await readMerkleNodes(now, async (name, verify) => verify(await readFile(join(merkleDir, name))));
    for (const [i, h] of shards.entries()) verifyShardFile(await readFile(join(merkleDir, shardFileName(h))), h, i, now);
    // A Merkle client follows it.
    const cache = await tempDir('merkle-upgrade-client');
    try {
      await writeFile(join(cache, 'root.json'), await readMeta(index.dataDir, '1.root.json'));
      const u = new Updater({ metadataDir: cache, indexUrl: index.url });
      await u.refresh();
      assert.ok(await u.findTarget('proj0/proj0-1.0.tar.gz'), 'an uploaded file is found through the new tree');
      assert.ok((await readdir(join(cache, 'merkle'))).some((n) => n.endsWith('.tree.json')), 'the client walked the new tree');
    } finally {
      await removeTempDir(cache);
    }
  });

  it('re-signs online roles that are close to expiry, with no upload needed', async () => {
    await index.repo.settle();
    const before = await index.repo.state.roleStates();
    const byName = new Map(before.map((r) => [r.name, r]));
    await index.app.close();
    await index.repo.close();
    const later = new Date(Date.now() + 5 * 24 * 3600 * 1000); // bins & snapshot (7 d) past half-life
    let now = later;
    const repo = await Repository.open(index.dataDir, { clock: () => now });
    await repo.start();
    await repo.settle();
    const afterStates = new Map((await repo.state.roleStates()).map((r) => [r.name, r]));
    for (const name of ['timestamp', 'snapshot', 'unclaimed', 'recently-claimed', 'bins-0', 'bins-f']) {
      assert.ok((afterStates.get(name)?.version ?? 0) > (byName.get(name)?.version ?? 0), `${name} re-signed`);
      assert.ok(Date.parse(afterStates.get(name)?.expires ?? '') > later.getTime(), `${name} valid after the new time`);
    }
    for (const name of ['root', 'targets', 'claimed']) {
      assert.equal(afterStates.get(name)?.version, byName.get(name)?.version, `offline role ${name} untouched`);
    }
    // The same process, days later: the deadlines it noted pass while it runs.
    assert.equal(repo.publisher.needsPublication(), false, 'everything was just re-signed');
    now = new Date(later.getTime() + 5 * 24 * 3600 * 1000);
    assert.equal(repo.publisher.needsPublication(), true, 'half-life passed again while the process ran');
    repo.publisher.request();
    await repo.settle();
    const again = new Map((await repo.state.roleStates()).map((r) => [r.name, r]));
    for (const name of ['snapshot', 'unclaimed', 'bins-0', 'bins-f']) {
      assert.ok((again.get(name)?.version ?? 0) > (afterStates.get(name)?.version ?? 0), `${name} re-signed again`);
    }
    assert.equal(repo.publisher.needsPublication(), false);
    await repo.close();
    index = await reopenIndex(index);
  });
});

/** A fresh server on the same data directory (the old one was closed by the test). */
async function reopenIndex(old: IndexUnderTest): Promise<IndexUnderTest> {
  const { buildServer } = await import('../../src/server/app.js');
  const repo = await Repository.open(old.dataDir);
  await repo.start();
  const app = await buildServer(repo);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { ...old, url, repo, app, close: async () => { await app.close(); await repo.close(); } };
}
