// `bulwark tuf-client`: the command-line protocol TUF conformance suites drive. Exit 0 on
// success, 1 on any failure; metadata in --metadata-dir as ROLE.json; targets downloaded in
// order with one updater, files already present not fetched again.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { runBulwark, tempDir } from '../helpers/processes.js';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('bulwark tuf-client (conformance protocol)', () => {
  let index: IndexUnderTest;
  let metadataDir: string;
  const files = ['cpkg-1.0.tar.gz', 'cpkg-2.0.tar.gz'];

  before(async () => {
    index = await startIndex({ bins: 16 });
    const token = await index.user('c');
    for (const f of files) {
      const { bytes } = memorySdist({ name: 'cpkg', version: f.slice(5, 8) });
      const res = await fetch(`${index.url}/legacy/`, {
        method: 'POST',
        headers: { authorization: basicAuth(token) },
        body: uploadForm({ ':action': 'file_upload', name: 'cpkg', version: f.slice(5, 8), filetype: 'sdist', sha256_digest: sha256(bytes) }, { name: f, bytes }),
      });
      assert.equal(res.status, 200);
    }
    metadataDir = await tempDir('tuf-client-meta');
  });
  after(() => index.close());

  const client = (...args: string[]) => runBulwark(['tuf-client', '--metadata-dir', metadataDir, ...args]);

  it('init stores the trusted root as root.json, without the network', async () => {
    const r = await client('init', join(index.dataDir, 'root.json'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readFile(join(metadataDir, 'root.json')), await readFile(join(index.dataDir, 'root.json')));
  });

  it('init refuses a file that is not root metadata (exit 1)', async () => {
    const bad = join(await tempDir('tuf-client-bad'), 'root.json');
    await writeFile(bad, '{"signed": {}, "signatures": []}');
    const r = await runBulwark(['tuf-client', '--metadata-dir', await tempDir('x'), 'init', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tuf-client: BAD_METADATA: /m);
  });

  it('refresh stores the top-level metadata as ROLE.json (against Bulwark: the Merkle tree, not snapshot.json)', async () => {
    const r = await client('--metadata-url', `${index.url}/metadata`, 'refresh');
    assert.equal(r.code, 0, r.stderr);
    const names = await readdir(metadataDir);
    for (const role of ['root.json', 'timestamp.json', 'targets.json', 'merkle']) assert.ok(names.includes(role), role);
    // A Bulwark index names a snapshot Merkle tree: the client reads it, never snapshot.json
    // (docs/merkle-snapshots.md); on repositories without one it behaves as before
    // (foreign-repositories.test.ts).
    assert.ok(!names.includes('snapshot.json'));
  });

  it('download fetches targets in order and does not fetch present files again', async () => {
    const targetDir = await tempDir('tuf-client-targets');
    const args = ['--metadata-url', `${index.url}/metadata`, '--target-base-url', `${index.url}/targets`, '--target-dir', targetDir];
    const targetArgs = files.flatMap((f) => ['--target-name', `cpkg/${f}`]);
    const r = await client(...args, ...targetArgs, 'download');
    assert.equal(r.code, 0, r.stderr);
    const first = join(targetDir, encodeURIComponent(`cpkg/${files[0]}`));
    assert.ok((await readFile(first)).equals(memorySdist({ name: 'cpkg', version: files[0]!.slice(5, 8) }).bytes));
    const mtime = (await stat(first)).mtimeMs;
    await new Promise((res) => setTimeout(res, 20));
    assert.equal((await client(...args, ...targetArgs, 'download')).code, 0);
    assert.equal((await stat(first)).mtimeMs, mtime, 'a file already present and valid is not fetched again');
  });

  it('exits 1 for a target the metadata does not list, and for a repository that fails verification', async () => {
    const targetDir = await tempDir('tuf-client-targets-2');
    const missing = await client('--metadata-url', `${index.url}/metadata`, '--target-base-url', `${index.url}/targets`, '--target-dir', targetDir, '--target-name', 'cpkg/nope.tar.gz', 'download');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^tuf-client: UNKNOWN_TARGET: target cpkg\/nope.tar.gz is not listed in the TUF metadata/m);
    const otherRoot = await tempDir('tuf-client-other');
    const other = await startIndex({ bins: 16 });
    try {
      // A client that trusts another repository's root refuses this one's metadata.
      assert.equal((await runBulwark(['tuf-client', '--metadata-dir', otherRoot, 'init', join(other.dataDir, 'root.json')])).code, 0);
      const refused = await runBulwark(['tuf-client', '--metadata-dir', otherRoot, '--metadata-url', `${index.url}/metadata`, 'refresh']);
      assert.equal(refused.code, 1);
      // The typed reason, not any failure: a crash exits 70 (see below).
      assert.match(refused.stderr, /^tuf-client: UNSIGNED_METADATA: /m);
    } finally {
      await other.close();
    }
  });
});
