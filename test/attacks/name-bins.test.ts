// The name-bin layout (ADR 0005) on the Table 1 scenario (real claims over HTTP, a real
// promotion ceremony):
//  - our client and tuf-js, an independent TUF client, follow targets → claimed →
//    claimed-bin-… → project role (and the same under recently-claimed) unchanged;
//  - a promotion ceremony carries and signs only the claimed bin it changes;
//  - attack: with the snapshot, timestamp and unclaimed keys, serving another claimed bin (newer,
//    honestly signed, without the project) in place of a claimed project's bin would let the
//    search fall through to a malicious target in the unclaimed bins. Bins name themselves in
//    their signed part; our client refuses the swap (ROLE_MISMATCH) and caches nothing;
//  - after a rotation of the claimed key, the next promotion re-signs claimed and every bin.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater as TufJsUpdater } from 'tuf-js';
import { Updater } from '../../src/client/updater.js';
import { verifiedLevel } from '../../src/client/verified-level.js';
import { exportPromotion, exportTargetsRotation, importPromotion, importTargetsRotation, signCeremonyFile } from '../../src/repository/ceremony.js';
import { nameBinCountOf, nameBinOf, nameBinRole } from '../../src/repository/name-bins.js';
import { loadConfig } from '../../src/repository/config.js';
import { Repository } from '../../src/repository/repository.js';
import { Ed25519Signer, Metadata, SuccinctRoles } from '../../src/tuf/index.js';
import { refused, resign, sha256, signDoc, signedDoc, type Doc } from './harness.js';
import { serveStatic, type StaticServer } from '../mirror/static-server.js';
import { buildScenario, PROJECTS, type Scenario } from '../table1/scenario.js';

/** The scenario's number of name bins (from its config.json), and a project's bin under a parent. */
let binCount = 0;
const binOf = (parent: string, project: string) => nameBinRole(parent, nameBinOf(project, binCount), binCount);

