// Signatures by the wrong keys (an attacker's own, or a real key of another role), a threshold
// not met (a root that wants 2 of 2 timestamp keys, and a timestamp signed by one), and bad root
// rotations (the next root not signed by the old root keys; signed by the old but not the new;
// a version skipped or repeated). Each is refused with UNSIGNED_METADATA or BAD_VERSION /
// EQUAL_VERSION, nothing after it is fetched, and the trusted root stays the one in the cache.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ed25519Signer, type Signer } from '../../src/tuf/index.js';
import {
  AttackRepository,
  assertCacheUnchanged,
  assertNotCached,
  Client,
  DAY,
  type Doc,
  forgeTimestamp,
  inTheFuture,
  type Mirror,
  Published,
  refused,
  republish,
  resign,
  signDoc,
  signedDoc,
  type StolenKeys,
  type Uploaded,
} from './harness.js';

const attackerKey = Ed25519Signer.generate();

describe('signatures by the wrong keys', () => {
  let fx: AttackRepository;
  let victim: Uploaded;

  before(async () => {
    fx = await AttackRepository.create('wrong-keys');
    victim = await fx.upload('victim', '1.0');
  });
  after(() => fx?.close());

  it('a timestamp signed by the attacker\'s own key: UNSIGNED_METADATA, cache unchanged', async () => {
    const mirror = await fx.mirror();
    const client = await Client.create(fx.rootBytes);
    await client.updater({ index: mirror.url }).refresh();
    const before = await client.cache();
    const now = await Published.of(mirror);
    mirror.serve('metadata/timestamp.json', await forgeTimestamp({ version: now.timestampVersion + 1, snapshot: now.snapshotBytes, signers: [attackerKey] }));
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'UNSIGNED_METADATA', 'repository');
    assert.match(e.message, /timestamp has 0 valid signature\(s\) of the 1 required/);
    await assertCacheUnchanged(client, before);
  });

  // role → who signs it; the stolen online keys re-publish snapshot and timestamp around it.
  const cases: { label: string; role: (fx: AttackRepository) => string; signer: (k: StolenKeys) => Signer; at: 'refresh' | 'search' }[] = [
    { label: 'a timestamp signed by the (real) snapshot key', role: () => 'timestamp', signer: (k) => k.snapshot, at: 'refresh' },
    { label: 'a snapshot signed by the attacker, named by a timestamp with the stolen key', role: () => 'snapshot', signer: () => attackerKey, at: 'refresh' },
    { label: 'a snapshot signed by the (real) timestamp key', role: () => 'snapshot', signer: (k) => k.timestamp, at: 'refresh' },
    { label: 'top-level targets signed by the attacker', role: () => 'targets', signer: () => attackerKey, at: 'refresh' },
    { label: 'claimed signed by the (stolen, online) unclaimed key', role: () => 'claimed', signer: (k) => k.unclaimed, at: 'search' },
    { label: 'unclaimed signed by the (stolen, online) recently-claimed key', role: () => 'unclaimed', signer: (k) => k['recently-claimed'], at: 'search' },
    { label: 'a bin signed by the attacker', role: (f) => f.binFor(victim.path), signer: () => attackerKey, at: 'search' },
    { label: 'a bin signed by the (real) snapshot key', role: (f) => f.binFor(victim.path), signer: (k) => k.snapshot, at: 'search' },
  ];
  for (const c of cases) {
    it(`${c.label}: UNSIGNED_METADATA, not cached`, async () => {
      const mirror = await fx.mirror();
      const role = c.role(fx);
      const signer = c.signer(fx.keys);
      let forged: Buffer;
      if (role === 'timestamp') {
        const now = await Published.of(mirror);
        forged = await forgeTimestamp({ version: now.timestampVersion + 1, snapshot: now.snapshotBytes, signers: [signer] });
        mirror.serve('metadata/timestamp.json', forged);
      } else if (role === 'snapshot') {
        forged = (await republish(mirror, { snapshotSigners: [signer], timestampSigners: [fx.keys.timestamp] })).snapshot;
      } else {
        const now = await Published.of(mirror);
        forged = await resign(await now.role(role), [signer], (d) => (d['version'] = now.version(role) + 1));
        await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { [role]: forged } });
      }
      const client = await Client.create(fx.rootBytes);
      const u = client.updater({ index: mirror.url });
      const attempt = c.at === 'refresh' ? u.refresh() : u.refresh().then(() => u.findTarget(victim.path));
      const e = await refused(attempt, 'UNSIGNED_METADATA', 'repository');
      assert.match(e.message, new RegExp(`^${role} has 0 valid signature`));
      await assertNotCached(client, forged);
    });
  }
});

