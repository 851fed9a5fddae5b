// SPDX-License-Identifier: Apache-2.0
// Auditor lag (issue 12 item 2): from the publication of an upload (the timestamp naming its tree
// is written) to the moment the index serves an audit statement for that timestamp or a newer
// one, i.e. when auditor-requiring clients can install it. Target: p99 ≤ 2 s at 16,384 bins.
//  - the index runs in this process (real HTTP on 127.0.0.1, a demo repository with an auditor
//    key in root, Merkle shards = bins);
//  - `bulwark auditor` runs as its own process (its key from `bulwark key new --random`),
//    polling every --interval ms; its first tree (every file) is read before measuring;
//  - uploads go one at a time through POST /legacy/ (in-memory wheels, each a new project, so
//    each changes one bin and one shard), a random pause of up to --pause ms between them.
//  - the auditor's first tree (every file) is verified before it starts, in this process, reading
//    the index's files from disk (--cold-http: over HTTP, by the auditor process). Over HTTP it
//    took over half an hour at 16,384 bins on the loaded machine: @fastify/static lists every
//    directory on a request's path on each request (its path-spelling check), and
//    public/metadata/ holds tens of thousands of files at that size (bench/README.md).
//   node dist/bench/auditor-lag.js [--bins 16384] [--uploads 40] [--interval 250] [--pause 300] [--cold-http] [--json]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Auditor } from '../src/auditor/auditor.js';
import { newAuditorToken } from '../src/auditor/index-store.js';
import type { Fetcher } from '../src/client/fetcher.js';
import { keyPath, loadKeyFile, unlockKey } from '../src/developer/developer-key.js';
import { initDemoRepository } from '../src/repository/init.js';
import { Repository } from '../src/repository/repository.js';
import { buildServer } from '../src/server/app.js';
import { DownloadError, Key, Metadata } from '../src/tuf/index.js';
import { basicAuth, uploadForm } from '../test/helpers/index-under-test.js';
import { memoryWheel } from '../test/helpers/memory-dists.js';
import { removeTempDir, tempDir } from '../test/helpers/processes.js';
import { bulwarkBin, fmt, machine, machineCpu, note, otherCpu, parseFlags, processCpu, prng, summarize, table, verdict } from './common.js';

const flags = parseFlags('node dist/bench/auditor-lag.js [--bins 16384] [--uploads 40] [--interval 250] [--pause 300] [--cold-http] [--json]', {
  bins: { default: 16384, help: 'hashed bins (and Merkle shards)' },
  uploads: { default: 40, help: 'uploads measured' },
  interval: { default: 250, help: "the auditor's poll interval (ms)" },
  pause: { default: 300, help: 'longest random pause between uploads (ms)' },
  'cold-http': { default: false, help: "the auditor process reads the first tree over HTTP (default: verified from the index's files on disk first)" },
  json: { default: false, help: 'print JSON' },
  log: { default: false, help: "print the auditor's log on standard error at the end" },
});

const TARGET_P99_MS = 2000;
const ms = (v: number) => `${fmt.ms(v)} ms`;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bulwarkBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`bulwark ${args[0]} exited ${code}: ${err}`))));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process's I/O so far (/proc/PID/io): bytes and calls through read()/write(), files and sockets alike. */
function processIo(pid: number): { rchar: number; wchar: number; syscr: number; syscw: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const v = (k: string) => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { rchar: v('rchar'), wchar: v('wchar'), syscr: v('syscr'), syscw: v('syscw') };
  } catch {
    return undefined;
  }
}

/** What the auditor reports of one poll with --json (AuditOutcome), as far as the bench uses it. */
interface PollLine {
  status: string;
  reason?: string;
  io?: { fetched: { files: number; bytes: number }; stateRead: { files: number; bytes: number }; stateWritten: { files: number; bytes: number } };
}

