// Offline roles signed with ECDSA P-256, the keys most hardware tokens hold (PEP 458 keeps root,
// targets and claimed on YubiHSMs and Nitrokeys). The key holders make their keys with OpenSSL,
// not with Bulwark, and hand over PEM public keys. A production index is created with them, a
// client verifies it, and a root rotation ceremony adds another ECDSA key; keys Bulwark cannot
// sign offline roles with are refused up front with a reason.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBulwark, runCommand, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';

const openssl = async (...args: string[]) => {
  const r = await runCommand('openssl', args);
  assert.equal(r.code, 0, r.stderr);
};

/** A key holder's key pair made by OpenSSL: PKCS#8 (or SEC 1) private PEM, SPKI public PEM. */
async function holder(dir: string, name: string, kind: 'p256' | 'p256-sec1' | 'ed25519' | 'rsa'): Promise<{ pem: string; pub: string }> {
  const pem = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.pem`);
  if (kind === 'p256') await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', pem);
  if (kind === 'p256-sec1') await openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', pem);
  if (kind === 'ed25519') await openssl('genpkey', '-algorithm', 'ed25519', '-out', pem);
  if (kind === 'rsa') await openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pem);
  await openssl('pkey', '-in', pem, '-pubout', '-out', pub);
  return { pem, pub };
}

describe('offline roles signed with ECDSA P-256 keys', () => {
  let offline: string;
  let out: string;
  let data: string;
  let server: RunningServer | undefined;
  let h: Record<'rootA' | 'rootB' | 'targets' | 'claimed' | 'rootC' | 'rsa', { pem: string; pub: string }>;
  const sign = async (file: string, to: string, ...keys: string[]) => {
    const r = await runBulwark(['admin', 'sign', '--in', join(out, file), '--out', join(out, to), ...keys.flatMap((k) => ['--key', k]), '--yes']);
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    offline = await tempDir('ecdsa-offline');
    out = await tempDir('ecdsa-ceremony');
    data = await tempDir('ecdsa-data');
    const [rootA, rootB, targets, claimed, rootC, rsa] = await Promise.all([
      holder(offline, 'rootA', 'p256'),
      holder(offline, 'rootB', 'ed25519'),
      holder(offline, 'targets', 'p256-sec1'),
      holder(offline, 'claimed', 'p256'),
      holder(offline, 'rootC', 'p256'),
      holder(offline, 'rsa', 'rsa'),
    ]);
    h = { rootA: rootA!, rootB: rootB!, targets: targets!, claimed: claimed!, rootC: rootC!, rsa: rsa! };
  });
  after(async () => {
    await server?.stop();
  });

  it('refuses key files Bulwark cannot sign offline roles with, saying why', async () => {
    const init = await runBulwark(['--data', await tempDir('ecdsa-refused'), 'init', '--production', '--bins', '16', '--root-key', h.rsa.pub, '--targets-key', h.targets.pub, '--claimed-key', h.claimed.pub, '--out', out]);
    assert.equal(init.code, 2, init.stderr);
    assert.match(init.stderr, /rsa.*Ed25519 or ECDSA P-256/i);
  });

  it('creates a production index whose root (ECDSA + Ed25519, 2 of 2), targets and claimed are signed with ECDSA', async () => {
    const prep = await runBulwark([
      '--data', data, 'init', '--production', '--bins', '16',
      '--root-key', h.rootA.pub, '--root-key', h.rootB.pub, '--root-threshold', '2',
      '--targets-key', h.targets.pub, '--claimed-key', h.claimed.pub, '--out', out, '--json',
    ]);
    assert.equal(prep.code, 0, prep.stderr);
    await sign('init-root.json', 'root.half.json', h.rootA.pem);
    await sign('root.half.json', 'root.signed.json', h.rootB.pem);
    await sign('init-targets.json', 'targets.signed.json', h.targets.pem);
    await sign('init-claimed.json', 'claimed.signed.json', h.claimed.pem);
    const rsaSign = await runBulwark(['admin', 'sign', '--in', join(out, 'init-claimed.json'), '--out', join(out, 'x.json'), '--key', h.rsa.pem, '--yes']);
    assert.equal(rsaSign.code, 2);
    assert.match(rsaSign.stderr, /rsa key: offline roles are signed with Ed25519 or ECDSA P-256 keys/);

    const complete = (root: string) =>
      runBulwark(['--data', data, 'init', '--complete', '--root', join(out, root), '--targets', join(out, 'targets.signed.json'), '--claimed', join(out, 'claimed.signed.json')]);
    const half = await complete('root.half.json');
    assert.equal(half.code, 1);
    assert.match(half.stderr, /1 valid signature\(s\) of the 2 required/);
    const ok = await complete('root.signed.json');
    assert.equal(ok.code, 0, ok.stderr);

    const root = JSON.parse(await readFile(join(data, 'root.json'), 'utf8')) as { signed: { keys: Record<string, { keytype: string; scheme: string }> } };
    const types = Object.values(root.signed.keys).map((k) => `${k.keytype}/${k.scheme}`).sort();
    assert.deepEqual(types, ['ecdsa/ecdsa-sha2-nistp256', 'ecdsa/ecdsa-sha2-nistp256', 'ed25519/ed25519', 'ed25519/ed25519', 'ed25519/ed25519']);
  });

  it('serves metadata a client verifies, through claimed (ECDSA) down to a bin', async () => {
    server = await startBulwark({ dataDir: data });
    const metadataDir = await tempDir('ecdsa-client');
    const cli = (...args: string[]) => runBulwark(['tuf-client', '--metadata-dir', metadataDir, ...args]);
    assert.equal((await cli('init', join(data, 'root.json'))).code, 0);
    const refresh = await cli('--metadata-url', `${server.url}/metadata`, 'refresh');
    assert.equal(refresh.code, 0, refresh.stderr);
    // A target search walks targets → claimed → recently-claimed → unclaimed → its bin.
    const miss = await cli('--metadata-url', `${server.url}/metadata`, '--target-name', 'nopkg/nopkg-1.0.tar.gz', '--target-base-url', `${server.url}/targets`, '--target-dir', await tempDir('ecdsa-t'), 'download');
    assert.equal(miss.code, 1);
    assert.match(miss.stderr, /^tuf-client: UNKNOWN_TARGET: target nopkg\/nopkg-1\.0\.tar\.gz is not listed/m);
  });

  it('rotates root to a third ECDSA key holder in a ceremony; the client follows', async () => {
    const exported = join(out, 'rotation.json');
    const ex = await runBulwark(['--data', data, 'admin', 'root', 'export', '--add-root-key', h.rootC.pub, '--root-threshold', '2', '--out', exported]);
    assert.equal(ex.code, 0, ex.stderr);
    await sign('rotation.json', 'rotation.signed.json', h.rootA.pem, h.rootB.pem, h.rootC.pem);
    const im = await runBulwark(['--data', data, 'admin', 'root', 'import', '--in', join(out, 'rotation.signed.json')]);
    assert.equal(im.code, 0, im.stderr);
    const metadataDir = await tempDir('ecdsa-client-2');
    const cli = (...args: string[]) => runBulwark(['tuf-client', '--metadata-dir', metadataDir, ...args]);
    assert.equal((await cli('init', join(data, 'root.json'))).code, 0);
    const refresh = await cli('--metadata-url', `${(server as RunningServer).url}/metadata`, 'refresh');
    assert.equal(refresh.code, 0, refresh.stderr);
    const root = JSON.parse(await readFile(join(metadataDir, 'root.json'), 'utf8')) as { signed: { version: number; roles: { root: { keyids: string[] } } } };
    assert.equal(root.signed.version, 2);
    assert.equal(root.signed.roles.root.keyids.length, 3);
  });
});
