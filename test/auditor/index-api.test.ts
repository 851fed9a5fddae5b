// Root names auditors (x-bulwark-auditors), and the index takes their statements:
// PUT /api/audit/<keyid> on real HTTP, only with the token the operator made for that key,
// size-limited, verified against the published root before it is stored, never older than the
// stored one; GET /metadata/audit/<keyid>.json serves it uncached. python-tuf's signing library
// and tuf-js still load such a root.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metadata as TufJsMetadata, MetadataKind, type Root as TufJsRoot } from '@tufjs/models';
import { Updater as TufJsUpdater } from 'tuf-js';
import { newAuditorToken } from '../../src/auditor/index-store.js';
import { rootAuditors } from '../../src/auditor/root-auditors.js';
import { signStatement } from '../../src/auditor/statement.js';
import { exportRootRotation, importRootRotation, signCeremonyFile } from '../../src/repository/ceremony.js';
import { initDemoRepository, prepareProductionInit } from '../../src/repository/init.js';
import { syncMirror } from '../../src/mirror/sync.js';
import { collectGarbage } from '../../src/repository/gc.js';
import { Repository } from '../../src/repository/repository.js';
import { buildServer } from '../../src/server/app.js';
import { Ed25519Signer, MERKLE_FIELD, Metadata, MetaFile, Timestamp, type Root } from '../../src/tuf/index.js';
import { removeTempDir, tempDir } from '../helpers/processes.js';
import { Sslib } from '../helpers/sslib.js';

