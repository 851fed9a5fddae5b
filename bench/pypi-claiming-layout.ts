// SPDX-License-Identifier: Apache-2.0
// Child process of bench/pypi-claiming-bench.ts: one layout, on the repository the setup left
// (or its copy). 'old': project delegations direct, classic snapshot only. 'new': `bulwark
// migrate` (export → sign → import) to name bins, and snapshot Merkle trees turned on.
//   1. (new) the migration ceremony, then the tree and the new roles published
//   2. the ceremony's projects claimed (recently-claimed), published; the measured promotion
//      ceremony (export → offline sign → import), published
//   3. the last claims, left in recently-claimed, published
//   4. the index served on 127.0.0.1 and one `bulwark proxy` per probe, each behind a counting
//      intermediary: a cold install (page + file) of each probe; one upload elsewhere, the same
//      install again; one claim elsewhere, the same install again; the proxy's CPU per refresh
//   5. publications: uploads one at a time through the real path
// Prints one JSON object (LayoutResult).
//   node dist/bench/pypi-claiming-layout.js '<LayoutArgs as JSON>'
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { exportPromotion, importPromotion } from '../src/repository/ceremony.js';
import { CONFIG_FILE } from '../src/repository/config.js';
import { SIMPLE_HTML, SIMPLE_JSON, targetBlobPath, targetPath } from '../src/repository/layout.js';
import { silentLogger } from '../src/repository/logger.js';
import { exportMigration, importMigration } from '../src/repository/migrate.js';
import { Repository } from '../src/repository/repository.js';
import type { PublicationResult } from '../src/repository/snapshot-process.js';
import { buildServer } from '../src/server/app.js';
import { expiresIn, Metadata } from '../src/tuf/index.js';
import { bulwarkBin, note, processCpu, processMemory, progress, summarize, watchMemory, type Summary } from './common.js';
import { runCeremony, type CeremonyTiming } from './pypi-claiming-ceremony.js';
import { claimsFromLines, recordClaims, signClaims } from './pypi-claiming-claims.js';
import type { Probe, Stage } from './pypi-claiming-setup.js';
import { WireCounter, wireTotals, type WireResponse } from './pypi-claiming-wire.js';
import { lastJsonLine, runNode } from './pypi-scale-processes.js';
import { uploadPlanned } from './pypi-scale-upload.js';

/**
 * This process is the only publisher. At PyPI's size its first publications hold the event loop
 * for seconds at a time (parsing and signing roles of tens of MiB), longer than the default
 * 10 s lease under a loaded machine: the lease then ran out and the publication was abandoned.
 */
const BENCH_LEADER_TTL_MS = 30 * 60_000;

export interface LayoutArgs {
  layout: 'old' | 'new';
  dataDir: string;
  databaseUrl: string;
  stage: string;
  seed: number;
  user: string;
  uploads: number;
  warmup: number;
}

/** One install through one proxy: bytes between proxy and index, and the proxy's CPU. */
export interface InstallFigures {
  metadataBytes: number;
  otherBytes: number;
  requests: number;
  metadataRequests: number;
  proxyCpuMs: number;
  /** the metadata files fetched, with their bytes on the wire */
  metadata: { path: string; bytes: number; encoding: string | null }[];
  /** why the install failed (the bytes are what crossed the wire until then) */
  error?: string;
}

export interface LayoutResult {
  layout: 'old' | 'new';
  migration: CeremonyTiming | null;
  publishAfterMigrationMs: number | null;
  ceremony: CeremonyTiming;
  publishAfterCeremonyMs: number;
  publishRecentMs: number;
  installs: Record<
    'claimed' | 'recentlyClaimed' | 'unclaimed',
    { cold: InstallFigures; afterUpload: InstallFigures; afterClaim: InstallFigures; proxyPeakRss: number; updaterCpuMs?: UpdaterCpu }
  >;
  publications: { n: number; ms: Summary; endToEndMs: Summary; rolesPerPublication: number; phasesMs?: { build: number; write: number; commit: number } };
  sizes: Record<string, number>;
  memory: { maxRss: number };
}

/**
 * The updater's CPU per refresh + lookup in a process of its own: the first run (loading and
 * compiling the code: what a new `pip` process pays), runs 2–6 (code still warming up) and the
 * steady state a long-lived client (the proxy) pays, the median of the last runs: the target.
 */
