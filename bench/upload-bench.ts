// SPDX-License-Identifier: Apache-2.0
// Upload benchmark: a fresh demo repository (16,384 bins by default), `bulwark serve` as a
// separate process, sdists of real PyPI project names uploaded through POST /legacy/ as twine
// does. An upload's HTTP latency is its upload-to-published latency: the server answers once
// the upload is in a published snapshot.
//
//   Phase A  sustained throughput: --concurrency clients upload back to back (closed loop)
//   Phase B  paced: uploads sent at --rate per second whatever the answers (open loop)
//   Costs    what one upload's hashes and signatures cost, in this process, with Bulwark's own
//            code; from them the ceiling in uploads/s if nothing else cost anything
//
// Run: node dist/bench/upload-bench.js [--bins 16384] [--uploads 1000] [--concurrency 16]
//      [--rate 100] [--paced-uploads 500] [--json]        (--help lists every flag)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { binCanonical, targetEntry, timestampCanonical } from '../src/repository/metadata-builder.js';
import { BIN_PREFIX, binBitLength, targetPath } from '../src/repository/layout.js';
import {
  checkFilenameMatches,
  isValidProjectName,
  isValidVersion,
  normalizeProjectName,
  parseDistributionFilename,
} from '../src/packaging/index.js';
import { Ed25519Signer, expiresIn, signCanonical, SuccinctRoles } from '../src/tuf/index.js';
import {
  bulwarkBin,
  fmt,
  machine,
  machineCpu,
  note,
  otherCpu,
  parseFlags,
  prng,
  processCpu,
  progress,
  seededBytes,
  summarize,
  table,
  timeRuns,
  verdict,
  type MachineCpu,
  type Summary,
} from './common.js';
import { entryFormat, fullMeta } from './snapshot-entries.js';
import { sdistParts } from '../test/helpers/memory-dists.js';


const flags = parseFlags('node dist/bench/upload-bench.js [flags]', {
  bins: { default: 16384, help: 'hashed bins of the fresh repository (power of two)' },
  uploads: { default: 1000, help: 'phase A: uploads (0 skips the phase)' },
  concurrency: { default: 16, help: 'phase A: clients uploading back to back' },
  rate: { default: 100, help: 'phase B: offered uploads per second' },
  'paced-uploads': { default: 500, help: 'phase B: uploads (0 skips the phase)' },
  warmup: { default: 20, help: 'uploads before phase A, not measured (JIT, caches)' },
  'min-size': { default: 10_000, help: 'smallest sdist, bytes (sizes are log-uniform)' },
  'max-size': { default: 10_000_000, help: 'largest sdist, bytes' },
  seed: { default: 1, help: 'PRNG seed for sizes and contents' },
  projects: { default: '/work/shared/data/pypi-projects.tsv.gz', help: 'TSV (name, version, month, rank), gzip' },
  'cost-iterations': { default: 100, help: 'iterations of each in-process cost measurement' },
  'server-node-args': { default: '', help: 'extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"' },
  'server-log': { default: '', help: 'write the server log (level debug: per-publication timings) to this file' },
  'quiet-timeout': { default: 60, help: 'seconds to wait for the server to go idle between phases' },
  client: { default: 'http', help: "'http': multipart body built once, sent with node:http (cheap); 'fetch': FormData + fetch" },
  keep: { default: false, help: 'keep the data directory' },
  json: { default: false, help: 'print one JSON object instead of tables' },
});

// ---- distributions ------------------------------------------------------------------------------

interface Dist {
  index: number;
  name: string; // as in the TSV
  project: string; // normalized
  version: string;
  filename: string;
  size: number;
  offset: number; // into the shared random pool
  header: Buffer; // makes every file's bytes (and hashes) unique
  sha256: string;
  md5: string;
  bins: string[]; // distinct bins of the file, index.html and index.json
}

const HEADER_BYTES = 64;

/**
 * Real project names, spread like PyPI's: every k-th line of the list (the next valid one when a
 * line cannot make a PEP 625 sdist name), each used once. Sizes log-uniform, seeded.
 */
