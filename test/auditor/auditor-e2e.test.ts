// The auditor end to end, on real HTTP with the real commands: `bulwark key new` makes the
// auditor's key, `bulwark init --auditor-key` puts it in root, the operator makes its upload
// token, `bulwark auditor --once` verifies the published tree and uploads a statement, and
// `bulwark fetch --require-auditor` installs only what an audited tree vouches for. Attacks: an
// unaudited tree (no statement), and a forged shard file on the index (the auditor refuses it,
// exit 1 with MERKLE_PROOF, and signs nothing).
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seedRoot } from '../../src/client/client-cache.js';
import { VerifiedIndex } from '../../src/client/verified-index.js';
import { Repository } from '../../src/repository/repository.js';
import { buildServer } from '../../src/server/app.js';
import type { IndexUnderTest } from '../helpers/index-under-test.js';
import { removeTempDir, runBulwark, tempDir } from '../helpers/processes.js';
import { buildWheels, upload, type Wheel } from '../mirror/fixture.js';

describe('bulwark auditor and --require-auditor, end to end', () => {
  let home: string;
  let dataDir: string;
  let env: Record<string, string>;
  let repo: Repository;
  let url: string;
  let userToken: string;
  let auditorToken: string;
  let wheels: Wheel[];
  let close: () => Promise<void>;

  const auditor = () =>
    runBulwark(['auditor', '--once', '--json', '--index', url, '--root', join(dataDir, 'root.json'), '--key', 'auditor', '--token', auditorToken, '--state-dir', join(home, 'auditor-state')], { env });
  const fetchAudited = (version: string) =>
    runBulwark(['fetch', 'audited-pkg', '--version', version, '--index', url, '--root', join(dataDir, 'root.json'), '--require-auditor', '--cache', join(home, 'client'), '--dest', join(home, 'dest'), '--json'], { env });
  const merkleFiles = async () => new Set(await readdir(join(dataDir, 'public', 'metadata', 'merkle')));
  const errorCode = (stdout: string) => (JSON.parse(stdout) as { error: { code: string } }).error.code;

  before(async () => {
    home = await tempDir('bulwark-auditor-e2e');
    dataDir = join(home, 'index');
    env = { BULWARK_KEYS_DIR: join(home, 'keys'), BULWARK_PASSPHRASE: 'auditor passphrase' };
    const made = await runBulwark(['key', 'new', 'auditor', '--random'], { env });
    assert.equal(made.code, 0, made.stderr);
    const shown = await runBulwark(['key', 'show', 'auditor', '--json'], { env });
    await writeFile(join(home, 'auditor.pub.json'), shown.stdout);
    const keyid = (JSON.parse(shown.stdout) as { keyid: string }).keyid;
    const init = await runBulwark(['init', '--data', dataDir, '--bins', '16', '--auditor-key', join(home, 'auditor.pub.json')], { env });
    assert.equal(init.code, 0, init.stderr);
    const tok = await runBulwark(['auditor', 'token', keyid, '--data', dataDir, '--json'], { env });
    assert.equal(tok.code, 0, tok.stderr);
    auditorToken = (JSON.parse(tok.stdout) as { token: string }).token;
    repo = await Repository.open(dataDir, { compress: true });
    await repo.start();
    const app = await buildServer(repo, { waitForPublishMs: 10_000 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    userToken = (await repo.accounts.addUser('alice')).token;
    wheels = await buildWheels([
      ['audited-pkg', '1.0'],
      ['audited-pkg', '2.0'],
      ['audited-pkg', '3.0'],
    ]);
    close = async () => {
      await app.close();
      await repo.close();
      await removeTempDir(home);
    };
  });
  after(() => close());

  it('an unaudited tree: before any statement, an auditor-requiring client refuses (UNAUDITED_TREE, exit 1)', async () => {
    await upload({ url } as IndexUnderTest, userToken, wheels[0] as Wheel);
    const r = await fetchAudited('1.0');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(errorCode(r.stdout), 'UNAUDITED_TREE');
    assert.match(r.stderr, /no auditor vouches/);
  });

  it('the auditor verifies the published tree and uploads a statement; the client then installs', async () => {
    const a = await auditor();
    assert.equal(a.code, 0, a.stderr);
    assert.equal((JSON.parse(a.stdout) as { status: string }).status, 'signed');
    const r = await fetchAudited('1.0');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readFile(join(home, 'dest', (wheels[0] as Wheel).name)), (wheels[0] as Wheel).bytes);
  });

  it('the client uses the audited timestamp: a release in a newer, not yet audited tree is not seen until the auditor signs it', async () => {
    await upload({ url } as IndexUnderTest, userToken, wheels[1] as Wheel);
    const before = await fetchAudited('2.0');
    assert.equal(before.code, 3, before.stderr); // not in the audited tree: "no files for version 2.0"
    assert.equal((await auditor()).code, 0);
    const afterAudit = await fetchAudited('2.0');
    assert.equal(afterAudit.code, 0, afterAudit.stderr);
  });

  it('tuf-client and the proxy take --require-auditor too; the auditor command reports a bad command line with exit 2', async () => {
    const meta = join(home, 'tuf-client');
    assert.equal((await runBulwark(['tuf-client', 'init', join(dataDir, 'root.json'), '--metadata-dir', meta], { env })).code, 0);
    const refresh = await runBulwark(['tuf-client', 'refresh', '--metadata-dir', meta, '--metadata-url', `${url}/metadata`, '--require-auditor'], { env });
    assert.equal(refresh.code, 0, refresh.stderr);
    // The cached timestamp is the audited one (the one the statement embeds), byte for byte.
    const statement = JSON.parse(await (await fetch(`${url}/metadata/audit/${(await readdir(join(dataDir, 'public', 'metadata', 'audit')))[0]}`)).text()) as { signed: { timestamp: unknown } };
    assert.deepEqual(JSON.parse(await readFile(join(meta, 'timestamp.json'), 'utf8')), statement.signed.timestamp);
    const proxyIndex = new VerifiedIndex({ indexUrl: url, metadataDir: join(home, 'proxy-cache'), requireAuditor: true });
    await seedRoot(join(home, 'proxy-cache'), join(dataDir, 'root.json'));
    assert.equal((await proxyIndex.get(`audited-pkg/${(wheels[1] as Wheel).name}`)).bytes.equals((wheels[1] as Wheel).bytes), true);
    const usage = await runBulwark(['auditor', '--token', 'x'], { env });
    assert.equal(usage.code, 2, usage.stderr);
  });

  it('a forged path on the index: the auditor refuses the tree (exit 1, MERKLE_PROOF) and signs nothing', async () => {
    const known = await merkleFiles();
    await upload({ url } as IndexUnderTest, userToken, wheels[2] as Wheel);
    const shard = [...(await merkleFiles())].find((f) => !known.has(f) && f.endsWith('.shard.json'));
    assert.ok(shard, 'the upload published a new shard file');
    const path = join(dataDir, 'public', 'metadata', 'merkle', shard);
    const doc = JSON.parse(await readFile(path, 'utf8')) as { entries: string[] };
    doc.entries = doc.entries.map((e) => e.replace(/"version":(\d+)/, (_m, v: string) => `"version":${Number(v) + 100}`));
    await writeFile(path, JSON.stringify(doc));
    await rm(`${path}.gz`, { force: true });
    const statementBefore = await (await fetch(`${url}/metadata/audit/${(await readdir(join(dataDir, 'public', 'metadata', 'audit')))[0]}`)).text();
    const a = await auditor();
    assert.equal(a.code, 1, a.stderr);
    assert.equal(errorCode(a.stdout), 'MERKLE_PROOF');
    const statementAfter = await (await fetch(`${url}/metadata/audit/${(await readdir(join(dataDir, 'public', 'metadata', 'audit')))[0]}`)).text();
    assert.equal(statementAfter, statementBefore, 'no statement for the forged tree');
    assert.equal((await fetchAudited('3.0')).code, 3, 'the client still uses the last audited tree');
  });
});
