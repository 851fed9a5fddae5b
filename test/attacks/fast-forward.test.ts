// Fast-forward attack, then recovery by key rotation (spec §5.3.11). An attacker with the
// stolen timestamp key serves a timestamp with a huge version: the client accepts it (it cannot
// know), and from then on refuses the repository's real, lower-versioned timestamps. The
// operator rotates the timestamp key in root v2 (signed with the demo offline root key),
// publishes it in the repository's static tree, and restarts the repository on the new key: a
// client that updates its root accepts the new, lower-versioned timestamp again, while a
// client that never sees root v2 keeps refusing it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ed25519Signer } from '../../src/tuf/index.js';
import {
  AttackRepository,
  assertCacheUnchanged,
  Client,
  forgeTimestamp,
  type Mirror,
  Published,
  refused,
  republish,
  signedDoc,
  type Uploaded,
} from './harness.js';

const HUGE = 1_000_000_000;

describe('fast-forward attack on the timestamp, then recovery by rotating the timestamp key', () => {
  let fx: AttackRepository;
  let index: Mirror; // the repository's own static tree, honest
  let attacker: Mirror; // where the attacker (a mirror, or a man in the middle) answers
  let clientA: Client; // updates its root when the operator rotates
  let clientB: Client; // never gets to see root v2
  let stolenTimestampKey: Ed25519Signer;
  let fastForwarded: Buffer;
  let release: Uploaded;
  let lastOldKeyTimestamp: Buffer;

  before(async () => {
    fx = await AttackRepository.create('fast-forward');
    await fx.upload('victim', '1.0');
    index = await fx.mirror('index');
    attacker = await fx.mirror('attacker');
    clientA = await Client.create(fx.rootBytes, 'client-a');
    clientB = await Client.create(fx.rootBytes, 'client-b');
    for (const c of [clientA, clientB]) await c.updater({ index: index.url }).refresh();
    stolenTimestampKey = fx.keys.timestamp;
  });
  after(() => fx?.close());

  it('the attacker with the stolen timestamp key serves version 1,000,000,000: the client accepts it (it cannot know)', async () => {
    const now = await Published.of(index);
    fastForwarded = await forgeTimestamp({ version: HUGE, snapshot: now.snapshotBytes, signers: [stolenTimestampKey] });
    attacker.serve('metadata/timestamp.json', fastForwarded);
    for (const c of [clientA, clientB]) {
      await c.updater({ index: attacker.url }).refresh();
      assert.equal(await c.cachedVersion('timestamp'), HUGE);
    }
  });

  it('from then on the repository\'s real timestamps are refused: BAD_VERSION (frozen)', async () => {
    await fx.upload('victim', '1.1'); // the repository publishes timestamp N+1 with the old key
    const before = await clientA.cache();
    const e = await refused(clientA.updater({ index: index.url }).refresh(), 'BAD_VERSION', 'repository');
    assert.match(e.message, new RegExp(`timestamp version ${signedDoc(fx.timestamps.at(-1) as Buffer)['version']} is not ≥ ${HUGE}`));
    await assertCacheUnchanged(clientA, before);
  });

  it('the operator rotates the timestamp key (root ceremony, demo offline root key); the repository signs with the new key', async () => {
    lastOldKeyTimestamp = fx.timestamps.at(-1) as Buffer;
    const root2 = await fx.rotateOnlineKeys(['timestamp']);
    assert.equal(signedDoc(root2)['version'], 2);
    assert.notEqual(fx.keys.timestamp.keyId, stolenTimestampKey.keyId);
    release = await fx.upload('victim', '1.2');
    const ts = fx.timestamps.at(-1) as Buffer;
    assert.ok((signedDoc(ts)['version'] as number) < HUGE);
    assert.equal((JSON.parse(ts.toString()) as { signatures: { keyid: string }[] }).signatures[0]?.keyid, fx.keys.timestamp.keyId);
  });

  it('a client that updates its root accepts the new, lower-versioned timestamp: recovered', async () => {
    const u = clientA.updater({ index: index.url });
    await u.refresh();
    assert.equal(await clientA.cachedVersion('root'), 2);
    assert.ok((await clientA.cached('timestamp'))?.equals(fx.timestamps.at(-1) as Buffer), 'the repository\'s current timestamp');
    const found = await u.findTarget(release.path);
    assert.ok(found);
    assert.ok((await u.downloadTarget(found.target)).equals(release.bytes));
  });

  it('after the rotation the stolen key is worthless: a new fast-forward signed with it is refused (UNSIGNED_METADATA)', async () => {
    const now = await Published.of(index);
    attacker.serve('metadata/2.root.json', (await index.read('metadata/2.root.json')) as Buffer);
    for (const version of [HUGE, 2 * HUGE]) {
      attacker.serve('metadata/timestamp.json', await forgeTimestamp({ version, snapshot: now.snapshotBytes, signers: [stolenTimestampKey] }));
      const before = await clientA.cache();
      await refused(clientA.updater({ index: attacker.url }).refresh(), 'UNSIGNED_METADATA', 'repository');
      await assertCacheUnchanged(clientA, before);
    }
  });

  it('a client that never sees root v2 keeps refusing: the lower version (BAD_VERSION) and the new key (UNSIGNED_METADATA)', async () => {
    const stale = await fx.mirror('no-root-v2');
    stale.notFound('metadata/2.root.json');
    const before = await clientB.cache();
    // The repository's timestamp of before the rotation: old key, version below the attacker's.
    stale.serve('metadata/timestamp.json', lastOldKeyTimestamp);
    await refused(clientB.updater({ index: stale.url }).refresh(), 'BAD_VERSION', 'repository');
    // The current one: signed by a key root v1 does not know.
    stale.reset('metadata/timestamp.json');
    await refused(clientB.updater({ index: stale.url }).refresh(), 'UNSIGNED_METADATA', 'repository');
    await assertCacheUnchanged(clientB, before);
    assert.equal(await clientB.cachedVersion('timestamp'), HUGE);
    // Once it can see root v2, it recovers too.
    await clientB.updater({ index: index.url }).refresh();
    assert.equal(await clientB.cachedVersion('root'), 2);
    assert.ok((await clientB.cached('timestamp'))?.equals(fx.timestamps.at(-1) as Buffer));
  });
});

