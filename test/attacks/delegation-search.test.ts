// Delegation search over the PEP 480 layout (targets → claimed, recently-claimed, unclaimed →
// bins). The operator claims a project: a new claimed version, signed with the demo offline
// claimed key, delegates `claimedpkg/*` (terminating) to a project role signed by a developer
// key, published with a new snapshot and timestamp (online keys). An attacker holding every
// online key then lists the same path, with other bytes, in the unclaimed bin and in
// recently-claimed: the client never looks there, so a claimed project is never shadowed.
// And a search visits a bounded number of roles, however wide or deep the delegations.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DEFAULT_LIMITS } from '../../src/client/updater.js';
import { describeFailure, TargetNotFoundError } from '../../src/client/verified-index.js';
import { Ed25519Signer, expiresIn, Metadata, TargetFile, Targets, type Signer } from '../../src/tuf/index.js';
import {
  AttackRepository,
  assertNotCached,
  bulwarkFetch,
  Client,
  DAY,
  type Doc,
  inTheFuture,
  type Mirror,
  Published,
  refused,
  republish,
  resign,
  sha256,
  type Uploaded,
} from './harness.js';

const developer = Ed25519Signer.generate();
const attackerKey = Ed25519Signer.generate();

/** A targets role listing `targets`, delegating to `delegate` (paths, not terminating) if given. */
async function role(signers: Signer[], targets: Record<string, Buffer>, delegate?: { name: string; paths: string[]; key: Signer }): Promise<Buffer> {
  const doc: Doc = {
    _type: 'targets',
    spec_version: '1.0.31',
    version: 1,
    expires: inTheFuture(90 * DAY),
    targets: Object.fromEntries(Object.entries(targets).map(([path, bytes]) => [path, { length: bytes.length, hashes: { sha256: sha256(bytes) } }])),
  };
  if (delegate) {
    doc['delegations'] = {
      keys: { [delegate.key.keyId]: delegate.key.publicKey.toJSON() },
      roles: [{ name: delegate.name, keyids: [delegate.key.keyId], threshold: 1, terminating: false, paths: delegate.paths }],
    };
  }
  return resign(Buffer.from(JSON.stringify({ signatures: [], signed: doc })), signers);
}

/** A new version of a project delegator (claimed or recently-claimed) delegating these roles. */
async function delegator(mirror: Mirror, name: 'claimed' | 'recently-claimed', signer: Signer, roles: { name: string; paths: string[]; key: Signer; terminating: boolean }[]): Promise<Buffer> {
  const now = await Published.of(mirror);
  return resign(await now.role(name), [signer], (d) => {
    d['version'] = now.version(name) + 1;
    d['delegations'] = {
      keys: Object.fromEntries(roles.map((r) => [r.key.keyId, r.key.publicKey.toJSON()])),
      roles: roles.map((r) => ({ name: r.name, keyids: [r.key.keyId], threshold: 1, terminating: r.terminating, paths: r.paths })),
    };
  });
}