describe('threshold not met: a root that wants 2 of 2 timestamp keys', () => {
  let fx: AttackRepository;
  let mirror: Mirror;
  const secondTimestampKey = Ed25519Signer.generate();

  before(async () => {
    fx = await AttackRepository.create('threshold');
    await fx.upload('victim', '1.0');
    mirror = await fx.mirror('two-of-two');
    // The operator: root v2 (signed with the demo offline root key) wants both timestamp keys,
    // and the timestamps from now on carry both signatures.
    const root2 = await resign(fx.rootBytes, [fx.keys.root], (d) => {
      d['version'] = 2;
      d['keys'][secondTimestampKey.keyId] = secondTimestampKey.publicKey.toJSON();
      d['roles']['timestamp'] = { keyids: [fx.keys.timestamp.keyId, secondTimestampKey.keyId], threshold: 2 };
    });
    mirror.serve('metadata/2.root.json', root2);
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp, secondTimestampKey] });
  });
  after(() => fx?.close());

  it('control: the operator\'s timestamp signed by both keys is accepted after the root update', async () => {
    const client = await Client.create(fx.rootBytes);
    await client.updater({ index: mirror.url }).refresh();
    assert.equal(await client.cachedVersion('root'), 2);
  });

  const weak: [string, () => Signer[]][] = [
    ['only the stolen timestamp key', () => [fx.keys.timestamp]],
    ['the stolen key twice (one key counts once)', () => [fx.keys.timestamp, fx.keys.timestamp]],
    ['the stolen key and the attacker\'s own', () => [fx.keys.timestamp, attackerKey]],
  ];
  for (const [label, signers] of weak) {
    it(`a newer timestamp signed by ${label}: UNSIGNED_METADATA (1 of the 2 required)`, async () => {
      const client = await Client.create(fx.rootBytes);
      await client.updater({ index: mirror.url }).refresh();
      const before = await client.cache();
      const now = await Published.of(mirror);
      const ts = structuredClone(signedDoc(now.timestampBytes));
      ts['version'] = now.timestampVersion + 1;
      const forged = await signDoc(ts, signers());
      mirror.serve('metadata/timestamp.json', forged);
      try {
        const e = await refused(client.updater({ index: mirror.url }).refresh(), 'UNSIGNED_METADATA', 'repository');
        assert.match(e.message, /timestamp has 1 valid signature\(s\) of the 2 required/);
        await assertCacheUnchanged(client, before);
        // A client still on root v1 (one key suffices there) updates the root first, and refuses too.
        const fresh = await Client.create(fx.rootBytes);
        await refused(fresh.updater({ index: mirror.url }).refresh(), 'UNSIGNED_METADATA', 'repository');
        await assertNotCached(fresh, forged);
      } finally {
        mirror.serve('metadata/timestamp.json', now.timestampBytes);
      }
    });
  }
});

