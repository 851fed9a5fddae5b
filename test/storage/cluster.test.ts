// A small cluster on PostgreSQL (issue 6), real processes on 127.0.0.1: two API servers that
// only take uploads (`serve --no-worker --no-snapshot`), two `bulwark worker`s that apply
// project transactions, one of them the elected snapshot leader. Concurrent uploaders spread
// over both API servers, several uploads per project; halfway the leader is killed with
// SIGKILL. Afterwards: every upload is recorded once and published, the other worker leads, the
// published snapshot versions run 1…N without a gap and each N.snapshot.json is the one its
// timestamp names (no version lost, none written twice), and a verifying client that trusts
// only the initial root downloads every file with the uploaded bytes.
// The full-size version (4 API servers, 2 workers, 50 uploaders, 5000 uploads) is
// bench/cluster-bench.ts. Skipped (with a message) only when PostgreSQL is not installed and CI
// is not set.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { seedRoot } from '../../src/client/client-cache.js';
import { VerifiedIndex } from '../../src/client/verified-index.js';
import { PgState } from '../../src/storage/state/pg-state.js';
import { Metadata } from '../../src/tuf/index.js';
import { basicAuth, uploadForm } from '../helpers/index-under-test.js';
import { postgresOrSkip } from '../helpers/postgres.js';
import { runBulwark, startBulwark, startWorker, tempDir, type RunningServer } from '../helpers/processes.js';
import { memorySdist } from '../helpers/memory-dists.js';

const pgInfo = await postgresOrSkip();
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const PROJECTS = 12;
const PER_PROJECT = 5;
const CONCURRENCY = 8;

