// Compromise recovery for real (PEP 480 "timestamp / snapshot compromised"): an attacker steals
// the online timestamp and snapshot keys and feeds a client a fast-forwarded timestamp; the
// operator rotates those keys with a new root (offline ceremony). The client that trusted the
// attacker's metadata moves to the recovered state, and from then on refuses anything signed
// with the stolen keys.
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater } from '../../src/client/updater.js';
import { RepositoryError } from '../../src/tuf/index.js';
import { Ed25519Signer, Metadata, signCanonical } from '../../src/tuf/index.js';
import { timestampCanonical } from '../../src/repository/metadata-builder.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';

/** Serves the index's files, but `timestamp.json` from the attacker. */
function attackerProxy(upstream: string, timestamp: () => Buffer): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/metadata/timestamp.json') {
      res.writeHead(200).end(timestamp());
      return;
    }
    fetch(`${upstream}${req.url ?? '/'}`).then(
      async (r) => res.writeHead(r.status).end(Buffer.from(await r.arrayBuffer())),
      () => res.writeHead(502).end()
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })));
}

describe('recovery from a timestamp and snapshot key compromise', () => {
  let dataDir: string;
  let index: RunningServer;
  let evil: { url: string; server: Server };
  let stolenTimestamp: Ed25519Signer;
  let forged: Buffer;
  let clientDir: string;

  before(async () => {
    dataDir = await tempDir('recover');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    index = await startBulwark({ dataDir });
    stolenTimestamp = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'online', 'timestamp.pem'), 'utf8'));
    // The attacker signs a timestamp far in the "future" of versions, for the current snapshot.
    const honest = Metadata.parse(Buffer.from(await (await fetch(`${index.url}/metadata/timestamp.json`)).arrayBuffer()), 'timestamp');
    const snap = honest.signed.snapshotMeta;
    forged = (await signCanonical(timestampCanonical(2 ** 31, new Date(Date.now() + 86_400_000), { version: snap.version, length: snap.length ?? 0, sha256: snap.hashes?.['sha256'] ?? '' }), [stolenTimestamp])).bytes;
    evil = await attackerProxy(index.url, () => forged);
    clientDir = await tempDir('recover-client');
    await copyFile(join(dataDir, 'root.json'), join(clientDir, 'root.json'));
  });
  after(async () => {
    evil?.server.close();
    await index?.stop();
  });

  it('a client is fast-forwarded by the attacker (it cannot tell)', async () => {
    const u = new Updater({ metadataDir: clientDir, indexUrl: evil.url });
    await u.refresh();
    const cached = Metadata.parse(await readFile(join(clientDir, 'timestamp.json')), 'timestamp');
    assert.equal(cached.signed.version, 2 ** 31);
    // Against the honest index the client is now stuck: every honest timestamp looks like a rollback.
    const stuck = new Updater({ metadataDir: clientDir, indexUrl: index.url });
    await assert.rejects(stuck.refresh(), (e: unknown) => e instanceof RepositoryError && e.code === 'BAD_VERSION');
  });

  it('the operator rotates the timestamp and snapshot keys with a new root, signed offline', async () => {
    const exported = join(dataDir, '..', 'root-rotation.json');
    const signed = join(dataDir, '..', 'root-rotation.signed.json');
    const ex = await runBulwark(['--data', dataDir, 'admin', 'root', 'export', '--rotate', 'timestamp,snapshot', '--out', exported]);
    assert.equal(ex.code, 0, ex.stderr);
    // Signed with the wrong key: refused.
    const wrong = join(dataDir, '..', 'root-rotation.wrong.json');
    await runBulwark(['admin', 'sign', '--in', exported, '--out', wrong, '--key', join(dataDir, 'keys', 'online', 'snapshot.pem'), '--yes']);
    assert.equal((await runBulwark(['--data', dataDir, 'admin', 'root', 'import', '--in', wrong])).code, 1);
    const sg = await runBulwark(['admin', 'sign', '--in', exported, '--out', signed, '--key', join(dataDir, 'keys', 'offline-DEMO-ONLY', 'root.pem'), '--yes']);
    assert.equal(sg.code, 0, sg.stderr);
    const im = await runBulwark(['--data', dataDir, 'admin', 'root', 'import', '--in', signed]);
    assert.equal(im.code, 0, im.stderr);
    // The running index picks the new keys up and re-signs timestamp and snapshot.
    let rotated = false;
    for (let i = 0; i < 100 && !rotated; i++) {
      const ts = Metadata.parse(Buffer.from(await (await fetch(`${index.url}/metadata/timestamp.json`)).arrayBuffer()), 'timestamp');
      rotated = !ts.signatures.some((s) => s.keyid === stolenTimestamp.keyId);
      if (!rotated) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(rotated, 'timestamp is signed with the new key');
  });

  it('the fast-forwarded client recovers: root v2 rotates the key, the attacker\'s timestamp stops counting', async () => {
    const u = new Updater({ metadataDir: clientDir, indexUrl: index.url });
    await u.refresh();
    const root = Metadata.parse(await readFile(join(clientDir, 'root.json')), 'root');
    assert.equal(root.signed.version, 2);
    const ts = Metadata.parse(await readFile(join(clientDir, 'timestamp.json')), 'timestamp');
    assert.ok(ts.signed.version < 2 ** 31, 'the honest, lower version is trusted again');
  });

  it('and refuses metadata signed with the stolen key from then on', async () => {
    const fresh = await signCanonical(
      timestampCanonical(2 ** 31 + 1, new Date(Date.now() + 86_400_000), { version: 99, length: 1, sha256: '00'.repeat(32) }),
      [stolenTimestamp]
    );
    forged = fresh.bytes;
    const u = new Updater({ metadataDir: clientDir, indexUrl: evil.url });
    await assert.rejects(u.refresh(), (e: unknown) => e instanceof RepositoryError && e.code === 'UNSIGNED_METADATA');
  });
});
