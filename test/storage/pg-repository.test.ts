// The repository end to end with its state in PostgreSQL (issue 6, first part): the demo
// repository made by `init` is moved into an empty database on first open; concurrent uploads
// over HTTP end up in one consistent published snapshot; a second, API-only server on the same
// database and data directory races the first on the same file names (exactly one wins) and
// its uploads are published by the first process; a crash between the commit and the
// timestamp write is repaired at start-up from the bytes stored in PostgreSQL.
// Skipped (with a message) only when PostgreSQL is not installed and CI is not set.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Repository } from '../../src/repository/repository.js';
import { buildServer } from '../../src/server/app.js';
import { MOVED_TO_SETTING, openStateStore } from '../../src/storage/state/open-state.js';
import { PgState } from '../../src/storage/state/pg-state.js';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { Metadata } from '../../src/tuf/index.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { postgresOrSkip } from '../helpers/postgres.js';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function sdist(project: string, version: string, size = 100) {
  const { bytes } = memorySdist({ name: project, version, payload: Buffer.alloc(size, `${project}-${version}`) });
  const fields = {
    ':action': 'file_upload',
    protocol_version: '1',
    name: project,
    version,
    filetype: 'sdist',
    pyversion: 'source',
    sha256_digest: sha256(bytes),
  };
  return uploadForm(fields, { name: `${project}-${version}.tar.gz`, bytes });
}

const readMeta = (dataDir: string, name: string) => readFile(join(dataDir, 'public', 'metadata', name));

/** Checks from timestamp.json down that every `project/file` is listed with the served bytes' hash. */
async function assertPublished(index: IndexUnderTest, files: { project: string; filename: string }[]): Promise<number> {
  const ts = Metadata.parse(await readMeta(index.dataDir, 'timestamp.json'), 'timestamp');
  const snapshotBytes = await readMeta(index.dataDir, `${ts.signed.snapshotMeta.version}.snapshot.json`);
  ts.signed.snapshotMeta.verify('snapshot', snapshotBytes);
  const snapshot = Metadata.parse(snapshotBytes, 'snapshot');
  for (const { project, filename } of files) {
    const path = `${project}/${filename}`;
    const bin = index.repo.bins.roleForTarget(path);
    const version = snapshot.signed.meta.get(`${bin}.json`)?.version;
    assert.ok(version, `${bin} in snapshot`);
    const binMeta = Metadata.parse(await readMeta(index.dataDir, `${version}.${bin}.json`), 'targets', bin);
    const target = binMeta.signed.targets.get(path);
    assert.ok(target, `${path} listed in ${bin}`);
    target.verify(await readFile(join(index.dataDir, 'public', 'targets', project, `${target.hashes['sha256']}.${filename}`)));
  }
  return snapshot.signed.version;
}

const pgInfo = await postgresOrSkip();

