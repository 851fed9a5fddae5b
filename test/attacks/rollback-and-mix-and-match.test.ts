// Rollback attacks on every role, and mix-and-match: after the client trusted a newer version,
// the mirror serves an older signed one (under the name the current metadata expects), or an
// attacker with the stolen timestamp and snapshot keys publishes new metadata that names the
// older one. Each is refused: LENGTH_OR_HASH_MISMATCH where the metadata above pins the file's
// hash (the timestamp pins the snapshot's, the snapshot every role's), BAD_VERSION from the
// version inside the file where it does not (a snapshot without hashes, as the spec allows and
// an attacker with the snapshot key can publish), and the client's cache keeps what it trusted.
//
// The repository: uploads of victim 1.0 and 1.1, then its clock runs four days ahead and the
// snapshot process re-signs every online role close to expiry (unclaimed, recently-claimed and
// every bin get a new version, for real). Timestamps t[0] … t[3] are its publications. The
// offline roles (targets, claimed) get a version 2 from the operator, signed with the demo
// offline keys and published with the online keys.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AttackRepository,
  assertCacheUnchanged,
  assertNotCached,
  Client,
  DAY,
  dropRoleHashes,
  forgeTimestamp,
  inTheFuture,
  type Mirror,
  Published,
  refused,
  republish,
  resign,
  signedDoc,
} from './harness.js';

const PAGE = 'victim/index.json';

