// Crash safety: the index is killed with SIGKILL at least 200 times while it takes uploads and
// publishes snapshots — at every injected point between the writes, fsyncs and renames of the
// upload, transaction and publication paths, and at random times. After each restart:
//  - the metadata verifies from the initial root (our client, fresh cache),
//  - every acknowledged upload is present, published and served with its exact bytes,
//  - nothing is half-written: every metadata file parses, every target's bytes match its hash.
// BULWARK_CRASH_ITERATIONS overrides the number of kills (default 200).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater } from '../../src/client/updater.js';
import { basicAuth, uploadForm } from '../helpers/index-under-test.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const INJECTED = [
  ...['write', 'fsync', 'rename', 'dirsync'].flatMap((step) => ['targets', 'metadata'].map((kind) => `${step}:${kind}`)),
  'link:files',
  'upload:received',
  'upload:before-journal',
  'upload:after-journal',
  'apply:before-commit',
  'apply:after-commit',
  'publish:after-roles',
  'publish:after-snapshot',
  'publish:after-commit',
  'publish:after-timestamp',
];

interface Acked {
  project: string;
  filename: string;
  bytes: Buffer;
  seq: number;
}

describe('crash safety under SIGKILL', () => {
  let dataDir: string;
  let token: string;
  const acked: Acked[] = [];
  let counter = 0;
  const iterations = Number(process.env['BULWARK_CRASH_ITERATIONS'] ?? 200);
  const stats = { injected: 0, random: 0, crashedAtPoint: 0, uploadsTried: 0 };

  before(async () => {
    dataDir = await tempDir('crash');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'crash', '--json'])).stdout) as { token: string }).token;
  });
  after(() => {
    process.stdout.write(`# crash safety: ${JSON.stringify({ ...stats, acknowledged: acked.length })}\n`);
  });

  const uploadOne = async (url: string): Promise<void> => {
    const n = ++counter;
    const project = `crashpkg${n % 7}`;
    const filename = `${project}-1.${n}.tar.gz`;
    const { bytes } = memorySdist({ name: project, version: `1.${n}`, payload: Buffer.from(`crash test file ${n} `.repeat(1 + (n % 50))) });
    stats.uploadsTried++;
    try {
      // Every other upload is acknowledged as soon as it is journaled, before it is published:
      // the journal alone must then bring it to a published snapshot after a crash.
      const res = await fetch(`${url}/legacy/${n % 2 === 0 ? '?wait=0' : ''}`, {
        method: 'POST',
        headers: { authorization: basicAuth(token) },
        body: uploadForm({ ':action': 'file_upload', name: project, version: `1.${n}`, filetype: 'sdist', sha256_digest: sha256(bytes) }, { name: filename, bytes }),
        signal: AbortSignal.timeout(15_000),
      });
      if (res.status === 200) acked.push({ project, filename, bytes, seq: ((await res.json()) as { transaction: number }).transaction });
      else await res.arrayBuffer();
    } catch {
      // The server died mid-request: not acknowledged, so no promise was made.
    }
  };

  const waitPublished = async (server: RunningServer): Promise<void> => {
    for (const a of acked.slice(-10)) {
      for (let i = 0; ; i++) {
        const r = (await (await fetch(`${server.url}/api/v1/transactions/${a.seq}`)).json()) as { status: string };
        if (r.status === 'published') break;
        assert.ok(i < 200, `transaction ${a.seq} of ${a.filename} was acknowledged but never published (${r.status})`);
        await new Promise((res) => setTimeout(res, 25));
      }
    }
  };

  const verify = async (server: RunningServer, full: boolean): Promise<void> => {
    // Nothing half-written under a published name.
    for (const f of await readdir(join(dataDir, 'public', 'metadata'))) {
      if (f.startsWith('.') || !f.endsWith('.json')) continue;
      JSON.parse(await readFile(join(dataDir, 'public', 'metadata', f), 'utf8'));
    }
    const targetsDir = join(dataDir, 'public', 'targets');
    for (const project of await readdir(targetsDir).catch(() => [])) {
      for (const f of await readdir(join(targetsDir, project))) {
        if (f.startsWith('.')) continue;
        const bytes = await readFile(join(targetsDir, project, f));
        assert.equal(sha256(bytes), f.slice(0, 64), `targets/${project}/${f} is torn`);
      }
    }
    // The metadata verifies from the initial root, and acknowledged uploads are served.
    const metadataDir = await tempDir('crash-client');
    await copyFile(join(dataDir, 'root.json'), join(metadataDir, 'root.json'));
    const updater = new Updater({ metadataDir, indexUrl: server.url });
    await updater.refresh();
    for (const a of full ? acked : acked.slice(-8)) {
      const info = await updater.getTargetInfo(`${a.project}/${a.filename}`);
      assert.ok(info, `acknowledged ${a.filename} is missing from the published metadata`);
      assert.deepEqual(await updater.downloadTarget(info), a.bytes);
      const served = await fetch(`${server.url}/files/${a.project}/${a.filename}`);
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), a.bytes);
    }
  };

  it(`survives ${iterations} kills at injected points and random times`, { timeout: 30 * 60_000 }, async () => {
    // The helpers unref their children; keep the event loop alive while we wait on exits.
    const keepAlive = setInterval(() => undefined, 1000);
    after(() => clearInterval(keepAlive));
    for (let i = 0; i < iterations; i++) {
      const injected = i % 3 !== 2 ? INJECTED[(i * 7) % INJECTED.length] : undefined;
      const env: Record<string, string> = injected ? { BULWARK_CRASH_AT: `${injected}:${1 + (i % 3)}` } : {};
      const victim = await startBulwark({ dataDir, env, args: ['--log-level', 'error'] });
      const exited = new Promise<void>((r) => victim.proc.once('exit', () => r()));
      const uploads = Promise.all(Array.from({ length: 3 }, () => uploadOne(victim.url)));
      if (injected) {
        stats.injected++;
        const crashed = await Promise.race([exited.then(() => true), uploads.then(() => new Promise<boolean>((r) => setTimeout(() => r(false), 300)))]);
        if (crashed) stats.crashedAtPoint++;
        else victim.kill('SIGKILL'); // the point was not reached this time: a kill at an arbitrary moment
      } else {
        stats.random++;
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 120)));
        victim.kill('SIGKILL');
      }
      await uploads;
      await exited;
      const server = await startBulwark({ dataDir, args: ['--log-level', 'error'] });
      try {
        await waitPublished(server);
        await verify(server, i === iterations - 1 || i % 50 === 49);
      } finally {
        server.kill('SIGKILL');
        await new Promise<void>((r) => (server.proc.exitCode !== null ? r() : server.proc.once('exit', () => r())));
      }
    }
    clearInterval(keepAlive);
    assert.ok(stats.crashedAtPoint > iterations / 3, `crash points were reached (${stats.crashedAtPoint})`);
    assert.ok(acked.length > iterations / 2, 'uploads were acknowledged');
  });
});
