// A project name may be up to 200 characters (MAX_PROJECT_NAME_LENGTH), and every route that
// takes a project or file name in its path serves such a project (issue 13, finding 5): the
// simple page, the project page, the JSON API, the files pip downloads, yank, claim, signed
// upload and key changes, and the verifying proxy. Before the fix, the framework's 100-character
// limit on path parameters answered 414 on every one of them.
import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildProxy } from '../../src/client/proxy.js';
import { VerifiedIndex } from '../../src/client/verified-index.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { memorySdist, memoryWheel, type MemoryDist } from '../helpers/memory-dists.js';
import { runBulwark, tempDir } from '../helpers/processes.js';

// 150 characters: its wheels' metadata files have names of 180.
const NAME = `Long_${'n'.repeat(142)}ame`;
const PROJECT = NAME.toLowerCase().replace(/_/g, '-');

describe('a project with a name longer than 100 characters', () => {
  let index: IndexUnderTest;
  let token: string;
  let wheel: MemoryDist;
  let sdist: MemoryDist;
  let env: Record<string, string>;

  const upload = async (file: MemoryDist, version: string) => {
    const res = await fetch(`${index.url}/legacy/`, {
      method: 'POST',
      headers: { authorization: basicAuth(token) },
      body: uploadForm({ ':action': 'file_upload', name: NAME, version, filetype: file.filename.endsWith('.whl') ? 'bdist_wheel' : 'sdist', sha256_digest: file.sha256 }, { name: file.filename, bytes: file.bytes }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    index = await startIndex();
    token = await index.user('longname');
    wheel = memoryWheel({ name: NAME, version: '1.0' });
    sdist = memorySdist({ name: NAME, version: '1.1' });
    await upload(wheel, '1.0');
    await upload(sdist, '1.1');
    const home = await tempDir('long-names-home');
    await writeFile(join(home, '.pypirc'), `[distutils]\nindex-servers =\n    bulwark\n\n[bulwark]\nrepository = ${index.url}/legacy/\nusername = __token__\npassword = ${token}\n`);
    env = { PYPIRC: join(home, '.pypirc'), BULWARK_KEYS_DIR: join(home, 'keys'), BULWARK_CACHE: join(home, 'cache'), BULWARK_PASSPHRASE: 'a long enough passphrase' };
  });
  after(() => index.close());

  it('is served by the simple page, the project page, the JSON API and /files/', async () => {
    assert.ok(NAME.length > 100 && wheel.filename.length + '.metadata'.length >= 180);
    const simple = await fetch(`${index.url}/simple/${PROJECT}/`, { headers: { accept: 'text/html' } });
    assert.equal(simple.status, 200);
    assert.match(await simple.text(), new RegExp(`${wheel.filename}#sha256=${wheel.sha256}`));
    assert.equal((await fetch(`${index.url}/simple/${NAME}/`, { redirect: 'manual' })).status, 301, 'the unnormalized name redirects');
    assert.equal((await fetch(`${index.url}/project/${PROJECT}/`)).status, 200);
    assert.equal((await fetch(`${index.url}/project/${PROJECT}/1.0/`)).status, 200);
    const api = await fetch(`${index.url}/pypi/${PROJECT}/json`);
    assert.equal(api.status, 200);
    assert.equal(((await api.json()) as { info: { name: string } }).info.name, NAME);
    assert.equal((await fetch(`${index.url}/pypi/${PROJECT}/1.0/json`)).status, 200);
    const served = Buffer.from(await (await fetch(`${index.url}/files/${PROJECT}/${wheel.filename}`)).arrayBuffer());
    assert.ok(served.equals(wheel.bytes));
    assert.equal((await fetch(`${index.url}/files/${PROJECT}/${wheel.filename}.metadata`)).status, 200);
  });

  it('is served by the verifying proxy', async () => {
    const metadataDir = await tempDir('long-names-proxy');
    await mkdir(metadataDir, { recursive: true });
    await copyFile(join(index.dataDir, 'root.json'), join(metadataDir, 'root.json'));
    const proxy: FastifyInstance = buildProxy(new VerifiedIndex({ indexUrl: index.url, metadataDir }), undefined);
    try {
      const page = await proxy.inject({ url: `/simple/${PROJECT}/`, headers: { accept: 'text/html' } });
      assert.equal(page.statusCode, 200, page.body);
      const file = await proxy.inject({ url: `/files/${PROJECT}/${wheel.filename}` });
      assert.equal(file.statusCode, 200, file.body);
      assert.ok(file.rawPayload.equals(wheel.bytes));
    } finally {
      await proxy.close();
    }
  });

  it('can be yanked through the API', async () => {
    const res = await fetch(`${index.url}/api/v1/projects/${PROJECT}/yank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: '1.1', reason: 'testing' }),
    });
    assert.equal(res.status, 200, await res.text());
  });

  it('can be claimed, take a signed upload and a key change', async () => {
    assert.equal((await runBulwark(['key', 'new', '--label', 'dev@long', '--json'], { env })).code, 0);
    const claim = await runBulwark(['claim', NAME, '--json'], { env });
    assert.equal(claim.code, 0, claim.stdout + claim.stderr);
    const dir = await tempDir('long-names-dists');
    const next = memoryWheel({ name: NAME, version: '2.0' });
    await writeFile(join(dir, next.filename), next.bytes);
    const up = await runBulwark(['upload', join(dir, next.filename), '--json'], { env });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.equal((JSON.parse(up.stdout) as { status: string }).status, 'published');
    // The keys route answers about the change itself (not signed by the project's key), not the name.
    const keys = await fetch(`${index.url}/api/v1/projects/${PROJECT}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ signed: {}, signatures: [] }),
    });
    assert.equal(keys.status, 400);
    assert.equal(((await keys.json()) as { error: { code: string } }).error.code, 'BAD_CHANGE');
  });
});
