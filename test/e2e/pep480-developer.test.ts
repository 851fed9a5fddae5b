// PEP 480 from the developer's side, with the real commands: make a key (no terminal: the
// passphrase comes from the environment), claim a project that already has files (they are
// adopted), upload a signed release (reading ~/.pypirc as twine does), and see that an
// unsigned twine upload is refused while pip and tuf-js install and verify the signed files.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater } from 'tuf-js';
import { nameBinCountOf, nameBinOf, nameBinRole } from '../../src/repository/name-bins.js';
import { loadConfig } from '../../src/repository/config.js';
import { Ed25519Signer, encodeCanonical, expiresIn, signCanonical, Targets } from '../../src/tuf/index.js';
import { buildDist } from '../helpers/dists.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';
import { waitForClassicSnapshot } from '../helpers/published.js';
import { pipDownload, pipInstall, runPython, twineUpload } from '../helpers/python-tools.js';

describe('PEP 480: key, claim, signed upload', () => {
  let server: RunningServer;
  let dataDir: string;
  let token: string;
  let env: Record<string, string>;
  let dists: Record<string, string[]>;

  const bulwark = (args: string[], extra: Record<string, string> = {}) => runBulwark(args, { env: { ...env, ...extra } });

  before(async () => {
    dataDir = await tempDir('pep480-data');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    server = await startBulwark({ dataDir });
    token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'dev', '--json'])).stdout) as { token: string }).token;
    const home = await tempDir('pep480-home');
    const pypirc = join(home, '.pypirc');
    await writeFile(pypirc, `[distutils]\nindex-servers =\n    bulwark\n\n[bulwark]\nrepository = ${server.url}/legacy/\nusername = __token__\npassword = ${token}\n`);
    env = {
      PYPIRC: pypirc,
      BULWARK_KEYS_DIR: join(home, 'keys'),
      BULWARK_CACHE: join(home, 'cache'),
      BULWARK_PASSPHRASE: 'a long enough passphrase',
    };
    const out = await tempDir('pep480-dists');
    dists = {
      '1.0': await buildDist({ name: 'signed_pkg', version: '1.0', kind: 'wheel', outDir: out }),
      '2.0': await buildDist({ name: 'signed_pkg', version: '2.0', kind: 'both', moduleCode: 'SIGNED = True', outDir: out }),
      '3.0': await buildDist({ name: 'signed_pkg', version: '3.0', kind: 'sdist', outDir: out }),
      '2.1': await buildDist({ name: 'signed_pkg', version: '2.1', kind: 'sdist', outDir: out }),
      // The same file name as the 1.0 wheel uploaded below, with other bytes.
      rebuilt: await buildDist({ name: 'signed_pkg', version: '1.0', kind: 'wheel', moduleCode: 'REBUILT = True', outDir: await tempDir('pep480-rebuilt') }),
    };
    const up = await twineUpload({ repositoryUrl: `${server.url}/legacy/`, token, files: dists['1.0'] as string[] });
    assert.equal(up.code, 0, up.stdout + up.stderr);
  });
  after(() => server?.stop());

  it('makes a passphrase-derived key: same passphrase and label give the same key, without a terminal', async () => {
    const a = await bulwark(['key', 'new', '--label', 'dev@laptop', '--json']);
    assert.equal(a.code, 0, a.stderr);
    const made = JSON.parse(a.stdout) as { keyid: string; kind: string };
    assert.equal(made.kind, 'derived');
    const again = await bulwark(['key', 'new', 'copy', '--label', 'dev@laptop', '--json']);
    assert.equal((JSON.parse(again.stdout) as { keyid: string }).keyid, made.keyid);
    const other = await bulwark(['key', 'new', 'desktop', '--label', 'dev@desktop', '--json']);
    assert.notEqual((JSON.parse(other.stdout) as { keyid: string }).keyid, made.keyid, 'each machine label gives its own key');
    const shown = await bulwark(['key', 'show', '--json']);
    assert.equal((JSON.parse(shown.stdout) as { keyid: string }).keyid, made.keyid);
  });

  it('claims the project, adopting the file uploaded before', async () => {
    const r = await bulwark(['claim', 'Signed-Pkg', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'published');
  });

  it('refuses a wrong passphrase, and changes nothing', async () => {
    const r = await bulwark(['upload', ...(dists['2.0'] as string[])], { BULWARK_PASSPHRASE: 'not the passphrase' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wrong passphrase/);
  });

  it('uploads a signed release, reading ~/.pypirc', async () => {
    const r = await bulwark(['upload', ...(dists['2.0'] as string[]), '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { status: string; role_version: number };
    assert.equal(out.status, 'published');
    assert.equal(out.role_version, 2);
  });

  it('refuses an unsigned twine upload to the claimed project, saying how to sign', async () => {
    const r = await twineUpload({ repositoryUrl: `${server.url}/legacy/`, token, files: dists['3.0'] as string[] });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /claimed/);
    assert.match(r.stdout + r.stderr, /bulwark upload/);
  });

  it('pip installs the signed release', async () => {
    const target = await tempDir('pep480-pip');
    const r = await pipInstall({ indexUrl: `${server.url}/simple/`, packages: ['signed-pkg==2.0'], target });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const run = await runPython(['-c', 'import signed_pkg as m; print(m.__version__, m.SIGNED)'], { PYTHONPATH: target });
    assert.equal(run.stdout.trim(), '2.0 True', run.stderr);
  });

  it('tuf-js finds every file through recently-claimed and the developer-signed project role', async () => {
    assert.ok(await waitForClassicSnapshot(server.url), 'the classic snapshot, which tuf-js reads, caught up with the uploads');
    const metadataDir = await tempDir('pep480-tufjs');
    await writeFile(join(metadataDir, 'root.json'), await readFile(join(dataDir, 'root.json')));
    const updater = new Updater({ metadataDir, metadataBaseUrl: `${server.url}/metadata`, targetDir: await tempDir('pep480-tufjs-t'), targetBaseUrl: `${server.url}/targets` });
    await updater.refresh();
    for (const f of [...(dists['1.0'] as string[]), ...(dists['2.0'] as string[])]) {
      const info = await updater.getTargetInfo(`signed-pkg/${basename(f)}`);
      assert.ok(info, `${basename(f)} is vouched for`);
      assert.equal(info.length, (await readFile(f)).length);
    }
    const pageInfo = await updater.getTargetInfo('signed-pkg/index.json');
    assert.ok(pageInfo);
    const page = JSON.parse(await readFile(await updater.downloadTarget(pageInfo), 'utf8')) as { files: { filename: string }[] };
    assert.deepEqual(page.files.map((f) => f.filename).sort(), [...(dists['1.0'] as string[]), ...(dists['2.0'] as string[])].map((f) => basename(f)).sort());
  });

  it('bulwark fetch names the project role that vouched for the files', async () => {
    const dest = await tempDir('pep480-fetch');
    const r = await bulwark(['fetch', 'signed-pkg', '--index', server.url, '--root', join(dataDir, 'root.json'), '--dest', dest, '--cache', await tempDir('pep480-fetch-cache'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { files: { file: string; role: string }[] };
    assert.deepEqual(new Set(out.files.map((f) => f.role)), new Set(['project-signed-pkg']));
    assert.equal(out.files.length, 2);
  });

  it('yanks a release of the claimed project as a signed change', async () => {
    const r = await bulwark(['yank', 'signed-pkg', '1.0', '--reason', 'superseded', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { role_version: number }).role_version, 3);
    const page = (await (await fetch(`${server.url}/simple/signed-pkg/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as { files: { filename: string; yanked: unknown }[] };
    const yanked = Object.fromEntries(page.files.map((f) => [f.filename, f.yanked]));
    assert.equal(yanked['signed_pkg-1.0-py3-none-any.whl'], 'superseded');
    assert.equal(yanked['signed_pkg-2.0.tar.gz'], false);
    // The unsigned yank API refuses: the developers' signature is what pip users rely on.
    const api = await fetch(`${server.url}/api/v1/projects/signed-pkg/yank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: '2.0' }),
    });
    assert.equal(api.status, 409);
  });

  it('upload --skip-existing leaves out the files the index has, and refuses other bytes under their names', async () => {
    const all = [...(dists['1.0'] as string[]), ...(dists['2.0'] as string[]), ...(dists['2.1'] as string[])];
    const plain = await bulwark(['upload', ...all]);
    assert.equal(plain.code, 1, plain.stdout + plain.stderr);
    assert.match(plain.stderr, /already exists on the index/);
    const nothing = await bulwark(['upload', ...(dists['1.0'] as string[]), ...(dists['2.0'] as string[]), '--skip-existing', '--json']);
    assert.equal(nothing.code, 0, nothing.stdout + nothing.stderr);
    assert.equal((JSON.parse(nothing.stdout) as { status: string }).status, 'nothing-to-upload');
    const r = await bulwark(['upload', ...all, '--skip-existing', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { status: string; role_version: number; files: { filename: string }[]; skipped: string[] };
    assert.equal(out.status, 'published');
    assert.equal(out.role_version, 4, 'after the yank (3)');
    assert.deepEqual(out.files.map((f) => f.filename), (dists['2.1'] as string[]).map((d) => basename(d)));
    assert.deepEqual(out.skipped.sort(), [...(dists['1.0'] as string[]), ...(dists['2.0'] as string[])].map((d) => basename(d)).sort());
    assert.match(r.stderr, /Skipping signed_pkg-2\.0\.tar\.gz: the index has it already/);
    const rebuilt = await bulwark(['upload', ...(dists['rebuilt'] as string[]), '--skip-existing', '--json']);
    assert.equal(rebuilt.code, 1, rebuilt.stdout + rebuilt.stderr);
    assert.equal((JSON.parse(rebuilt.stdout) as { error: { code: string } }).error.code, 'BAD_RELEASE');
    assert.match(rebuilt.stderr, /differs from the signed_pkg-1\.0-py3-none-any\.whl the index has/);
  });

  it('adds a second machine\'s key with a change signed by the first, then promotes the project offline', async () => {
    const made = await bulwark(['key', 'new', 'laptop2', '--label', 'dev@laptop2', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const pub = join(env['BULWARK_KEYS_DIR'] as string, '..', 'laptop2.pub.json');
    await writeFile(pub, (await bulwark(['key', 'show', 'laptop2', '--json'])).stdout);
    // Before the change, the new key is not trusted: the index refuses what it signs.
    const early = await bulwark(['upload', ...(dists['3.0'] as string[]), '--key', 'laptop2']);
    assert.equal(early.code, 1);
    const laptop2 = (JSON.parse((await bulwark(['key', 'show', 'laptop2', '--json'])).stdout) as { keyid: string }).keyid;
    assert.match(early.stderr, new RegExp(`signed-pkg does not trust the key ${laptop2}`), 'says which key and that the project does not trust it');
    assert.match(early.stderr, /bulwark key add signed-pkg --public-key/, 'and what to do');
    // The index says the same to a client that sends such a role anyway.
    const stranger = Ed25519Signer.generate();
    const strangerRole = new Targets({ version: 99, expires: expiresIn(new Date(), 86400), targets: new Map(), delegations: undefined }).toJSON();
    const form = new FormData();
    form.append('role', new Blob([encodeCanonical({ signed: strangerRole, signatures: (await signCanonical(encodeCanonical(strangerRole), [stranger])).signatures })]), 'role.json');
    const byStranger = await fetch(`${server.url}/api/v1/projects/signed-pkg/signed-upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
    assert.equal(byStranger.status, 403);
    const problem = (await byStranger.json()) as { error: { code: string; message: string } };
    assert.equal(problem.error.code, 'UNTRUSTED_KEY');
    assert.match(problem.error.message, new RegExp(`signed-pkg does not trust the key ${stranger.keyId}.*bulwark key add signed-pkg`));
    const add = await bulwark(['key', 'add', 'signed-pkg', '--public-key', pub, '--json']);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal((JSON.parse(add.stdout) as { status: string }).status, 'published');
    const up = await bulwark(['upload', ...(dists['3.0'] as string[]), '--key', 'laptop2', '--json']);
    assert.equal(up.code, 0, up.stdout + up.stderr);

    // Promotion: export on the index, sign with the (demo) offline claimed key, import.
    const exported = join(dataDir, '..', 'promote.json');
    const signed = join(dataDir, '..', 'promote.signed.json');
    assert.equal((await runBulwark(['--data', dataDir, 'admin', 'promote', 'export', '--out', exported])).code, 0);
    const sign = await runBulwark(['admin', 'sign', '--in', exported, '--out', signed, '--key', join(dataDir, 'keys', 'offline-DEMO-ONLY', 'claimed.pem'), '--yes']);
    assert.equal(sign.code, 0, sign.stderr);
    // A file signed by a key that is not the claimed key is refused.
    const forged = join(dataDir, '..', 'promote.forged.json');
    await runBulwark(['admin', 'sign', '--in', exported, '--out', forged, '--key', join(dataDir, 'keys', 'online', 'unclaimed.pem'), '--yes']);
    const refused = await runBulwark(['--data', dataDir, '--json', 'admin', 'promote', 'import', '--in', forged]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'CEREMONY');
    // The ceremony signs the project's claimed bin (ADR 0005), not claimed.
    const count = nameBinCountOf((await loadConfig(dataDir)) ?? {});
    const bin = nameBinRole('claimed', nameBinOf('signed-pkg', count), count);
    assert.match(refused.stderr, new RegExp(`${bin} has 0 valid signature\\(s\\) of the 1 required`));
    const imported = await runBulwark(['--data', dataDir, 'admin', 'promote', 'import', '--in', signed, '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    // The running index publishes it; then the files are vouched for through claimed and the bin.
    const publishedVersion = async (role: string) => {
      const metadata = join(dataDir, 'public', 'metadata');
      const ts = JSON.parse(await readFile(join(metadata, 'timestamp.json'), 'utf8')) as { signed: { meta: Record<string, { version: number }> } };
      const snapshot = JSON.parse(await readFile(join(metadata, `${ts.signed.meta['snapshot.json']?.version}.snapshot.json`), 'utf8')) as { signed: { meta: Record<string, { version: number }> } };
      return snapshot.signed.meta[`${role}.json`]?.version ?? 0;
    };
    let role = '';
    for (let i = 0; i < 50 && role === ''; i++) {
      if ((await publishedVersion(bin)) >= 2) role = bin;
      else await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(role, bin, `${bin} v2 was published`);
    assert.equal(await publishedVersion('claimed'), 1, 'claimed itself is not signed again');
    const metadataDir = await tempDir('pep480-tufjs-claimed');
    await writeFile(join(metadataDir, 'root.json'), await readFile(join(dataDir, 'root.json')));
    const updater = new Updater({ metadataDir, metadataBaseUrl: `${server.url}/metadata`, targetDir: await tempDir('pep480-tufjs-t2'), targetBaseUrl: `${server.url}/targets` });
    await updater.refresh();
    assert.ok(await updater.getTargetInfo('signed-pkg/signed_pkg-3.0.tar.gz'));
    const claimedDelegations = JSON.parse(await readFile(join(dataDir, 'public', 'metadata', `2.${bin}.json`), 'utf8')) as { signed: { delegations: { roles: { name: string; terminating: boolean; paths: string[] }[] } } };
    assert.deepEqual(claimedDelegations.signed.delegations.roles.map((r) => [r.name, r.terminating, r.paths]), [['project-signed-pkg', true, ['signed-pkg/*']]]);
  });

  it('with a threshold of 2, one maintainer signs a partial release and another co-signs it', async () => {
    const pub = join(env['BULWARK_KEYS_DIR'] as string, '..', 'laptop2.pub.json');
    // Raising the threshold while the current role has one signature would lock clients out: refused.
    const early = await bulwark(['key', 'add', 'signed-pkg', '--public-key', pub, '--threshold', '2']);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /would not verify under the new keys/);
    // So: a release signed by both keys first (partial + co-sign)…
    const v4 = await buildDist({ name: 'signed_pkg', version: '4.0', kind: 'sdist', outDir: await tempDir('pep480-dists-4') });
    const partial4 = join(dataDir, '..', 'release-4.json');
    const first = await bulwark(['upload', ...v4, '--partial', partial4, '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((JSON.parse(first.stdout) as { signatures: number }).signatures, 1);
    const second = await bulwark(['upload', ...v4, '--cosign', partial4, '--key', 'laptop2', '--json']);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal((JSON.parse(second.stdout) as { status: string }).status, 'published');
    // …then the threshold change, which for a claimed project takes effect with the ceremony.
    const raise = await bulwark(['key', 'add', 'signed-pkg', '--public-key', pub, '--threshold', '2', '--json']);
    assert.equal(raise.code, 0, raise.stdout + raise.stderr);
    assert.equal((JSON.parse(raise.stdout) as { status: string }).status, 'waiting-for-ceremony');
    const exported = join(dataDir, '..', 'promote2.json');
    const signed = join(dataDir, '..', 'promote2.signed.json');
    assert.equal((await runBulwark(['--data', dataDir, 'admin', 'promote', 'export', '--out', exported])).code, 0);
    assert.equal((await runBulwark(['admin', 'sign', '--in', exported, '--out', signed, '--key', join(dataDir, 'keys', 'offline-DEMO-ONLY', 'claimed.pem'), '--yes'])).code, 0);
    assert.equal((await runBulwark(['--data', dataDir, 'admin', 'promote', 'import', '--in', signed])).code, 0);
    // Now one signature is not enough, and two are.
    const v5 = await buildDist({ name: 'signed_pkg', version: '5.0', kind: 'sdist', outDir: await tempDir('pep480-dists-5') });
    let alone = { code: 0, stdout: '', stderr: '' };
    for (let i = 0; i < 50; i++) {
      alone = await bulwark(['upload', ...v5]);
      // Until the bin's next version is published the client sees threshold 1 and the index refuses instead.
      if (alone.code !== 0 && /needs 2 signatures/.test(alone.stderr)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(alone.code, 1);
    assert.match(alone.stderr, /needs 2 signatures/);
    const partial5 = join(dataDir, '..', 'release-5.json');
    assert.equal((await bulwark(['upload', ...v5, '--partial', partial5])).code, 0);
    const done = await bulwark(['upload', ...v5, '--cosign', partial5, '--key', 'laptop2', '--json']);
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.equal((JSON.parse(done.stdout) as { status: string }).status, 'published');
  });

  it("records a signed release's core metadata from its files, as twine's form fields would (sdist and wheel alike)", async () => {
    const v6 = await buildDist({ name: 'signed_pkg', version: '6.0', kind: 'both', requiresPython: '>=3.99', summary: 'Needs a future Python', outDir: await tempDir('pep480-dists-6') });
    const partial6 = join(dataDir, '..', 'release-6.json');
    assert.equal((await bulwark(['upload', ...v6, '--partial', partial6])).code, 0);
    const done = await bulwark(['upload', ...v6, '--cosign', partial6, '--key', 'laptop2', '--json']);
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.equal((JSON.parse(done.stdout) as { status: string }).status, 'published');

    const html = await (await fetch(`${server.url}/simple/signed-pkg/`, { headers: { accept: 'text/html' } })).text();
    for (const f of v6) {
      const link = html.split('\n').find((line) => line.includes(`${basename(f)}#sha256=`));
      assert.match(link ?? '', /data-requires-python="&gt;=3\.99"/, `the link to ${basename(f)} carries Requires-Python`);
    }
    const api = (await (await fetch(`${server.url}/pypi/signed-pkg/json`)).json()) as { info: { version: string; summary: string | null; requires_python: string | null }; urls: { filename: string; requires_python: string | null }[] };
    assert.equal(api.info.version, '6.0');
    assert.equal(api.info.summary, 'Needs a future Python');
    assert.equal(api.info.requires_python, '>=3.99');
    assert.deepEqual(api.urls.map((u) => [u.filename, u.requires_python]).sort(), v6.map((f) => [basename(f), '>=3.99']).sort());

    // pip on this Python skips 6.0 (sdist included) for the newest release it can run.
    const dest = await tempDir('pep480-pip-choice');
    const r = await pipDownload({ indexUrl: `${server.url}/simple/`, packages: ['signed-pkg'], dest });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await readdir(dest), ['signed_pkg-5.0.tar.gz']);
  });
});
