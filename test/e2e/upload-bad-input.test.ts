// Every kind of bad upload gets a clear 4xx and changes nothing: not the static tree, not the
// journal, not the project list, and no temporary file is left behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildDist } from '../helpers/dists.js';
import { buildTar, memorySdist } from '../helpers/memory-dists.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { tempDir } from '../helpers/processes.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

describe('upload: bad input is refused and changes nothing', () => {
  let index: IndexUnderTest;
  let alice: string;
  let mallory: string;
  let wheel: { name: string; bytes: Buffer };
  let other: { name: string; bytes: Buffer };

  const fieldsFor = (file: { name: string; bytes: Buffer }, project: string, version: string) => ({
    ':action': 'file_upload',
    protocol_version: '1',
    name: project,
    version,
    filetype: file.name.endsWith('.whl') ? 'bdist_wheel' : 'sdist',
    pyversion: 'py3',
    metadata_version: '2.1',
    sha256_digest: sha256(file.bytes),
    md5_digest: md5(file.bytes),
  });

  const post = (form: FormData | string, headers: Record<string, string> = {}) =>
    fetch(`${index.url}/legacy/`, { method: 'POST', body: form, headers });
  const sendSdist = (file: { name: string; bytes: Buffer }, version: string) => post(uploadForm(fieldsFor(file, 'goodpkg', version), file), { authorization: basicAuth(alice) });

  before(async () => {
    index = await startIndex({ server: { maxUploadBytes: 64 * 1024, maxFieldBytes: 64 * 1024 } });
    alice = await index.user('alice');
    mallory = await index.user('mallory');
    const dir = await tempDir('bad-input');
    const [w] = await buildDist({ name: 'goodpkg', version: '1.0', kind: 'wheel', outDir: dir });
    const [o] = await buildDist({ name: 'otherpkg', version: '2.0', kind: 'wheel', outDir: dir });
    wheel = { name: basename(w as string), bytes: await readFile(w as string) };
    other = { name: basename(o as string), bytes: await readFile(o as string) };
    // alice owns goodpkg 1.0 (the state every bad upload below must leave untouched)
    const res = await post(uploadForm(fieldsFor(wheel, 'goodpkg', '1.0'), wheel), { authorization: basicAuth(alice) });
    assert.equal(res.status, 200, await res.text());
  });
  after(() => index.close());

  const cases: { name: string; status: number; reason: RegExp; send: () => Promise<Response> }[] = [
    { name: 'malformed multipart', status: 400, reason: /multipart/i, send: () => post('--xyz\r\ngarbage', { authorization: basicAuth(alice), 'content-type': 'multipart/form-data; boundary=xyz' }) },
    { name: 'not multipart at all', status: 415, reason: /multipart/i, send: () => post('name=x', { authorization: basicAuth(alice), 'content-type': 'application/x-www-form-urlencoded' }) },
    { name: 'missing token', status: 401, reason: /token/i, send: () => post(uploadForm(fieldsFor(other, 'otherpkg', '2.0'), other)) },
    { name: 'wrong token', status: 403, reason: /token/i, send: () => post(uploadForm(fieldsFor(other, 'otherpkg', '2.0'), other), { authorization: basicAuth('bulwark-not-a-real-token') }) },
    {
      name: "someone else's project",
      status: 403,
      reason: /isn't allowed to upload to project 'goodpkg'/,
      send: async () => {
        const w2 = { name: wheel.name.replace('1.0', '1.1'), bytes: wheel.bytes };
        return post(uploadForm(fieldsFor(w2, 'goodpkg', '1.1'), w2), { authorization: basicAuth(mallory) });
      },
    },
    { name: 'file name of another project', status: 400, reason: /otherpkg|goodpkg/i, send: () => post(uploadForm(fieldsFor(other, 'goodpkg', '2.0'), other), { authorization: basicAuth(alice) }) },
    {
      name: 'path traversal in the file name',
      status: 400,
      reason: /file ?name/i,
      send: () => post(uploadForm(fieldsFor(wheel, 'goodpkg', '1.0'), { name: '../../goodpkg-1.0-py3-none-any.whl', bytes: wheel.bytes }), { authorization: basicAuth(alice) }),
    },
    {
      name: 'hidden file name',
      status: 400,
      reason: /file ?name/i,
      send: () => post(uploadForm(fieldsFor(wheel, 'goodpkg', '1.0'), { name: '.goodpkg-1.0-py3-none-any.whl', bytes: wheel.bytes }), { authorization: basicAuth(alice) }),
    },
    {
      name: 'unsupported file type',
      status: 400,
      reason: /file ?name|\.exe|sdist|wheel/i,
      send: () => post(uploadForm({ ...fieldsFor(wheel, 'goodpkg', '3.0'), filetype: 'sdist' }, { name: 'goodpkg-3.0.exe', bytes: wheel.bytes }), { authorization: basicAuth(alice) }),
    },
    { name: 'duplicate file', status: 400, reason: /File already exists/, send: () => post(uploadForm(fieldsFor(wheel, 'goodpkg', '1.0'), wheel), { authorization: basicAuth(alice) }) },
    {
      name: 'oversize body',
      status: 413,
      reason: /too large/i,
      send: () => {
        const big = { name: 'goodpkg-9.0.tar.gz', bytes: Buffer.alloc(200 * 1024, 7) };
        return post(uploadForm(fieldsFor(big, 'goodpkg', '9.0'), big), { authorization: basicAuth(alice) });
      },
    },
    {
      name: 'wrong digest',
      status: 400,
      reason: /sha256_digest does not match/,
      send: () => {
        const w2 = { name: wheel.name.replace('1.0', '1.2'), bytes: wheel.bytes };
        return post(uploadForm({ ...fieldsFor(w2, 'goodpkg', '1.2'), sha256_digest: '0'.repeat(64) }, w2), { authorization: basicAuth(alice) });
      },
    },
    {
      name: 'wheel whose METADATA names another version',
      status: 400,
      reason: /METADATA|version|dist-info/i,
      send: () => {
        const w2 = { name: wheel.name.replace('1.0', '1.3'), bytes: wheel.bytes };
        return post(uploadForm(fieldsFor(w2, 'goodpkg', '1.3'), w2), { authorization: basicAuth(alice) });
      },
    },
    // Issue 13, finding 6: an sdist must be the archive its name says, with a PKG-INFO.
    { name: 'an empty sdist', status: 400, reason: /not a gzip-compressed tar archive/, send: () => sendSdist({ name: 'goodpkg-5.0.tar.gz', bytes: Buffer.alloc(0) }, '5.0') },
    { name: 'zip bytes named .tar.gz', status: 400, reason: /not a gzip-compressed tar archive/, send: () => sendSdist({ name: 'goodpkg-5.0.tar.gz', bytes: wheel.bytes }, '5.0') },
    { name: 'gzip of something that is not a tar archive', status: 400, reason: /not a valid tar archive/, send: () => sendSdist({ name: 'goodpkg-5.0.tar.gz', bytes: gzipSync('not a tar archive '.repeat(100)) }, '5.0') },
    {
      name: 'an sdist without PKG-INFO',
      status: 400,
      reason: /no PKG-INFO/,
      send: () => sendSdist({ name: 'goodpkg-5.0.tar.gz', bytes: gzipSync(buildTar([{ name: 'goodpkg-5.0/setup.py', data: '' }])) }, '5.0'),
    },
    { name: 'a .zip sdist that is not a zip', status: 400, reason: /not a readable zip archive/, send: () => sendSdist({ name: 'goodpkg-5.0.zip', bytes: memorySdist({ name: 'goodpkg', version: '5.0' }).bytes }, '5.0') },
    {
      name: 'garbage requires_python',
      status: 400,
      reason: /Invalid requires_python "python 3, please"/,
      send: () => {
        const s = memorySdist({ name: 'goodpkg', version: '5.0' });
        return post(uploadForm({ ...fieldsFor({ name: s.filename, bytes: s.bytes }, 'goodpkg', '5.0'), requires_python: 'python 3, please' }, { name: s.filename, bytes: s.bytes }), { authorization: basicAuth(alice) });
      },
    },
    {
      name: 'a new name too similar to an existing project',
      status: 400,
      reason: /'G0od\.Pkg' is too similar to the existing project 'goodpkg'/,
      send: () => {
        const s = memorySdist({ name: 'G0od.Pkg', version: '1.0' });
        return post(uploadForm(fieldsFor({ name: s.filename, bytes: s.bytes }, 'G0od.Pkg', '1.0'), { name: s.filename, bytes: s.bytes }), { authorization: basicAuth(mallory) });
      },
    },
    {
      name: 'three files (a twine upload carries one, and maybe its signature)',
      status: 400,
      reason: /TOO_MANY_FILES.*at most 2/,
      send: () => {
        const w2 = { name: wheel.name.replace('1.0', '1.4'), bytes: wheel.bytes };
        const form = uploadForm(fieldsFor(w2, 'goodpkg', '1.4'), w2);
        form.append('gpg_signature', new Blob(['sig']), `${w2.name}.asc`);
        form.append('content', new Blob([w2.bytes]), w2.name);
        return post(form, { authorization: basicAuth(alice) });
      },
    },
    {
      name: 'a text field over the field size limit (it used to be cut silently)',
      status: 413,
      reason: /FIELD_TOO_LARGE.*description/,
      send: () => {
        const w2 = { name: wheel.name.replace('1.0', '1.5'), bytes: wheel.bytes };
        return post(uploadForm({ ...fieldsFor(w2, 'goodpkg', '1.5'), description: 'd'.repeat(64 * 1024 + 1) }, w2), { authorization: basicAuth(alice) });
      },
    },
    { name: 'missing file', status: 400, reason: /content/, send: () => post(uploadForm(fieldsFor(wheel, 'goodpkg', '4.0')), { authorization: basicAuth(alice) }) },
    { name: 'wrong :action', status: 400, reason: /action/, send: () => post(uploadForm({ ...fieldsFor(other, 'otherpkg', '2.0'), ':action': 'submit' }, other), { authorization: basicAuth(alice) }) },
  ];

  for (const c of cases) {
    it(`refuses ${c.name} with ${c.status}`, async () => {
      const before = await index.fingerprint();
      const res = await c.send();
      const body = await res.text();
      assert.equal(res.status, c.status, `${c.name}: ${res.status} ${res.statusText} ${body}`);
      assert.match(`${res.statusText} ${body}`, c.reason);
      assert.deepEqual(await index.fingerprint(), before, `${c.name} changed the repository`);
    });
  }

  it('still accepts a good upload afterwards (the checks are not simply refusing everything)', async () => {
    const res = await post(uploadForm(fieldsFor(other, 'otherpkg', '2.0'), other), { authorization: basicAuth(mallory) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text) as { status: string; snapshot_version: number };
    assert.equal(body.status, 'published');
    assert.ok(body.snapshot_version > 1);
  });
});
