// The first end-to-end slice, with the real things: `bulwark serve` as a process, Debian's
// twine uploading a wheel and an sdist, pip installing from /simple/, and tuf-js (an
// independent TUF client) verifying every distribution and simple page from the initial root.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater } from 'tuf-js';
import { buildDist } from '../helpers/dists.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';
import { waitForClassicSnapshot } from '../helpers/published.js';
import { pipInstall, runPython, twineUpload } from '../helpers/python-tools.js';

describe('twine → bulwark serve → pip and tuf-js', () => {
  let server: RunningServer;
  let dataDir: string;
  let token: string;
  let dists: string[];

  before(async () => {
    dataDir = await tempDir('e2e-data');
    const init = await runBulwark(['--data', dataDir, 'init', '--bins', '32', '--json']);
    assert.equal(init.code, 0, init.stderr);
    server = await startBulwark({ dataDir });
    // Accounts can be added while the index runs.
    const add = await runBulwark(['--data', dataDir, 'user', 'add', 'alice', '--json']);
    assert.equal(add.code, 0, add.stderr);
    const user = JSON.parse(add.stdout) as { name: string; token: string };
    assert.equal(user.name, 'alice');
    token = user.token;
    dists = await buildDist({
      name: 'Shiny_Widget',
      version: '1.2.0',
      kind: 'both',
      requiresPython: '>=3.7',
      moduleCode: 'MAGIC = 42',
      outDir: await tempDir('e2e-dists'),
    });
  });
  after(() => server?.stop());

  it('twine uploads a wheel and an sdist', async () => {
    const r = await twineUpload({ repositoryUrl: `${server.url}/legacy/`, token, files: dists });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('twine --skip-existing recognises a re-upload, and a plain re-upload fails', async () => {
    const skip = await twineUpload({ repositoryUrl: `${server.url}/legacy/`, token, files: dists, skipExisting: true });
    assert.equal(skip.code, 0, skip.stdout + skip.stderr);
    assert.match(skip.stdout + skip.stderr, /Skipping/);
    const again = await twineUpload({ repositoryUrl: `${server.url}/legacy/`, token, files: dists });
    assert.notEqual(again.code, 0);
    assert.match(again.stdout + again.stderr, /File already exists/);
  });

  it('serves PEP 503 HTML and PEP 691 JSON with the content types pip expects', async () => {
    const html = await fetch(`${server.url}/simple/shiny-widget/`, { headers: { accept: 'text/html' } });
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    const body = await html.text();
    assert.match(body, /data-requires-python="&gt;=3.7"/);
    assert.match(body, /href="\.\.\/\.\.\/files\/shiny-widget\/Shiny_Widget-1\.2\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}"/);
    const pipAccept = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
    const json = await fetch(`${server.url}/simple/shiny-widget/`, { headers: { accept: pipAccept } });
    assert.equal(json.headers.get('content-type'), 'application/vnd.pypi.simple.v1+json');
    const page = (await json.json()) as { name: string; files: { filename: string; 'core-metadata': unknown }[] };
    assert.equal(page.name, 'shiny-widget');
    assert.deepEqual(page.files.map((f) => f.filename).sort(), dists.map((d) => basename(d)).sort());
    const wheelEntry = page.files.find((f) => f.filename.endsWith('.whl'));
    assert.ok(wheelEntry && typeof wheelEntry['core-metadata'] === 'object', 'the wheel has PEP 658 metadata');
    // curl, python-requests and fetch send `Accept: */*`: HTML, as PyPI answers (PEP 691).
    for (const path of ['/simple/', '/simple/shiny-widget/']) {
      const any = await fetch(`${server.url}${path}`, { headers: { accept: '*/*' } });
      assert.match(any.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.match(await any.text(), /<a /, path);
    }
    const redirect = await fetch(`${server.url}/simple/Shiny.Widget/`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/simple/shiny-widget/');
  });

  it('pip installs the wheel from /simple/', async () => {
    const target = await tempDir('e2e-pip');
    const r = await pipInstall({ indexUrl: `${server.url}/simple/`, packages: ['shiny-widget==1.2.0'], target, extraArgs: ['-vv'] });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // pip's own Accept header asks for JSON first (PEP 691), and gets it.
    assert.match(r.stdout, /Fetched page http:\/\/[^ ]+\/simple\/shiny-widget\/ as application\/vnd\.pypi\.simple\.v1\+json/);
    const run = await runPython(['-c', 'import Shiny_Widget as m; print(m.__version__, m.MAGIC)'], { PYTHONPATH: target });
    assert.equal(run.stdout.trim(), '1.2.0 42', run.stderr);
  });

  it('tuf-js verifies every distribution and simple page from the initial root and gets the served bytes', async () => {
    assert.ok(await waitForClassicSnapshot(server.url), 'the classic snapshot, which tuf-js reads, caught up with the uploads');
    const metadataDir = await tempDir('e2e-tufjs-meta');
    const targetDir = await tempDir('e2e-tufjs-targets');
    await runPython(['-c', `import shutil; shutil.copy(${JSON.stringify(join(dataDir, 'root.json'))}, ${JSON.stringify(join(metadataDir, 'root.json'))})`]);
    const updater = new Updater({
      metadataDir,
      metadataBaseUrl: `${server.url}/metadata`,
      targetDir,
      targetBaseUrl: `${server.url}/targets`,
    });
    await updater.refresh();
    const served: [string, Buffer][] = [];
    for (const d of dists) served.push([`shiny-widget/${basename(d)}`, await readFile(d)]);
    for (const [file, accept] of [['index.html', 'text/html'], ['index.json', 'application/vnd.pypi.simple.v1+json']] as const) {
      const res = await fetch(`${server.url}/simple/shiny-widget/`, { headers: { accept } });
      served.push([`shiny-widget/${file}`, Buffer.from(await res.arrayBuffer())]);
    }
    const wheel = dists.find((d) => d.endsWith('.whl')) as string;
    const metadataRes = await fetch(`${server.url}/files/shiny-widget/${basename(wheel)}.metadata`);
    assert.equal(metadataRes.status, 200);
    served.push([`shiny-widget/${basename(wheel)}.metadata`, Buffer.from(await metadataRes.arrayBuffer())]);
    for (const [path, bytes] of served) {
      const info = await updater.getTargetInfo(path);
      assert.ok(info, `${path} is a TUF target`);
      const local = await updater.downloadTarget(info, join(targetDir, path.replace('/', '_')));
      assert.deepEqual(await readFile(local), bytes, `${path}: tuf-js got the bytes the index serves`);
    }
    assert.equal(await updater.getTargetInfo('shiny-widget/not-uploaded-1.0.tar.gz'), undefined);
  });

  it('serves versioned metadata compressed to clients that accept it', async () => {
    const ts = (await (await fetch(`${server.url}/metadata/timestamp.json`)).json()) as { signed: { meta: { 'snapshot.json': { version: number } } } };
    const url = `${server.url}/metadata/${ts.signed.meta['snapshot.json'].version}.snapshot.json`;
    let encoding: string | null = null;
    for (let i = 0; i < 50 && encoding !== 'gzip'; i++) {
      const res = await fetch(url, { headers: { 'accept-encoding': 'gzip' } });
      encoding = res.headers.get('content-encoding');
      await res.arrayBuffer();
      if (encoding !== 'gzip') await new Promise((r) => setTimeout(r, 100)); // compressed in the background
    }
    assert.equal(encoding, 'gzip');
  });

  it('an owner yanks a release with `bulwark yank`; pages mark it and pip skips it unless pinned', async () => {
    const yank = await runBulwark(['yank', 'shiny-widget', '1.2.0', '--reason', 'broken <build>', '--index', server.url, '--token', token, '--json']);
    assert.equal(yank.code, 0, yank.stdout + yank.stderr);
    assert.equal((JSON.parse(yank.stdout) as { status: string }).status, 'published');
    const html = await (await fetch(`${server.url}/simple/shiny-widget/`, { headers: { accept: 'text/html' } })).text();
    assert.match(html, /data-yanked="broken &lt;build&gt;"/);
    const target = await tempDir('e2e-pip-yanked');
    const unpinned = await pipInstall({ indexUrl: `${server.url}/simple/`, packages: ['shiny-widget'], target });
    assert.notEqual(unpinned.code, 0, 'pip must not pick a yanked release for an unpinned requirement');
    // Refused for the right reason: pip saw the release and skipped it as yanked, not a crash or a network error.
    assert.match(unpinned.stderr, /No matching distribution found for shiny-widget/, unpinned.stdout + unpinned.stderr);
    assert.doesNotMatch(unpinned.stdout + unpinned.stderr, /Could not fetch URL|Retrying|Traceback/);
    const pinned = await pipInstall({ indexUrl: `${server.url}/simple/`, packages: ['shiny-widget==1.2.0'], target });
    assert.equal(pinned.code, 0, pinned.stdout + pinned.stderr);
    const denied = await runBulwark(['yank', 'shiny-widget', '1.2.0', '--undo', '--index', server.url, '--token', 'bulwark-wrong']);
    assert.equal(denied.code, 1);
  });

  it('only owners and maintainers may upload; an operator adds a maintainer', async () => {
    const bob = JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'bob', '--json'])).stdout) as { token: string };
    const next = await buildDist({ name: 'Shiny_Widget', version: '1.3.0', kind: 'sdist', outDir: await tempDir('e2e-dists-2') });
    const refused = await twineUpload({ repositoryUrl: `${server.url}/legacy/`, token: bob.token, files: next });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /403|isn't allowed/);
    const grant = await runBulwark(['--data', dataDir, 'project', 'role', 'Shiny.Widget', 'bob', '--json']);
    assert.equal(grant.code, 0, grant.stderr);
    const ok = await twineUpload({ repositoryUrl: `${server.url}/legacy/`, token: bob.token, files: next });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });
});
