// Verified wheels end to end (issue 15 item 7), with the real commands and tools: developers
// upload signed sdists of two small setuptools projects and delegate their wheels to the
// index's build farm and an independent rebuilder (threshold 2). `bulwark build-farm --once`
// (on the index's data directory) and `bulwark rebuilder --once` (another process, its own key
// and data, over HTTP and TUF) both build them with Debian's python3 in isolation. The
// reproducible project's wheel is published; pip installs it through `bulwark proxy`, and
// `bulwark fetch --verify-build` rebuilds it here and agrees. The project whose build embeds
// the build time is never published as a verified wheel, and its mismatch (both hashes, both
// logs) is on its page.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForPublishedRole } from '../helpers/published.js';
import { repoRoot, runBulwark, startBulwark, startProcess, tempDir, type RunningServer } from '../helpers/processes.js';
import { pipInstall } from '../helpers/python-tools.js';
import { EMBED_BUILD_TIME, setuptoolsSdist } from '../helpers/setuptools-sdists.js';

const GOOD = 'repro-pkg';
const DRIFT = 'drift-pkg';
const GOOD_WHEEL = 'repro_pkg-1.0-py3-none-any.whl';

describe('verified wheels: farm and rebuilder agree, pip installs, fetch --verify-build agrees', () => {
  let server: RunningServer;
  let dataDir: string;
  let devEnv: Record<string, string>;
  let rebuilderEnv: Record<string, string>;
  let rebuilderData: string;
  let rebuilderToken: string;
  let common: string[];
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    dataDir = await tempDir('farm-e2e-data');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    server = await startBulwark({ dataDir });
    const token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'dev', '--json'])).stdout) as { token: string }).token;
    rebuilderToken = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'rebuilder', '--json'])).stdout) as { token: string }).token;
    const devHome = await tempDir('farm-e2e-dev');
    devEnv = { BULWARK_KEYS_DIR: join(devHome, 'keys'), BULWARK_CACHE: join(devHome, 'cache'), BULWARK_PASSPHRASE: 'the developers passphrase' };
    const rbHome = await tempDir('farm-e2e-rebuilder');
    rebuilderData = join(rbHome, 'data');
    rebuilderEnv = { BULWARK_KEYS_DIR: join(rbHome, 'keys'), BULWARK_CACHE: join(rbHome, 'cache'), BULWARK_PASSPHRASE: 'the rebuilders passphrase' };
    common = ['--repository-url', `${server.url}/legacy/`, '--token', token, '--root', join(dataDir, 'root.json')];

    // The rebuilder makes its key on its machine and hands the developers its public key.
    assert.equal((await runBulwark(['key', 'new', '--label', 'rebuilder@elsewhere'], { env: rebuilderEnv })).code, 0);
    const shown = await runBulwark(['key', 'show', '--json'], { env: rebuilderEnv });
    const rebuilderKey = join(devHome, 'rebuilder.json');
    await writeFile(rebuilderKey, shown.stdout);

    assert.equal((await runBulwark(['key', 'new', '--label', 'dev@laptop'], { env: devEnv })).code, 0);
    const dist = await tempDir('farm-e2e-dist');
    for (const [project, setupCode] of [
      [GOOD, ''],
      [DRIFT, EMBED_BUILD_TIME],
    ] as const) {
      assert.equal((await runBulwark(['claim', project, ...common], { env: devEnv })).code, 0);
      const enable = await runBulwark(['project', 'build-farm', 'enable', project, '--rebuilder-key', rebuilderKey, ...common], { env: devEnv });
      assert.equal(enable.code, 0, enable.stdout + enable.stderr);
      const sdist = setuptoolsSdist({ name: project, version: '1.0', setupCode });
      await writeFile(join(dist, sdist.filename), sdist.bytes);
      const up = await runBulwark(['upload', join(dist, sdist.filename), ...common], { env: devEnv });
      assert.equal(up.code, 0, up.stdout + up.stderr);
    }
  });
  after(async () => {
    for (const stop of stops) await stop();
    await server?.stop();
  });

  it('a builder killed mid-build leaves nothing behind: its next pass builds again', async () => {
    const farmKey = ((await (await fetch(`${server.url}/api/build-farm/key`)).json()) as { keyid: string }).keyid;
    const queued = async (keyid: string) => ((await (await fetch(`${server.url}/api/build-farm/queue?keyid=${keyid}`)).json()) as { sdists: unknown[] }).sdists.length;
    assert.equal(await queued(farmKey), 2);
    // The farm killed (SIGKILL) after its first build, its wheel stored but not yet reported.
    const farmKilled = await runBulwark(['--data', dataDir, 'build-farm', '--once'], { env: { BULWARK_CRASH_AT: 'farm:after-wheel:1' }, timeoutMs: 120_000 });
    assert.notEqual(farmKilled.code, 0);
    assert.equal(await queued(farmKey), 2, 'no report was recorded');
    const rebuilderKey = ((JSON.parse((await runBulwark(['key', 'show', '--json'], { env: rebuilderEnv })).stdout)) as { keyid: string }).keyid;
    const killed = await runBulwark(
      ['--data', rebuilderData, 'rebuilder', '--index', server.url, '--root', join(dataDir, 'root.json'), '--token', rebuilderToken, '--once'],
      { env: { ...rebuilderEnv, BULWARK_CRASH_AT: 'build:after-build:1' }, timeoutMs: 120_000 }
    );
    assert.notEqual(killed.code, 0);
    assert.equal(await queued(rebuilderKey), 2, 'no report of the rebuilder either');
    assert.equal((await fetch(`${server.url}/metadata/1.wheels-${GOOD}.json`)).status, 404, 'nothing is published');
  });

  it('the farm and the rebuilder both build; the reproducible wheel is published, the other never', async () => {
    const farm = await runBulwark(['--data', dataDir, 'build-farm', '--once', '--json'], { timeoutMs: 120_000 });
    assert.equal(farm.code, 0, farm.stdout + farm.stderr);
    const farmPass = JSON.parse(farm.stdout) as { built: { project: string; ok: boolean; sha256?: string }[] };
    assert.deepEqual(farmPass.built.map((b) => [b.project, b.ok]).sort(), [[DRIFT, true], [GOOD, true]]);

    const rb = await runBulwark(
      ['--data', rebuilderData, 'rebuilder', '--index', server.url, '--root', join(dataDir, 'root.json'), '--token', rebuilderToken, '--once', '--json'],
      { env: rebuilderEnv, timeoutMs: 120_000 }
    );
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    const pass = JSON.parse(rb.stdout) as { built: { project: string; ok: boolean; sha256?: string }[]; signed: { project: string; version: number }[]; refused: unknown[] };
    assert.deepEqual(pass.built.map((b) => [b.project, b.ok]).sort(), [[DRIFT, true], [GOOD, true]]);
    assert.deepEqual(pass.signed, [{ project: GOOD, version: 1 }], 'the rebuilder signs the wheel it reproduced, and only that');
    assert.equal(
      pass.built.find((b) => b.project === GOOD)?.sha256,
      farmPass.built.find((b) => b.project === GOOD)?.sha256,
      'both builders made the same bytes'
    );

    assert.ok(await waitForPublishedRole(server.url, `wheels-${GOOD}`, 1), `wheels-${GOOD} is published`);
    const snapshotHasDrift = await fetch(`${server.url}/metadata/1.wheels-${DRIFT}.json`);
    assert.equal(snapshotHasDrift.status, 404, 'no verified wheel of the irreproducible project');

    const status = (await (await fetch(`${server.url}/api/build-farm/status/${DRIFT}`)).json()) as { mismatches: { builds: { keyid: string; sha256: string }[]; logs: Record<string, string> }[]; verified: unknown[] };
    assert.equal(status.verified.length, 0);
    const [m] = status.mismatches;
    assert.ok(m, 'the mismatch is recorded');
    assert.equal(new Set(m.builds.map((b) => b.sha256)).size, 2, 'with both hashes');
    assert.equal(Object.keys(m.logs).length, 2, 'and both logs');
    const page = await (await fetch(`${server.url}/project/${DRIFT}/`)).text();
    for (const b of m.builds) assert.ok(page.includes(b.sha256), `the project page shows ${b.sha256}`);
    const logLink = /href="(\/api\/build-farm\/logs\/[^"]+)"/.exec(page)?.[1];
    assert.ok(logLink, 'with links to the logs');
    assert.match(await (await fetch(`${server.url}${logLink.replace(/&amp;/g, '&')}`)).text(), /SOURCE_DATE_EPOCH=315532800/);
    const goodPage = await (await fetch(`${server.url}/project/${GOOD}/`)).text();
    assert.ok(goodPage.includes(GOOD_WHEEL), 'the verified wheel is on its project page');
    const attestation = /href="(\/targets\/[^"]+\.intoto\.jsonl)"/.exec(goodPage)?.[1];
    assert.ok(attestation, 'with a link to its attestations');
    assert.equal((await (await fetch(`${server.url}${attestation}`)).text()).trim().split('\n').length, 2, 'one DSSE envelope per builder');
  });

  it('pip installs the verified wheel through the proxy', async () => {
    const proxy = await startProcess(
      process.execPath,
      [join(repoRoot, 'bin', 'bulwark.js'), 'proxy', '--port', '0', '--index', server.url, '--root', join(dataDir, 'root.json'), '--cache', await tempDir('farm-e2e-proxy-cache')],
      { ready: /listening on (http:\/\/127\.0\.0\.1:(\d+))/ }
    );
    stops.push(() => proxy.stop());
    const target = await tempDir('farm-e2e-pip');
    const r = await pipInstall({ indexUrl: `${proxy.url}/simple/`, packages: [GOOD], target, extraArgs: ['--only-binary', ':all:'] });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok((await readdir(target)).some((f) => f.startsWith('repro_pkg-1.0.dist-info')));
    const report = (await (await fetch(`${proxy.url}/-/report`)).json()) as { projects: { name: string; files: { filename: string; verified_build?: boolean }[] }[] };
    const served = report.projects.find((p) => p.name === GOOD)?.files.find((f) => f.filename === GOOD_WHEEL);
    assert.equal(served?.verified_build, true, 'the proxy served the farm-built wheel as a verified build');
  });

  it('bulwark fetch --verify-build rebuilds the wheel here and agrees', async () => {
    const dest = await tempDir('farm-e2e-fetch');
    const r = await runBulwark(
      ['fetch', GOOD, '--index', server.url, '--root', join(dataDir, 'root.json'), '--cache', await tempDir('farm-e2e-fetch-cache'), '--dest', dest, '--file', GOOD_WHEEL, '--verify-build', '--json'],
      { timeoutMs: 120_000 }
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { files: { file: string; verified_build: boolean; reproduced?: { result: string } }[] };
    const wheel = out.files.find((f) => f.file === GOOD_WHEEL);
    assert.equal(wheel?.verified_build, true);
    assert.equal(wheel?.reproduced?.result, 'agree');
  });
});