describe('fast-forward of the snapshot version, then recovery by rotating the snapshot key', () => {
  let fx: AttackRepository;
  let index: Mirror;
  const clients: Record<'frozen' | 'recovers' | 'interrupted' | 'interruptedProbe', Client> = {} as never;

  before(async () => {
    fx = await AttackRepository.create('fast-forward-snapshot');
    await fx.upload('victim', '1.0');
    index = await fx.mirror('index');
    // With the stolen timestamp and snapshot keys: snapshot version 1,000,000,000, named by
    // the next timestamp. Three clients trusted the repository, then the attacker.
    const stolen = await fx.mirror('stolen-keys');
    const { snapshotVersion } = await republish(stolen, {
      snapshotSigners: [fx.keys.snapshot],
      timestampSigners: [fx.keys.timestamp],
      editSnapshot: (d) => (d['version'] = HUGE),
    });
    assert.equal(snapshotVersion, HUGE);
    for (const label of ['frozen', 'recovers', 'interrupted', 'interruptedProbe'] as const) {
      const client = await Client.create(fx.rootBytes, label);
      await client.updater({ index: index.url }).refresh();
      await client.updater({ index: stolen.url }).refresh();
      assert.equal(await client.cachedVersion('snapshot'), HUGE);
      clients[label] = client;
    }
    await fx.upload('victim', '1.1');
    await fx.upload('victim', '1.2'); // timestamp versions past the attacker's
  });
  after(() => fx?.close());

  it('the client that accepted snapshot 1,000,000,000 refuses the real ones (BAD_VERSION)', async () => {
    const e = await refused(clients.frozen.updater({ index: index.url }).refresh(), 'BAD_VERSION', 'repository');
    assert.match(e.message, new RegExp(`snapshot \\(named by timestamp\\) version \\d+ is not ≥ ${HUGE}`));
  });

  it('the operator rotates only the snapshot key (root ceremony); a client that updates its root recovers', async () => {
    await fx.rotateOnlineKeys(['snapshot']);
    await clients.recovers.updater({ index: index.url }).refresh();
    assert.equal(await clients.recovers.cachedVersion('root'), 2);
    assert.equal(await clients.recovers.cachedVersion('snapshot'), (await Published.of(index)).snapshotVersion);
  });

  it('the recovery survives a refresh cut short on the timestamp, after root v2 was cached (§5.3.11 deletes the cached timestamp and snapshot)', async () => {
    const client = clients.interrupted;
    const flaky = await fx.mirror('flaky-timestamp');
    flaky.hang('metadata/timestamp.json');
    await refused(client.updater({ index: flaky.url, fetcher: { connectTimeoutMs: 300 } }).refresh(), 'TIMEOUT', 'download');
    assert.equal(await client.cachedVersion('root'), 2, 'root v2 was cached before the failure');
    // The next refresh, on a good network, still recovers.
    await client.updater({ index: index.url }).refresh();
    assert.equal(await client.cachedVersion('snapshot'), (await Published.of(index)).snapshotVersion);
  });

  it(
    'the recovery survives a refresh cut short while probing for root v3, after root v2 was cached',
    async () => {
      const client = clients.interruptedProbe;
      const flaky = await fx.mirror('flaky-root-probe');
      flaky.hang('metadata/3.root.json');
      await refused(client.updater({ index: flaky.url, fetcher: { connectTimeoutMs: 300 } }).refresh(), 'TIMEOUT', 'download');
      assert.equal(await client.cachedVersion('root'), 2, 'root v2 was cached before the failure');
      await client.updater({ index: index.url }).refresh();
      assert.equal(await client.cachedVersion('snapshot'), (await Published.of(index)).snapshotVersion);
    }
  );
});
