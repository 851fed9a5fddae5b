// Endless data and slow retrieval: a mirror that never stops sending (chunked, with a lying
// Content-Length, or as a decompression bomb) is cut off at the length the metadata vouches
// for (or the updater's cap where none is listed: the root, the timestamp, a snapshot without
// lengths): LENGTH_EXCEEDED. A mirror that drips bytes,
// or sends nothing at all, is given up on once it is slower than the minimum speed: TIMEOUT.
// The fetcher's grace period and minimum speed are made small so each test takes about a
// second, not minutes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LIMITS } from '../../src/client/updater.js';
import { describeFailure } from '../../src/client/verified-index.js';
import { memorySdist } from '../helpers/memory-dists.js';
import { AttackRepository, assertCacheUnchanged, Client, dropRoleHashes, type Mirror, Published, refused, republish, type Uploaded } from './harness.js';

describe('endless data', () => {
  let fx: AttackRepository;
  let victim: Uploaded;

  before(async () => {
    fx = await AttackRepository.create('endless-data');
    victim = await fx.upload('victim', '1.0');
  });
  after(() => fx?.close());

  /** A client that trusted the current metadata, and a mirror to attack it with. */
  async function trusting(): Promise<{ mirror: Mirror; client: Client; before: Map<string, Buffer> }> {
    const mirror = await fx.mirror('endless');
    const client = await Client.create(fx.rootBytes);
    await client.updater({ index: mirror.url }).refresh();
    return { mirror, client, before: await client.cache() };
  }

  it('an endless timestamp (chunked): LENGTH_EXCEEDED, the client hangs up, cache unchanged', async () => {
    const { mirror, client, before } = await trusting();
    mirror.endless('metadata/timestamp.json');
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_EXCEEDED', 'download');
    assert.match(e.message, new RegExp(`more than the ${DEFAULT_LIMITS.timestampMaxLength} bytes`));
    assert.ok(await mirror.hungUp('metadata/timestamp.json'), 'the client hung up');
    assert.equal(describeFailure(e).status, 502, 'reported as an attack, not a network failure');
    await assertCacheUnchanged(client, before);
  });

  it('an endless timestamp announced with a huge Content-Length: LENGTH_EXCEEDED before reading it', async () => {
    const { mirror, client, before } = await trusting();
    mirror.endless('metadata/timestamp.json', { declaredLength: 2 ** 40 });
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_EXCEEDED', 'download');
    assert.match(e.message, /is 1099511627776 bytes/);
    assert.ok(await mirror.hungUp('metadata/timestamp.json'), 'the client hung up');
    await assertCacheUnchanged(client, before);
  });

  it('a timestamp as a gzip bomb (16 KB inflating to 16 MB): LENGTH_EXCEEDED on the inflated bytes', async () => {
    const { mirror, client, before } = await trusting();
    mirror.gzipBomb('metadata/timestamp.json', 16 * 1024 * 1024);
    await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_EXCEEDED', 'download');
    await assertCacheUnchanged(client, before);
  });

  it('an endless snapshot: cut off at the length the timestamp lists (LENGTH_EXCEEDED)', async () => {
    const mirror = await fx.mirror('endless');
    const now = await Published.of(mirror);
    mirror.endless(`metadata/${now.snapshotVersion}.snapshot.json`);
    const client = await Client.create(fx.rootBytes);
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_EXCEEDED', 'download');
    assert.match(e.message, new RegExp(`more than the ${now.snapshotBytes.length} bytes`));
    assert.equal(await client.cached('snapshot'), undefined);
  });

  it('endless top-level targets metadata: cut off at the length the snapshot lists (LENGTH_EXCEEDED)', async () => {
    const mirror = await fx.mirror('endless');
    const listed = (await Published.of(mirror)).role('targets');
    mirror.endless('metadata/1.targets.json');
    const client = await Client.create(fx.rootBytes);
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_EXCEEDED', 'download');
    assert.match(e.message, new RegExp(`more than the ${(await listed).length} bytes`));
    assert.ok(await mirror.hungUp('metadata/1.targets.json'), 'the client hung up');
    assert.equal(await client.cached('targets'), undefined);
  });

  it('endless targets metadata under a snapshot without lengths (stolen snapshot key): cut off at the updater cap', async () => {
    const mirror = await fx.mirror('endless');
    await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], editSnapshot: dropRoleHashes });
    mirror.endless('metadata/1.targets.json');
    const client = await Client.create(fx.rootBytes);
    const e = await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_EXCEEDED', 'download');
    assert.match(e.message, new RegExp(`more than the ${DEFAULT_LIMITS.targetsMaxLength} bytes`));
    assert.ok(await mirror.hungUp('metadata/1.targets.json'), 'the client hung up');
    assert.equal(await client.cached('targets'), undefined);
  });

  it('an endless bin: the target search is cut off (LENGTH_EXCEEDED)', async () => {
    const mirror = await fx.mirror('endless');
    const bin = fx.binFor(victim.path);
    const now = await Published.of(mirror);
    mirror.endless(now.path(bin));
    const client = await Client.create(fx.rootBytes);
    const u = client.updater({ index: mirror.url, limits: { targetsMaxLength: 256 * 1024 } });
    await u.refresh();
    await refused(u.findTarget(victim.path), 'LENGTH_EXCEEDED', 'download');
    assert.equal(await client.cached(bin), undefined);
  });

  it('an endless next root: cut off at the root cap (LENGTH_EXCEEDED), the trusted root kept', async () => {
    const mirror = await fx.mirror('endless');
    mirror.endless('metadata/2.root.json');
    const client = await Client.create(fx.rootBytes);
    const before = await client.cache();
    await refused(client.updater({ index: mirror.url }).refresh(), 'LENGTH_EXCEEDED', 'download');
    await assertCacheUnchanged(client, before);
  });

  for (const [label, declare] of [['with its true length announced', false], ['chunked, no length', true]] as const) {
    it(`a target longer than its listed length (${label}): LENGTH_EXCEEDED, no bytes returned`, async () => {
      const mirror = await fx.mirror('endless');
      if (declare) mirror.endless(victim.blob);
      else mirror.serve(victim.blob, Buffer.concat([victim.bytes, Buffer.alloc(1024 * 1024, 0x41)]));
      const client = await Client.create(fx.rootBytes);
      const e = await refused(client.fetchTarget({ index: mirror.url }, victim.path), 'LENGTH_EXCEEDED', 'download');
      assert.match(e.message, new RegExp(`${victim.bytes.length} (bytes )?allowed|more than the ${victim.bytes.length}`));
      const viaIndex = await refused(client.verifiedIndex({ index: mirror.url }).get(victim.path), 'LENGTH_EXCEEDED', 'download');
      assert.equal(describeFailure(viaIndex).status, 502);
    });
  }
});