async function main(): Promise<void> {
  const started = Date.now();
  const home = await tempDir('bench-auditor-lag');
  const env = { ...process.env, BULWARK_KEYS_DIR: join(home, 'keys'), BULWARK_PASSPHRASE: 'bench auditor passphrase' };
  await run(['key', 'new', 'auditor', '--random'], env);
  const shown = JSON.parse(await run(['key', 'show', 'auditor', '--json'], env)) as { keyid: string; public: unknown };
  const dataDir = join(home, 'index');
  note(`init: ${flags.bins} bins, auditor key ${shown.keyid.slice(0, 12)}…`);
  const t0 = Date.now();
  await initDemoRepository(dataDir, { bins: flags.bins, auditors: { keys: [Key.fromJSON(shown.public)] } });
  const initMs = Date.now() - t0;
  const repo = await Repository.open(dataDir, { compress: true });
  await repo.start();
  const app = await buildServer(repo, { waitForPublishMs: 30_000 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const token = await newAuditorToken(repo, shown.keyid);
  const user = (await repo.accounts.addUser('bench')).token;
  const statementUrl = `${url}/metadata/audit/${shown.keyid}.json`;
  const auditedVersion = async (): Promise<number> => {
    const res = await fetch(statementUrl, { headers: { 'cache-control': 'no-cache' } });
    if (!res.ok) return 0;
    return (JSON.parse(await res.text()) as { signed: { timestamp_version: number } }).signed.timestamp_version;
  };
  const timestampPath = join(dataDir, 'public', 'metadata', 'timestamp.json');
  const publishedVersion = async () => Metadata.parse(await readFile(timestampPath), 'timestamp').signed.version;

  const uploadOne = async (i: number) => {
    const wheel = memoryWheel({ name: `lag-bench-${i + 1}`, version: '1.0' });
    const fields = { ':action': 'file_upload', protocol_version: '1', name: `lag-bench-${i + 1}`, version: '1.0', filetype: 'bdist_wheel', pyversion: 'py3', metadata_version: '2.1', sha256_digest: wheel.sha256 };
    const res = await fetch(`${url}/legacy/`, { method: 'POST', body: uploadForm(fields, { name: wheel.filename, bytes: wheel.bytes }), headers: { authorization: basicAuth(user) } });
    const text = await res.text();
    if (!res.ok || (JSON.parse(text) as { status?: string }).status !== 'published') throw new Error(`upload ${i} not published: ${res.status} ${text}`);
  };
  // The timestamp init writes names no tree yet: the first publication builds it.
  await uploadOne(-1);

  const stateDir = join(home, 'auditor-state');
  await mkdir(stateDir, { recursive: true });
  let seedMs = 0;
  if (!flags['cold-http']) {
    // The first tree from disk, with the auditor's own code and key: the same state the process would build.
    const t = Date.now();
    process.env['BULWARK_KEYS_DIR'] = env.BULWARK_KEYS_DIR;
    const signer = await unlockKey(await loadKeyFile(keyPath('auditor')), env.BULWARK_PASSPHRASE);
    const metadataDir = join(dataDir, 'public', 'metadata');
    const fromDisk: Fetcher = {
      fetch: async (u, max) => {
        const bytes = await readFile(join(metadataDir, u.slice(`${url}/metadata/`.length))).catch(() => undefined);
        if (!bytes) throw new DownloadError('NOT_FOUND', `not found: ${u}`, u, 404);
        if (bytes.length > max) throw new DownloadError('LENGTH_EXCEEDED', `${u} is over ${max} bytes`, u);
        return bytes;
      },
    };
    await Auditor.init(stateDir, await readFile(join(dataDir, 'root.json')));
    await new Auditor({ dir: stateDir, indexUrl: url, signer, token, fetcher: fromDisk }).poll();
    seedMs = Date.now() - t;
    note(`the auditor's first tree verified from disk in ${ms(seedMs)}`);
  }
  const auditor = spawn(
    process.execPath,
    [bulwarkBin, '--json', 'auditor', '--index', url, '--root', join(dataDir, 'root.json'), '--key', 'auditor', '--token', token, '--interval', String(flags.interval), '--state-dir', stateDir],
    { env, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let auditorLog = '';
  auditor.stderr.on('data', (d: Buffer) => (auditorLog += d.toString()));
  // One JSON line per poll (AuditOutcome): counted while measuring.
  let pollLines: PollLine[] = [];
  let pending = '';
  auditor.stdout.on('data', (d: Buffer) => {
    const lines = (pending + d.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) pollLines.push(JSON.parse(l) as PollLine);
  });
  try {
    // The first tree (every shard file once), unless it was verified from disk above.
    const coldStart = Date.now();
    const first = await publishedVersion();
    while ((await auditedVersion()) < first) {
      if (auditor.exitCode !== null || Date.now() - coldStart > 900_000) throw new Error(`the auditor signed nothing: ${auditorLog}`);
      await sleep(50);
    }
    // Measure only once the auditor process polls (its start-up, key unlocking included, is not lag).
    while (pollLines.length === 0) {
      if (auditor.exitCode !== null || Date.now() - coldStart > 900_000) throw new Error(`the auditor never polled: ${auditorLog}`);
      await sleep(50);
    }
    const coldMs = Date.now() - coldStart;
    note(`auditor's first tree verified in ${ms(coldMs)}; measuring ${flags.uploads} uploads`);

    const random = prng(1);
    const lags: number[] = [];
    pollLines = [];
    const pid = auditor.pid as number;
    const cpu0 = processCpu(pid);
    const io0 = processIo(pid);
    const machine0 = machineCpu();
    const ownCpu0 = process.cpuUsage();
    const measureStart = Date.now();
    for (let i = 0; i < flags.uploads; i++) {
      await uploadOne(i);
      // Publication time: when timestamp.json naming the new tree was written.
      const version = await publishedVersion();
      const publishedAt = (await stat(timestampPath)).mtimeMs;
      while ((await auditedVersion()) < version) {
        if (Date.now() - publishedAt > 30_000) throw new Error(`no statement for timestamp ${version} after 30 s: ${auditorLog.slice(-2000)}`);
        await sleep(5);
      }
      lags.push(Date.now() - publishedAt);
      await sleep(random() * flags.pause);
    }
    const measureMs = Date.now() - measureStart;
    const cpu1 = processCpu(pid);
    const io1 = processIo(pid);
    const machine1 = machineCpu();
    const ownCpu = process.cpuUsage(ownCpu0);
    const auditorCpuS = cpu0 && cpu1 ? cpu1.total - cpu0.total : NaN;
    const others = otherCpu(machine0, machine1, auditorCpuS + (ownCpu.user + ownCpu.system) / 1e6);
    const trees = pollLines.filter((p) => p.status === 'signed' && p.reason === 'new tree');
    const perTree = (f: (p: PollLine) => number | undefined) => (trees.length ? trees.reduce((a, p) => a + (f(p) ?? NaN), 0) / trees.length : NaN);
    const auditorWork = {
      polls: pollLines.length,
      trees: trees.length,
      cpuMsPerPoll: (auditorCpuS * 1000) / Math.max(1, pollLines.length),
      // /proc/PID/io over the measuring window (files and sockets; idle polls included), per tree
      rcharPerTree: io0 && io1 ? (io1.rchar - io0.rchar) / Math.max(1, trees.length) : NaN,
      wcharPerTree: io0 && io1 ? (io1.wchar - io0.wchar) / Math.max(1, trees.length) : NaN,
      // the auditor's own count (AuditOutcome.io), per new tree; absent on auditors that do not report it
      fetchedFilesPerTree: perTree((p) => p.io?.fetched.files),
      fetchedBytesPerTree: perTree((p) => p.io?.fetched.bytes),
      stateReadFilesPerTree: perTree((p) => p.io?.stateRead.files),
      stateReadBytesPerTree: perTree((p) => p.io?.stateRead.bytes),
      stateWrittenFilesPerTree: perTree((p) => p.io?.stateWritten.files),
      stateWrittenBytesPerTree: perTree((p) => p.io?.stateWritten.bytes),
    };
    const s = summarize(lags);
    const result = {
      bench: 'auditor-lag',
      machine: machine(),
      bins: flags.bins,
      uploads: flags.uploads,
      intervalMs: flags.interval,
      initMs,
      auditorColdStartMs: coldMs,
      firstTreeFromDiskMs: seedMs,
      lagMs: s,
      auditor: auditorWork,
      otherCpuSeconds: others.otherProcesses,
      measureSeconds: measureMs / 1000,
      targetP99Ms: TARGET_P99_MS,
      met: s.p99 <= TARGET_P99_MS,
      wallMs: Date.now() - started,
    };
    if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      process.stdout.write(`Auditor lag at ${flags.bins} bins, auditor polling every ${flags.interval} ms (${flags.uploads} uploads)\n`);
      process.stdout.write(
        `${table(
          ['', 'median', 'p90', 'p99', 'max'],
          [['publication → audited statement', ms(s.median), ms(s.p90), ms(s.p99), ms(s.max)]]
        )}\n`
      );
      process.stdout.write(`p99 ${ms(s.p99)} vs target ${ms(TARGET_P99_MS)}: ${verdict(s.p99, TARGET_P99_MS)}\n`);
      const kib = (v: number) => `${fmt.num(v / 1024, 1)} KiB`;
      const a = auditorWork;
      process.stdout.write(
        `auditor per new tree (${a.trees} trees, ${a.polls} polls): CPU ${ms(a.cpuMsPerPoll)} per poll; read() ${kib(a.rcharPerTree)}, write() ${kib(a.wcharPerTree)} (/proc io, sockets and idle polls included)\n`
      );
      if (Number.isFinite(a.fetchedFilesPerTree)) {
        process.stdout.write(
          `  fetched ${fmt.num(a.fetchedFilesPerTree, 1)} files ${kib(a.fetchedBytesPerTree)}; state read ${fmt.num(a.stateReadFilesPerTree, 1)} files ${kib(a.stateReadBytesPerTree)}; state written ${fmt.num(a.stateWrittenFilesPerTree, 1)} files ${kib(a.stateWrittenBytesPerTree)}\n`
        );
      }
      process.stdout.write(`other processes' CPU while measuring: ${fmt.num(others.otherProcesses, 1)} s over ${fmt.num(measureMs / 1000, 1)} s (2 cores = ${fmt.num((2 * measureMs) / 1000, 1)} CPU-s)\n`);
      process.stdout.write(`init ${ms(initMs)}, auditor's first tree ${flags['cold-http'] ? `${ms(coldMs)} over HTTP` : `${ms(seedMs)} from disk, then ${ms(coldMs)} to its first statement`}, run ${ms(result.wallMs)}\n`);
    }
    if (flags.log) process.stderr.write(auditorLog);
  } finally {
    auditor.kill('SIGTERM');
    await app.close();
    await repo.close();
    await removeTempDir(home);
  }
}

await main();
