// `bulwark migrate` moves a repository made with the layout from before name bins (claimed and
// recently-claimed delegating to project roles directly) to the layout of ADR 0005, through
// the offline ceremony claimed needs: export (nothing published changes), sign offline,
// import. Afterwards a client that knew the old layout, a new client and tuf-js verify every
// target, and the claimed and recently-claimed projects are reached through their bins.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater as TufJsUpdater } from 'tuf-js';
import { Updater } from '../../src/client/updater.js';
import { loadConfig } from '../../src/repository/config.js';
import { NAME_BIN_COUNT, nameBinOf, nameBinRole } from '../../src/repository/name-bins.js';
import { Repository } from '../../src/repository/repository.js';
import { runBulwark } from '../helpers/processes.js';
import { serveStatic } from '../mirror/static-server.js';
import { buildScenario, PROJECTS, type Scenario } from '../table1/scenario.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('bulwark migrate: from direct project delegations to name bins', () => {
  let scenario: Scenario;
  before(async () => {
    scenario = await buildScenario({ projectDelegations: 'direct' });
  });
  after(async () => {
    await scenario?.close();
  });

  it('has --help', async () => {
    const r = await runBulwark(['migrate', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--import <file>/);
  });

  it('exports without changing what is published, refuses an unsigned import, then imports the signed ceremony', async () => {
    const { dataDir } = scenario;
    const timestamp = () => readFile(join(scenario.publicDir, 'metadata', 'timestamp.json'));
    const before = await timestamp();
    assert.equal((await loadConfig(dataDir))?.projectDelegations, undefined, 'the old layout');
    const out = join(await scenario.tempDir('migrate'), 'migrate-claimed.json');
    const exported = await runBulwark(['migrate', '--data', dataDir, '--out', out, '--json']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual(JSON.parse(exported.stdout), { out, claimedVersion: 3, bins: NAME_BIN_COUNT, projects: 1 });
    assert.ok((await timestamp()).equals(before), 'nothing published changed');

    const unsigned = await runBulwark(['migrate', '--data', dataDir, '--import', out, '--json']);
    assert.equal(unsigned.code, 1, unsigned.stderr);
    assert.match(unsigned.stderr, /claimed keys sign it/);
    assert.equal((await loadConfig(dataDir))?.projectDelegations, undefined, 'a refused import changes nothing');

    const signed = join(await scenario.tempDir('migrate'), 'signed.json');
    const sign = await runBulwark(['admin', 'sign', '--in', out, '--out', signed, '--key', join(dataDir, 'keys', 'offline-DEMO-ONLY', 'claimed.pem'), '--yes']);
    assert.equal(sign.code, 0, sign.stderr);
    // A bin changed after signing is refused.
    const tampered = JSON.parse(await readFile(signed, 'utf8')) as { roles: { metadata: { signed: { version: number } } }[] };
    (tampered.roles[3] as { metadata: { signed: { version: number } } }).metadata.signed.version = 7;
    const tamperedFile = join(await scenario.tempDir('migrate'), 'tampered.json');
    await writeFile(tamperedFile, JSON.stringify(tampered));
    const bad = await runBulwark(['migrate', '--data', dataDir, '--import', tamperedFile, '--json']);
    assert.equal(bad.code, 1, bad.stderr);

    const imported = await runBulwark(['migrate', '--data', dataDir, '--import', signed, '--json']);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal((JSON.parse(imported.stdout) as { bins: number }).bins, NAME_BIN_COUNT);
    assert.equal((await loadConfig(dataDir))?.projectDelegations, 'name-bins');

    // The restarted index publishes the new layout in one snapshot.
    const repo = await Repository.open(dataDir, { compress: false });
    await repo.start();
    repo.publisher.request();
    await repo.settle();
    await repo.close();
    assert.ok(!(await timestamp()).equals(before));
  });

  it('an old client, a new client and tuf-js verify every target; claimed and recently-claimed go through bins', async () => {
    const server = await serveStatic(scenario.publicDir);
    try {
      const oldCache = await scenario.tempDir('old-client');
      await cp(scenario.latest.clientCache, oldCache, { recursive: true });
      const fresh = await scenario.tempDir('new-client');
      await writeFile(join(fresh, 'root.json'), scenario.pinnedRoot);
      for (const dir of [oldCache, fresh]) {
        const ours = new Updater({ metadataDir: dir, indexUrl: server.url });
        await ours.refresh();
        for (const kind of ['claimed', 'recently-claimed', 'unclaimed'] as const) {
          for (const path of scenario.targets[kind]) {
            const found = await ours.findTarget(path);
            assert.ok(found, `${path} is found`);
            assert.equal(sha256(await ours.downloadTarget(found.target)), found.target.hashes['sha256']);
            if (kind !== 'unclaimed') assert.deepEqual(found.delegationPath, ['targets', kind, nameBinRole(kind, nameBinOf(PROJECTS[kind])), `project-${PROJECTS[kind]}`]);
          }
        }
      }
      const dir = await scenario.tempDir('tuf-js');
      await writeFile(join(dir, 'root.json'), scenario.pinnedRoot);
      const tufjs = new TufJsUpdater({ metadataDir: dir, metadataBaseUrl: `${server.url}/metadata`, targetDir: dir, targetBaseUrl: `${server.url}/targets` });
      await tufjs.refresh();
      for (const kind of ['claimed', 'recently-claimed', 'unclaimed'] as const) {
        for (const path of scenario.targets[kind]) assert.ok(await tufjs.getTargetInfo(path), `tuf-js finds ${path}`);
      }
    } finally {
      await server.close();
    }
  });
});