function pickDistributions(total: number, bins: SuccinctRoles): { dists: Dist[]; pool: Buffer; step: number; listed: number } {
  const lines = gunzipSync(readFileSync(flags.projects)).toString('utf8').split('\n');
  const rows = lines.slice(1).filter((l) => l.length > 0);
  const step = Math.max(1, Math.floor(rows.length / total));
  const rand = prng(flags.seed);
  const lnMin = Math.log(flags['min-size']);
  const lnMax = Math.log(flags['max-size']);
  const pool = seededBytes(flags.seed ^ 0x5eed, flags['max-size'] + (1 << 20));
  const seen = new Set<string>();
  const dists: Dist[] = [];
  for (let i = 0; dists.length < total && i * step < rows.length; i++) {
    for (let j = i * step; j < Math.min(rows.length, (i + 1) * step); j++) {
      const [name = '', version = ''] = (rows[j] as string).split('\t');
      if (!isValidProjectName(name) || !isValidVersion(version)) continue;
      const project = normalizeProjectName(name);
      if (seen.has(project)) continue;
      // PEP 625: {normalized name with _}-{version}.tar.gz
      const filename = `${project.replace(/-/g, '_')}-${version}.tar.gz`;
      try {
        checkFilenameMatches(parseDistributionFilename(filename), name, version);
      } catch {
        continue;
      }
      seen.add(project);
      const size = Math.round(Math.exp(lnMin + rand() * (lnMax - lnMin)));
      const offset = Math.floor(rand() * (pool.length - size));
      const header = Buffer.alloc(HEADER_BYTES, 0x20);
      header.write(`bulwark-bench seed=${flags.seed} #${dists.length} ${project}`.slice(0, HEADER_BYTES - 1));
      const paths = [targetPath(project, filename), targetPath(project, 'index.html'), targetPath(project, 'index.json')];
      dists.push({
        index: dists.length,
        name,
        project,
        version,
        filename,
        size,
        offset,
        header,
        sha256: '',
        md5: '',
        bins: [...new Set(paths.map((p) => bins.roleForTarget(p)))],
      });
      break;
    }
  }
  if (dists.length < total) throw new Error(`only ${dists.length} usable projects in ${flags.projects}, ${total} needed`);
  return { dists, pool, step, listed: rows.length };
}

/** The sdist (the server checks it is one): PKG-INFO, then the header and the pool slice as a file, uncompressed. */
function body(d: Dist, pool: Buffer): Buffer[] {
  return sdistParts({ name: d.project, version: d.version }, [d.header, pool.subarray(d.offset, d.offset + d.size - HEADER_BYTES)]);
}

function computeDigests(dists: Dist[], pool: Buffer): void {
  const bar = progress('hashing distributions', dists.length);
  for (const d of dists) {
    const sha = createHash('sha256');
    const md5 = createHash('md5');
    for (const part of body(d, pool)) {
      sha.update(part);
      md5.update(part);
    }
    d.sha256 = sha.digest('hex');
    d.md5 = md5.digest('hex');
    bar.tick();
  }
  bar.stop();
}

// ---- in-process costs -----------------------------------------------------------------------------

interface Costs {
  meanFileBytes: number;
  hashMs: Summary; // sha256 + md5 of a mean-size file
  binsPerUpload: number; // mean distinct bins an upload touches
  binsMs: Summary; // build + sign + sha256 of the bins one upload touches
  snapshotMs: Summary; // build + sign + sha256 of the snapshot
  snapshotBytes: number;
  timestampMs: Summary; // build + sign + sha256 of the timestamp
}

