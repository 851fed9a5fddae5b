// SPDX-License-Identifier: Apache-2.0
// The scale-out load test (issue 6): the same uploads against
//   1. the single-process default: one `bulwark serve` on the embedded store (SQLite);
//   2. one `bulwark serve` on PostgreSQL (what the database alone costs);
//   3. a cluster on PostgreSQL: --api API servers (`serve --no-worker --no-snapshot`) and
//      --workers `bulwark worker`s, one of them the elected snapshot leader.
// --uploaders clients upload back to back (closed loop) until --uploads are done, spread over the
// API servers; each upload waits for its publication, as twine's does. Every upload is a real
// PyPI project name (every k-th of /work/shared/data/pypi-projects.tsv.gz); every tenth is a
// second release of an earlier project, so project locks are exercised.
// Afterwards each configuration is checked: zero lost (every upload recorded and published),
// zero duplicated (each file once; snapshot versions 1…N each committed once, each file the one
// its timestamp names) and every file verified from the initial root by Bulwark's client.
// Reported: throughput, latency, CPU seconds of every process (PostgreSQL included) per upload,
// and a projection for more cores from those CPU costs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { seedRoot } from '../src/client/client-cache.js';
import { VerifiedIndex } from '../src/client/verified-index.js';
import { normalizeProjectName as normalizeName } from '../src/packaging/names.js';
import { Metadata } from '../src/tuf/index.js';
import { bulwarkBin, fmt, machine, machineCpu, note, otherCpu, parseFlags, processCpu, progress, summarize, table, type Summary } from './common.js';
import { memorySdist } from '../test/helpers/memory-dists.js';


const flags = parseFlags('node dist/bench/cluster-bench.js [flags]', {
  uploads: { default: 5000, help: 'uploads per configuration' },
  uploaders: { default: 50, help: 'concurrent uploaders (closed loop)' },
  api: { default: 4, help: 'API server processes in the cluster' },
  workers: { default: 2, help: 'worker processes in the cluster' },
  bins: { default: 16384, help: 'hashed bins' },
  size: { default: 4096, help: 'bytes per distribution' },
  configs: { default: 'sqlite,pg-single,pg-cluster', help: 'which configurations to run, in order' },
  'verify-files': { default: 500, help: 'files downloaded and verified from the initial root afterwards, spread over all uploads (0: none)' },
  json: { default: false, help: 'one JSON object on standard output' },
  'node-args': { default: '', help: 'node flags for every bulwark process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (profiles are named by pid; the pids are printed)' },
});
const nodeArgs = flags['node-args'].split(' ').filter((a) => a !== '');

// ---- uploads -------------------------------------------------------------------------------------

interface Dist {
  name: string;
  version: string;
  filename: string;
  bytes: Buffer;
  sha256: string;
}

