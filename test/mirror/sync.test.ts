// `bulwark mirror sync`: a verified, resumable copy of a real index that a plain static file
// server serves and clients use through --mirror; a second sync fetches only what is new; an
// interrupted sync (aborted, or the process killed) resumes without fetching again what it
// verified; a tampered upstream is refused and the mirror keeps serving its previous snapshot.
import assert from 'node:assert/strict';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Fetcher } from '../../src/client/fetcher.js';
import { Updater } from '../../src/client/updater.js';
import { MirrorSyncError, syncMirror } from '../../src/mirror/sync.js';
import { LocalOrHttpFetcher } from '../../src/mirror/source.js';
import { exportRootRotation, importRootRotation, signCeremonyFile } from '../../src/repository/ceremony.js';
import { DownloadError, Ed25519Signer } from '../../src/tuf/index.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { loadConfig, saveConfig } from '../../src/repository/config.js';
import { initDemoRepository } from '../../src/repository/init.js';
import { Repository } from '../../src/repository/repository.js';
import { buildServer } from '../../src/server/app.js';
import { spawn } from 'node:child_process';
import { repoRoot, runBulwark, tempDir } from '../helpers/processes.js';
import { buildWheels, listTree, sha256, upload, type Wheel } from './fixture.js';
import { serveStatic, type StaticServer } from './static-server.js';

/** Counts what a sync fetches (successful responses only), by path under the upstream. */
function countingFetcher(base: string, inner: Fetcher = new LocalOrHttpFetcher()): Fetcher & { fetched: string[] } {
  const fetched: string[] = [];
  return {
    fetched,
    async fetch(url, max) {
      const b = await inner.fetch(url, max);
      fetched.push(decodeURIComponent(url.slice(base.length + 1)));
      return b;
    },
  };
}