describe('slow retrieval', () => {
  let fx: AttackRepository;
  let victim: Uploaded;
  // Small enough that each refusal takes about a second.
  const fetcher = { connectTimeoutMs: 800, graceMs: 400, minBytesPerSecond: 2048 };

  before(async () => {
    fx = await AttackRepository.create('slow-retrieval');
    victim = await fx.upload('victim', '1.0');
  });
  after(() => fx?.close());

  async function timed<T>(p: Promise<T>): Promise<number> {
    const t0 = Date.now();
    await p.catch(() => undefined);
    return Date.now() - t0;
  }

  it('a timestamp dripped at 20 bytes/s: TIMEOUT within about a second (the whole file would take over 20 s)', async () => {
    const mirror = await fx.mirror('slow');
    const ts = (await mirror.read('metadata/timestamp.json')) as Buffer;
    mirror.drip('metadata/timestamp.json', { chunk: 1, intervalMs: 50 });
    const client = await Client.create(fx.rootBytes);
    const refresh = client.updater({ index: mirror.url, fetcher }).refresh();
    const ms = await timed(refresh);
    await refused(refresh, 'TIMEOUT', 'download');
    assert.ok(ts.length / 20 > 20, `the timestamp (${ts.length} bytes) would take over 20 s`);
    assert.ok(ms < 3000, `gave up after ${ms} ms`);
    assert.ok(await mirror.hungUp('metadata/timestamp.json'), 'the client hung up');
    assert.deepEqual([...(await client.cache()).keys()], ['root.json'], 'nothing cached');
  });

  it('a target dripped slowly: TIMEOUT, no bytes returned', async () => {
    const mirror = await fx.mirror('slow');
    mirror.drip(victim.blob, { chunk: 1, intervalMs: 100 });
    const client = await Client.create(fx.rootBytes);
    const get = client.fetchTarget({ index: mirror.url, fetcher }, victim.path);
    const ms = await timed(get);
    await refused(get, 'TIMEOUT', 'download');
    assert.ok(ms < 3000, `gave up after ${ms} ms`);
  });

  it('headers, then silence: TIMEOUT (the speed check runs on a timer, not only when bytes arrive)', async () => {
    const mirror = await fx.mirror('slow');
    mirror.silence('metadata/timestamp.json');
    const client = await Client.create(fx.rootBytes);
    const refresh = client.updater({ index: mirror.url, fetcher }).refresh();
    const ms = await timed(refresh);
    await refused(refresh, 'TIMEOUT', 'download');
    assert.ok(ms < 3000, `gave up after ${ms} ms`);
  });

  it('no answer at all: TIMEOUT after the connect timeout', async () => {
    const mirror = await fx.mirror('slow');
    mirror.hang('metadata/timestamp.json');
    const client = await Client.create(fx.rootBytes);
    const refresh = client.updater({ index: mirror.url, fetcher }).refresh();
    const ms = await timed(refresh);
    await refused(refresh, 'TIMEOUT', 'download');
    assert.ok(ms >= 700 && ms < 3000, `gave up after ${ms} ms`);
  });

  it('a slow mirror first: the client gives up on it and gets the genuine bytes from the index', async () => {
    const index = await fx.mirror('index');
    const slowMirror = await fx.mirror('slow');
    slowMirror.drip('metadata/timestamp.json', { chunk: 1, intervalMs: 50 });
    slowMirror.drip(victim.blob, { chunk: 1, intervalMs: 50 });
    const client = await Client.create(fx.rootBytes);
    const got = await client.fetchTarget({ index: index.url, mirrors: [slowMirror.url], fetcher }, victim.path);
    assert.ok(got.bytes.equals(victim.bytes));
    assert.ok(await slowMirror.hungUp(victim.blob), 'the client hung up on the slow mirror');
  });

  // The speed rule itself, on a target that takes four grace periods to arrive: just as slow as
  // allowed and more is fine however long it takes; below the minimum is cut off. Each case is
  // far from the line (4x above, 2x below), so a loaded machine cannot tip it.
  describe('the minimum speed, past the grace period', () => {
    const rule = { connectTimeoutMs: 2000, graceMs: 250, minBytesPerSecond: 2048 };
    const chunk = 256;
    let big: Uploaded;
    before(async () => {
      big = await fx.upload('big', '1.0', memorySdist({ name: 'big', version: '1.0', payload: randomBytes(8192) }).bytes);
    });
    const interval = (bytesPerSecond: number) => (chunk * 1000) / bytesPerSecond;

    it('control: 4x the minimum speed for four grace periods is not cut off', async () => {
      const speed = 4 * rule.minBytesPerSecond;
      // By construction the drip lasts 32 intervals of 31 ms: the speed is checked (every 250 ms,
      // once the grace period is over) at least twice before the last byte.
      assert.ok((big.bytes.length / chunk) * interval(speed) >= 4 * rule.graceMs);
      const mirror = await fx.mirror('slow-but-fine');
      mirror.drip(big.blob, { chunk, intervalMs: interval(speed) });
      const client = await Client.create(fx.rootBytes);
      const got = await client.fetchTarget({ index: mirror.url, fetcher: rule }, big.path);
      assert.ok(got.bytes.equals(big.bytes));
      assert.equal(mirror.stats.get(big.blob)?.bytesSent, big.bytes.length);
    });

    it('half the minimum speed, same file and grace: TIMEOUT, the client hangs up', async () => {
      const mirror = await fx.mirror('slow');
      mirror.drip(big.blob, { chunk, intervalMs: interval(rule.minBytesPerSecond / 2) });
      const client = await Client.create(fx.rootBytes);
      await refused(client.fetchTarget({ index: mirror.url, fetcher: rule }, big.path), 'TIMEOUT', 'download');
      assert.ok(await mirror.hungUp(big.blob), 'the client hung up');
      assert.ok((mirror.stats.get(big.blob)?.bytesSent ?? 0) < big.bytes.length, 'cut off before the end');
    });
  });
});