export interface UpdaterCpu {
  first: number;
  /** Absent in results written before it was measured. */
  early?: number;
  median: number;
  peakRss: number;
}
/** Runs per updater measurement; the steady median is over the runs after STEADY_FROM. */
const UPDATER_RUNS = 30;
const STEADY_FROM = 10;

const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The proxy reuses verified metadata for 2 s (VerifiedIndex maxAgeMs): a refresh waits longer. */
const PROXY_MAX_AGE_MS = 2000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** `bulwark proxy` for one probe, its own empty cache, behind its own counter. */
class ProbeProxy {
  private constructor(
    readonly probe: Probe,
    readonly counter: WireCounter,
    readonly child: ChildProcess,
    readonly url: string,
    readonly cache: string
  ) {}

  static async start(probe: Probe, indexUrl: string, root: string): Promise<ProbeProxy> {
    const counter = await WireCounter.start(indexUrl);
    const cache = await mkdtemp(join(tmpdir(), 'bench-proxy-cache-'));
    const port = await freePort();
    const child = spawn(process.execPath, [bulwarkBin, 'proxy', '--index', counter.url, '--root', root, '--cache', cache, '--port', String(port), '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/simple/`)).ok) break;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || i > 300) throw new Error(`bulwark proxy did not start: ${log}`);
      await sleep(100);
    }
    counter.take();
    return new ProbeProxy(probe, counter, child, url, cache);
  }

  /** What pip does for `pip download --no-deps <probe>`: the project page, then the file. */
  async install(): Promise<InstallFigures> {
    const pid = this.child.pid as number;
    const cpu0 = processCpu(pid)?.total ?? 0;
    let error: string | undefined;
    try {
      await this.fetchPageAndFile();
    } catch (e) {
      error = (e as Error).message;
      note(`install of ${this.probe.project} failed: ${error}`);
    }
    const cpu1 = processCpu(pid)?.total ?? 0;
    const responses: WireResponse[] = this.counter.take();
    return {
      ...wireTotals(responses),
      proxyCpuMs: (cpu1 - cpu0) * 1000,
      metadata: responses.filter((r) => r.path.startsWith('/metadata/')).map((r) => ({ path: r.path, bytes: r.bytes, encoding: r.encoding ?? null })),
      ...(error === undefined ? {} : { error }),
    };
  }

  private async fetchPageAndFile(): Promise<void> {
    const page = await fetch(`${this.url}/simple/${this.probe.project}/`, { headers: { accept: 'application/vnd.pypi.simple.v1+json', 'user-agent': 'bench' } });
    const text = await page.text();
    if (!page.ok || !text.includes(this.probe.filename)) throw new Error(`${this.probe.project}: page ${page.status}: ${text.slice(0, 300)}`);
    const file = await fetch(`${this.url}/files/${this.probe.project}/${this.probe.filename}`);
    const bytes = await file.arrayBuffer();
    if (!file.ok) throw new Error(`${this.probe.filename}: ${file.status} ${Buffer.from(bytes).toString().slice(0, 300)}`);
  }

  /** The client's CPU per refresh + lookup, on a copy of this proxy's warm cache, in a process of its own. */
  async updaterCpu(runs: number): Promise<UpdaterCpu> {
    const copy = await mkdtemp(join(tmpdir(), 'bench-refresh-cache-'));
    try {
      await cp(this.cache, copy, { recursive: true });
      const run = await runNode([join(here, 'pypi-claiming-refresh.js'), JSON.stringify({ metadataDir: copy, indexUrl: this.counter.url, path: `${this.probe.project}/index.json`, runs })]);
      const { cpuMs } = lastJsonLine<{ cpuMs: number[] }>(run.stdout);
      this.counter.take();
      return { first: cpuMs[0] ?? Number.NaN, early: summarize(cpuMs.slice(1, 6)).median, median: summarize(cpuMs.slice(STEADY_FROM)).median, peakRss: run.peakRss };
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }

  async stop(): Promise<number> {
    const peak = processMemory(this.child.pid as number)?.peakRss ?? 0;
    this.child.kill('SIGTERM');
    await new Promise((r) => this.child.once('exit', r));
    await this.counter.close();
    await rm(this.cache, { recursive: true, force: true });
    return peak;
  }
}

async function publishNow(repo: Repository): Promise<number> {
  const t = performance.now();
  await repo.publisher.publish();
  return performance.now() - t;
}

async function main(a: LayoutArgs): Promise<LayoutResult> {
  const memory = watchMemory();
  const stage = JSON.parse(await readFile(`${a.stage}.json`, 'utf8')) as Stage;
  const open = () => Repository.open(a.dataDir, { databaseUrl: a.databaseUrl, log: silentLogger, leaderTtlMs: BENCH_LEADER_TTL_MS });
  let migration: CeremonyTiming | null = null;
  let publishAfterMigrationMs: number | null = null;
  if (a.layout === 'new') {
    // Trees on (the old layout ran with `merkle.enabled: false`), then `bulwark migrate`.
    const configPath = join(a.dataDir, CONFIG_FILE);
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { merkle?: Record<string, unknown> };
    delete config.merkle;
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const repo = await open();
    try {
      await repo.publisher.init();
      note('new layout: migration ceremony (claimed and its bins)…');
      migration = await runCeremony(repo, `${a.stage}.migration.json`, (r) => exportMigration(r), (r, f) => importMigration(r, f));
    } finally {
      await repo.close();
    }
  }
  const repo = await open(); // with the new layout, recently-claimed's bins are signed from now on
  const user = await repo.state.userByName(a.user);
  if (!user) throw new Error(`no user ${a.user}`);
  try {
    note(`${a.layout} layout: publishing…`);
    await repo.publisher.init();
    if (a.layout === 'new') publishAfterMigrationMs = await publishNow(repo);

    // 2. The ceremony's projects claimed, then promoted.
    const recordStage = async (file: string, label: string) => {
      const claims = claimsFromLines(await readFile(file, 'utf8'));
      const bar = progress(label, claims.length);
      await recordClaims(a.databaseUrl, claims, new Date().toISOString(), bar);
      bar.stop();
      return claims.length;
    };
    await recordStage(`${a.stage}.ceremony.jsonl`, 'claims to promote');
    await publishNow(repo);
    note(`${a.layout} layout: promotion ceremony…`);
    const ceremony = await runCeremony(repo, `${a.stage}.${a.layout}-promotion.json`, (r) => exportPromotion(r), (r, f) => importPromotion(r, f));
    const publishAfterCeremonyMs = await publishNow(repo);
    // 3. The projects left in recently-claimed.
    await recordStage(`${a.stage}.recent.jsonl`, 'recent claims');
    const publishRecentMs = await publishNow(repo);
    await repo.publisher.idle(); // compressed copies made, as on an index a moment later

    // 4. Installs through bulwark proxy.
    const app = await buildServer(repo, { waitForPublishMs: 60_000 });
    const indexUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    const publications: PublicationResult[] = [];
    repo.publisher.onPublished((r) => publications.push(r));
    const kinds = ['claimed', 'recentlyClaimed', 'unclaimed'] as const;
    const proxies = await Promise.all(kinds.map((k) => ProbeProxy.start(stage.probes[k], indexUrl, join(a.dataDir, 'root.json'))));
    const installs = {} as LayoutResult['installs'];
    try {
      const cold = [];
      for (const p of proxies) cold.push(await p.install());
      // One upload elsewhere.
      let k = 0;
      await uploadPlanned(repo, user, stage.plan[k] as (typeof stage.plan)[0], k, a.seed);
      k++;
      await repo.publisher.idle();
      await sleep(PROXY_MAX_AGE_MS + 200);
      const afterUpload = [];
      for (const p of proxies) afterUpload.push(await p.install());
      // One claim elsewhere (ProjectRoleService.claim, as `bulwark claim` over HTTP reaches it).
      const elsewhere = stage.probes.claimElsewhere.project;
      const client = new pg.Client({ connectionString: a.databaseUrl });
      await client.connect();
      const [claim] = await signClaims(client, [elsewhere], a.seed, expiresIn(new Date(), 365 * 24 * 3600 * 1000), { tick: () => undefined, stop: () => undefined });
      await client.end();
      if (!claim) throw new Error('no claim signed');
      const role = Metadata.parse(claim.bytes, 'targets', `project-${elsewhere}`).signed;
      const pages = await Promise.all(
        [SIMPLE_HTML, SIMPLE_JSON].map(async (name) => {
          const t = role.targets.get(targetPath(elsewhere, name));
          const bytes = t && (await repo.blobs.get(targetBlobPath(t.path, t.hashes['sha256'] as string)));
          if (!bytes) throw new Error(`${elsewhere}/${name} is not stored`);
          return { name, bytes };
        })
      );
      const { seq } = await repo.projectRoles.claim(user, elsewhere, { keys: [claim.key], threshold: 1, role: claim.bytes }, pages);
      await repo.publisher.waitForSeq(seq);
      await repo.publisher.idle();
      await sleep(PROXY_MAX_AGE_MS + 200);
      const afterClaim = [];
      for (const p of proxies) afterClaim.push(await p.install());
      for (const [i, kind] of kinds.entries()) {
        const updaterCpuMs = await (proxies[i] as ProbeProxy).updaterCpu(UPDATER_RUNS).catch((e: unknown) => {
          note(`the updater's CPU for ${kind} was not measured: ${(e as Error).message}`);
          return undefined;
        });
        installs[kind] = { cold: cold[i] as InstallFigures, afterUpload: afterUpload[i] as InstallFigures, afterClaim: afterClaim[i] as InstallFigures, proxyPeakRss: 0, ...(updaterCpuMs ? { updaterCpuMs } : {}) };
      }

      // 5. Publications, one upload at a time.
      const bar = progress(`${a.layout}: uploads, one at a time`, a.warmup + a.uploads);
      const ms: number[] = [];
      const endToEnd: number[] = [];
      const phases = { build: [] as number[], write: [] as number[], commit: [] as number[] };
      let roles = 0;
      for (let i = 0; i < a.warmup + a.uploads; i++, k++) {
        const u = stage.plan[k];
        if (!u) throw new Error(`the upload plan has only ${stage.plan.length} uploads to unclaimed projects`);
        const t = await uploadPlanned(repo, user, u, k, a.seed);
        const pub = publications.find((p) => p.publishedSeqs.includes(t.seq));
        if (!pub) throw new Error(`no publication reported for upload ${t.seq}`);
        bar.tick();
        if (i < a.warmup) continue;
        ms.push(pub.ms.total);
        for (const k of ['build', 'write', 'commit'] as const) phases[k].push(pub.ms[k]);
        endToEnd.push(t.endToEndMs);
        roles += pub.roles.length;
      }
      bar.stop();
      const states = await repo.state.roleStates();
      const sizes: Record<string, number> = {};
      for (const name of ['snapshot', 'timestamp', 'claimed', 'recently-claimed']) sizes[name] = states.find((r) => r.name === name)?.length ?? 0;
      const binSizes = (prefix: string) => states.filter((r) => r.name.startsWith(prefix)).map((r) => r.length);
      for (const prefix of ['claimed-bin-', 'recently-claimed-bin-']) {
        const s = binSizes(prefix);
        if (s.length) sizes[`${prefix}largest`] = Math.max(...s);
      }
      return {
        layout: a.layout,
        migration,
        publishAfterMigrationMs,
        ceremony,
        publishAfterCeremonyMs,
        publishRecentMs,
        installs,
        publications: { n: ms.length, ms: summarize(ms), endToEndMs: summarize(endToEnd), rolesPerPublication: ms.length ? roles / ms.length : Number.NaN,
          phasesMs: { build: summarize(phases.build).median, write: summarize(phases.write).median, commit: summarize(phases.commit).median },
        },
        sizes,
        memory: { maxRss: 0 },
      };
    } finally {
      for (const [i, p] of proxies.entries()) {
        const peak = await p.stop();
        const kind = kinds[i];
        if (kind && installs[kind]) installs[kind].proxyPeakRss = peak;
      }
      await app.close();
    }
  } finally {
    await repo.close();
    memory.stop();
  }
}

main(JSON.parse(process.argv[2] ?? '{}') as LayoutArgs).then(
  (r) => {
    r.memory.maxRss = process.resourceUsage().maxRSS * 1024;
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    note(`pypi-claiming-layout failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
);
