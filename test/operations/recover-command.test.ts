// `bulwark recover online-keys` end to end: recently-claimed is cleared (its projects fall back to
// the bins and must be claimed again), uploads since the compromise are discarded, the root and
// targets ceremonies rotate every online key, and the result verifies from the initial root.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater } from '../../src/client/updater.js';
import { Metadata } from '../../src/tuf/index.js';
import { basicAuth, uploadForm } from '../helpers/index-under-test.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';
import { waitForPublishedRole } from '../helpers/published.js';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('bulwark recover online-keys', () => {
  let dataDir: string;
  let index: RunningServer;
  let token: string;
  let env: Record<string, string>;
  let compromise: string;

  const upload = async (project: string, version: string) => {
    const { bytes } = memorySdist({ name: project, version });
    const res = await fetch(`${index.url}/legacy/`, {
      method: 'POST',
      headers: { authorization: basicAuth(token) },
      body: uploadForm({ ':action': 'file_upload', name: project, version, filetype: 'sdist', sha256_digest: sha256(bytes) }, { name: `${project}-${version}.tar.gz`, bytes }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    dataDir = await tempDir('recover-cmd');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    index = await startBulwark({ dataDir });
    token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'op', '--json'])).stdout) as { token: string }).token;
    const home = await tempDir('recover-cmd-home');
    env = { BULWARK_KEYS_DIR: join(home, 'keys'), BULWARK_CACHE: join(home, 'cache'), BULWARK_PASSPHRASE: 'recovery passphrase' };
    await upload('keepme', '1.0');
    await upload('recentpkg', '1.0');
    assert.equal((await runBulwark(['key', 'new', '--label', 'dev@box'], { env })).code, 0);
    const claim = await runBulwark(['claim', 'recentpkg', '--repository-url', `${index.url}/legacy/`, '--token', token], { env });
    assert.equal(claim.code, 0, claim.stderr);
    await new Promise((r) => setTimeout(r, 20));
    compromise = new Date().toISOString();
    await upload('keepme', '6.6.6'); // what the attacker uploaded after the compromise
  });
  after(() => index?.stop());

  it('clears recently-claimed, discards uploads since the compromise, and writes the ceremonies', async () => {
    const out = join(dataDir, '..', 'recovery');
    await mkdir(out, { recursive: true });
    const r = await runBulwark(['--data', dataDir, 'recover', 'online-keys', '--since', compromise, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { done: { unclaimedAgain: string[]; discarded: { filename: string }[] }; files: string[]; steps: string[] };
    assert.deepEqual(result.done.unclaimedAgain, ['recentpkg']);
    assert.deepEqual(result.done.discarded.map((d) => d.filename), ['keepme-6.6.6.tar.gz']);
    assert.equal(result.files.length, 2);
    for (const [file, key] of [[result.files[0], 'root.pem'], [result.files[1], 'targets.pem']] as const) {
      const signed = `${file}.signed`;
      assert.equal((await runBulwark(['admin', 'sign', '--in', file as string, '--out', signed, '--key', join(dataDir, 'keys', 'offline-DEMO-ONLY', key), '--yes'])).code, 0);
      const which = key === 'root.pem' ? 'root' : 'targets';
      const im = await runBulwark(['--data', dataDir, 'admin', which, 'import', '--in', signed]);
      assert.equal(im.code, 0, im.stderr);
    }
  });

  it('the recovered index verifies from the initial root, without what was discarded', async () => {
    const ok = await waitForPublishedRole(index.url, 'targets', 2);
    assert.ok(ok, 'targets v2 published');
    const clientDir = await tempDir('recover-cmd-client');
    await copyFile(join(dataDir, 'root.json'), join(clientDir, 'root.json'));
    const u = new Updater({ metadataDir: clientDir, indexUrl: index.url });
    await u.refresh();
    assert.equal(Metadata.parse(await readFile(join(clientDir, 'root.json')), 'root').signed.version, 2);
    assert.ok(await u.getTargetInfo('keepme/keepme-1.0.tar.gz'));
    assert.equal(await u.getTargetInfo('keepme/keepme-6.6.6.tar.gz'), undefined, 'the upload since the compromise is gone');
    const recent = await u.findTarget('recentpkg/recentpkg-1.0.tar.gz');
    assert.ok(recent);
    assert.match(recent.role, /^bins-/, 'recentpkg is served from the bins again, until it is claimed again');
  });
});
