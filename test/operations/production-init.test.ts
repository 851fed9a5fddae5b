// A production index is created without any offline private key touching the index machine:
// the index writes the initial root, targets and claimed unsigned; holders sign on their own
// machines (2-of-2 for root here); the index checks every threshold and only then starts.
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ed25519Signer } from '../../src/tuf/index.js';
import { runBulwark, startBulwark, tempDir } from '../helpers/processes.js';

async function holder(dir: string, name: string): Promise<{ pem: string; pub: string }> {
  const s = Ed25519Signer.generate();
  const pem = join(dir, `${name}.pem`);
  const pub = join(dir, `${name}.pub.json`);
  await writeFile(pem, s.exportPkcs8Pem());
  await writeFile(pub, JSON.stringify({ keyid: s.keyId, public: s.publicKey.toJSON() }));
  return { pem, pub };
}

async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

describe('production init through an offline ceremony', () => {
  it('creates the index only once every role has its threshold of offline signatures', async () => {
    const offline = await tempDir('prod-offline'); // the key holders' machines
    const data = await tempDir('prod-data'); // the index machine
    const out = await tempDir('prod-ceremony');
    const [root1, root2, targets, claimed] = await Promise.all(['root1', 'root2', 'targets', 'claimed'].map((n) => holder(offline, n)));
    const prep = await runBulwark([
      '--data', data, 'init', '--production', '--bins', '16',
      '--root-key', root1!.pub, '--root-key', root2!.pub, '--root-threshold', '2',
      '--targets-key', targets!.pub, '--claimed-key', claimed!.pub, '--out', out, '--json',
    ]);
    assert.equal(prep.code, 0, prep.stderr);
    assert.ok(!(await listAll(data)).some((f) => f.includes('offline')), 'no offline key on the index machine');
    const sign = async (file: string, key: string, to: string) => {
      const r = await runBulwark(['admin', 'sign', '--in', join(out, file), '--out', join(out, to), '--key', key, '--yes']);
      assert.equal(r.code, 0, r.stderr);
    };
    await sign('init-root.json', root1!.pem, 'root.half.json');
    await sign('root.half.json', root2!.pem, 'root.signed.json');
    await sign('init-targets.json', targets!.pem, 'targets.signed.json');
    await sign('init-claimed.json', claimed!.pem, 'claimed.signed.json');
    await sign('init-claimed.json', targets!.pem, 'claimed.wrong.json');

    const complete = (rootFile: string, claimedFile = 'claimed.signed.json') =>
      runBulwark(['--data', data, '--json', 'init', '--complete', '--root', join(out, rootFile), '--targets', join(out, 'targets.signed.json'), '--claimed', join(out, claimedFile)]);
    const errorCode = (stdout: string) => (JSON.parse(stdout) as { error: { code: string } }).error.code;
    const half = await complete('root.half.json');
    assert.equal(half.code, 1, half.stderr);
    assert.equal(errorCode(half.stdout), 'UNSIGNED_METADATA');
    assert.match(half.stderr, /1 valid signature\(s\) of the 2 required/);
    const wrong = await complete('root.signed.json', 'claimed.wrong.json');
    assert.equal(wrong.code, 1, 'claimed signed by the targets key is refused');
    assert.equal(errorCode(wrong.stdout), 'UNSIGNED_METADATA', wrong.stderr);
    assert.match(wrong.stderr, /claimed/);
    const ok = await complete('root.signed.json');
    assert.equal(ok.code, 0, ok.stderr);

    const server = await startBulwark({ dataDir: data });
    try {
      const status = JSON.parse((await runBulwark(['--data', data, 'status', '--json'])).stdout) as { mode: string; roles: { name: string; threshold: number }[] };
      assert.equal(status.mode, 'production');
      assert.equal(status.roles.find((r) => r.name === 'root')?.threshold, 2);
      assert.doesNotMatch(server.output(), /DEMO/);
      assert.equal((await fetch(`${server.url}/metadata/1.root.json`)).status, 200);
    } finally {
      await server.stop();
    }
  });
});