describe('delegation search: a claimed project is never shadowed by an unclaimed bin', () => {
  let fx: AttackRepository;
  let genuine: Uploaded; // claimedpkg 1.0, uploaded before the claim
  let victim: Uploaded; // an unclaimed project
  const evil = gzipSync(Buffer.from('claimedpkg 1.0, as the attacker would have it\n'));
  const evilOnly = 'claimedpkg/claimedpkg-6.6.tar.gz';

  before(async () => {
    fx = await AttackRepository.create('delegation-search');
    genuine = await fx.upload('claimedpkg', '1.0');
    victim = await fx.upload('victim', '1.0');
  });
  after(() => fx?.close());

  /** The operator claims claimedpkg for its developer (claimed v2 + project role v1). */
  async function operatorClaims(mirror: Mirror): Promise<void> {
    const projectRole = await Metadata.sign(
      new Targets({
        version: 1,
        expires: expiresIn(new Date(), 90 * 86_400),
        targets: new Map([[genuine.path, new TargetFile(genuine.path, genuine.bytes.length, { sha256: genuine.sha256 })]]),
        delegations: undefined,
      }),
      [developer]
    );
    const claimed = await delegator(mirror, 'claimed', fx.keys.claimed, [{ name: 'project-claimedpkg', paths: ['claimedpkg/*'], key: developer, terminating: true }]);
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { claimed, 'project-claimedpkg': projectRole.bytes } });
  }

  /** With the stolen unclaimed key, the attacker lists `entries` (path → bytes) in their bins. */
  async function attackerForgesBins(mirror: Mirror, entries: Record<string, Buffer>): Promise<void> {
    const now = await Published.of(mirror);
    const bins: Record<string, Buffer> = {};
    for (const [path, bytes] of Object.entries(entries)) {
      const bin = fx.binFor(path);
      mirror.serve(`targets/${path.split('/')[0]}/${sha256(bytes)}.${path.split('/')[1]}`, bytes);
      bins[bin] = await resign(bins[bin] ?? (await now.role(bin)), [fx.keys.unclaimed], (d) => {
        d['version'] = now.version(bin) + 1;
        d['targets'][path] = { length: bytes.length, hashes: { sha256: sha256(bytes) } };
      });
    }
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: bins });
  }

  it('control: the same forged bin does fool the client for an unclaimed project (the risk PEP 458 accepts, and claiming removes)', async () => {
    const mirror = await fx.mirror();
    await attackerForgesBins(mirror, { [victim.path]: evil });
    const client = await Client.create(fx.rootBytes);
    const got = await client.fetchTarget({ index: mirror.url }, victim.path);
    assert.equal(got.role, fx.binFor(victim.path));
    assert.ok(got.bytes.equals(evil), 'the online keys vouch for unclaimed projects');
  });

  it('the claimed file comes from the project role, with its genuine bytes; the bins are never fetched', async () => {
    const mirror = await fx.mirror();
    await operatorClaims(mirror);
    await attackerForgesBins(mirror, { [genuine.path]: evil, [evilOnly]: evil });
    const before = mirror.requests.length;
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url });
    await u.refresh();
    const found = await u.findTarget(genuine.path);
    assert.equal(found?.role, 'project-claimedpkg');
    assert.ok((await u.downloadTarget(found.target)).equals(genuine.bytes));
    assert.equal(await u.findTarget(evilOnly), undefined, 'a path only the bins list is not found either');
    const viaIndex = client.verifiedIndex({ index: mirror.url });
    assert.equal((await viaIndex.get(genuine.path)).role, 'project-claimedpkg');
    await assert.rejects(viaIndex.get(evilOnly), (e: unknown) => e instanceof TargetNotFoundError && describeFailure(e).status === 404);
    assert.deepEqual(mirror.requests.slice(before).filter((p) => /unclaimed|bins-|recently-claimed/.test(p)), [], 'neither unclaimed, a bin, nor recently-claimed was fetched');
  });

  it('the attacker also delegates claimedpkg/* in recently-claimed (online key) to a role of their own: never looked at', async () => {
    const mirror = await fx.mirror();
    await operatorClaims(mirror);
    const shadow = await role([attackerKey], { [genuine.path]: evil, [evilOnly]: evil });
    const rc = await delegator(mirror, 'recently-claimed', fx.keys['recently-claimed'], [{ name: 'project-claimedpkg-shadow', paths: ['claimedpkg/*'], key: attackerKey, terminating: true }]);
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { 'recently-claimed': rc, 'project-claimedpkg-shadow': shadow } });
    await attackerForgesBins(mirror, { [genuine.path]: evil, [evilOnly]: evil });
    const before = mirror.requests.length;
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url });
    await u.refresh();
    const found = await u.findTarget(genuine.path);
    assert.equal(found?.role, 'project-claimedpkg');
    assert.equal(found.target.hashes['sha256'], genuine.sha256);
    assert.equal(await u.findTarget(evilOnly), undefined);
    assert.deepEqual(mirror.requests.slice(before).filter((p) => /recently-claimed|shadow|bins-/.test(p)), [], 'the attacker\'s roles were never fetched');
  });

  it('the online keys cannot replace the project role itself: an attacker-signed version is refused (UNSIGNED_METADATA)', async () => {
    const mirror = await fx.mirror();
    await operatorClaims(mirror);
    const now = await Published.of(mirror);
    const forged = await resign(await now.role('project-claimedpkg'), [fx.keys.unclaimed, fx.keys['recently-claimed'], fx.keys.snapshot], (d) => {
      d['version'] = 2;
      d['targets'][genuine.path] = { length: evil.length, hashes: { sha256: sha256(evil) } };
    });
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { 'project-claimedpkg': forged } });
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url });
    await u.refresh();
    await refused(u.findTarget(genuine.path), 'UNSIGNED_METADATA', 'repository');
    await assertNotCached(client, forged);
  });

  it('bulwark fetch names the project role and writes the genuine file', async () => {
    const mirror = await fx.mirror();
    await operatorClaims(mirror);
    await attackerForgesBins(mirror, { [genuine.path]: evil });
    const r = await bulwarkFetch({ project: 'claimedpkg', file: genuine.filename, index: mirror.url, rootFile: join(fx.dataDir, 'root.json') });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json?.['files'].map((f: { role: string; sha256: string }) => [f.role, f.sha256]), [['project-claimedpkg', genuine.sha256]]);
  });
});

