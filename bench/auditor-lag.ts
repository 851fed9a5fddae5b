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
//   node dist/bench/auditor-lag.js [--bins 16384] [--uploads 40] [--interval 250] [--pause 300] [--json]
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { newAuditorToken } from '../src/auditor/index-store.js';
import { initDemoRepository } from '../src/repository/init.js';
import { Repository } from '../src/repository/repository.js';
import { buildServer } from '../src/server/app.js';
import { Key, Metadata } from '../src/tuf/index.js';
import { basicAuth, uploadForm } from '../test/helpers/index-under-test.js';
import { memoryWheel } from '../test/helpers/memory-dists.js';
import { removeTempDir, tempDir } from '../test/helpers/processes.js';
import { bulwarkBin, fmt, machine, note, parseFlags, prng, summarize, table, verdict } from './common.js';

const flags = parseFlags('node dist/bench/auditor-lag.js [--bins 16384] [--uploads 40] [--interval 250] [--pause 300] [--json]', {
  bins: { default: 16384, help: 'hashed bins (and Merkle shards)' },
  uploads: { default: 40, help: 'uploads measured' },
  interval: { default: 250, help: "the auditor's poll interval (ms)" },
  pause: { default: 300, help: 'longest random pause between uploads (ms)' },
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
  const auditor = spawn(
    process.execPath,
    [bulwarkBin, 'auditor', '--index', url, '--root', join(dataDir, 'root.json'), '--key', 'auditor', '--token', token, '--interval', String(flags.interval), '--state-dir', stateDir],
    { env, stdio: ['ignore', 'ignore', 'pipe'] }
  );
  let auditorLog = '';
  auditor.stderr.on('data', (d: Buffer) => (auditorLog += d.toString()));
  try {
    // The first tree: every shard file once.
    const coldStart = Date.now();
    const first = await publishedVersion();
    while ((await auditedVersion()) < first) {
      if (auditor.exitCode !== null || Date.now() - coldStart > 120_000) throw new Error(`the auditor signed nothing: ${auditorLog}`);
      await sleep(50);
    }
    const coldMs = Date.now() - coldStart;
    note(`auditor's first tree verified in ${ms(coldMs)}; measuring ${flags.uploads} uploads`);

    const random = prng(1);
    const lags: number[] = [];
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
    const s = summarize(lags);
    const result = {
      bench: 'auditor-lag',
      machine: machine(),
      bins: flags.bins,
      uploads: flags.uploads,
      intervalMs: flags.interval,
      initMs,
      auditorColdStartMs: coldMs,
      lagMs: s,
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
      process.stdout.write(`init ${ms(initMs)}, auditor's first tree ${ms(coldMs)}, run ${ms(result.wallMs)}\n`);
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