describe('a cluster: API servers, workers and one snapshot leader on PostgreSQL', { skip: pgInfo.skip ?? false }, () => {
  const running: RunningServer[] = [];
  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
  });

  it('loses and duplicates nothing when the leader is killed mid-run, and verifies from the initial root', async () => {
    const url = await pgInfo.cluster!.createDatabase('cluster');
    const data = await tempDir('cluster');
    const env = { BULWARK_DATABASE_URL: '' };
    const db = ['--database', url];
    const init = await runBulwark(['--data', data, ...db, '--json', 'init', '--bins', '32'], { env });
    assert.equal(init.code, 0, init.stderr);
    assert.equal((JSON.parse(init.stdout) as { database: boolean }).database, true);
    const user = await runBulwark(['--data', data, ...db, '--json', 'user', 'add', 'uploader'], { env });
    assert.equal(user.code, 0, user.stderr);
    const token = (JSON.parse(user.stdout) as { token: string }).token;

    const workers = [
      await startWorker({ dataDir: data, args: [...db, '--leader-ttl', '2', '--log-level', 'warn'], env }),
      await startWorker({ dataDir: data, args: [...db, '--leader-ttl', '2', '--log-level', 'warn'], env }),
    ];
    running.push(...workers);
    const apis = [
      await startBulwark({ dataDir: data, args: [...db, '--no-worker', '--no-snapshot', '--log-level', 'warn'], env }),
      await startBulwark({ dataDir: data, args: [...db, '--no-worker', '--no-snapshot', '--log-level', 'warn'], env }),
    ];
    running.push(...apis);

    const state = await PgState.connect(url);
    try {
      const leaderPid = async () => Number((await state.leader())?.holder.split('/')[1]);
      const firstLeader = await leaderPid();
      const victim = workers.find((w) => w.port === firstLeader);
      assert.ok(victim, `the leader (pid ${firstLeader}) is one of the workers`);
      const survivor = workers.find((w) => w !== victim)!;

      const uploads = Array.from({ length: PROJECTS * PER_PROJECT }, (_, i) => {
        const project = `clu${i % PROJECTS}`;
        const version = `1.${Math.floor(i / PROJECTS)}`;
        return { project, filename: `${project}-${version}.tar.gz`, version, bytes: memorySdist({ name: project, version, payload: Buffer.from(`${project} ${version} `.repeat(20 + i)) }).bytes };
      });
      const answers: { status: number; body: { status?: string } }[] = [];
      let next = 0;
      let killed = false;
      const uploader = async (lane: number) => {
        while (next < uploads.length) {
          const u = uploads[next++]!;
          if (!killed && next > uploads.length / 2) {
            killed = true;
            victim.kill('SIGKILL');
          }
          const form = uploadForm(
            { ':action': 'file_upload', protocol_version: '1', name: u.project, version: u.version, filetype: 'sdist', pyversion: 'source', sha256_digest: sha256(u.bytes) },
            { name: u.filename, bytes: u.bytes }
          );
          const r = await fetch(`${apis[lane % apis.length]!.url}/legacy/`, { method: 'POST', body: form, headers: { authorization: basicAuth(token) } });
          answers.push({ status: r.status, body: (await r.json()) as { status?: string } });
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, (_, lane) => uploader(lane)));
      assert.ok(killed);
      assert.deepEqual(
        answers.filter((a) => a.status !== 200),
        [],
        'every upload accepted'
      );

      // Everything recorded once and published (answers still pending after the takeover are
      // published by the new leader shortly after).
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (!(await state.hasPendingWork())) break;
        assert.ok(Date.now() < deadline, 'all work published within 30 s of the last upload');
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const u of uploads) assert.equal((await state.fileByName(u.filename))?.sha256, sha256(u.bytes), u.filename);
      assert.equal((await state.listProjects()).length, PROJECTS);

      // The survivor leads now, in a later epoch.
      const leader = await state.leader();
      assert.equal(Number(leader?.holder.split('/')[1]), survivor.port);
      assert.ok((leader?.epoch ?? 0) >= 2);

      // Publications 1…N, each published once, each naming a classic snapshot no older than the
      // one before (classic snapshots follow on their own cadence: docs/merkle-snapshots.md),
      // whose file is the one the timestamp names.
      const latest = await state.latestTimestamp();
      assert.ok(latest);
      let named = 0;
      for (let v = 1; v <= latest.snapshotVersion; v++) {
        const ts = Metadata.parse(await timestampOf(url, v), 'timestamp');
        assert.ok(ts.signed.snapshotMeta.version >= named && ts.signed.snapshotMeta.version <= v, `publication ${v} names classic snapshot ${ts.signed.snapshotMeta.version}`);
        named = ts.signed.snapshotMeta.version;
        ts.signed.snapshotMeta.verify('snapshot', await readFile(join(data, 'public', 'metadata', `${named}.snapshot.json`)));
      }
      // The classic snapshot's timer may still publish once after the last upload: wait until
      // publication is idle, then the served timestamp must be the newest committed one.
      let served = Buffer.alloc(0);
      let newest = latest;
      for (let i = 0; i < 50; i++) {
        served = Buffer.from(await (await fetch(`${apis[0]!.url}/metadata/timestamp.json`)).arrayBuffer());
        newest = (await state.latestTimestamp()) ?? latest;
        if (served.equals(newest.bytes)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(served, newest.bytes, 'the served timestamp is the newest committed one');

      // A client trusting only the initial root gets every file, through either API server.
      const metadataDir = join(await tempDir('cluster-client'), 'metadata');
      await seedRoot(metadataDir, join(data, 'root.json'));
      const client = new VerifiedIndex({ metadataDir, indexUrl: apis[1]!.url });
      for (const u of uploads) assert.deepEqual((await client.get(`${u.project}/${u.filename}`)).bytes, u.bytes, u.filename);
      const page = JSON.parse((await client.get('clu3/index.json')).bytes.toString('utf8')) as { files: unknown[] };
      assert.equal(page.files.length, PER_PROJECT);
    } finally {
      await state.close();
    }
  });
});

/** The timestamp bytes committed with snapshot version `v`. */
async function timestampOf(url: string, v: number): Promise<Buffer> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query('SELECT timestamp_bytes FROM publications WHERE snapshot_version = $1', [v]);
    assert.equal(r.rowCount, 1, `snapshot version ${v} was published exactly once`);
    return r.rows[0].timestamp_bytes as Buffer;
  } finally {
    await c.end();
  }
}