describe('delegation search: a bound on the roles visited', () => {
  let fx: AttackRepository;
  let mirror: Mirror;
  const WIDE = 40;
  const DEEP = 60;
  const wideFile = Buffer.from('found in the last of 40 roles\n');
  const deepFile = Buffer.from('found 60 delegations deep\n');

  before(async () => {
    fx = await AttackRepository.create('delegation-bound');
    mirror = await fx.mirror();
    const name = (prefix: string, i: number) => `${prefix}-${String(i).padStart(2, '0')}`;
    const roles: Record<string, Buffer> = {};
    // Wide: 40 non-terminating roles for widepkg/*, only the last lists the file.
    for (let i = 0; i < WIDE; i++) roles[name('wide', i)] = await role([developer], i === WIDE - 1 ? { 'widepkg/widepkg-1.0.tar.gz': wideFile } : {});
    // Deep: deep-00 → deep-01 → … → deep-59, only the last lists the file.
    for (let i = 0; i < DEEP; i++) {
      roles[name('deep', i)] = await role([developer], i === DEEP - 1 ? { 'deeppkg/deeppkg-1.0.tar.gz': deepFile } : {}, i < DEEP - 1 ? { name: name('deep', i + 1), paths: ['deeppkg/*'], key: developer } : undefined);
    }
    roles['claimed'] = await delegator(mirror, 'claimed', fx.keys.claimed, [
      ...Array.from({ length: WIDE }, (_, i) => ({ name: name('wide', i), paths: ['widepkg/*'], key: developer, terminating: false })),
      { name: name('deep', 0), paths: ['deeppkg/*'], key: developer, terminating: false },
    ]);
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles });
    mirror.serve(`targets/widepkg/${sha256(wideFile)}.widepkg-1.0.tar.gz`, wideFile);
    mirror.serve(`targets/deeppkg/${sha256(deepFile)}.deeppkg-1.0.tar.gz`, deepFile);
  });
  after(() => fx?.close());

  for (const [shape, path, prefix, file] of [
    ['wide', 'widepkg/widepkg-1.0.tar.gz', 'wide', wideFile],
    ['deep', 'deeppkg/deeppkg-1.0.tar.gz', 'deep', deepFile],
  ] as const) {
    it(`${shape} delegations: the search stops after ${DEFAULT_LIMITS.maxDelegations} roles and finds nothing`, async () => {
      const before = mirror.requests.length;
      const client = await Client.create(fx.rootBytes);
      const u = client.updater({ index: mirror.url });
      await u.refresh();
      assert.equal(await u.findTarget(path), undefined);
      const fetched = mirror.requests.slice(before).filter((p) => new RegExp(`^metadata/1\\.${prefix}-\\d+\\.json$`).test(p));
      // targets and claimed count too.
      assert.equal(fetched.length, DEFAULT_LIMITS.maxDelegations - 2, `${fetched.length} ${shape} roles fetched`);
    });

    it(`${shape} delegations: with a higher bound the same search finds the file (the bound is what stopped it)`, async () => {
      const client = await Client.create(fx.rootBytes);
      const got = await client.fetchTarget({ index: mirror.url, limits: { maxDelegations: 100 } }, path);
      assert.ok(got.bytes.equals(file));
      assert.equal(got.role, `${prefix}-${shape === 'wide' ? WIDE - 1 : DEEP - 1}`);
    });
  }
});