async function measureCosts(sample: Dist[], all: Dist[], bins: SuccinctRoles, pool: Buffer): Promise<Costs> {
  const iterations = flags['cost-iterations'];
  const now = new Date();
  const signer = Ed25519Signer.generate();
  const meanFileBytes = Math.round(sample.reduce((a, d) => a + d.size, 0) / sample.length);
  const file = pool.subarray(0, meanFileBytes);
  const hashMs = await timeRuns(iterations, () => {
    createHash('sha256').update(file).digest('hex');
    createHash('md5').update(file).digest('hex');
  });

  // Bins with the content they have once every upload of the run is in: each project's file
  // and its two pages, in the bins their paths hash to.
  const content = new Map<string, { path: string; entry: string }[]>();
  for (const d of all) {
    const rows = [
      { path: targetPath(d.project, d.filename), entry: targetEntry(d.sha256, d.size) },
      { path: targetPath(d.project, 'index.html'), entry: targetEntry('ab'.repeat(32), 1500) },
      { path: targetPath(d.project, 'index.json'), entry: targetEntry('cd'.repeat(32), 900) },
    ];
    for (const r of rows) {
      const bin = bins.roleForTarget(r.path);
      const list = content.get(bin) ?? [];
      list.push(r);
      content.set(bin, list);
    }
  }
  for (const list of content.values()) list.sort((a, b) => (a.path < b.path ? -1 : 1));
  const binExpires = expiresIn(now, 7 * 24 * 3600);
  const binsMs = await timeRuns(iterations, async (i) => {
    const d = sample[(i < 0 ? -i : i) % sample.length] as Dist;
    for (const bin of d.bins) {
      const { bytes } = await signCanonical(binCanonical(2, binExpires, content.get(bin) ?? []), [signer]);
      createHash('sha256').update(bytes).digest('hex');
    }
  });

  // The snapshot lists every targets role: targets, the three delegators, and every bin.
  const meta = fullMeta(bins.numberOfBins);
  const snapExpires = expiresIn(now, 7 * 24 * 3600);
  let snapshotBytes = 0;
  let last = { version: 1, length: 0, sha256: '' };
  const snapshotMs = await timeRuns(iterations, async (i) => {
    const version = i + 10;
    const { bytes } = await signCanonical(meta.canonical(version, snapExpires), [signer]);
    last = { version, length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    snapshotBytes = bytes.length;
  });
  const tsExpires = expiresIn(now, 24 * 3600);
  const timestampMs = await timeRuns(iterations, async (i) => {
    const { bytes } = await signCanonical(timestampCanonical(i + 10, tsExpires, last), [signer]);
    createHash('sha256').update(bytes).digest('hex');
  });
  const binsPerUpload = sample.reduce((a, d) => a + d.bins.length, 0) / sample.length;
  return { meanFileBytes, hashMs, binsPerUpload, binsMs, snapshotMs, snapshotBytes, timestampMs };
}

// ---- the server ---------------------------------------------------------------------------------

function runCli(args: string[]): string {
  const r = spawnSync(process.execPath, [bulwarkBin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`bulwark ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return r.stdout;
}

interface Server {
  url: string;
  pid: number;
  child: ChildProcess;
  stderrTail(): string;
  stop(): Promise<void>;
}

async function startServer(dataDir: string): Promise<Server> {
  const nodeArgs = flags['server-node-args'].split(/\s+/).filter((a) => a.length > 0);
  const logFile = flags['server-log'];
  const logLevel = logFile ? 'debug' : 'warn';
  const child = spawn(process.execPath, [...nodeArgs, bulwarkBin, '--data', dataDir, 'serve', '--port', '0', '--log-level', logLevel], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = logFile ? createWriteStream(logFile) : undefined;
  if (log) child.stderr?.pipe(log);
  let stopping = false;
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-20_000);
  });
  let stdout = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 120 s:\n${stderr}`)), 120_000);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      note(`\nserver exited unexpectedly (${code ?? signal}):\n${stderr}`);
      process.exit(1);
    }
  });
  return {
    url,
    pid: child.pid as number,
    child,
    stderrTail: () => stderr,
    async stop() {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function snapshotVersion(url: string): Promise<number> {
  const res = await fetch(`${url}/metadata/timestamp.json`);
  const ts = (await res.json()) as { signed: { meta: { 'snapshot.json': { version: number } } } };
  return ts.signed.meta['snapshot.json'].version;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until the server uses under 5 % of a core (background compression done). */
async function waitQuiet(pid: number): Promise<number> {
  const start = performance.now();
  let prev = processCpu(pid)?.total ?? 0;
  while (performance.now() - start < flags['quiet-timeout'] * 1000) {
    await sleep(500);
    const cur = processCpu(pid)?.total ?? 0;
    if (cur - prev < 0.025) break;
    prev = cur;
  }
  return (performance.now() - start) / 1000;
}

// ---- uploads --------------------------------------------------------------------------------------

interface UploadResult {
  index: number;
  httpStatus: number;
  published: boolean;
  snapshotVersion: number | null;
  scheduled: number; // ms (performance.now) the upload was due
  start: number;
  end: number;
  error?: string;
}

function uploadFields(d: Dist): Record<string, string> {
  return {
    ':action': 'file_upload',
    protocol_version: '1',
    metadata_version: '2.1',
    name: d.name,
    version: d.version,
    filetype: 'sdist',
    pyversion: 'source',
    summary: `Benchmark upload of ${d.name}`,
    sha256_digest: d.sha256,
    md5_digest: d.md5,
  };
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const BOUNDARY = `bulwark-bench-${randomBytes(12).toString('hex')}`;

/**
 * The multipart/form-data body twine sends (fields, then the file in "content"), as buffers
 * that point into the random pool: building it copies nothing of the file.
 */
function multipartBody(d: Dist, pool: Buffer): Buffer[] {
  let head = '';
  for (const [k, v] of Object.entries(uploadFields(d))) {
    head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  }
  head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="${d.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return [Buffer.from(head, 'utf8'), ...body(d, pool), Buffer.from(`\r\n--${BOUNDARY}--\r\n`, 'utf8')];
}

function postHttp(url: string, auth: string, parts: Buffer[]): Promise<{ status: number; text: string }> {
  return new Promise((resolvePost, reject) => {
    const length = parts.reduce((a, p) => a + p.length, 0);
    const req = http.request(
      `${url}/legacy/`,
      {
        method: 'POST',
        agent: keepAlive,
        headers: { authorization: auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePost({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    for (const p of parts.slice(0, -1)) req.write(p);
    req.end(parts[parts.length - 1]);
  });
}

async function postFetch(url: string, auth: string, d: Dist, pool: Buffer): Promise<{ status: number; text: string }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(uploadFields(d))) form.append(k, v);
  form.append('content', new Blob(body(d, pool)), d.filename);
  const res = await fetch(`${url}/legacy/`, { method: 'POST', body: form, headers: { authorization: auth } });
  return { status: res.status, text: await res.text() };
}

async function upload(url: string, auth: string, d: Dist, pool: Buffer, scheduled?: number): Promise<UploadResult> {
  const start = performance.now();
  const base = { index: d.index, scheduled: scheduled ?? start, start };
  try {
    const { status, text } = flags.client === 'fetch' ? await postFetch(url, auth, d, pool) : await postHttp(url, auth, multipartBody(d, pool));
    const end = performance.now();
    if (status !== 200) return { ...base, end, httpStatus: status, published: false, snapshotVersion: null, error: text.slice(0, 300) };
    const json = JSON.parse(text) as { status: string; snapshot_version: number | null };
    return { ...base, end, httpStatus: 200, published: json.status === 'published', snapshotVersion: json.snapshot_version };
  } catch (e) {
    return { ...base, end: performance.now(), httpStatus: 0, published: false, snapshotVersion: null, error: (e as Error).message };
  }
}

interface PhaseStats {
  uploads: number;
  published: number;
  pending: number; // answered 200 but not published within the server's wait (10 s)
  failed: number;
  errors: string[];
  seconds: number;
  uploadsPerSecond: number; // published uploads per second of wall time
  latencyMs: Summary; // upload-to-published (phase B: from the time the upload was due)
  publications: number; // snapshot versions published during the phase
  uploadsPerPublication: number;
  serverCpuSeconds: number;
  serverCpuPerWallSecond: number; // 1.0 = one core busy all the time
  /** The server's main thread (its event loop) busy, as a share of wall time: near 1 = saturated. */
  serverMainThreadBusy: number;
  serverCpuMsPerUpload: number;
  clientCpuSeconds: number;
  /** CPU seconds other processes on the machine used during the phase: high means a disturbed run. */
  otherCpuSeconds: number;
  /** Kernel threads (writeback…), interrupts, hypervisor steal, I/O wait during the phase (s, all cores). */
  kernelThreadSeconds: number;
  irqSeconds: number;
  stealSeconds: number;
  iowaitSeconds: number;
  bytesUploaded: number;
}

async function phaseStats(
  results: UploadResult[],
  dists: Dist[],
  wall: { start: number; end: number },
  cpu: { server0: number; server1: number; main0: number; main1: number; client: NodeJS.CpuUsage; machine0: MachineCpu | undefined; machine1: MachineCpu | undefined },
  versions: { before: number; after: number }
): Promise<PhaseStats> {
  const ok = results.filter((r) => r.published);
  const sizeOf = new Map(dists.map((d) => [d.index, d.size]));
  const seconds = (wall.end - wall.start) / 1000;
  const serverCpuSeconds = cpu.server1 - cpu.server0;
  const publications = versions.after - versions.before;
  return {
    uploads: results.length,
    published: ok.length,
    pending: results.filter((r) => r.httpStatus === 200 && !r.published).length,
    failed: results.filter((r) => r.httpStatus !== 200).length,
    errors: [...new Set(results.filter((r) => r.error).map((r) => `${r.httpStatus}: ${r.error}`))].slice(0, 5),
    seconds,
    uploadsPerSecond: ok.length / seconds,
    latencyMs: summarize(ok.map((r) => r.end - r.scheduled)),
    publications,
    uploadsPerPublication: publications > 0 ? ok.length / publications : Number.NaN,
    serverCpuSeconds,
    serverCpuPerWallSecond: serverCpuSeconds / seconds,
    serverMainThreadBusy: (cpu.main1 - cpu.main0) / seconds,
    serverCpuMsPerUpload: (serverCpuSeconds * 1000) / results.length,
    clientCpuSeconds: (cpu.client.user + cpu.client.system) / 1e6,
    ...(() => {
      const o = otherCpu(cpu.machine0, cpu.machine1, serverCpuSeconds + (cpu.client.user + cpu.client.system) / 1e6);
      return { otherCpuSeconds: o.otherProcesses, kernelThreadSeconds: o.kernelThreads, irqSeconds: o.irq, stealSeconds: o.steal, iowaitSeconds: o.iowait };
    })(),
    bytesUploaded: results.reduce((a, r) => a + (sizeOf.get(r.index) ?? 0), 0),
  };
}

async function closedLoop(url: string, auth: string, dists: Dist[], pool: Buffer, concurrency: number, label: string): Promise<UploadResult[]> {
  const results: UploadResult[] = [];
  const bar = progress(label, dists.length, label !== '');
  let next = 0;
  const client = async () => {
    while (next < dists.length) {
      const d = dists[next++] as Dist;
      results.push(await upload(url, auth, d, pool));
      bar.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, dists.length) }, client));
  bar.stop();
  return results;
}

/** Open loop: upload i is sent at start + i/rate, whether or not earlier ones were answered. */
async function openLoop(url: string, auth: string, dists: Dist[], pool: Buffer, rate: number): Promise<UploadResult[]> {
  const results: UploadResult[] = [];
  const bar = progress(`phase B (${rate}/s open loop)`, dists.length);
  const interval = 1000 / rate;
  const t0 = performance.now() + 20;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < dists.length; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 0.5) await sleep(wait);
    inflight.push(
      upload(url, auth, dists[i] as Dist, pool, due).then((r) => {
        results.push(r);
        bar.tick();
      })
    );
  }
  await Promise.all(inflight);
  bar.stop();
  return results;
}

// ---- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (flags.client !== 'http' && flags.client !== 'fetch') throw new Error(`--client must be http or fetch, got ${flags.client}`);
  const info = machine();
  const bins = new SuccinctRoles([], 1, binBitLength(flags.bins), BIN_PREFIX);
  const nA = Math.max(0, flags.uploads);
  const nB = Math.max(0, flags['paced-uploads']);
  const nW = Math.max(0, flags.warmup);

  const dataRoot = mkdtempSync(join(tmpdir(), 'bulwark-upload-bench-'));
  const dataDir = join(dataRoot, 'data');
  let server: Server | undefined;
  const cleanup = () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    if (!flags.keep) rmSync(dataRoot, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

  note(`upload-bench: ${flags.bins} bins, phase A ${nA} uploads × ${flags.concurrency} clients, phase B ${nB} uploads at ${flags.rate}/s; data in ${dataDir}`);
  const { dists, pool, step, listed } = pickDistributions(nW + nA + nB, bins);
  computeDigests(dists, pool);
  const warm = dists.slice(0, nW);
  const distsA = dists.slice(nW, nW + nA);
  const distsB = dists.slice(nW + nA);

  note('measuring hashes and signatures in-process…');
  const costs = await measureCosts(distsA.length > 0 ? distsA : dists, dists, bins, pool);

  note(`creating a ${flags.bins}-bin demo repository…`);
  let t = performance.now();
  runCli(['--data', dataDir, 'init', '--bins', String(flags.bins), '--json']);
  const initSeconds = (performance.now() - t) / 1000;
  const { token } = JSON.parse(runCli(['--data', dataDir, '--json', 'user', 'add', 'bench'])) as { token: string };
  const auth = `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`;

  t = performance.now();
  server = await startServer(dataDir);
  const startSeconds = (performance.now() - t) / 1000;
  const pid = server.pid;
  const cpuNow = () => processCpu(pid)?.total ?? Number.NaN;
  const mainCpuNow = () => processCpu(pid, pid)?.total ?? Number.NaN;
  note(`server pid ${pid} at ${server.url} (started in ${startSeconds.toFixed(1)} s)`);

  if (warm.length > 0) {
    const w = await closedLoop(server.url, auth, warm, pool, Math.min(4, flags.concurrency), 'warm-up');
    const bad = w.filter((r) => !r.published);
    if (bad.length > 0) throw new Error(`warm-up uploads failed: ${bad.map((r) => `${r.httpStatus} ${r.error ?? ''}`).join('; ')}`);
  }
  await waitQuiet(pid);

  const runPhase = async (fn: () => Promise<UploadResult[]>, ds: Dist[]): Promise<{ stats: PhaseStats; results: UploadResult[] }> => {
    const before = await snapshotVersion(server!.url);
    const server0 = cpuNow();
    const main0 = mainCpuNow();
    const client0 = process.cpuUsage();
    const machine0 = machineCpu();
    const start = performance.now();
    const results = await fn();
    const end = performance.now();
    const client = process.cpuUsage(client0);
    const server1 = cpuNow();
    const main1 = mainCpuNow();
    const machine1 = machineCpu();
    const after = await snapshotVersion(server!.url);
    const scheduledStart = Math.min(start, ...results.map((r) => r.scheduled));
    return { stats: await phaseStats(results, ds, { start: scheduledStart, end }, { server0, server1, main0, main1, client, machine0, machine1 }, { before, after }), results };
  };

  let phaseA: PhaseStats | undefined;
  if (distsA.length > 0) {
    phaseA = (await runPhase(() => closedLoop(server!.url, auth, distsA, pool, flags.concurrency, `phase A (${flags.concurrency} clients)`), distsA)).stats;
    const quiet = await waitQuiet(pid);
    note(`server idle again after ${quiet.toFixed(1)} s`);
  }

  let phaseB: (PhaseStats & { offeredRate: number; sendRate: number; maxSendLagMs: number; latencyFromSendMs: Summary; firstFifthMedianMs: number; lastFifthMedianMs: number; keptUp: boolean }) | undefined;
  if (distsB.length > 0) {
    const { stats, results } = await runPhase(() => openLoop(server!.url, auth, distsB, pool, flags.rate), distsB);
    const byIndex = [...results].sort((a, b) => a.scheduled - b.scheduled);
    const starts = byIndex.map((r) => r.start);
    const sendSpan = ((starts[starts.length - 1] ?? 0) - (starts[0] ?? 0)) / 1000;
    const fifth = Math.max(1, Math.floor(byIndex.length / 5));
    const lat = (rs: UploadResult[]) => summarize(rs.filter((r) => r.published).map((r) => r.end - r.scheduled)).median;
    const firstFifthMedianMs = lat(byIndex.slice(0, fifth));
    const lastFifthMedianMs = lat(byIndex.slice(-fifth));
    const sendRate = byIndex.length > 1 ? (byIndex.length - 1) / sendSpan : Number.NaN;
    // Kept up: everything published, at (nearly) the offered rate, with latency not growing.
    const keptUp =
      stats.published === stats.uploads && stats.uploadsPerSecond >= 0.95 * flags.rate && lastFifthMedianMs <= 2 * Math.max(firstFifthMedianMs, 50);
    phaseB = {
      ...stats,
      offeredRate: flags.rate,
      sendRate,
      maxSendLagMs: Math.max(...results.map((r) => r.start - r.scheduled)),
      latencyFromSendMs: summarize(results.filter((r) => r.published).map((r) => r.end - r.start)),
      firstFifthMedianMs,
      lastFifthMedianMs,
      keptUp,
    };
    await waitQuiet(pid);
  }

  const serverCpuTotal = cpuNow();
  const peakRss = /VmHWM:\s*(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  await server.stop();

  // Ceilings: one core doing nothing but an upload's hashes and signatures.
  const fileAndBins = costs.hashMs.median + costs.binsMs.median;
  const publication = costs.snapshotMs.median + costs.timestampMs.median;
  const perPublication = phaseA?.uploadsPerPublication ?? Number.NaN;
  const ceiling = {
    unbatchedMsPerUpload: fileAndBins + publication,
    unbatchedUploadsPerSecond: 1000 / (fileAndBins + publication),
    batchedUploadsPerPublication: perPublication,
    batchedMsPerUpload: fileAndBins + publication / perPublication,
    batchedUploadsPerSecond: 1000 / (fileAndBins + publication / perPublication),
    fullyAmortizedUploadsPerSecond: 1000 / fileAndBins,
  };
  const ratio = {
    toUnbatched: (phaseA?.uploadsPerSecond ?? Number.NaN) / ceiling.unbatchedUploadsPerSecond,
    toBatched: (phaseA?.uploadsPerSecond ?? Number.NaN) / ceiling.batchedUploadsPerSecond,
  };
  const targets = {
    pacedMedianMs: { target: 250, value: phaseB?.latencyMs.median ?? Number.NaN, verdict: verdict(phaseB?.latencyMs.median ?? Number.NaN, 250) },
    pacedP99Ms: { target: 1000, value: phaseB?.latencyMs.p99 ?? Number.NaN, verdict: verdict(phaseB?.latencyMs.p99 ?? Number.NaN, 1000) },
    throughputVsCeiling: { target: 0.5, value: ratio.toBatched, verdict: verdict(ratio.toBatched, 0.5, false) },
  };

  const result = {
    benchmark: 'upload',
    machine: info,
    config: {
      bins: flags.bins,
      warmup: nW,
      uploads: nA,
      concurrency: flags.concurrency,
      rate: flags.rate,
      client: flags.client,
      pacedUploads: nB,
      minSize: flags['min-size'],
      maxSize: flags['max-size'],
      seed: flags.seed,
    },
    setup: {
      initSeconds,
      serverStartSeconds: startSeconds,
      projects: `every ${step}th of ${listed} projects in ${flags.projects} (next valid one if a line cannot be a PEP 625 sdist), one sdist per project, each project once`,
      meanSizeBytes: Math.round(dists.reduce((a, d) => a + d.size, 0) / dists.length),
      medianSizeBytes: summarize(dists.map((d) => d.size)).median,
      binsTouchedPerUpload: costs.binsPerUpload,
      serverCpuSecondsTotal: serverCpuTotal,
      serverPeakRssMiB: peakRss ? Number(peakRss) / 1024 : null,
    },
    costs: {
      meanFileBytes: costs.meanFileBytes,
      hashMs: costs.hashMs,
      binsPerUpload: costs.binsPerUpload,
      binsMs: costs.binsMs,
      snapshotMs: costs.snapshotMs,
      snapshotBytes: costs.snapshotBytes,
      snapshotEntryFormat: entryFormat(),
      timestampMs: costs.timestampMs,
    },
    ceiling,
    phaseA: phaseA ?? null,
    phaseB: phaseB ?? null,
    ratio,
    targets,
  };

  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(humanReport(result));
  }
}

function humanReport(r: {
  machine: ReturnType<typeof machine>;
  config: { bins: number; minSize: number; maxSize: number; seed: number; concurrency: number; rate: number; client: string };
  setup: { initSeconds: number; projects: string; meanSizeBytes: number; medianSizeBytes: number; binsTouchedPerUpload: number; serverCpuSecondsTotal: number; serverPeakRssMiB: number | null };
  costs: { meanFileBytes: number; hashMs: Summary; binsMs: Summary; binsPerUpload: number; snapshotMs: Summary; snapshotBytes: number; snapshotEntryFormat: string; timestampMs: Summary };
  ceiling: Record<string, number>;
  phaseA: PhaseStats | null;
  phaseB: (PhaseStats & { offeredRate: number; sendRate: number; maxSendLagMs: number; latencyFromSendMs: Summary; firstFifthMedianMs: number; lastFifthMedianMs: number; keptUp: boolean }) | null;
  ratio: { toUnbatched: number; toBatched: number };
  targets: Record<string, { target: number; value: number; verdict: string }>;
}): string {
  const c = r.costs;
  const out: string[] = [];
  out.push(`\nBulwark upload benchmark — ${r.config.bins} bins; node ${r.machine.node}, ${r.machine.cpu}, ${r.machine.cores} cores`);
  out.push(`Distributions: sdists, log-uniform ${fmt.bytes(r.config.minSize)}–${fmt.bytes(r.config.maxSize)} (mean ${fmt.bytes(r.setup.meanSizeBytes)}, median ${fmt.bytes(r.setup.medianSizeBytes)}), seed ${r.config.seed}`);
  out.push(`Projects: ${r.setup.projects}; ${r.setup.binsTouchedPerUpload.toFixed(2)} distinct bins per upload`);
  out.push(`Repository init: ${r.setup.initSeconds.toFixed(1)} s\n`);

  out.push('In-process cost of one upload’s hashes and signatures (one core, ms)');
  out.push(
    table(
      ['', 'median', 'p99'],
      [
        [`sha256 + md5 of a ${fmt.bytes(c.meanFileBytes)} file`, fmt.ms(c.hashMs.median), fmt.ms(c.hashMs.p99)],
        [`${c.binsPerUpload.toFixed(2)} bins: build + sign + sha256`, fmt.ms(c.binsMs.median), fmt.ms(c.binsMs.p99)],
        [`snapshot (${fmt.bytes(c.snapshotBytes)}; entries: ${c.snapshotEntryFormat}): build + sign + sha256`, fmt.ms(c.snapshotMs.median), fmt.ms(c.snapshotMs.p99)],
        ['timestamp: build + sign + sha256', fmt.ms(c.timestampMs.median), fmt.ms(c.timestampMs.p99)],
      ]
    )
  );
  out.push('');
  out.push(
    table(
      ['ceiling (nothing else costs anything)', 'ms/upload', 'uploads/s'],
      [
        ['without batching (snapshot + timestamp per upload)', fmt.ms(r.ceiling['unbatchedMsPerUpload'] ?? NaN), fmt.num(r.ceiling['unbatchedUploadsPerSecond'] ?? NaN)],
        [
          `with batching (${fmt.num(r.ceiling['batchedUploadsPerPublication'] ?? NaN)} uploads/publication, as observed)`,
          fmt.ms(r.ceiling['batchedMsPerUpload'] ?? NaN),
          fmt.num(r.ceiling['batchedUploadsPerSecond'] ?? NaN),
        ],
        ['fully amortized (file hash + bins only)', '', fmt.num(r.ceiling['fullyAmortizedUploadsPerSecond'] ?? NaN)],
      ]
    )
  );
  out.push('');
  const rows: string[][] = [];
  const add = (label: string, a: string, b: string) => rows.push([label, a, b]);
  const A = r.phaseA;
  const B = r.phaseB;
  const both = (f: (p: PhaseStats) => string) => [A ? f(A) : '–', B ? f(B) : '–'] as const;
  add('uploads (published / pending / failed)', ...both((p) => `${p.published}/${p.pending}/${p.failed}`));
  add('wall time (s)', ...both((p) => fmt.num(p.seconds)));
  add('throughput (published uploads/s)', ...both((p) => fmt.num(p.uploadsPerSecond)));
  add('latency median (ms)', ...both((p) => fmt.ms(p.latencyMs.median)));
  add('latency p90 (ms)', ...both((p) => fmt.ms(p.latencyMs.p90)));
  add('latency p99 (ms)', ...both((p) => fmt.ms(p.latencyMs.p99)));
  add('latency max (ms)', ...both((p) => fmt.ms(p.latencyMs.max)));
  add('publications (snapshot versions)', ...both((p) => String(p.publications)));
  add('uploads per publication', ...both((p) => fmt.num(p.uploadsPerPublication)));
  add('server CPU (s)', ...both((p) => fmt.num(p.serverCpuSeconds)));
  add('server CPU per wall second (cores)', ...both((p) => fmt.num(p.serverCpuPerWallSecond, 2)));
  add('server main thread (event loop) busy', ...both((p) => fmt.pct(p.serverMainThreadBusy)));
  add('server CPU per upload (ms)', ...both((p) => fmt.ms(p.serverCpuMsPerUpload)));
  add('client CPU (s)', ...both((p) => fmt.num(p.clientCpuSeconds)));
  add('other processes’ CPU (s; high = disturbed run)', ...both((p) => fmt.num(p.otherCpuSeconds)));
  add('kernel threads / irq / steal / iowait (s)', ...both((p) => `${fmt.num(p.kernelThreadSeconds)} / ${fmt.num(p.irqSeconds)} / ${fmt.num(p.stealSeconds)} / ${fmt.num(p.iowaitSeconds)}`));
  add('data uploaded', ...both((p) => fmt.bytes(p.bytesUploaded)));
  if (B) {
    add('offered rate / achieved send rate (/s)', '', `${B.offeredRate} / ${fmt.num(B.sendRate)}`);
    add('latency from actual send: median / p99 (ms)', '', `${fmt.ms(B.latencyFromSendMs.median)} / ${fmt.ms(B.latencyFromSendMs.p99)}`);
    add('max client send lag (ms)', '', fmt.ms(B.maxSendLagMs));
    add('median latency, first / last fifth (ms)', '', `${fmt.ms(B.firstFifthMedianMs)} / ${fmt.ms(B.lastFifthMedianMs)}`);
    add('server kept up', '', B.keptUp ? 'yes' : 'NO');
  }
  out.push(table(['', `A: ${r.config.concurrency} clients, closed loop`, `B: ${r.config.rate}/s, open loop`], rows));
  for (const [name, p] of [['A', A], ['B', B]] as const) {
    if (p && p.errors.length > 0) out.push(`phase ${name} errors: ${p.errors.join(' | ')}`);
    if (p && p.otherCpuSeconds > Math.max(0.5, 0.05 * p.seconds)) {
      out.push(`WARNING: other processes used ${fmt.num(p.otherCpuSeconds)} CPU-s during phase ${name} (${fmt.num(p.seconds)} s): its figures are disturbed`);
    }
  }
  out.push('');
  out.push(
    table(
      ['target (issue)', 'target', 'measured', 'verdict'],
      [
        ['paced median upload-to-published', '≤ 250 ms', `${fmt.ms(r.targets['pacedMedianMs']?.value ?? NaN)} ms`, r.targets['pacedMedianMs']?.verdict ?? ''],
        ['paced p99 upload-to-published', '≤ 1000 ms', `${fmt.ms(r.targets['pacedP99Ms']?.value ?? NaN)} ms`, r.targets['pacedP99Ms']?.verdict ?? ''],
        ['sustained / batched ceiling', '≥ 50 %', fmt.pct(r.ratio.toBatched), r.targets['throughputVsCeiling']?.verdict ?? ''],
        ['sustained / unbatched ceiling', '', fmt.pct(r.ratio.toUnbatched), ''],
      ]
    )
  );
  out.push(`\nServer CPU over the whole run: ${fmt.num(r.setup.serverCpuSecondsTotal)} s; peak RSS ${r.setup.serverPeakRssMiB === null ? '?' : `${fmt.num(r.setup.serverPeakRssMiB, 0)} MiB`}\n`);
  return out.join('\n');
}

main().catch((e: unknown) => {
  note(`upload-bench failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