describe('bad root rotation', () => {
  let fx: AttackRepository;
  const newRootKey = Ed25519Signer.generate();

  before(async () => {
    fx = await AttackRepository.create('root-rotation');
  });
  after(() => fx?.close());

  /** Root `version`, derived from the demo's root v1, with `edit` applied, signed by `signers`. */
  const root = (version: number, signers: Signer[], edit: (d: Doc) => void = () => {}) =>
    resign(fx.rootBytes, signers, (d) => {
      d['version'] = version;
      d['expires'] = inTheFuture(365 * DAY);
      edit(d);
    });
  /** The root key replaced by `newRootKey`. */
  const rotateRootKey = (d: Doc) => {
    d['keys'][newRootKey.keyId] = newRootKey.publicKey.toJSON();
    delete d['keys'][fx.keys.root.keyId];
    d['roles']['root'] = { keyids: [newRootKey.keyId], threshold: 1 };
  };

  async function attempt(served: Record<string, Buffer>, code: string, message: RegExp, startAt?: Buffer): Promise<void> {
    const mirror = await fx.mirror();
    for (const [path, bytes] of Object.entries(served)) mirror.serve(path, bytes);
    const client = await Client.create(startAt ?? fx.rootBytes);
    const before = await client.cache();
    const e = await refused(client.updater({ index: mirror.url }).refresh(), code, 'repository');
    assert.match(e.message, message);
    await assertCacheUnchanged(client, before);
    assert.deepEqual(mirror.requested(/timestamp|snapshot|targets/), [], 'nothing after the bad root was fetched');
  }

  it('control: a rotation signed by the old and the new root key is accepted', async () => {
    const mirror = await fx.mirror();
    mirror.serve('metadata/2.root.json', await root(2, [fx.keys.root, newRootKey], rotateRootKey));
    const client = await Client.create(fx.rootBytes);
    await client.updater({ index: mirror.url }).refresh();
    assert.equal(await client.cachedVersion('root'), 2);
  });

  it('the next root signed only by the new root key, not by the old: UNSIGNED_METADATA', async () => {
    await attempt({ 'metadata/2.root.json': await root(2, [newRootKey], rotateRootKey) }, 'UNSIGNED_METADATA', /^root has 0 valid signature\(s\) of the 1 required/);
  });

  it('the next root signed by an attacker\'s key (or the stolen online keys): UNSIGNED_METADATA', async () => {
    await attempt({ 'metadata/2.root.json': await root(2, [attackerKey, fx.keys.timestamp, fx.keys.snapshot]) }, 'UNSIGNED_METADATA', /^root has 0 valid/);
  });

  it('the next root signed by the old root key but not by the new one it names: UNSIGNED_METADATA', async () => {
    await attempt({ 'metadata/2.root.json': await root(2, [fx.keys.root], rotateRootKey) }, 'UNSIGNED_METADATA', /^root has 0 valid signature\(s\) of the 1 required/);
  });

  it('skipping a version: root v3 (properly signed) served as 2.root.json: BAD_VERSION', async () => {
    await attempt({ 'metadata/2.root.json': await root(3, [fx.keys.root]) }, 'BAD_VERSION', /^root version 3 is not 2/);
  });

  it('the same version again: root v1 served as 2.root.json: EQUAL_VERSION', async () => {
    await attempt({ 'metadata/2.root.json': fx.rootBytes }, 'EQUAL_VERSION', /^root version 1 is not 2/);
  });

  it('a root rollback: the client at root v2, root v1 served as 3.root.json: BAD_VERSION', async () => {
    const root2 = await root(2, [fx.keys.root]); // the same root key: the signatures verify, the version does not
    await attempt({ 'metadata/3.root.json': fx.rootBytes }, 'BAD_VERSION', /^root version 1 is not 3/, root2);
  });

  it('a root rollback after a root key rotation: the old root no longer even verifies (UNSIGNED_METADATA)', async () => {
    const root2 = await root(2, [fx.keys.root, newRootKey], rotateRootKey);
    await attempt({ 'metadata/3.root.json': fx.rootBytes }, 'UNSIGNED_METADATA', /^root has 0 valid/, root2);
  });
});