describe('name bins: tuf-js and our client reach claimed and recently-claimed projects through bins', () => {
  let scenario: Scenario;
  let server: StaticServer;
  before(async () => {
    scenario = await buildScenario();
    binCount = nameBinCountOf((await loadConfig(scenario.dataDir)) ?? {});
    server = await serveStatic(scenario.publicDir);
  });
  after(async () => {
    await server?.close();
    await scenario?.close();
  });

  it('the delegations go through one bin each, not terminating, to terminating project roles', async () => {
    const dir = await scenario.tempDir('ours');
    await writeFile(join(dir, 'root.json'), scenario.pinnedRoot);
    const ours = new Updater({ metadataDir: dir, indexUrl: server.url });
    await ours.refresh();
    for (const kind of ['claimed', 'recently-claimed'] as const) {
      const project = PROJECTS[kind];
      const found = await ours.findTarget(`${project}/index.json`);
      const bin = binOf(kind, project);
      assert.deepEqual(found?.delegationPath, ['targets', kind, bin, `project-${project}`]);
      assert.equal(verifiedLevel(found ?? { delegationPath: [] }), kind);
      const top = ours.getVerifiedRole(kind)?.signed.delegations?.roles?.get(bin);
      assert.equal(top?.terminating, false, `${kind} → ${bin} must not be terminating`);
      const inBin = ours.getVerifiedRole(bin)?.signed.delegations?.roles?.get(`project-${project}`);
      assert.equal(inBin?.terminating, true, `${bin} → project-${project} must be terminating`);
      // Only the project's own bin was downloaded, never another bin of the same parent.
      const binFiles = server.requests.filter((p) => p.includes(`.${kind}-bin-`));
      assert.ok(binFiles.length > 0 && binFiles.every((p) => p.endsWith(`.${bin}.json`)), binFiles.join(', '));
    }
  });

  it('tuf-js verifies every target of the claimed, recently-claimed and unclaimed project from the initial root', async () => {
    const dir = await scenario.tempDir('tuf-js');
    await writeFile(join(dir, 'root.json'), scenario.pinnedRoot);
    const tufjs = new TufJsUpdater({ metadataDir: dir, metadataBaseUrl: `${server.url}/metadata`, targetDir: dir, targetBaseUrl: `${server.url}/targets` });
    await tufjs.refresh();
    let checked = 0;
    for (const kind of ['claimed', 'recently-claimed', 'unclaimed'] as const) {
      for (const path of scenario.targets[kind]) {
        const info = await tufjs.getTargetInfo(path);
        assert.ok(info, `tuf-js does not find ${path}`);
        const file = await tufjs.downloadTarget(info, join(dir, `${checked}.bin`));
        assert.equal(createHash('sha256').update(await readFile(file)).digest('hex'), info.hashes['sha256']);
        checked++;
      }
    }
    assert.ok(checked >= 9, `${checked} targets`);
    // tuf-js followed the bins: their metadata is in its cache.
    const claimedBin = binOf('claimed', PROJECTS.claimed);
    const cached = Metadata.parse(await readFile(join(dir, `${claimedBin}.json`)), 'targets', claimedBin);
    assert.ok(cached.signed.delegations?.roles?.has(`project-${PROJECTS.claimed}`));
  });

  it('a promotion ceremony carries only the claimed bin it changes; claimed is not signed again', async () => {
    const repo = await Repository.open(scenario.dataDir, { compress: false });
    await repo.start();
    try {
      const claimedBefore = (await repo.state.roleStates()).find((r) => r.name === 'claimed')?.version;
      const file = await exportPromotion(repo);
      const bin = binOf('claimed', PROJECTS['recently-claimed']);
      assert.deepEqual(file.summary.bins, [bin]);
      assert.equal(file.roles, undefined);
      assert.equal(file.summary.role, bin);
      const offline = Ed25519Signer.fromPkcs8Pem(await readFile(join(scenario.dataDir, 'keys', 'offline-DEMO-ONLY', 'claimed.pem'), 'utf8'));
      // A bin signed by another key is refused, and nothing is promoted.
      await assert.rejects(importPromotion(repo, await signCeremonyFile(file, [Ed25519Signer.generate()])), /claimed keys sign it/);
      await importPromotion(repo, await signCeremonyFile(file, [offline]));
      repo.publisher.request();
      await repo.settle();
      const states = new Map((await repo.state.roleStates()).map((r) => [r.name, r.version]));
      assert.equal(states.get('claimed'), claimedBefore, 'claimed itself is unchanged');
      assert.equal(states.get(bin), 2);
      assert.equal(states.get(binOf('claimed', PROJECTS.claimed)), 2);
    } finally {
      await repo.close();
    }
  });

  it('attack: a newer claimed bin served as a claimed project\'s bin (snapshot, timestamp and unclaimed keys) is refused: ROLE_MISMATCH', async () => {
    const keys = async (role: string, dir: string) => Ed25519Signer.fromPkcs8Pem(await readFile(join(scenario.dataDir, 'keys', dir, `${role}.pem`), 'utf8'));
    const [snapshotKey, timestampKey, unclaimedKey] = [await keys('snapshot', 'online'), await keys('timestamp', 'online'), await keys('unclaimed', 'online')];
    const victimBin = binOf('claimed', PROJECTS.claimed);
    const donorBin = binOf('claimed', PROJECTS['recently-claimed']);
    // A client that refreshed after both promotions: it has the victim's bin at version 2.
    const dir = await scenario.tempDir('victim');
    await writeFile(join(dir, 'root.json'), scenario.pinnedRoot);
    const honest = new Updater({ metadataDir: dir, indexUrl: server.url });
    await honest.refresh();
    assert.equal((await honest.findTarget(`${PROJECTS.claimed}/index.json`))?.role, `project-${PROJECTS.claimed}`);

    // The attacker's mirror: a copy of the index, with the donor bin (version 2, honestly signed
    // by the claimed key, without claimed-pkg) served as the victim's bin, a malicious target for
    // claimed-pkg in its unclaimed hashed bin, and a new snapshot and timestamp.
    const evilDir = await scenario.tempDir('evil-mirror');
    await cp(scenario.publicDir, evilDir, { recursive: true });
    const md = (name: string) => join(evilDir, 'metadata', name);
    const timestamp = signedDoc(await readFile(md('timestamp.json')));
    const snapshotVersion = (timestamp['meta'] as Doc)['snapshot.json'].version as number;
    const snapshot = structuredClone(signedDoc(await readFile(md(`${snapshotVersion}.snapshot.json`))));
    const meta = snapshot['meta'] as Doc;
    const donor = await readFile(md(`${meta[`${donorBin}.json`].version}.${donorBin}.json`));
    assert.equal(signedDoc(donor)['version'], meta[`${victimBin}.json`].version, 'the donor has the version the victim cached');
    await writeFile(md(`${meta[`${victimBin}.json`].version}.${victimBin}.json`), donor);
    meta[`${victimBin}.json`] = { version: meta[`${victimBin}.json`].version, length: donor.length, hashes: { sha256: sha256(donor) } };
    const evil = Buffer.from('malicious wheel');
    const evilPath = `${PROJECTS.claimed}/claimed_pkg-9.9-py3-none-any.whl`;
    const succinct = signedDoc(await readFile(md(`${meta['unclaimed.json'].version}.unclaimed.json`)))['delegations'].succinct_roles as Doc;
    const hashedBin = new SuccinctRoles(succinct['keyids'], succinct['threshold'], succinct['bit_length'], succinct['name_prefix']).roleForTarget(evilPath);
    const binVersion = meta[`${hashedBin}.json`].version as number;
    const forgedBin = await resign(await readFile(md(`${binVersion}.${hashedBin}.json`)), [unclaimedKey], (doc) => {
      doc['version'] = binVersion + 1;
      doc['targets'][evilPath] = { length: evil.length, hashes: { sha256: sha256(evil) } };
    });
    await writeFile(md(`${binVersion + 1}.${hashedBin}.json`), forgedBin);
    await writeFile(join(evilDir, 'targets', PROJECTS.claimed, `${sha256(evil)}.claimed_pkg-9.9-py3-none-any.whl`), evil);
    meta[`${hashedBin}.json`] = { version: binVersion + 1, length: forgedBin.length, hashes: { sha256: sha256(forgedBin) } };
    snapshot['version'] = snapshotVersion + 1;
    const snapshotBytes = await signDoc(snapshot, [snapshotKey]);
    await writeFile(md(`${snapshotVersion + 1}.snapshot.json`), snapshotBytes);
    timestamp['version'] = (timestamp['version'] as number) + 1;
    timestamp['meta'] = { 'snapshot.json': { version: snapshotVersion + 1, length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } } };
    // The index's tree would still list the honest bin: the attacker drops the tree's root, and
    // the client reads the forged classic snapshot (it falls back to it without a tree).
    delete timestamp['x-bulwark-merkle'];
    await writeFile(md('timestamp.json'), await signDoc(timestamp, [timestampKey]));

    const mirror = await serveStatic(evilDir);
    try {
      const victim = new Updater({ metadataDir: dir, indexUrl: mirror.url });
      await victim.refresh();
      await refused(victim.findTarget(evilPath), 'ROLE_MISMATCH', 'repository');
      const cachedBin = signedDoc(await readFile(join(dir, `${victimBin}.json`)));
      assert.equal(cachedBin['x-bulwark-role'], victimBin, 'the swapped bin was not cached');
    } finally {
      await mirror.close();
    }
  });

  it('after a rotation of the claimed key, the next promotion signs claimed and every bin with the new key; clients follow', async () => {
    const repo = await Repository.open(scenario.dataDir, { compress: false });
    await repo.start();
    const newClaimed = Ed25519Signer.generate();
    try {
      const demoKey = async (role: string) => Ed25519Signer.fromPkcs8Pem(await readFile(join(scenario.dataDir, 'keys', 'offline-DEMO-ONLY', `${role}.pem`), 'utf8'));
      const rotation = await exportTargetsRotation(repo, { claimedKeys: [newClaimed.publicKey], claimedThreshold: 1 });
      await importTargetsRotation(repo, await signCeremonyFile(rotation, [await demoKey('targets')]));
      await repo.settle();
      const file = await exportPromotion(repo);
      assert.equal(file.summary.role, 'claimed');
      assert.equal(file.roles?.length, binCount);
      await assert.rejects(importPromotion(repo, await signCeremonyFile(file, [await demoKey('claimed')])), /claimed keys sign it/);
      await importPromotion(repo, await signCeremonyFile(file, [newClaimed]));
      repo.publisher.request();
      await repo.settle();
    } finally {
      await repo.close();
    }
    const dir = await scenario.tempDir('after-rotation');
    await writeFile(join(dir, 'root.json'), scenario.pinnedRoot);
    const ours = new Updater({ metadataDir: dir, indexUrl: server.url });
    await ours.refresh();
    for (const project of [PROJECTS.claimed, PROJECTS['recently-claimed']]) {
      const bin = binOf('claimed', project);
      const found = await ours.findTarget(`${project}/index.json`);
      assert.deepEqual(found?.delegationPath, ['targets', 'claimed', bin, `project-${project}`]);
      assert.deepEqual(ours.getVerifiedRole(bin)?.signatures.map((sig) => sig.keyid), [newClaimed.keyId]);
    }
    const tufDir = await scenario.tempDir('tuf-js-after-rotation');
    await writeFile(join(tufDir, 'root.json'), scenario.pinnedRoot);
    const tufjs = new TufJsUpdater({ metadataDir: tufDir, metadataBaseUrl: `${server.url}/metadata`, targetDir: tufDir, targetBaseUrl: `${server.url}/targets` });
    await tufjs.refresh();
    for (const path of [...scenario.targets.claimed, ...scenario.targets['recently-claimed']]) assert.ok(await tufjs.getTargetInfo(path), `tuf-js finds ${path}`);
  });
});
