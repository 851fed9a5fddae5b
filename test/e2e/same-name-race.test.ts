// Sixteen uploads of one file name, each with other bytes, at once (issue 13, finding 3): one
// wins, and pip's name for the file (`/files/<p>/<name>`) and for its PEP 658 metadata serve
// exactly the winner's bytes, the ones the simple page and the TUF metadata list. Before the
// fix, the alias was made before the upload was recorded and an existing one was kept, so a
// refused upload's bytes were served in about one round in four.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { memoryWheel } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const ROUNDS = 30;
const RACERS = 16;

interface JsonPage {
  files: { filename: string; url: string; hashes: { sha256: string }; 'core-metadata'?: { sha256: string } | false }[];
}

describe('one file name uploaded 16 times at once with different bytes', () => {
  let index: IndexUnderTest;
  let token: string;
  before(async () => {
    index = await startIndex();
    token = await index.user('racer');
  });
  after(() => index.close());

  it(`serves only the winner's bytes under /files/, ${ROUNDS} rounds`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const version = `1.${round}`;
      const wheels = Array.from({ length: RACERS }, (_, i) => memoryWheel({ name: 'racepkg', version, salt: `round ${round} racer ${i}` }));
      const filename = wheels[0]!.filename;
      assert.equal(new Set(wheels.map((w) => w.sha256)).size, RACERS, 'every racer has its own bytes');
      const statuses = await Promise.all(
        wheels.map(async (w) => {
          const res = await fetch(`${index.url}/legacy/?wait=0`, {
            method: 'POST',
            headers: { authorization: basicAuth(token) },
            body: uploadForm({ ':action': 'file_upload', name: 'racepkg', version, filetype: 'bdist_wheel', sha256_digest: w.sha256 }, { name: w.filename, bytes: w.bytes }),
          });
          await res.arrayBuffer();
          return res.status;
        })
      );
      assert.equal(statuses.filter((s) => s === 200).length, 1, `round ${round}: exactly one upload wins (${statuses.join(' ')})`);
      assert.ok(statuses.every((s) => s === 200 || s === 400), `round ${round}: the others are refused as duplicates (${statuses.join(' ')})`);
      await index.repo.settle();

      const page = (await (await fetch(`${index.url}/simple/racepkg/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json' } })).json()) as JsonPage;
      const listed = page.files.find((f) => f.filename === filename);
      assert.ok(listed, `round ${round}: the page lists ${filename}`);
      assert.ok(wheels.some((w) => w.sha256 === listed.hashes.sha256), 'the listed hash is one of the uploads');
      const target = await index.repo.state.currentTarget(`racepkg/${filename}`);
      assert.equal((JSON.parse(target?.entry ?? '{}') as { hashes?: { sha256?: string } }).hashes?.sha256, listed.hashes.sha256, 'TUF lists the same hash');

      const served = Buffer.from(await (await fetch(`${index.url}/files/racepkg/${filename}`)).arrayBuffer());
      assert.equal(sha256(served), listed.hashes.sha256, `round ${round}: /files/ serves the listed bytes`);
      const metadata = Buffer.from(await (await fetch(`${index.url}/files/racepkg/${filename}.metadata`)).arrayBuffer());
      assert.ok(listed['core-metadata'], 'the page announces the PEP 658 metadata');
      assert.equal(sha256(metadata), listed['core-metadata'].sha256, `round ${round}: /files/…/.metadata serves the listed metadata`);
    }
  });

  it('replaces a stale /files/ name that an unrecorded upload left behind (a crash before its journal entry)', async () => {
    const wheel = memoryWheel({ name: 'stalepkg', version: '1.0', salt: 'the recorded one' });
    const dir = join(index.dataDir, 'public', 'files', 'stalepkg');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, wheel.filename), 'bytes of an upload that was never recorded');
    await writeFile(join(dir, `${wheel.filename}.metadata`), 'metadata of an upload that was never recorded');
    const res = await fetch(`${index.url}/legacy/`, {
      method: 'POST',
      headers: { authorization: basicAuth(token) },
      body: uploadForm({ ':action': 'file_upload', name: 'stalepkg', version: '1.0', filetype: 'bdist_wheel', sha256_digest: wheel.sha256 }, { name: wheel.filename, bytes: wheel.bytes }),
    });
    assert.equal(res.status, 200, await res.text());
    await index.repo.settle();
    const served = Buffer.from(await (await fetch(`${index.url}/files/stalepkg/${wheel.filename}`)).arrayBuffer());
    assert.equal(sha256(served), wheel.sha256);
    const metadata = await (await fetch(`${index.url}/files/stalepkg/${wheel.filename}.metadata`)).text();
    assert.match(metadata, /the recorded one/);
  });
});
