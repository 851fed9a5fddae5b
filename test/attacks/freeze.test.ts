// Indefinite freeze attacks: the mirror keeps serving metadata that was once valid, or an
// attacker signs metadata that has already expired (with the stolen online keys, or the demo
// offline keys). Every role's expiry is checked against the update's reference time, so the
// client refuses with EXPIRED_METADATA naming the role, and caches nothing it refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AttackRepository,
  assertCacheUnchanged,
  assertNotCached,
  Client,
  DAY,
  forgeTimestamp,
  inThePast,
  Published,
  refused,
  republish,
  resign,
  type Uploaded,
} from './harness.js';

describe('indefinite freeze', () => {
  let fx: AttackRepository;
  let victim: Uploaded;
  const later = (ms: number) => new Date(Date.now() + ms);

  before(async () => {
    fx = await AttackRepository.create('freeze');
    victim = await fx.upload('victim', '1.0');
  });
  after(() => fx?.close());

  it('replay: the mirror keeps serving the last timestamp; two days later it has expired (EXPIRED_METADATA timestamp)', async () => {
    const frozenMirror = await fx.mirror('frozen');
    const client = await Client.create(fx.rootBytes);
    await client.updater({ index: frozenMirror.url }).refresh();
    const before = await client.cache();
    const e = await refused(client.updater({ index: frozenMirror.url, now: later(2 * DAY) }).refresh(), 'EXPIRED_METADATA', 'repository');
    assert.match(e.message, /^timestamp expired/);
    await assertCacheUnchanged(client, before);
    // A client that never saw it before refuses it just the same.
    const fresh = await Client.create(fx.rootBytes);
    await refused(fresh.updater({ index: frozenMirror.url, now: later(2 * DAY) }).refresh(), 'EXPIRED_METADATA', 'repository');
    assert.deepEqual([...(await fresh.cache()).keys()], ['root.json'], 'nothing cached');
  });

  it('an expired timestamp of a newer version, signed with the stolen timestamp key: EXPIRED_METADATA, not cached', async () => {
    const mirror = await fx.mirror();
    const client = await Client.create(fx.rootBytes);
    await client.updater({ index: mirror.url }).refresh();
    const before = await client.cache();
    const now = await Published.of(mirror);
    const expired = await forgeTimestamp({ version: now.timestampVersion + 1, snapshot: now.snapshotBytes, expires: new Date(Date.now() - 3_600_000), signers: [fx.keys.timestamp] });
    mirror.serve('metadata/timestamp.json', expired);
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'EXPIRED_METADATA', 'repository');
    assert.match(e.message, /^timestamp expired/);
    await assertCacheUnchanged(client, before);
  });

  it('an expired snapshot, signed with the stolen snapshot key and named by a fresh timestamp: EXPIRED_METADATA snapshot', async () => {
    const mirror = await fx.mirror();
    const { snapshot } = await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], snapshotExpires: inThePast() });
    const client = await Client.create(fx.rootBytes);
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'EXPIRED_METADATA', 'repository');
    assert.match(e.message, /^snapshot expired/);
    await assertNotCached(client, snapshot);
  });

  it('with only the timestamp key, the attacker keeps the timestamp fresh, but the snapshot it names expires (client 8 days on)', async () => {
    const mirror = await fx.mirror();
    const now = await Published.of(mirror);
    // A timestamp valid for a month, naming the real (7-day) snapshot.
    const fresh = await forgeTimestamp({ version: now.timestampVersion + 1, snapshot: now.snapshotBytes, expires: later(30 * DAY), signers: [fx.keys.timestamp] });
    mirror.serve('metadata/timestamp.json', fresh);
    const client = await Client.create(fx.rootBytes);
    const e = await refused(client.updater({ index: mirror.url, now: later(8 * DAY) }).refresh(), 'EXPIRED_METADATA', 'repository');
    assert.match(e.message, /^snapshot expired/);
    assert.equal(await client.cached('snapshot'), undefined);
  });

  it('expired top-level targets, signed with the demo offline targets key: EXPIRED_METADATA targets', async () => {
    const mirror = await fx.mirror();
    const now = await Published.of(mirror);
    const targets = await resign(await now.role('targets'), [fx.keys.targets], (d) => {
      d['version'] = 2;
      d['expires'] = inThePast();
    });
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { targets } });
    const client = await Client.create(fx.rootBytes);
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'EXPIRED_METADATA', 'repository');
    assert.match(e.message, /^targets expired/);
    await assertNotCached(client, targets);
  });

  it('an expired bin, signed with the stolen unclaimed key: the target search refuses it (EXPIRED_METADATA bin)', async () => {
    const mirror = await fx.mirror();
    const bin = fx.binFor(victim.path);
    const now = await Published.of(mirror);
    const frozenBin = await resign(await now.role(bin), [fx.keys.unclaimed], (d) => {
      d['version'] = now.version(bin) + 1;
      d['expires'] = inThePast();
    });
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { [bin]: frozenBin } });
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url });
    await u.refresh();
    const e = await refused(u.findTarget(victim.path), 'EXPIRED_METADATA', 'repository');
    assert.match(e.message, new RegExp(`^${bin} expired`));
    await assertNotCached(client, frozenBin);
    await refused(client.verifiedIndex({ index: mirror.url }).get(victim.path), 'EXPIRED_METADATA', 'repository');
  });

  it('the root itself expires: a year and a day on, the pinned root is refused (EXPIRED_METADATA root)', async () => {
    const mirror = await fx.mirror();
    const client = await Client.create(fx.rootBytes);
    const e = await refused(client.updater({ index: mirror.url, now: later(366 * DAY) }).refresh(), 'EXPIRED_METADATA', 'repository');
    assert.match(e.message, /^root expired/);
  });
});