describe('rollback attacks', () => {
  let fx: AttackRepository;
  let bin: string; // the bin of victim/index.json
  let t: Buffer[];

  before(async () => {
    fx = await AttackRepository.create('rollback');
    await fx.upload('victim', '1.0');
    await fx.upload('victim', '1.1');
    await fx.advanceClockAndResign(4 * DAY);
    t = fx.timestamps;
    assert.equal(t.length, 4, 'init, two uploads, one re-signing');
    bin = fx.binFor(PAGE);
  });
  after(() => fx?.close());

  /** A mirror, and a client that trusted the repository as of timestamp `at` (bins of `search` loaded). */
  async function clientAt(at: Buffer, search: string[] = []): Promise<{ mirror: Mirror; client: Client }> {
    const mirror = await fx.mirror();
    mirror.serve('metadata/timestamp.json', at);
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url });
    await u.refresh();
    for (const path of search) assert.ok(await u.findTarget(path), `${path} is listed`);
    mirror.reset();
    return { mirror, client };
  }

  /** The operator publishes version 2 of an offline role (signed with its demo offline key). */
  async function operatorPublishes(mirror: Mirror, role: 'targets' | 'claimed'): Promise<Buffer> {
    const now = await Published.of(mirror);
    const v2 = await resign(await now.role(role, 1), [fx.keys[role]], (d) => {
      d['version'] = 2;
      d['expires'] = inTheFuture(180 * DAY);
    });
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { [role]: v2 } });
    return v2;
  }

  describe('timestamp', () => {
    for (const [label, i] of [['the first', 0], ['the previous', 2]] as const) {
      it(`${label} timestamp served after the client trusted the latest: BAD_VERSION, cache unchanged`, async () => {
        const { mirror, client } = await clientAt(t[3] as Buffer);
        const before = await client.cache();
        mirror.serve('metadata/timestamp.json', t[i] as Buffer);
        await refused(client.updater({ index: mirror.url }).refresh(), 'BAD_VERSION', 'repository');
        await assertCacheUnchanged(client, before);
      });
    }
  });

  describe('snapshot', () => {
    it('an older snapshot under the name the timestamp expects: LENGTH_OR_HASH_MISMATCH (the timestamp pins its hash)', async () => {
      const { mirror, client } = await clientAt(t[2] as Buffer);
      const latest = await Published.of(mirror);
      mirror.serveOlder(`metadata/${latest.snapshotVersion}.snapshot.json`, 'metadata/2.snapshot.json');
      await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_OR_HASH_MISMATCH', 'repository');
      assert.equal(await client.cachedVersion('snapshot'), latest.snapshotVersion - 1, 'still the snapshot it trusted');
    });

    it('with the stolen timestamp key, a new timestamp naming the old snapshot: BAD_VERSION', async () => {
      const { mirror, client } = await clientAt(t[3] as Buffer);
      const before = await client.cache();
      const latest = await Published.of(mirror);
      const oldSnapshot = (await mirror.read('metadata/2.snapshot.json')) as Buffer;
      const evil = await forgeTimestamp({ version: latest.timestampVersion + 1, snapshot: oldSnapshot, signers: [fx.keys.timestamp] });
      mirror.serve('metadata/timestamp.json', evil);
      const e = await refused(client.updater({ index: mirror.url }).refresh(), 'BAD_VERSION', 'repository');
      assert.match(e.message, /snapshot \(named by timestamp\)/);
      await assertCacheUnchanged(client, before);
    });

    it('with the stolen timestamp and snapshot keys, a newer snapshot dropping a role: BAD_VERSION', async () => {
      const { mirror, client } = await clientAt(t[3] as Buffer);
      const { snapshot } = await republish(mirror, {
        snapshotSigners: [fx.keys.snapshot],
        timestampSigners: [fx.keys.timestamp],
        editSnapshot: (d) => delete (d['meta'] as Record<string, unknown>)[`${bin}.json`],
      });
      const e = await refused(client.updater({ index: mirror.url }).refresh(), 'BAD_VERSION', 'repository');
      assert.match(e.message, new RegExp(`drops ${bin}`));
      await assertNotCached(client, snapshot);
    });
  });

  // Each targets role, served at an older signed version: (a) under the name the current
  // snapshot expects; (b) the same, with a snapshot re-signed without hashes by the attacker,
  // so that only the version inside the file is left to check; (c) named by a snapshot the
  // attacker signed with the stolen online keys.
  const roles: { role: () => string; offline?: 'targets' | 'claimed'; search: string }[] = [
    { role: () => 'targets', offline: 'targets', search: PAGE },
    { role: () => 'claimed', offline: 'claimed', search: PAGE },
    { role: () => 'unclaimed', search: PAGE },
    { role: () => bin, search: PAGE },
  ];
  for (const r of roles) {
    const name = r.offline ?? (r.role() === 'unclaimed' ? 'unclaimed (delegated, online)' : 'a hashed bin');
    describe(`${name}`, () => {
      /**
       * A client that trusted the role at an older version, the role's newer version published
       * (by the operator for an offline role, by the repository's own re-signing else), and the
       * mirror serving the older file under the newer name.
       */
      async function olderUnderCurrentName(opts: { dropHashes: boolean }) {
        const role = r.role();
        const { mirror, client } = await clientAt(r.offline ? (t[3] as Buffer) : (t[2] as Buffer), [r.search]);
        const trustedBytes = (await client.cached(role)) as Buffer;
        const trustedVersion = signedDoc(trustedBytes)['version'] as number;
        if (r.offline) await operatorPublishes(mirror, r.offline);
        if (opts.dropHashes) await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], editSnapshot: dropRoleHashes });
        const latest = await Published.of(mirror);
        const current = latest.version(role);
        assert.ok(current > trustedVersion, `${role} moved on from ${trustedVersion} to ${current}`);
        mirror.serveOlder(latest.path(role, current), latest.path(role, trustedVersion));
        const u = client.updater({ index: mirror.url });
        const attempt = (async () => {
          await u.refresh();
          await u.findTarget(r.search);
        })();
        return { role, client, trustedBytes, trustedVersion, current, attempt };
      }

      it('(a) an older version under the name the current snapshot expects: LENGTH_OR_HASH_MISMATCH (the snapshot binds its hash)', async () => {
        const { role, client, trustedBytes, attempt } = await olderUnderCurrentName({ dropHashes: false });
        const e = await refused(attempt, 'LENGTH_OR_HASH_MISMATCH', 'repository');
        assert.match(e.message, new RegExp(`^${role}: `));
        assert.ok((await client.cached(role))?.equals(trustedBytes), 'the cache keeps the version it trusted');
      });

      it('(b) the same, under a snapshot without hashes (stolen snapshot key): BAD_VERSION from the version in the file', async () => {
        const { role, client, trustedBytes, trustedVersion, current, attempt } = await olderUnderCurrentName({ dropHashes: true });
        const e = await refused(attempt, 'BAD_VERSION', 'repository');
        assert.match(e.message, new RegExp(`${role} version ${trustedVersion} is not ${current}`));
        assert.ok((await client.cached(role))?.equals(trustedBytes), 'the cache keeps the version it trusted');
      });

      it('(c) with the stolen snapshot and timestamp keys, a new snapshot naming the older version: BAD_VERSION', async () => {
        const role = r.role();
        const mirror = await fx.mirror();
        if (r.offline) await operatorPublishes(mirror, r.offline);
        const client = await Client.create(fx.rootBytes);
        const u0 = client.updater({ index: mirror.url });
        await u0.refresh();
        assert.ok(await u0.findTarget(r.search));
        const before = await client.cache();
        const current = (await Published.of(mirror)).version(role);
        const { snapshot } = await republish(mirror, {
          snapshotSigners: [fx.keys.snapshot],
          timestampSigners: [fx.keys.timestamp],
          editSnapshot: (d) => ((d['meta'] as Record<string, { version: number }>)[`${role}.json`] = { version: current - 1 }),
        });
        const e = await refused(client.updater({ index: mirror.url }).refresh(), 'BAD_VERSION', 'repository');
        assert.match(e.message, new RegExp(`${role}.json version ${current - 1} is not ≥ ${current}`));
        await assertNotCached(client, snapshot);
        assert.ok((await client.cache()).get('snapshot.json')?.equals(before.get('snapshot.json') as Buffer), 'the trusted snapshot kept');
      });
    });
  }
});

