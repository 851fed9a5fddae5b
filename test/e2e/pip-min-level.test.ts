// `bulwark proxy --min-level`, `--allow`, `--report` with real pip (issue 14, items 3 and 4): a
// developer-signed project (recently-claimed) that depends on an unsigned one (unclaimed). The
// proxy reports each with the level the delegations it walked prove; with --min-level
// recently-claimed pip fails on the dependency and prints why; --allow lets it through.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServedReportJson } from '../../src/client/served-report.js';
import { buildDist } from '../helpers/dists.js';
import { repoRoot, runBulwark, startBulwark, startProcess, tempDir, type RunningServer } from '../helpers/processes.js';
import { pipInstall, twineUpload } from '../helpers/python-tools.js';

describe('pip through the proxy with --min-level and a report of what was served', () => {
  let index: RunningServer;
  let dataDir: string;
  const stops: (() => Promise<void>)[] = [];

  const startProxy = async (args: string[]): Promise<RunningServer> => {
    const cache = await tempDir('minlevel-cache');
    const proxy = await startProcess(
      process.execPath,
      [join(repoRoot, 'bin', 'bulwark.js'), 'proxy', '--port', '0', '--index', index.url, '--root', join(dataDir, 'root.json'), '--cache', cache, ...args],
      { ready: /listening on (http:\/\/127\.0\.0\.1:(\d+))/ }
    );
    stops.push(() => proxy.stop());
    return proxy;
  };
  const install = async (proxy: RunningServer) => {
    const target = await tempDir('minlevel-pip');
    return { target, r: await pipInstall({ indexUrl: `${proxy.url}/simple/`, packages: ['signed-app'], target }) };
  };

  before(async () => {
    dataDir = await tempDir('minlevel-data');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    index = await startBulwark({ dataDir });
    const token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'dev', '--json'])).stdout) as { token: string }).token;
    const out = await tempDir('minlevel-dists');
    const dep = await buildDist({ name: 'plain_dep', version: '1.0', kind: 'wheel', outDir: out });
    const app = await buildDist({ name: 'signed_app', version: '1.0', kind: 'wheel', requiresDist: ['plain-dep>=1.0'], outDir: out });
    const up = await twineUpload({ repositoryUrl: `${index.url}/legacy/`, token, files: [...dep, ...app] });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    // Claiming signs signed-app with the developer's key, delegated by recently-claimed.
    const home = await tempDir('minlevel-home');
    const pypirc = join(home, '.pypirc');
    await writeFile(pypirc, `[distutils]\nindex-servers =\n    bulwark\n\n[bulwark]\nrepository = ${index.url}/legacy/\nusername = __token__\npassword = ${token}\n`);
    const env = { ...process.env, PYPIRC: pypirc, BULWARK_KEYS_DIR: join(home, 'keys'), BULWARK_CACHE: join(home, 'cache'), BULWARK_PASSPHRASE: 'a long enough passphrase' };
    assert.equal((await runBulwark(['key', 'new', '--label', 'dev@laptop'], { env })).code, 0);
    const claim = await runBulwark(['claim', 'signed-app', '--json'], { env });
    assert.equal(claim.code, 0, claim.stdout + claim.stderr);
  });
  after(async () => {
    for (const stop of stops) await stop();
    await index.stop();
  });

  it('reports each project and file with its verified level: GET /-/report, the idle summary line, --report FILE', async () => {
    const reportFile = join(await tempDir('minlevel-report'), 'served.json');
    const proxy = await startProxy(['--report', reportFile, '--summary-after', '100']);
    const { target, r } = await install(proxy);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual((await readdir(target)).filter((f) => !f.includes('.')).sort(), ['plain_dep', 'signed_app']);
    const report = (await (await fetch(`${proxy.url}/-/report`)).json()) as ServedReportJson;
    assert.deepEqual(
      // pip also fetches each wheel's PEP 658 metadata file.
      report.projects.map((p) => [p.name, p.level, p.files.map((f) => [f.filename, f.level]).sort()]),
      [
        ['plain-dep', 'unclaimed', [['plain_dep-1.0-py3-none-any.whl', 'unclaimed'], ['plain_dep-1.0-py3-none-any.whl.metadata', 'unclaimed']]],
        ['signed-app', 'recently-claimed', [['signed_app-1.0-py3-none-any.whl', 'recently-claimed'], ['signed_app-1.0-py3-none-any.whl.metadata', 'recently-claimed']]],
      ]
    );
    assert.match(report.projects[0]?.files[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(report.summary, { 'recently-claimed': 1, unclaimed: 1 });
    for (let i = 0; i < 100 && !proxy.output().includes('2 projects:'); i++) await new Promise((res) => setTimeout(res, 50));
    assert.match(proxy.output(), /2 projects: 1 recently-claimed, 1 unclaimed: the unclaimed ones are plain-dep/);
    await proxy.stop();
    assert.deepEqual(JSON.parse(await readFile(reportFile, 'utf8')), report, '--report writes the same JSON when the proxy stops');
  });

  it('with --min-level recently-claimed, pip fails on the unclaimed dependency and prints why; nothing of it is served', async () => {
    const proxy = await startProxy(['--min-level', 'recently-claimed']);
    const { target, r } = await install(proxy);
    assert.notEqual(r.code, 0, 'pip must fail');
    assert.ok(!(await readdir(target)).includes('plain_dep'));
    assert.match(r.stdout + r.stderr, /plain-dep is unclaimed \(index-signed only\); this proxy requires recently-claimed or better \(--allow plain-dep to accept it\)/);
    const report = (await (await fetch(`${proxy.url}/-/report`)).json()) as ServedReportJson;
    assert.deepEqual(report.projects.map((p) => p.name), ['signed-app']);
    // A client other than pip gets a 403 with the reason, for the page and for a file.
    for (const path of ['/simple/plain-dep/', '/files/plain-dep/plain_dep-1.0-py3-none-any.whl']) {
      const res = await fetch(`${proxy.url}${path}`);
      assert.equal(res.status, 403, path);
      assert.match(await res.text(), /plain-dep is unclaimed/);
    }
  });

  it('--allow and --allow-file let the named dependency through', async () => {
    const allowFile = join(await tempDir('minlevel-allow'), 'allow.txt');
    await writeFile(allowFile, '# reviewed by hand\nPlain_Dep\n');
    for (const args of [['--allow', 'plain-dep'], ['--allow-file', allowFile]]) {
      const proxy = await startProxy(['--min-level', 'recently-claimed', ...args]);
      const { target, r } = await install(proxy);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.ok((await readdir(target)).includes('plain_dep'));
    }
  });

  it('bulwark fetch --min-level refuses a project below it, and names each file\'s level', async () => {
    const common = ['--index', index.url, '--root', join(dataDir, 'root.json'), '--cache', await tempDir('minlevel-fetch-cache'), '--json'];
    const refused = await runBulwark(['fetch', 'signed-app', '--min-level', 'claimed', '--dest', await tempDir('minlevel-fetch'), ...common]);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'BELOW_MIN_LEVEL');
    assert.match(refused.stderr, /signed-app is recently-claimed .*; bulwark fetch requires claimed or better \(--allow signed-app to accept it\)/);
    const ok = await runBulwark(['fetch', 'signed-app', '--min-level', 'recently-claimed', '--dest', await tempDir('minlevel-fetch'), ...common]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual((JSON.parse(ok.stdout) as { files: { level: string }[] }).files.map((f) => f.level), ['recently-claimed']);
  });

  it('an unknown --min-level is a usage error that lists the valid levels', async () => {
    for (const command of [['proxy', '--index', 'http://127.0.0.1:9'], ['fetch', 'x', '--index', 'http://127.0.0.1:9']]) {
      const r = await runBulwark([...command, '--min-level', 'trusted']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /unknown protection level "trusted": use one of unclaimed, two-factor, recently-claimed, claimed/);
    }
  });
});
