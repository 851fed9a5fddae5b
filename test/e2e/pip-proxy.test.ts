// pip through `bulwark proxy`: an honest install succeeds; when a mirror serves a tampered
// file or a tampered project page, pip fails, installs nothing, and the message says why.
import assert from 'node:assert/strict';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDist } from '../helpers/dists.js';
import { runBulwark, startBulwark, startProcess, tempDir, repoRoot, type RunningServer } from '../helpers/processes.js';
import { pipInstall, twineUpload } from '../helpers/python-tools.js';

/** A static file server over a directory: what a mirror or CDN is. */
function serveDir(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    if (path.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    readFile(join(dir, path)).then(
      (b) => res.writeHead(200, { 'content-length': b.length }).end(b),
      () => res.writeHead(404).end()
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address() as { port: number };
    resolve({ url: `http://127.0.0.1:${addr.port}`, server });
  }));
}

async function startProxy(args: string[]): Promise<RunningServer> {
  return startProcess(process.execPath, [join(repoRoot, 'bin', 'bulwark.js'), 'proxy', '--port', '0', ...args], {
    ready: /listening on (http:\/\/127\.0\.0\.1:(\d+))/,
  });
}

describe('pip through the verifying proxy', () => {
  let index: RunningServer;
  let dataDir: string;
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    dataDir = await tempDir('proxy-data');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    index = await startBulwark({ dataDir });
    const token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'alice', '--json'])).stdout) as { token: string }).token;
    const dists = await buildDist({ name: 'safe_pkg', version: '1.0', kind: 'wheel', moduleCode: 'SAFE = True', outDir: await tempDir('proxy-dists') });
    const up = await twineUpload({ repositoryUrl: `${index.url}/legacy/`, token, files: dists });
    assert.equal(up.code, 0, up.stdout + up.stderr);
  });
  after(async () => {
    for (const stop of stops) await stop();
    await index.stop();
  });

  it('installs through the proxy when everything verifies', async () => {
    const proxy = await startProxy(['--index', index.url, '--root', join(dataDir, 'root.json'), '--cache', await tempDir('proxy-cache')]);
    stops.push(() => proxy.stop());
    const target = await tempDir('proxy-pip');
    const r = await pipInstall({ indexUrl: `${proxy.url}/simple/`, packages: ['safe-pkg'], target });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok((await readdir(target)).includes('safe_pkg'));
    assert.match(proxy.output(), /verified file/);
  });

  for (const tamper of ['file', 'listing'] as const) {
    it(`refuses a mirror's tampered ${tamper}: pip fails, installs nothing, and says why`, async () => {
      const mirrorDir = await tempDir('proxy-mirror');
      await cp(join(dataDir, 'public'), mirrorDir, { recursive: true });
      const dir = join(mirrorDir, 'targets', 'safe-pkg');
      const victim = (await readdir(dir)).find((f) => (tamper === 'file' ? f.endsWith('.whl') : f.endsWith('.index.json')));
      assert.ok(victim);
      const bytes = await readFile(join(dir, victim));
      const evil = tamper === 'file' ? Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes[bytes.length - 1]! ^ 1])]) : Buffer.from(bytes.toString().replace('"safe-pkg"', '"safe-pkg" '));
      await writeFile(join(dir, victim), evil);
      const mirror = await serveDir(mirrorDir);
      stops.push(() => new Promise((r) => mirror.server.close(() => r())));
      // The mirror is the only source: the index URL points at it too.
      const proxy = await startProxy(['--index', mirror.url, '--root', join(dataDir, 'root.json'), '--cache', await tempDir('proxy-cache')]);
      stops.push(() => proxy.stop());
      const target = await tempDir('proxy-pip-evil');
      const r = await pipInstall({ indexUrl: `${proxy.url}/simple/`, packages: ['safe-pkg'], target });
      assert.notEqual(r.code, 0, 'pip must fail');
      assert.deepEqual(await readdir(target), [], 'nothing installed');
      assert.match(r.stdout + r.stderr, /TUF verification failed|LENGTH_OR_HASH_MISMATCH/);
      assert.match(proxy.output(), /ATTACK\?/);
    });
  }
});