describe('repository on PostgreSQL', { skip: pgInfo.skip ?? false }, () => {
  let url: string;
  let index: IndexUnderTest;
  let token: string;

  before(async () => {
    url = await pgInfo.cluster!.createDatabase('repo');
    index = await startIndex({ bins: 16, databaseUrl: url });
    token = await index.user('alice');
  });
  after(() => index.close());

  it('moved the demo repository into PostgreSQL; the embedded file now refuses', async () => {
    assert.ok(index.repo.state instanceof PgState);
    const sqlite = new SqliteState(join(index.dataDir, 'bulwark.db'));
    assert.ok(await sqlite.getSetting(MOVED_TO_SETTING));
    await sqlite.close();
    await assert.rejects(Repository.open(index.dataDir, { databaseUrl: '' }), /moved to PostgreSQL/);
  });

  it('publishes 40 concurrent uploads, over several projects and bins, into one consistent state', async () => {
    const uploads = [];
    for (let i = 0; i < 40; i++) {
      uploads.push(fetch(`${index.url}/legacy/`, { method: 'POST', body: sdist(`proj${i % 10}`, `1.${i}`), headers: { authorization: basicAuth(token) } }));
    }
    const responses = await Promise.all(uploads);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { status: string; snapshot_version: number }[];
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.deepEqual(new Set(bodies.map((b) => b.status)), new Set(['published']));
    await index.repo.settle();
    const version = await assertPublished(
      index,
      Array.from({ length: 40 }, (_, i) => ({ project: `proj${i % 10}`, filename: `proj${i % 10}-1.${i}.tar.gz` }))
    );
    assert.ok(Math.max(...bodies.map((b) => b.snapshot_version)) <= version);
    const page = (await (await fetch(`${index.url}/simple/proj3/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as { files: unknown[] };
    assert.equal(page.files.length, 4);
    // What PostgreSQL holds, read through another connection.
    const other = await PgState.connect(url);
    try {
      assert.deepEqual(await other.collectPublishInputs([]), { dirtyRoles: [], appliedSeqs: [] }, 'nothing left unpublished');
      assert.equal((await other.listProjects()).length, 10);
      assert.equal((await other.latestTimestamp())?.snapshotVersion, version);
    } finally {
      await other.close();
    }
  });

  it('a second, API-only server on the same database: duplicates refused across servers, its uploads published by the first', async () => {
    // No start(): no worker, no snapshot process. It records uploads; the first process's
    // poll of the shared database finds them and publishes.
    const api = await Repository.open(index.dataDir, { databaseUrl: url });
    let app: FastifyInstance | undefined;
    try {
      app = await buildServer(api, { waitForPublishMs: 0 });
      const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
      const servers = [index.url, apiUrl];
      // The same file name, 10 times through each server at once: one success.
      const same = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          fetch(`${servers[i % 2]}/legacy/`, { method: 'POST', body: sdist('race', '1.0'), headers: { authorization: basicAuth(token) } })
        )
      );
      const texts = await Promise.all(same.map((r) => r.text()));
      assert.equal(same.filter((r) => r.status === 200).length, 1, texts.join('\n'));
      for (let i = 0; i < same.length; i++) if (same[i]!.status !== 200) assert.match(texts[i]!, /already exists/i, `${same[i]!.status} ${texts[i]}`);
      // Distinct files through the API-only server: accepted, then published by the other process.
      const mine = await Promise.all(
        Array.from({ length: 6 }, (_, i) => fetch(`${apiUrl}/legacy/`, { method: 'POST', body: sdist('apiproj', `2.${i}`), headers: { authorization: basicAuth(token) } }))
      );
      assert.deepEqual(mine.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      const deadline = Date.now() + 20_000;
      while ((await index.repo.state.hasPendingWork()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await index.repo.settle();
      await assertPublished(index, [
        { project: 'race', filename: 'race-1.0.tar.gz' },
        ...Array.from({ length: 6 }, (_, i) => ({ project: 'apiproj', filename: `apiproj-2.${i}.tar.gz` })),
      ]);
    } finally {
      await app?.close();
      await api.close();
    }
  });

  it('repairs timestamp.json at start-up from the bytes PostgreSQL stored', async () => {
    await index.repo.settle();
    const good = await readMeta(index.dataDir, 'timestamp.json');
    const stale = await readMeta(index.dataDir, '1.snapshot.json');
    await index.app.close();
    await index.repo.close();
    await writeFile(join(index.dataDir, 'public', 'metadata', 'timestamp.json'), stale);
    const reopened = await Repository.open(index.dataDir, { databaseUrl: url });
    await reopened.start();
    assert.deepEqual(await readMeta(index.dataDir, 'timestamp.json'), good);
    await reopened.close();
    // The state is where it was: open it once more for after() to close.
    const state = await openStateStore(index.dataDir, url);
    assert.ok((await state.listProjects()).some((p) => p.name === 'apiproj'));
    await state.close();
    const repo = await Repository.open(index.dataDir, { databaseUrl: url });
    const app = await buildServer(repo);
    index = { ...index, repo, app, close: async () => { await app.close(); await repo.close(); } };
  });
});