describe('mix-and-match', () => {
  let fx: AttackRepository;

  before(async () => {
    fx = await AttackRepository.create('mix-and-match');
    await fx.upload('victim', '1.0');
    await fx.upload('victim', '1.1');
    await fx.advanceClockAndResign(4 * DAY);
  });
  after(() => fx?.close());

  for (const [label, dropHashes, code] of [
    ['LENGTH_OR_HASH_MISMATCH (the snapshot binds its hash)', false, 'LENGTH_OR_HASH_MISMATCH'],
    ['under a snapshot without hashes (stolen snapshot key): BAD_VERSION', true, 'BAD_VERSION'],
  ] as const) {
    it(`a bin from each older snapshot, served under the version name the current snapshot expects: ${label}`, async () => {
      const bin = fx.binFor(PAGE);
      const mirror = await fx.mirror();
      if (dropHashes) await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], editSnapshot: dropRoleHashes });
      const latest = await Published.of(mirror);
      const current = latest.version(bin);
      assert.ok(current >= 3);
      for (let older = 1; older < current; older++) {
        mirror.serveOlder(latest.path(bin, current), latest.path(bin, older));
        const client = await Client.create(fx.rootBytes);
        const u = client.updater({ index: mirror.url });
        await u.refresh();
        await refused(u.findTarget(PAGE), code, 'repository');
        await assertNotCached(client, (await mirror.read(latest.path(bin, older))) as Buffer);
        assert.equal(await client.cached(bin), undefined, 'no bin cached');
      }
    });
  }

  it('top-level metadata of different publications: a snapshot from another timestamp is refused (LENGTH_OR_HASH_MISMATCH)', async () => {
    const mirror = await fx.mirror();
    const latest = await Published.of(mirror);
    // The current timestamp with the snapshot of the publication before, under its name.
    mirror.serveOlder(`metadata/${latest.snapshotVersion}.snapshot.json`, `metadata/${latest.snapshotVersion - 1}.snapshot.json`);
    const client = await Client.create(fx.rootBytes);
    await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_OR_HASH_MISMATCH', 'repository');
    assert.equal(await client.cached('snapshot'), undefined);
  });

  /** A bin of another name, listing targets, at the same version as the bin of PAGE. */
  async function standIn(mirror: Mirror): Promise<{ target: string; version: number; stand: string; standBytes: Buffer }> {
    const latest = await Published.of(mirror);
    const target = fx.binFor(PAGE);
    const version = latest.version(target);
    const stand = Object.keys(signedDoc(latest.snapshotBytes)['meta'] as object)
      .map((f) => f.replace(/\.json$/, ''))
      .find((b) => b.startsWith('bins-') && b !== target && latest.version(b) === version);
    assert.ok(stand, `another bin at version ${version}`);
    const standBytes = await latest.role(stand);
    assert.ok(Object.keys(signedDoc(standBytes)['targets'] as object).length > 0, `${stand} lists targets`);
    return { target, version, stand, standBytes };
  }

  it('a bin of another name at the same version (the bins share the unclaimed key): LENGTH_OR_HASH_MISMATCH', async () => {
    const mirror = await fx.mirror();
    const { target, version, standBytes } = await standIn(mirror);
    mirror.serve(`metadata/${version}.${target}.json`, standBytes);
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url });
    await u.refresh();
    await refused(u.findTarget(PAGE), 'LENGTH_OR_HASH_MISMATCH', 'repository');
    await assertNotCached(client, standBytes);
  });

  it('the same under a snapshot without hashes: it verifies, but never vouches for a target it does not list', async () => {
    // Without hashes in the snapshot, a bin of another name at the same version verifies (same
    // key, same version). What it cannot do is vouch for a target of the bin it stands in for:
    // the client looks the path up in it and finds nothing (a denial, never wrong bytes).
    const mirror = await fx.mirror();
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], editSnapshot: dropRoleHashes });
    const { target, version, stand, standBytes } = await standIn(mirror);
    mirror.serve(`metadata/${version}.${target}.json`, standBytes);
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url });
    await u.refresh();
    assert.equal(await u.findTarget(PAGE), undefined, `${PAGE} is not found through the stand-in`);
    for (const path of Object.keys(signedDoc(standBytes)['targets'] as object)) {
      assert.notEqual(fx.binFor(path), target, `${path} (listed by ${stand}) is never looked up in ${target}`);
    }
  });
});