function pickDistributions(total: number): Dist[] {
  const lines = gunzipSync(readFileSync('/work/shared/data/pypi-projects.tsv.gz')).toString('utf8').split('\n').slice(1);
  const firsts = Math.ceil(total * 0.9);
  const step = Math.max(1, Math.floor(lines.length / firsts));
  const names: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; names.length < firsts && i < lines.length; i += step) {
    for (let j = i; j < Math.min(i + step, lines.length); j++) {
      const name = lines[j]?.split('\t')[0] ?? '';
      const norm = normalizeName(name);
      if (!/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(name) || name.length > 100 || seen.has(norm)) continue;
      seen.add(norm);
      names.push(name);
      break;
    }
  }
  const dists: Dist[] = [];
  for (let i = 0; i < total; i++) {
    const second = i % 10 === 9;
    const name = second ? (names[Math.floor(i / 10)] as string) : (names[i - Math.floor(i / 10)] as string);
    const version = second ? '2.0' : '1.0';
    const { bytes } = memorySdist({ name, version, payload: randomBytes(flags.size) });
    // PEP 625: the sdist's name part is the normalized name with '_' for '-'.
    dists.push({ name, version, filename: `${normalizeName(name).replace(/-/g, '_')}-${version}.tar.gz`, bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return dists;
}

const BOUNDARY = `bulwark-cluster-${randomBytes(8).toString('hex')}`;

function post(agent: http.Agent, url: string, auth: string, d: Dist): Promise<{ status: number; text: string }> {
  const fields: Record<string, string> = { ':action': 'file_upload', protocol_version: '1', name: d.name, version: d.version, filetype: 'sdist', pyversion: 'source', sha256_digest: d.sha256 };
  let head = '';
  for (const [k, v] of Object.entries(fields)) head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  head += `--${BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="${d.filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const parts = [Buffer.from(head), d.bytes, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)];
  return new Promise((res, rej) => {
    const req = http.request(`${url}/legacy/`, {
      method: 'POST',
      agent,
      headers: { authorization: auth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': parts.reduce((a, p) => a + p.length, 0) },
    }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end(Buffer.concat(parts));
  });
}

// ---- processes -----------------------------------------------------------------------------------

interface Proc {
  role: string;
  pid: number;
  child: ChildProcess;
  /** The URL an API server listens on. */
  url?: string;
  stop(): Promise<void>;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [bulwarkBin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`bulwark ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return r.stdout;
}

function startProc(role: string, args: string[], ready: RegExp): Promise<Proc> {
  const child = spawn(process.execPath, [...nodeArgs, bulwarkBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BULWARK_DATABASE_URL: '' } });
  if (nodeArgs.length > 0) note(`${role}: pid ${child.pid ?? '?'}`);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-20_000)));
  let stdout = '';
  let stopping = false;
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${role} did not start:\n${stderr}`)), 120_000);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const m = ready.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      res({
        role,
        pid: child.pid as number,
        child,
        ...(m[1]?.startsWith('http') ? { url: m[1] } : {}),
        async stop() {
          stopping = true;
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(t);
        },
      });
    });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      clearTimeout(timer);
      rej(new Error(`${role} exited (${code ?? signal}):\n${stderr}`));
    });
  });
}

const serveArgs = (data: string, extra: string[]) => ['--data', data, ...extra, 'serve', '--port', '0', '--log-level', 'warn'];
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** CPU seconds of a PostgreSQL cluster: the postmaster, its live children, and the children it reaped. */
function postgresCpu(port: number): number {
  const hz = 100;
  let postmaster: number | undefined;
  const stats = new Map<number, string[]>();
  for (const entry of spawnSync('ls', ['/proc'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      stats.set(Number(entry), stat.slice(stat.lastIndexOf(')') + 2).split(' '));
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').includes(`-p ${port}`)) postmaster = Number(entry);
    } catch {
      // gone
    }
  }
  if (postmaster === undefined) return 0;
  let total = 0;
  for (const [pid, f] of stats) {
    if (pid === postmaster) total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / hz;
    else if (Number(f[1]) === postmaster) total += (Number(f[11]) + Number(f[12])) / hz;
  }
  return total;
}

// ---- one configuration ---------------------------------------------------------------------------

interface ConfigResult {
  config: string;
  processes: string;
  uploads: number;
  seconds: number;
  uploadsPerSecond: number;
  latencyMs: Summary;
  notPublishedInTime: number;
  failed: number;
  publications: number;
  cpuSeconds: Record<string, number>;
  cpuMsPerUpload: Record<string, number>;
  /** CPU seconds used by processes outside this benchmark during the run: high means disturbed. */
  otherCpuSeconds: number;
  check: { lost: number; duplicated: number; snapshotVersionsChecked: number; verifiedFromRoot: number };
}

async function runConfig(config: string, dists: Dist[], pgAdmin: { createDatabase(p: string): Promise<string>; port: number } | undefined): Promise<ConfigResult> {
  const data = await mkdtemp(join(tmpdir(), `bulwark-cluster-${config}-`));
  const url = config === 'sqlite' ? undefined : await pgAdmin!.createDatabase('bench');
  const db = url ? ['--database', url] : [];
  note(`\n[${config}] init (${flags.bins} bins)…`);
  cli(['--data', data, ...db, '--json', 'init', '--bins', String(flags.bins)], { BULWARK_DATABASE_URL: '' });
  const token = (JSON.parse(cli(['--data', data, ...db, '--json', 'user', 'add', 'bench'], { BULWARK_DATABASE_URL: '' })) as { token: string }).token;
  const auth = `Basic ${Buffer.from(`__token__:${token}`).toString('base64')}`;
  const procs: Proc[] = [];
  // Connections of its own: a kept-alive socket to the previous configuration's server (closing,
  // its port perhaps reused by a new one) would otherwise carry requests to the wrong process.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  try {
    if (config === 'pg-cluster') {
      for (let i = 0; i < flags.workers; i++) procs.push(await startProc(`worker${i + 1}`, ['--data', data, ...db, 'worker', '--log-level', 'warn'], /^(Bulwark worker) (\d+)/m));
      for (let i = 0; i < flags.api; i++) procs.push(await startProc(`api${i + 1}`, [...serveArgs(data, db), '--no-worker', '--no-snapshot'], LISTENING));
    } else {
      procs.push(await startProc('serve', serveArgs(data, db), LISTENING));
    }
    const apis = procs.filter((p) => p.url);
    const cpu0 = new Map(procs.map((p) => [p.role, processCpu(p.pid)?.total ?? 0]));
    const pg0 = url ? postgresCpu(pgAdmin!.port) : 0;
    const client0 = process.cpuUsage();
    const machine0 = machineCpu();
    const bar = progress(`[${config}] uploads`, dists.length, !flags.json);
    const latencies: number[] = [];
    let next = 0;
    let pending = 0;
    let failed = 0;
    const errors: string[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: flags.uploaders }, async (_, lane) => {
        while (next < dists.length) {
          const d = dists[next++] as Dist;
          const start = performance.now();
          const r = await post(agent, (apis[lane % apis.length] as Proc).url as string, auth, d).catch((e: Error) => ({ status: 0, text: e.message }));
          if (r.status !== 200) {
            failed++;
            if (errors.length < 5) errors.push(`${r.status} ${r.text.slice(0, 200)}`);
          } else if ((JSON.parse(r.text) as { status: string }).status === 'published') latencies.push(performance.now() - start);
          else pending++;
          bar.tick();
        }
      })
    );
    const seconds = (performance.now() - t0) / 1000;
    bar.stop();
    const clientCpu = process.cpuUsage(client0);
    const machine1 = machineCpu();
    const cpuSeconds: Record<string, number> = {};
    for (const p of procs) cpuSeconds[p.role] = (processCpu(p.pid)?.total ?? 0) - (cpu0.get(p.role) ?? 0);
    if (url) cpuSeconds['postgres'] = postgresCpu(pgAdmin!.port) - pg0;
    cpuSeconds['load generator'] = (clientCpu.user + clientCpu.system) / 1e6;
    const others = otherCpu(machine0, machine1, Object.values(cpuSeconds).reduce((a, b) => a + b, 0)).otherProcesses;
    if (others > 0.05 * seconds) note(`[${config}] WARNING: other processes used ${others.toFixed(1)} CPU-seconds during ${seconds.toFixed(1)} s: a disturbed run`);
    if (errors.length) note(`[${config}] failures: ${errors.join(' | ')}`);
    note(`[${config}] checking: nothing lost, nothing duplicated, everything verifies from the root…`);
    const check = await checkRepository(config, data, url, apis[0]?.url as string, dists);
    const publications = check.snapshotVersionsChecked;
    return {
      config,
      processes: procs.map((p) => p.role).join(', '),
      uploads: dists.length,
      seconds,
      uploadsPerSecond: (dists.length - failed) / seconds,
      latencyMs: summarize(latencies),
      notPublishedInTime: pending,
      failed,
      publications,
      cpuSeconds,
      otherCpuSeconds: others,
      cpuMsPerUpload: Object.fromEntries(Object.entries(cpuSeconds).map(([k, v]) => [k, (v * 1000) / dists.length])),
      check,
    };
  } finally {
    agent.destroy();
    for (const p of procs.reverse()) await p.stop();
    await rm(data, { recursive: true, force: true });
  }
}

/** Zero lost, zero duplicated, and every file verified from the initial root. */
async function checkRepository(config: string, data: string, url: string | undefined, indexUrl: string, dists: Dist[]): Promise<ConfigResult['check']> {
  // Wait for the last publications (answers may have come back 'pending' under load).
  const state = url ? new pg.Client({ connectionString: url }) : undefined;
  await state?.connect();
  const Database = url ? undefined : (await import('better-sqlite3')).default;
  const sqlite = Database ? new Database(join(data, 'bulwark.db'), { readonly: true }) : undefined;
  const query = async (sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> =>
    state ? (await state.query(sql.replace(/\?/g, (() => { let i = 0; return () => `$${++i}`; })()), params)).rows : (sqlite!.prepare(sql).all(...params) as Record<string, unknown>[]);
  try {
    const deadline = Date.now() + 120_000;
    while (Number((await query("SELECT COUNT(*) AS n FROM journal WHERE state IN ('pending', 'applied')"))[0]?.['n']) > 0) {
      if (Date.now() > deadline) throw new Error(`[${config}] work still unpublished 120 s after the last upload`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const files = new Map((await query('SELECT filename, sha256 FROM files')).map((r) => [r['filename'] as string, r['sha256'] as string]));
    let lost = 0;
    for (const d of dists) if (files.get(d.filename) !== d.sha256) lost++;
    // Each accepted upload is one journal entry and one file row: anything more is a duplicate.
    const journalUploads = Number((await query("SELECT COUNT(*) AS n FROM journal WHERE kind = 'upload'"))[0]?.['n']);
    const duplicated = journalUploads - files.size + Math.max(0, files.size - dists.length);
    const pubs = await query('SELECT snapshot_version, timestamp_bytes FROM publications ORDER BY snapshot_version');
    pubs.forEach((r, i) => {
      if (Number(r['snapshot_version']) !== i + 1) throw new Error(`[${config}] snapshot version ${i + 1} is missing`);
    });
    for (const r of pubs) {
      const ts = Metadata.parse(Buffer.from(r['timestamp_bytes'] as Uint8Array), 'timestamp');
      ts.signed.snapshotMeta.verify('snapshot', await readFile(join(data, 'public', 'metadata', `${ts.signed.snapshotMeta.version}.snapshot.json`)));
    }
    let verified = 0;
    const step = flags['verify-files'] > 0 ? Math.max(1, Math.floor(dists.length / flags['verify-files'])) : 0;
    if (step > 0) {
      const metadataDir = join(data, 'bench-client');
      await seedRoot(metadataDir, join(data, 'root.json'));
      const client = new VerifiedIndex({ metadataDir, indexUrl, maxAgeMs: 3_600_000 });
      const sample = dists.filter((_, i) => i % step === 0);
      const bar = progress(`[${config}] verify from root`, sample.length, !flags.json);
      for (const d of sample) {
        const got = await client.get(`${normalizeName(d.name)}/${d.filename}`);
        if (!got.bytes.equals(d.bytes)) throw new Error(`[${config}] ${d.filename}: wrong bytes`);
        verified++;
        bar.tick();
      }
      bar.stop();
    }
    return { lost, duplicated: Math.max(0, duplicated), snapshotVersionsChecked: pubs.length, verifiedFromRoot: verified };
  } finally {
    await state?.end();
    sqlite?.close();
  }
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const configs = flags.configs.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of configs) if (!['sqlite', 'pg-single', 'pg-cluster'].includes(c)) throw new Error(`unknown configuration ${c}`);
  let pgAdmin: { createDatabase(p: string): Promise<string>; port: number } | undefined;
  if (configs.some((c) => c.startsWith('pg'))) {
    const { startPostgres } = await import('../test/helpers/postgres.js');
    pgAdmin = await startPostgres({ durable: true }); // fsync on: the same durability as the embedded store
  }
  note(`generating ${flags.uploads} distributions…`);
  const dists = pickDistributions(flags.uploads);
  const results: ConfigResult[] = [];
  for (const c of configs) results.push(await runConfig(c, dists, pgAdmin));
  const base = results.find((r) => r.config === 'sqlite') ?? results[0];
  const report = {
    machine: machine(),
    flags,
    results,
    ratios: Object.fromEntries(results.map((r) => [r.config, base ? r.uploadsPerSecond / base.uploadsPerSecond : 1])),
    projection: results.map(project),
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const m = report.machine;
  process.stdout.write(`\nMachine: ${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.date}\n`);
  process.stdout.write(`${flags.uploads} uploads of ${flags.size} B, ${flags.uploaders} uploaders, ${flags.bins} bins; each answer waits for its snapshot\n\n`);
  process.stdout.write(
    table(
      ['configuration', 'uploads/s', 'vs sqlite', 'p50 ms', 'p90 ms', 'p99 ms', 'pending', 'failed', 'snapshots', 'lost', 'dup', 'verified', 'other CPU s'],
      results.map((r) => [
        r.config,
        fmt.num(r.uploadsPerSecond, 1),
        `${fmt.num(report.ratios[r.config] ?? 1, 2)}×`,
        fmt.num(r.latencyMs.median, 0),
        fmt.num(r.latencyMs.p90, 0),
        fmt.num(r.latencyMs.p99, 0),
        String(r.notPublishedInTime),
        String(r.failed),
        String(r.publications),
        String(r.check.lost),
        String(r.check.duplicated),
        String(r.check.verifiedFromRoot),
        fmt.num(r.otherCpuSeconds, 1),
      ])
    )
  );
  process.stdout.write('\nCPU per upload (ms) by process:\n');
  for (const r of results) process.stdout.write(`  ${r.config.padEnd(11)} ${Object.entries(r.cpuMsPerUpload).map(([k, v]) => `${k} ${fmt.num(v, 2)}`).join(', ')}\n`);
  process.stdout.write('\nProjection (from CPU per upload; the leader and PostgreSQL do not scale out):\n');
  for (const p of report.projection) process.stdout.write(`  ${p.config.padEnd(11)} ${p.text}\n`);
}

/**
 * Upper bounds from CPU costs: with C cores the index can do at most C ÷ (CPU per upload of all
 * index processes) uploads/s, and never more than the one process that cannot be multiplied
 * allows (the snapshot leader; on PostgreSQL also the database server, taken as one machine).
 */
function project(r: ConfigResult): { config: string; perCore: number; singleProcessCeiling: number; text: string } {
  const index = Object.entries(r.cpuMsPerUpload).filter(([k]) => k !== 'load generator');
  const total = index.reduce((a, [, v]) => a + v, 0);
  const leaderMs = Math.max(...index.filter(([k]) => k === 'serve' || k.startsWith('worker')).map(([, v]) => v), 0.001);
  const perCore = 1000 / total;
  const singleProcessCeiling = 1000 / leaderMs;
  const at = (cores: number) => Math.min(cores * perCore, singleProcessCeiling);
  return {
    config: r.config,
    perCore,
    singleProcessCeiling,
    text: `${fmt.num(total, 2)} ms CPU/upload → ≤ ${fmt.num(perCore, 0)} uploads/s per core; busiest single process ${fmt.num(leaderMs, 2)} ms/upload → ≤ ${fmt.num(singleProcessCeiling, 0)}/s; 2 cores ≤ ${fmt.num(at(2), 0)}/s, 8 cores ≤ ${fmt.num(at(8), 0)}/s, 32 cores ≤ ${fmt.num(at(32), 0)}/s`,
  };
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    note(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  }
);
