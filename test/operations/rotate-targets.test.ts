// Rotating the online keys of recently-claimed and unclaimed (PEP 480 recovery, step 2): a new
// targets role is signed offline; the index re-signs recently-claimed, unclaimed and every bin
// with the new keys in one snapshot; clients follow, and a bin signed with the old (stolen)
// unclaimed key is refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater } from '../../src/client/updater.js';
import { binCanonical, targetEntry } from '../../src/repository/metadata-builder.js';
import { Ed25519Signer, Metadata, RepositoryError, signCanonical } from '../../src/tuf/index.js';
import { basicAuth, uploadForm } from '../helpers/index-under-test.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';
import { waitForPublishedRole } from '../helpers/published.js';
import { memorySdist } from '../helpers/memory-dists.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('rotating the recently-claimed and unclaimed keys', () => {
  let dataDir: string;
  let index: RunningServer;
  let oldUnclaimed: Ed25519Signer;
  const file = memorySdist({ name: 'rotpkg', version: '1.0' }).bytes;

  before(async () => {
    dataDir = await tempDir('rotate-targets');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    index = await startBulwark({ dataDir });
    const token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'op', '--json'])).stdout) as { token: string }).token;
    const res = await fetch(`${index.url}/legacy/`, {
      method: 'POST',
      headers: { authorization: basicAuth(token) },
      body: uploadForm({ ':action': 'file_upload', name: 'rotpkg', version: '1.0', filetype: 'sdist', sha256_digest: sha256(file) }, { name: 'rotpkg-1.0.tar.gz', bytes: file }),
    });
    assert.equal(res.status, 200);
    oldUnclaimed = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'online', 'unclaimed.pem'), 'utf8'));
  });
  after(() => index?.stop());

  it('publishes targets v2 and re-signs everything below with the new keys', async () => {
    const out = join(dataDir, '..', 'targets.json');
    const signed = join(dataDir, '..', 'targets.signed.json');
    assert.equal((await runBulwark(['--data', dataDir, 'admin', 'targets', 'export', '--rotate', 'recently-claimed,unclaimed', '--out', out])).code, 0);
    assert.equal((await runBulwark(['admin', 'sign', '--in', out, '--out', signed, '--key', join(dataDir, 'keys', 'offline-DEMO-ONLY', 'targets.pem'), '--yes'])).code, 0);
    const im = await runBulwark(['--data', dataDir, 'admin', 'targets', 'import', '--in', signed]);
    assert.equal(im.code, 0, im.stderr);
    const published = await waitForPublishedRole(index.url, 'targets', 2);
    assert.ok(published, 'targets v2 published');
    const clientDir = await tempDir('rotate-client');
    await copyFile(join(dataDir, 'root.json'), join(clientDir, 'root.json'));
    const u = new Updater({ metadataDir: clientDir, indexUrl: index.url });
    await u.refresh();
    const found = await u.findTarget('rotpkg/rotpkg-1.0.tar.gz');
    assert.ok(found);
    assert.deepEqual(await u.downloadTarget(found.target), file);
    const bin = u.getVerifiedRole(found.role);
    assert.ok(bin && !bin.signatures.some((s) => s.keyid === oldUnclaimed.keyId), 'the bin is signed with the new key');
  });

  it('refuses a bin signed with the old unclaimed key', async () => {
    // The attacker holding the old key signs a bin adding a file, as the next bin version.
    const clientDir = await tempDir('rotate-client-2');
    await copyFile(join(dataDir, 'root.json'), join(clientDir, 'root.json'));
    const u = new Updater({ metadataDir: clientDir, indexUrl: index.url });
    await u.refresh();
    const found = await u.findTarget('rotpkg/rotpkg-1.0.tar.gz');
    assert.ok(found);
    const evilBin = await signCanonical(
      binCanonical(u.getVerifiedRole(found.role)?.signed.version ?? 1, new Date(Date.now() + 86_400_000), [
        { path: 'rotpkg/rotpkg-1.0.tar.gz', entry: targetEntry(sha256(Buffer.from('evil')), 4) },
      ]),
      [oldUnclaimed]
    );
    const cached = join(clientDir, `${found.role}.json`);
    await writeFile(cached, evilBin.bytes); // as if a mirror had served it: the cache is re-verified
    const again = new Updater({ metadataDir: clientDir, indexUrl: index.url });
    await again.refresh();
    const t = await again.findTarget('rotpkg/rotpkg-1.0.tar.gz');
    assert.ok(t);
    assert.deepEqual(await again.downloadTarget(t.target), file, 'the forged bin was ignored, the real one used');
    // And straight to the state machine: the forged bin does not verify.
    assert.throws(
      () => Metadata.parse(evilBin.bytes, 'targets', found.role).verifyRole(found.role, again.getVerifiedRole('unclaimed')?.signed.delegations?.roleKeys(found.role) ?? { keyids: [], threshold: 1 }, again.getVerifiedRole('unclaimed')?.signed.delegations?.keys ?? new Map()),
      (e: unknown) => e instanceof RepositoryError && e.code === 'UNSIGNED_METADATA'
    );
  });
});