describe('mirror sync', () => {
  let index: IndexUnderTest;
  let token: string;
  let root: string;
  let dir: string;
  let mirror: StaticServer;
  let wheels: Record<string, Wheel>;
  const publicDir = () => join(index.dataDir, 'public');

  before(async () => {
    index = await startIndex({ bins: 16 });
    token = await index.user('alice');
    root = join(index.dataDir, 'root.json');
    const built = await buildWheels([
      ['alpha', '1.0'],
      ['beta', '1.0'],
      ['alpha', '1.1'],
      ['gamma', '1.0'],
      ['delta', '1.0'],
    ]);
    wheels = Object.fromEntries(built.map((w) => [`${w.project}-${w.version}`, w]));
    await upload(index, token, wheels['alpha-1.0'] as Wheel);
    await upload(index, token, wheels['beta-1.0'] as Wheel);
    await index.repo.settle(); // the classic snapshot lists both (it trails publications)
    dir = await tempDir('mirror');
    mirror = await serveStatic(dir);
  });
  after(async () => {
    await mirror?.close();
    await index?.close();
  });

  it('copies the index into a static tree, verified, and clients fetch from it through --mirror', async () => {
    const r = await runBulwark(['mirror', 'sync', index.url, dir, '--root', root, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { updated: boolean; snapshot: number; targets: { total: number; fetched: number; skipped: number }; files: { fetched: number; skipped: number }; bytes: number };
    assert.equal(summary.updated, true);
    assert.equal(summary.targets.total, 8, 'two projects: wheel, .metadata and two pages each');
    assert.equal(summary.targets.fetched, 8);
    assert.equal(summary.targets.skipped, 0);
    assert.ok(summary.bytes > 0);

    // The same static tree as the index: metadata, targets and pip aliases, byte for byte.
    assert.deepEqual(await readFile(join(dir, 'metadata/timestamp.json')), await readFile(join(publicDir(), 'metadata/timestamp.json')));
    assert.ok((await listTree(dir, 'metadata')).includes('metadata/1.root.json'));
    assert.ok((await listTree(dir, 'metadata')).includes(`metadata/${summary.snapshot}.snapshot.json`));
    const targets = await listTree(dir, 'targets');
    assert.equal(targets.length, 8);
    for (const t of targets) assert.deepEqual(await readFile(join(dir, t)), await readFile(join(publicDir(), t)), t);
    const files = await listTree(dir, 'files');
    assert.deepEqual(files, await listTree(publicDir(), 'files'));
    const alpha = wheels['alpha-1.0'] as Wheel;
    const alias = await stat(join(dir, 'files/alpha', alpha.name));
    const blob = await stat(join(dir, 'targets/alpha', `${sha256(alpha.bytes)}.${alpha.name}`));
    assert.equal(alias.ino, blob.ino, 'files/ is a hard link of the target');

    // `bulwark fetch` with the mirror only (the index URL is the mirror too).
    const dest = await tempDir('fetch-dest');
    const cache = await tempDir('fetch-cache');
    const before = mirror.requests.length;
    const f = await runBulwark(['fetch', 'alpha', '--index', mirror.url, '--mirror', mirror.url, '--root', root, '--dest', dest, '--cache', cache, '--json']);
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(await readFile(join(dest, alpha.name)), alpha.bytes);
    const served = mirror.requests.slice(before);
    assert.ok(served.includes('/metadata/timestamp.json') && served.some((p) => p.startsWith('/targets/alpha/')), served.join('\n'));

    // Our Updater with the mirror in front of an index that is the mirror again: verified bytes.
    const metadataDir = await tempDir('updater');
    await writeFile(join(metadataDir, 'root.json'), await readFile(root));
    const u = new Updater({ metadataDir, indexUrl: mirror.url, mirrors: [mirror.url] });
    await u.refresh();
    const found = await u.findTarget(`beta/${(wheels['beta-1.0'] as Wheel).name}`);
    assert.ok(found, 'beta is listed');
    assert.deepEqual(await u.downloadTarget(found.target), (wheels['beta-1.0'] as Wheel).bytes);
  });

  it('a second sync after more uploads fetches only what is new; a third fetches only timestamp.json', async () => {
    const oldTargets = new Set(await listTree(dir, 'targets'));
    const oldMetadata = new Set(await listTree(dir, 'metadata'));
    await upload(index, token, wheels['alpha-1.1'] as Wheel);
    await upload(index, token, wheels['gamma-1.0'] as Wheel);
    // The classic snapshot catches up within its interval, with one more timestamp: wait for
    // it, so that the third sync below finds nothing new.
    await index.repo.settle();

    const counter = countingFetcher(index.url);
    const r = await syncMirror({ upstream: index.url, dir, fetcher: counter });
    assert.equal(r.updated, true);
    const newTargets = (await listTree(dir, 'targets')).filter((t) => !oldTargets.has(t));
    // alpha 1.1 (wheel, .metadata), alpha's two new pages, gamma's four files.
    assert.equal(newTargets.length, 8, newTargets.join('\n'));
    const fetchedTargets = counter.fetched.filter((p) => p.startsWith('targets/')).sort();
    assert.deepEqual(fetchedTargets, newTargets.sort(), 'exactly the new targets were fetched');
    assert.equal(r.targets.fetched, 8);
    // The 8 of the first sync but alpha's two superseded pages: still listed, not fetched again.
    assert.equal(r.targets.skipped, 6);
    assert.equal(r.targets.rehashed, 0, 'nor re-hashed: the state file says they were verified');
    for (const m of counter.fetched.filter((p) => p.startsWith('metadata/') && p !== 'metadata/timestamp.json')) {
      assert.ok(!oldMetadata.has(m), `${m} was fetched although the mirror had it`);
    }

    const again = countingFetcher(index.url);
    const r3 = await syncMirror({ upstream: index.url, dir, fetcher: again, keep: 1 });
    assert.equal(r3.updated, false);
    assert.deepEqual(again.fetched, ['metadata/timestamp.json'], 'nothing new: only the timestamp (and a 404 for the next root)');
    assert.equal(r3.targets.fetched, 0);
    // --keep 1: what only the older snapshots reached is gone (alpha's old pages, old bins).
    assert.ok(r3.removed && r3.removed.files > 0, JSON.stringify(r3.removed));
    assert.deepEqual(r3.removed.keptSnapshots, [r3.snapshot]);
    assert.equal((await listTree(dir, 'targets')).length, 14, 'the two superseded alpha pages were removed');
    const dest = await tempDir('fetch-dest');
    const f = await runBulwark(['fetch', 'gamma', '--index', mirror.url, '--root', root, '--dest', dest, '--cache', await tempDir('c'), '--json']);
    assert.equal(f.code, 0, f.stderr);
  });

  it('an aborted sync resumes without fetching again what it verified', async () => {
    const dir2 = await tempDir('mirror-abort');
    let targetsSeen = 0;
    const failing: Fetcher = {
      async fetch(url, max) {
        if (url.includes('/targets/') && ++targetsSeen > 5) throw new DownloadError('NETWORK', `connection reset: ${url}`, url);
        return new LocalOrHttpFetcher().fetch(url, max);
      },
    };
    await assert.rejects(syncMirror({ upstream: index.url, dir: dir2, rootPath: root, fetcher: failing, concurrency: 2 }), (e: unknown) => {
      assert.ok(e instanceof MirrorSyncError, String(e));
      assert.equal(e.kind, 'download');
      assert.match(e.message, /no complete snapshot yet/);
      return true;
    });
    const present = await listTree(dir2, 'targets');
    assert.ok(present.length >= 4, `some targets were copied before the failure: ${present.length}`);
    await assert.rejects(stat(join(dir2, 'metadata/timestamp.json')), 'no timestamp.json: nothing half-synced is served');

    const counter = countingFetcher(index.url);
    const r = await syncMirror({ upstream: index.url, dir: dir2, fetcher: counter });
    const refetched = counter.fetched.filter((p) => present.includes(p));
    assert.deepEqual(refetched, [], 'no verified target was fetched again');
    assert.equal(r.targets.skipped, present.length);
    assert.equal(r.targets.fetched + r.targets.skipped, r.targets.total);
    assert.deepEqual(await readFile(join(dir2, 'metadata/timestamp.json')), await readFile(join(publicDir(), 'metadata/timestamp.json')));
  });

  it('a killed sync process resumes without fetching again what it verified (and takes over its stale lock)', async () => {
    const dir3 = await tempDir('mirror-kill');
    // The upstream: a plain static server over the index's tree that never answers the 6th target.
    let targetRequests = 0;
    const upstream = await serveStatic(publicDir(), { hold: (p) => p.startsWith('/targets/') && ++targetRequests > 5 });
    try {
      const child = spawn(process.execPath, [join(repoRoot, 'bin/bulwark.js'), 'mirror', 'sync', upstream.url, dir3, '--root', root, '--concurrency', '1'], { stdio: 'ignore' });
      const deadline = Date.now() + 20_000;
      while (targetRequests <= 5) {
        assert.ok(Date.now() < deadline, 'the sync reached the held request');
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    } finally {
      await upstream.close();
    }
    const present = await listTree(dir3, 'targets');
    assert.equal(present.length, 5, present.join('\n'));
    assert.ok((await readFile(join(dir3, '.bulwark-mirror/lock'), 'utf8')).trim().length > 0, 'the killed process left its lock');

    const upstream3 = await serveStatic(publicDir());
    try {
      const r = await runBulwark(['mirror', 'sync', upstream3.url, dir3, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const again = upstream3.requests.filter((p) => present.includes(p.slice(1)));
      assert.deepEqual(again, [], 'no target verified before the kill was requested again');
      const summary = JSON.parse(r.stdout) as { targets: { skipped: number; total: number } };
      assert.equal(summary.targets.skipped, 5);
    } finally {
      await upstream3.close();
    }
  });

  it('copies every root version, verifying the chain forwards from the pinned root and backwards below it', async () => {
    const rootKey = Ed25519Signer.fromPkcs8Pem(await readFile(join(index.dataDir, 'keys/offline-DEMO-ONLY/root.pem'), 'utf8'));
    const file = await exportRootRotation(index.repo, {});
    await importRootRotation(index.repo, await signCeremonyFile(file, [rootKey]));
    const r = await syncMirror({ upstream: index.url, dir });
    assert.equal(r.root, 2);
    assert.deepEqual(await readFile(join(dir, 'metadata/2.root.json')), await readFile(join(publicDir(), 'metadata/2.root.json')));

    // A new mirror pinned to root 2 still serves 1.root.json, verified backwards.
    const dir4 = await tempDir('mirror-root2');
    const pinned = join(await tempDir('pin'), '2.root.json');
    await writeFile(pinned, await readFile(join(publicDir(), 'metadata/2.root.json')));
    const r2 = await syncMirror({ upstream: index.url, dir: dir4, rootPath: pinned });
    assert.equal(r2.root, 2);
    assert.deepEqual(await readFile(join(dir4, 'metadata/1.root.json')), await readFile(join(publicDir(), 'metadata/1.root.json')));
  });

  it('refuses a tampered upstream with a typed reason and keeps serving the previous snapshot', async () => {
    const servedBefore = await readFile(join(dir, 'metadata/timestamp.json'));
    const delta = wheels['delta-1.0'] as Wheel;
    await upload(index, token, delta);
    // Someone with write access to the index's static tree swaps the new wheel's bytes.
    const blob = join(publicDir(), 'targets/delta', `${sha256(delta.bytes)}.${delta.name}`);
    const evil = Buffer.from(delta.bytes);
    evil.writeUInt8(evil.readUInt8(evil.length - 30) ^ 0xff, evil.length - 30);
    await writeFile(`${blob}.evil`, evil);
    await rename(`${blob}.evil`, blob);

    const r = await runBulwark(['mirror', 'sync', index.url, dir, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const err = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(err.error.code, 'LENGTH_OR_HASH_MISMATCH');
    assert.match(err.error.message, /TUF verification failed/);
    assert.match(err.error.message, /still serves timestamp \d+/);
    assert.deepEqual(await readFile(join(dir, 'metadata/timestamp.json')), servedBefore, 'timestamp.json unchanged');
    await assert.rejects(stat(join(dir, 'targets/delta', `${sha256(delta.bytes)}.${delta.name}`)), 'the tampered file was not copied');

    // The previous snapshot is still whole: a client gets alpha from the mirror.
    const dest = await tempDir('fetch-dest');
    const f = await runBulwark(['fetch', 'alpha', '--version', '1.0', '--index', mirror.url, '--root', root, '--dest', dest, '--cache', await tempDir('c'), '--json']);
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(await readFile(join(dest, (wheels['alpha-1.0'] as Wheel).name)), (wheels['alpha-1.0'] as Wheel).bytes);
  });

  it('a client refuses a tampered mirror file and falls back to the index', async () => {
    const beta = wheels['beta-1.0'] as Wheel;
    const copy = join(dir, 'targets/beta', `${sha256(beta.bytes)}.${beta.name}`);
    const evil = Buffer.from(beta.bytes);
    evil.writeUInt8(evil.readUInt8(10) ^ 0xff, 10);
    await writeFile(`${copy}.evil`, evil);
    await rename(`${copy}.evil`, copy);
    const dest = await tempDir('fetch-dest');
    const onlyMirror = await runBulwark(['fetch', 'beta', '--index', mirror.url, '--root', root, '--dest', dest, '--cache', await tempDir('c'), '--json']);
    assert.equal(onlyMirror.code, 1, onlyMirror.stdout);
    assert.match(onlyMirror.stdout, /LENGTH_OR_HASH_MISMATCH/);
    const withIndex = await runBulwark(['fetch', 'beta', '--index', index.url, '--mirror', mirror.url, '--root', root, '--dest', dest, '--cache', await tempDir('c'), '--json']);
    assert.equal(withIndex.code, 0, withIndex.stderr);
    assert.deepEqual(await readFile(join(dest, beta.name)), beta.bytes);
  });
});

describe('mirror sync for Merkle clients', () => {
  it('copies the tree and the roles it names ahead of the classic snapshot: a Merkle client needs only the mirror', async () => {
    // An index whose classic snapshot trails its tree for an hour: deterministic lag.
    const dataDir = await tempDir('mirror-merkle-index');
    await initDemoRepository(dataDir, { bins: 16 });
    const cfg = await loadConfig(dataDir);
    assert.ok(cfg);
    await saveConfig(dataDir, { ...cfg, merkle: { classicSnapshotIntervalMs: 3_600_000 } });
    const repo = await Repository.open(dataDir, { compress: false });
    await repo.start();
    const app = await buildServer(repo, { waitForPublishMs: 10_000 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const dir = await tempDir('mirror-merkle');
    const mirror = await serveStatic(dir);
    try {
      const token = (await repo.accounts.addUser('m')).token;
      const [one, two] = (await buildWheels([
        ['one', '1.0'],
        ['two', '1.0'],
      ])) as [Wheel, Wheel];
      const idx = { url } as IndexUnderTest;
      await upload(idx, token, one); // the first publication writes a classic snapshot
      await upload(idx, token, two); // within the interval: only the tree lists it
      const ts = JSON.parse(await readFile(join(dataDir, 'public/metadata/timestamp.json'), 'utf8')) as { signed: { version: number; meta: { 'snapshot.json': { version: number } }; 'x-bulwark-merkle': { root: string } } };
      assert.ok(ts.signed.meta['snapshot.json'].version < ts.signed.version, 'the classic snapshot trails the tree');

      await syncMirror({ upstream: url, dir, rootPath: join(dataDir, 'root.json') });
      assert.ok((await listTree(dir, 'metadata')).includes(`metadata/merkle/${ts.signed['x-bulwark-merkle'].root}.tree.json`));

      const client = async (snapshotMode: 'auto' | 'classic') => {
        const metadataDir = await tempDir('merkle-mirror-client');
        await writeFile(join(metadataDir, 'root.json'), await readFile(join(dataDir, 'root.json')));
        const u = new Updater({ metadataDir, indexUrl: mirror.url, snapshotMode });
        await u.refresh();
        return u;
      };
      const before = mirror.requests.length;
      const merkle = await client('auto');
      const found = await merkle.findTarget(`two/${two.name}`);
      assert.ok(found, 'the Merkle client finds the newest upload through the mirror alone');
      assert.deepEqual(await merkle.downloadTarget(found.target), two.bytes);
      const served = mirror.requests.slice(before);
      assert.ok(served.some((p) => p.endsWith('.tree.json')) && !served.some((p) => p.includes('snapshot.json')), served.join('\n'));
      // A classic client through the same mirror sees the classic snapshot's state (one, not yet two).
      const classic = await client('classic');
      assert.ok(await classic.findTarget(`one/${one.name}`));
      assert.equal(await classic.findTarget(`two/${two.name}`), undefined);
    } finally {
      await mirror.close();
      await app.close();
      await repo.close();
    }
  });
});