describe('auditors in root, and the index API for their statements', () => {
  const auditorKey = Ed25519Signer.generate();
  let dataDir: string;
  let repo: Repository;
  let url: string;
  let close: () => Promise<void>;
  let token: string;
  let timestampKey: Ed25519Signer;

  const root = async (): Promise<Metadata<Root>> => Metadata.parse(await readFile(join(dataDir, 'root.json')), 'root');
  /** A timestamp naming a Merkle root, signed with the index's own timestamp key. */
  const timestamp = async (version: number) =>
    Metadata.sign(
      new Timestamp({ version, expires: new Date(Date.now() + 86_400_000), snapshotMeta: new MetaFile(1), unrecognized: { [MERKLE_FIELD]: { fanout: [2, 2, 4], root: 'ab'.repeat(32), shards: 16 } } }),
      [timestampKey]
    );
  const put = (body: Buffer | string, auth?: string, keyid = auditorKey.keyId) =>
    fetch(`${url}/api/audit/${keyid}`, { method: 'PUT', body, headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) } });
  const served = () => fetch(`${url}/metadata/audit/${auditorKey.keyId}.json`);

  before(async () => {
    dataDir = await tempDir('bulwark-auditor-api');
    await initDemoRepository(dataDir, { bins: 4, auditors: { keys: [auditorKey.publicKey] } });
    repo = await Repository.open(dataDir);
    await repo.start();
    const app = await buildServer(repo, { waitForPublishMs: 10_000 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await repo.close();
      await removeTempDir(dataDir);
    };
    token = await newAuditorToken(repo, auditorKey.keyId);
    timestampKey = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'online', 'timestamp.pem'), 'utf8'));
  });
  after(() => close());

  it('init --auditor-key: root names the auditor in x-bulwark-auditors, its key in root.keys', async () => {
    const r = (await root()).signed;
    assert.deepEqual(r.unrecognized['x-bulwark-auditors'], { keyids: [auditorKey.keyId], threshold: 1 });
    assert.deepEqual(r.keys.get(auditorKey.keyId)?.toJSON(), auditorKey.publicKey.toJSON());
    assert.deepEqual(rootAuditors(r), { keyids: [auditorKey.keyId], threshold: 1 });
    assert.deepEqual([...r.roles.keys()].sort(), ['root', 'snapshot', 'targets', 'timestamp'], 'not an entry of roles: python-tuf refuses unknown roles');
  });

  it('a production init (phase 1) writes the auditors into the root its holders sign', async () => {
    const dir = await tempDir('bulwark-auditor-production');
    try {
      const holder = () => ({ keys: [Ed25519Signer.generate().publicKey], threshold: 1 });
      const ceremonies = await prepareProductionInit(dir, { root: holder(), targets: holder(), claimed: holder() }, { bins: 4, auditors: { keys: [auditorKey.publicKey] } });
      const rootFile = ceremonies.find((c) => c.role === 'root');
      const signed = rootFile?.metadata.signed as { 'x-bulwark-auditors'?: unknown; keys: Record<string, unknown> };
      assert.deepEqual(signed['x-bulwark-auditors'], { keyids: [auditorKey.keyId], threshold: 1 });
      assert.ok(signed.keys[auditorKey.keyId]);
    } finally {
      await removeTempDir(dir);
    }
  });

  it("securesystemslib (python-tuf's signing library) verifies the root's signature over the custom field", async () => {
    const sslib = Sslib.start();
    try {
      const text = (await readFile(join(dataDir, 'root.json'))).toString('utf8');
      const r = (await root()).signed;
      const rootKeyId = r.roles.get('root')?.keyids[0] as string;
      const valid = await sslib.verifyFile(text, { [rootKeyId]: r.keys.get(rootKeyId)?.toJSON() as never });
      assert.deepEqual(valid, [rootKeyId]);
    } finally {
      sslib.close();
    }
  });

  it('tuf-js loads the root (the field survives) and refreshes the whole chain from it', async () => {
    const bytes = await readFile(join(dataDir, 'root.json'));
    const md = TufJsMetadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString())) as TufJsMetadata<TufJsRoot>;
    md.verifyDelegate('root', md);
    assert.deepEqual(md.signed.unrecognizedFields['x-bulwark-auditors'], { keyids: [auditorKey.keyId], threshold: 1 });
    const metadataDir = await tempDir('bulwark-auditor-tufjs');
    try {
      await writeFile(join(metadataDir, 'root.json'), bytes);
      const updater = new TufJsUpdater({ metadataDir, metadataBaseUrl: `${url}/metadata`, targetBaseUrl: `${url}/targets` });
      await updater.refresh();
      assert.equal(await updater.getTargetInfo('nothing/here-1.0.tar.gz'), undefined);
    } finally {
      await removeTempDir(metadataDir);
    }
  });

  it('a root ceremony keeps the auditors (and their keys) unless told otherwise, and can replace them', async () => {
    const offlineRoot = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'offline-DEMO-ONLY', 'root.pem'), 'utf8'));
    const unchanged = await exportRootRotation(repo, {});
    const next = Metadata.parse(Buffer.from(JSON.stringify({ signatures: [], signed: unchanged.metadata.signed })), 'root').signed;
    assert.deepEqual(rootAuditors(next), { keyids: [auditorKey.keyId], threshold: 1 }, 'the auditor and its key survive the unused-key cleanup');
    const second = Ed25519Signer.generate();
    const replaced = await exportRootRotation(repo, { auditors: { keys: [auditorKey.publicKey, second.publicKey], threshold: 2 } });
    assert.deepEqual(replaced.summary.root?.auditors, [auditorKey.keyId, second.keyId]);
    const summary = await importRootRotation(repo, await signCeremonyFile(replaced, [offlineRoot]));
    const published = Metadata.parse(await readFile(join(dataDir, 'public', 'metadata', `${summary.version}.root.json`)), 'root').signed;
    assert.deepEqual(rootAuditors(published), { keyids: [auditorKey.keyId, second.keyId], threshold: 2 });
    const removed = await exportRootRotation(repo, { auditors: { keys: [] } });
    assert.deepEqual(removed.summary.root?.auditors, []);
    assert.equal((removed.metadata.signed as { keys: Record<string, unknown> }).keys[second.keyId], undefined, 'a removed auditor key leaves root.keys');
  });

  it('refuses an upload without a token (401), with a user token or another auditor’s (403), before reading the body', async () => {
    const body = await signStatement({ timestamp: await timestamp(1), version: 1, now: new Date() }, [auditorKey]);
    assert.equal((await put(body)).status, 401);
    assert.equal((await put(body, (await repo.accounts.addUser('someone')).token)).status, 403);
    const other = Ed25519Signer.generate();
    assert.equal((await put(body, token, other.keyId)).status, 403);
    assert.equal((await served()).status, 404, 'nothing stored');
  });

  it('refuses a statement that does not verify against root (422, with its code), and a body over 64 KiB (413)', async () => {
    const wrongKey = await signStatement({ timestamp: await timestamp(1), version: 1, now: new Date() }, [Ed25519Signer.generate()]);
    const res = await put(wrongKey, token);
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'AUDIT_SIGNATURE');
    const forgedTs = await Metadata.sign((await timestamp(1)).signed, [Ed25519Signer.generate()]);
    const res2 = await put(await signStatement({ timestamp: forgedTs, version: 1, now: new Date() }, [auditorKey]), token);
    assert.equal(((await res2.json()) as { error: { code: string } }).error.code, 'AUDIT_SIGNATURE');
    const res3 = await put('{"signed":', token);
    assert.equal(((await res3.json()) as { error: { code: string } }).error.code, 'AUDIT_MALFORMED');
    assert.equal((await put(Buffer.alloc(70_000, 0x20), token)).status, 413);
    assert.equal((await served()).status, 404, 'nothing stored');
  });

  it('stores a verified statement and serves it uncached; an older one (or the same again) is refused with 409', async () => {
    const first = await signStatement({ timestamp: await timestamp(5), version: 10, now: new Date() }, [auditorKey]);
    const ok = await put(first, token);
    assert.equal(ok.status, 200, await ok.clone().text());
    const res = await served();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), first);
    assert.equal((await put(first, token)).status, 409, 'the same statement again');
    const olderTimestamp = await signStatement({ timestamp: await timestamp(4), version: 11, now: new Date() }, [auditorKey]);
    assert.equal((await put(olderTimestamp, token)).status, 409);
    const olderVersion = await signStatement({ timestamp: await timestamp(6), version: 9, now: new Date() }, [auditorKey]);
    assert.equal((await put(olderVersion, token)).status, 409);
    assert.deepEqual(Buffer.from(await (await served()).arrayBuffer()), first, 'the stored statement is unchanged');
    const newer = await signStatement({ timestamp: await timestamp(6), version: 11, now: new Date() }, [auditorKey]);
    assert.equal((await put(newer, token)).status, 200);
    assert.deepEqual(Buffer.from(await (await served()).arrayBuffer()), newer);
  });

  it('an expired statement is refused (422 STALE_AUDIT)', async () => {
    const stale = await signStatement({ timestamp: await timestamp(7), version: 12, now: new Date(Date.now() - 600_000), expirySeconds: 60 }, [auditorKey]);
    const res = await put(stale, token);
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'STALE_AUDIT');
  });

  it('mirror sync copies the verified statement beside the metadata', async () => {
    const mirror = await tempDir('bulwark-auditor-mirror');
    try {
      const fromIndex = Buffer.from(await (await served()).arrayBuffer());
      await syncMirror({ upstream: url, dir: mirror, rootPath: join(dataDir, 'root.json'), keep: 1 }); // pruning keeps it too
      assert.deepEqual(await readFile(join(mirror, 'metadata', 'audit', `${auditorKey.keyId}.json`)), fromIndex);
    } finally {
      await removeTempDir(mirror);
    }
  });

  it('bulwark gc keeps the statement (it is in no snapshot, and always current)', async () => {
    const before = Buffer.from(await (await served()).arrayBuffer());
    await collectGarbage(repo, { graceMs: 0 });
    assert.deepEqual(Buffer.from(await (await served()).arrayBuffer()), before);
  });
});
