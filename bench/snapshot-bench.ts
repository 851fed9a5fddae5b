// SPDX-License-Identifier: Apache-2.0
// Snapshot benchmark: the cost of the metadata file every publication re-signs, at PEP 458 size
// (one entry per hashed bin, 16,384 by default), with Bulwark's own code.
//
//   fast path        SnapshotMeta.canonical + signCanonical (what the snapshot process uses)
//   beside it        durable write (writeFileAtomic), gzip and brotli copies, sizes
//   before staging   clone + set + canonical + sign, the way publications staged their roles
//                    before SnapshotMeta.canonical(…, changes), and the expiry check publish()
//                    runs first; then whole publications on a real repository
//   generic path     a Snapshot model signed with Metadata.sign
//   loading          Metadata.parse + verifyRole (ours); Metadata.fromJSON of @tufjs/models
//                    (quadratic: smaller sizes, extrapolated, the full size only under a cap)
//
// Run: node dist/bench/snapshot-bench.js [--bins 16384] [--iterations 200] [--json]
import { constants, createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { DEFAULT_EXPIRY, type RepositoryConfig } from '../src/repository/config.js';
import { initDemoRepository } from '../src/repository/init.js';
import { ROLES } from '../src/repository/layout.js';
import { silentLogger } from '../src/repository/logger.js';
import { targetEntry, type SnapshotChange, type SnapshotMeta } from '../src/repository/metadata-builder.js';
import { Repository } from '../src/repository/repository.js';
import { SnapshotLeadership } from '../src/repository/leadership.js';
import { PublicationWaiters } from '../src/repository/publication-waiters.js';
import { SnapshotProcess } from '../src/repository/snapshot-process.js';
import { writeFileAtomic } from '../src/storage/atomic-write.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import type { RoleState, StateStore } from '../src/storage/state/types.js';
import { EcdsaP256Signer, Ed25519Signer, expiresIn, formatExpires, Key, Metadata, signCanonical, Snapshot, type Signer } from '../src/tuf/index.js';
import { binsOf, DELEGATORS, entryFormat, fullMeta, metaFile, roleFile, setEntry, useVersionOnlyEntries } from './snapshot-entries.js';
import { fmt, machine, machineCpu, note, otherCpu, parseFlags, progress, summarize, table, timeRuns, verdict, type Summary } from './common.js';

const flags = parseFlags('node dist/bench/snapshot-bench.js [flags]', {
  bins: { default: 16384, help: 'hashed bins (snapshot entries = bins + 4 delegators)' },
  iterations: { default: 200, help: 'iterations of each in-memory measurement' },
  'write-iterations': { default: 100, help: 'durable writes of the snapshot' },
  'publish-iterations': { default: 50, help: 'whole publications on a real repository (0 skips; needs an init)' },
  'tufjs-sizes': { default: '1024,2048,4096', help: 'snapshot sizes (bins) @tufjs/models loads, comma-separated' },
  'tufjs-cap': { default: 60, help: 'seconds: the full-size @tufjs/models load runs only if predicted below, and is stopped at' },
  entries: { default: 'full', help: "snapshot entries: 'full' (what this build writes) or 'version' (version only, as before PEP 480 Table 1 hashes; whole publications always use the build's format)" },
  json: { default: false, help: 'print one JSON object instead of tables' },
});
if (flags.entries !== 'full' && flags.entries !== 'version') {
  process.stderr.write(`--entries must be full or version, got ${flags.entries}\n`);
  process.exit(2);
}
useVersionOnlyEntries(flags.entries === 'version');

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Main-thread time (event-loop utilization) and wall time of an async function. */
async function measureLoop<T>(fn: () => Promise<T>): Promise<{ value: T; wallMs: number; activeMs: number }> {
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  return { value, wallMs, activeMs: performance.eventLoopUtilization(elu0).active };
}

// ---- @tufjs/models in a worker, stopped at the cap ---------------------------------------------------

async function tufjsLoad(text: string, capSeconds: number): Promise<{ parseMs: number; loadMs: number } | { timedOut: true }> {
  const worker = new Worker(new URL('./tufjs-load-worker.js', import.meta.url), { workerData: { text } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({ timedOut: true });
    }, capSeconds * 1000);
    worker.once('message', (m: { parseMs: number; loadMs: number }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// ---- whole publications on a real repository ----------------------------------------------------------

interface PublishRun {
  wallMs: Summary;
  mainThreadMs: Summary;
  phasesMs: { build: Summary; write: Summary; commit: Summary };
}

interface PublishStats extends PublishRun {
  dirtyBinsPerPublication: number;
  initSeconds: number;
  /**
   * The same publications once SnapshotProcess's long-lived SnapshotMeta has been sorted
   * (reached through a cast: it is private). publish() serializes a clone() of it; a clone of
   * an unsorted meta sorts all its entries again each time. This is what sorting the original
   * once (in clone() or init()) would save; equal figures mean it is already done.
   */
  presorted: PublishRun;
}

/**
 * One upload's publication, as the server makes it: three bins dirty (a file and two simple
 * pages of a new project), then SnapshotProcess.publish() on a real repository (SQLite, fsync,
 * compression off: the copies are made after the publication point).
 */
async function publications(n: number, iterations: number): Promise<PublishStats> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-snapshot-bench-'));
  try {
    const t0 = performance.now();
    const bar = progress(`init ${n}-bin repository`, n);
    let last = 0;
    await initDemoRepository(dir, {
      bins: n,
      onProgress: (done) => {
        bar.tick(done - last);
        last = done;
      },
    });
    bar.stop();
    const initSeconds = (performance.now() - t0) / 1000;
    const repo = await Repository.open(dir, { compress: false });
    try {
      await repo.publisher.init();
      let project = 0;
      let dirty = 0;
      const pb = progress('publications', 2 * (iterations + 3));
      const run = async (): Promise<PublishRun> => {
        const wall: number[] = [];
        const active: number[] = [];
        const build: number[] = [];
        const write: number[] = [];
        const commit: number[] = [];
        for (let i = -3; i < iterations; i++) {
          const name = `bench-project-${project++}`;
          const rows = [`${name}/${name}-1.0.tar.gz`, `${name}/index.html`, `${name}/index.json`].map((path) => ({
            path,
            role: repo.bins.roleForTarget(path),
            project: name,
            entry: targetEntry(sha256(Buffer.from(path)), 1000),
          }));
          await repo.state.applyProjectTransaction(name, [], rows, new Date().toISOString());
          const m = await measureLoop(() => repo.publisher.publish());
          pb.tick();
          if (i < 0 || !m.value) continue; // warm-up
          dirty += new Set(rows.map((r) => r.role)).size;
          wall.push(m.wallMs);
          active.push(m.activeMs);
          build.push(m.value.ms.build);
          write.push(m.value.ms.write);
          commit.push(m.value.ms.commit);
        }
        return {
          wallMs: summarize(wall),
          mainThreadMs: summarize(active),
          phasesMs: { build: summarize(build), write: summarize(write), commit: summarize(commit) },
        };
      };
      const asIs = await run();
      const samples = asIs.wallMs.n;
      (repo.publisher as unknown as { meta: SnapshotMeta }).meta.canonical(1, new Date()); // sorts it, once
      const presorted = await run();
      pb.stop();
      return { ...asIs, dirtyBinsPerPublication: dirty / (samples + presorted.wallMs.n), initSeconds, presorted };
    } finally {
      await repo.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the expiry scan publish() starts with -------------------------------------------------------------

/** SnapshotProcess.needsPublication() runs the same scan over every role as each publish(). */
async function expiryScan(n: number, iterations: number): Promise<Summary> {
  const now = new Date();
  const roles: RoleState[] = [ROLES.root, ROLES.snapshot, ROLES.timestamp, ...DELEGATORS, ...binsOf(n).roleNames()].map((name) => ({
    name,
    version: 1,
    expires: formatExpires(expiresIn(now, 7 * 24 * 3600)),
    length: 1000,
    sha256: '00'.repeat(32),
  }));
  const state = { roleStates: () => Promise.resolve(roles), latestTimestamp: () => Promise.resolve(undefined) } as unknown as StateStore;
  const signer = Ed25519Signer.generate();
  const sp = new SnapshotProcess({
    state,
    blobs: {} as BlobStore,
    config: { expiry: DEFAULT_EXPIRY } as RepositoryConfig,
    signers: { timestamp: signer, snapshot: signer, 'recently-claimed': signer, unclaimed: signer },
    log: silentLogger,
    leadership: new SnapshotLeadership({ state, log: silentLogger }),
    waiters: new PublicationWaiters(state),
  });
  await sp.init();
  return timeRuns(iterations, () => sp.needsPublication());
}

/** An RSA-3072 RSASSA-PSS-SHA256 signer, for the load benchmark only (Bulwark signs with Ed25519 and ECDSA). */
function rsaPssSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const key = new Key('rsa', 'rsassa-pss-sha256', publicKey.export({ format: 'pem', type: 'spki' }).toString());
  const keyId = key.keyId;
  const options = { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  return { publicKey: key, keyId, sign: (data) => Promise.resolve({ keyid: keyId, sig: cryptoSign('sha256', data, options).toString('hex') }) };
}

// ---- main ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const n = flags.bins;
  const it = flags.iterations;
  const info = machine();
  const signer: Signer & { signSync(d: Uint8Array): unknown } = Ed25519Signer.generate();
  const now = new Date();
  const expires = expiresIn(now, 7 * 24 * 3600);
  const machine0 = machineCpu();
  const own0 = process.cpuUsage();
  const wall0 = performance.now();
  note(`snapshot-bench: ${n} bins (${n + DELEGATORS.length} snapshot entries), ${it} iterations`);

  // Fast path: the cached, sorted fragments joined with three bins staged (a publication of one
  // upload: its file and the project's two pages), then signed. Staging re-joins the chunks
  // those bins are in; the others are cached.
  const meta = fullMeta(n);
  meta.canonical(1, expires); // sorts once, as a long-lived SnapshotMeta would
  const binNames = [...binsOf(n).roleNames()];
  const staged = (i: number): SnapshotChange[] =>
    [0, 1, 2].map((k) => {
      const name = binNames[(i * 7919 + k * 104729) % binNames.length] as string;
      return { name, version: i + 10, ...(entryFormat() === 'version only' ? {} : roleFile(name, i + 10)) };
    });
  let bytes: Buffer = Buffer.alloc(0);
  const fastMs = await timeRuns(it, async (i) => {
    bytes = (await signCanonical(meta.canonical(i + 2, expires, staged(i)), [signer])).bytes;
  });
  const canonicalText = meta.canonical(2, expires);
  const canonicalMs = await timeRuns(it, (i) => meta.canonical(i + 2, expires, staged(i)));
  const signMs = await timeRuns(it, () => signCanonical(canonicalText, [signer]));
  const sha256Ms = await timeRuns(it, () => sha256(bytes));

  // The way publications staged their roles before SnapshotMeta.canonical(…, changes): clone the
  // long-lived meta, set the changed bins, serialize, sign (kept to compare).
  const served = fullMeta(n); // as after SnapshotProcess.init()
  const bins = binNames;
  const publishLike = (source: SnapshotMeta) => async (i: number) => {
    const next = source.clone();
    for (let k = 0; k < 3; k++) setEntry(next, bins[(i * 3 + k + 3 * it) % bins.length] as string, i + 10);
    await signCanonical(next.canonical(i + 10, expires), [signer]);
  };
  const asPublishMs = await timeRuns(it, publishLike(served));
  const sortedServed = fullMeta(n);
  sortedServed.canonical(1, expires);
  const asPublishSortedMs = await timeRuns(it, publishLike(sortedServed));
  const cloneMs = await timeRuns(it, () => sortedServed.clone());
  const expiryScanMs = await expiryScan(n, it);

  // Beside it: durable write, compressed copies.
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-snapshot-write-'));
  let writeMs: Summary;
  let writeNoSyncMs: Summary;
  try {
    writeMs = await timeRuns(flags['write-iterations'], (i) => writeFileAtomic(join(dir, 'metadata', `${i + 10}.snapshot.json`), bytes));
    writeNoSyncMs = await timeRuns(flags['write-iterations'], (i) => writeFileAtomic(join(dir, 'metadata', `nosync-${i + 10}.snapshot.json`), bytes, { durable: false }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  let gz: Buffer = Buffer.alloc(0);
  let br: Buffer = Buffer.alloc(0);
  const gzipMs = await timeRuns(it, () => (gz = gzipSync(bytes, { level: 6 })));
  const brotliMs = await timeRuns(it, () => (br = brotliCompressSync(bytes, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } })));

  // Generic path: a Snapshot model, encoded generically and signed.
  const roleNames = [...DELEGATORS, ...bins];
  const genericMs = await timeRuns(Math.min(it, 100), (i) =>
    Metadata.sign(new Snapshot({ version: i + 2, expires, meta: new Map(roleNames.map((r) => [`${r}.json`, metaFile(r, 1)])) }), [signer])
  );

  // Loading: ours (parse strictly + verify the signature), then @tufjs/models.
  const keys = new Map([[signer.keyId, signer.publicKey as Key]]);
  const roleKeys = { keyids: [signer.keyId], threshold: 1 };
  const loadOursMs = await timeRuns(Math.min(it, 100), () => Metadata.parse(bytes, 'snapshot').verifyRole('snapshot', roleKeys, keys));
  const parseOnlyMs = await timeRuns(Math.min(it, 100), () => JSON.parse(bytes.toString('utf8')));
  // Load + verify per key type: the same snapshot signed by an Ed25519, an ECDSA P-256 and an
  // RSA-3072 (PSS) key; each run also reads the key from its JSON, as a fresh root load does.
  const loadByKeyTypeMs: Record<string, Summary> = {};
  for (const s of [signer, EcdsaP256Signer.generate(), rsaPssSigner()]) {
    const signedBytes = (await signCanonical(canonicalText, [s])).bytes;
    const keyJson = s.publicKey.toJSON();
    loadByKeyTypeMs[s.publicKey.scheme] = await timeRuns(Math.min(it, 100), () => {
      const key = Key.fromJSON(keyJson);
      Metadata.parse(signedBytes, 'snapshot').verifyRole('snapshot', { keyids: [s.keyId], threshold: 1 }, new Map([[s.keyId, key]]));
    });
  }

  const sizes = flags['tufjs-sizes'].split(',').map(Number).filter((s) => Number.isInteger(s) && s >= 64 && s < n && (s & (s - 1)) === 0);
  const tufjs: { bins: number; loadMs: number | null; parseMs: number | null; note: string }[] = [];
  const tbar = progress('@tufjs/models loads', sizes.length + 1);
  for (const size of sizes) {
    const text = (await signCanonical(fullMeta(size).canonical(2, expires), [signer])).bytes.toString('utf8');
    const r = await tufjsLoad(text, flags['tufjs-cap']);
    tufjs.push('timedOut' in r ? { bins: size, loadMs: null, parseMs: null, note: `stopped at ${flags['tufjs-cap']} s` } : { bins: size, ...r, note: 'measured' });
    tbar.tick();
  }
  // Quadratic: fit t = a·n² on the largest size measured, predict the full size.
  const largest = [...tufjs].reverse().find((t) => t.loadMs !== null);
  const predictedMs = largest?.loadMs ? largest.loadMs * (n / largest.bins) ** 2 : null;
  if (predictedMs !== null && predictedMs <= flags['tufjs-cap'] * 1000) {
    const r = await tufjsLoad(bytes.toString('utf8'), flags['tufjs-cap']);
    tufjs.push('timedOut' in r ? { bins: n, loadMs: null, parseMs: null, note: `stopped at ${flags['tufjs-cap']} s` } : { bins: n, ...r, note: 'measured' });
  } else if (predictedMs === null) {
    tufjs.push({ bins: n, loadMs: null, parseMs: null, note: 'not run (no smaller size measured to predict it)' });
  } else {
    tufjs.push({ bins: n, loadMs: predictedMs, parseMs: null, note: `extrapolated (n²) from ${largest?.bins ?? '?'}; predicted over the ${flags['tufjs-cap']} s cap, not run` });
  }
  tbar.tick();
  tbar.stop();
  const fullTufjs = tufjs[tufjs.length - 1];

  const publish = flags['publish-iterations'] > 0 ? await publications(n, flags['publish-iterations']) : null;

  const machine1 = machineCpu();
  const ownCpu = process.cpuUsage(own0);
  const interference = {
    wallSeconds: (performance.now() - wall0) / 1000,
    otherCpuSeconds: otherCpu(machine0, machine1, (ownCpu.user + ownCpu.system) / 1e6).otherProcesses,
  };
  const result = {
    benchmark: 'snapshot',
    machine: info,
    interference,
    config: { bins: n, entries: n + DELEGATORS.length, entryFormat: entryFormat(), iterations: it },
    sizes: { rawBytes: bytes.length, gzipBytes: gz.length, brotliBytes: br.length },
    fastPath: { serializeAndSignMs: fastMs, serializeMs: canonicalMs, signMs, sha256Ms },
    asPublishCallsIt: { cloneSetSerializeSignMs: asPublishMs, sameWithSortedOriginalMs: asPublishSortedMs, cloneMs, expiryScanMs },
    beside: { writeDurableMs: writeMs, writeNotDurableMs: writeNoSyncMs, gzip6Ms: gzipMs, brotli5Ms: brotliMs },
    genericPath: { buildModelEncodeSignMs: genericMs },
    load: { oursParseVerifyMs: loadOursMs, byKeyTypeMs: loadByKeyTypeMs, jsonParseOnlyMs: parseOnlyMs, tufjs, tufjsFullPredictedMs: predictedMs },
    publication: publish,
    target: { serializeAndSignMs: 10, value: fastMs.median, verdict: verdict(fastMs.median, 10) },
  };

  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const row = (label: string, s: Summary) => [label, fmt.ms(s.median), fmt.ms(s.p99), fmt.ms(s.max)];
  const out: string[] = [];
  out.push(`\nBulwark snapshot benchmark — ${n} bins, ${n + DELEGATORS.length} entries; node ${info.node}, ${info.cpu}, ${info.cores} cores`);
  out.push(`entries hold: ${entryFormat()}`);
  out.push(`sizes: raw ${fmt.bytes(bytes.length)}, gzip -6 ${fmt.bytes(gz.length)}, brotli q5 ${fmt.bytes(br.length)}\n`);
  out.push(
    table(
      ['ms (one core)', 'median', 'p99', 'max'],
      [
        row('FAST PATH serialize 3 staged bins + sign (canonical + signCanonical)', fastMs),
        row('  serialize only (SnapshotMeta.canonical, 3 bins staged)', canonicalMs),
        row('  sign only (signCanonical, Ed25519)', signMs),
        row('  sha256 of the file (for the timestamp)', sha256Ms),
        row('before staging: clone + set 3 + serialize + sign', asPublishMs),
        row('  same, original sorted once beforehand', asPublishSortedMs),
        row('  SnapshotMeta.clone() alone', cloneMs),
        row('  expiry check (needsPublication: no deadline reached)', expiryScanMs),
        row('durable write (writeFileAtomic: write, fsync, rename, fsync dir)', writeMs),
        row('  same, durable: false', writeNoSyncMs),
        row('gzip level 6', gzipMs),
        row('brotli quality 5', brotliMs),
        row('generic path: Snapshot model + Metadata.sign', genericMs),
        row('load + verify, ours (Metadata.parse + verifyRole)', loadOursMs),
        ...Object.entries(loadByKeyTypeMs).map(([scheme, ms]) => row(`  key read + load + verify, ${scheme}`, ms)),
        row('  JSON.parse alone', parseOnlyMs),
      ]
    )
  );
  out.push('');
  out.push(
    table(
      ['@tufjs/models Metadata.fromJSON (snapshot)', 'load ms', 'how'],
      tufjs.map((t) => [`${t.bins} bins`, t.loadMs === null ? '–' : fmt.ms(t.loadMs), t.note])
    )
  );
  if (publish) {
    out.push('');
    out.push(`Whole publications on a real ${n}-bin repository (SnapshotProcess.publish, ${fmt.num(publish.dirtyBinsPerPublication, 2)} dirty bins each, compression off):`);
    out.push(
      table(
        ['ms', 'median', 'p99', 'max'],
        [
          row('wall time', publish.wallMs),
          row('main thread busy (event-loop utilization)', publish.mainThreadMs),
          row('  build (inputs, expiry scan, bins signed)', publish.phasesMs.build),
          row('  write (bins written, snapshot + timestamp built, signed, written)', publish.phasesMs.write),
          row('  commit (database, timestamp.json)', publish.phasesMs.commit),
          row('same, SnapshotProcess meta sorted once: wall time', publish.presorted.wallMs),
          row('  main thread busy', publish.presorted.mainThreadMs),
          row('  write', publish.presorted.phasesMs.write),
        ]
      )
    );
  }
  out.push('');
  out.push(
    `other processes used ${fmt.num(interference.otherCpuSeconds)} CPU-s during the ${fmt.num(interference.wallSeconds)} s run` +
      (interference.otherCpuSeconds > 0.1 * interference.wallSeconds ? ' (WARNING: disturbed run, figures inflated)' : '')
  );
  out.push(
    `target: snapshot serialize + sign ≤ 10 ms at ${n} bins: ${fmt.ms(fastMs.median)} ms median (${verdict(fastMs.median, 10)}); ` +
      `@tufjs/models load at ${n}: ${fullTufjs?.loadMs === null || fullTufjs === undefined ? '–' : `${fmt.num((fullTufjs.loadMs ?? 0) / 1000, 1)} s`} (${fullTufjs?.note ?? ''})\n`
  );
  process.stdout.write(out.join('\n'));
}

main().catch((e: unknown) => {
  note(`snapshot-bench failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
