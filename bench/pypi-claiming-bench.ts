// SPDX-License-Identifier: Apache-2.0
// PyPI-size benchmark with claiming (issue 12, item 7): the PyPI-scale repository of
// bench/pypi-scale-bench.ts (PyPI's real names, 5,000,000 files, 16,384 bins, on PostgreSQL)
// plus 200,000 claimed projects with one developer key each (50,000 still recently claimed),
// measured in the old layout (project delegations direct, classic snapshot) and the new one
// (name bins, snapshot Merkle tree), through `bulwark proxy` with the bytes on the wire counted.
//
//   init     initDemoRepository(--bins, 'direct' delegations), Merkle trees off; `bulwark user add`
//   load     bench/pypi-scale-load.ts (every project unclaimed)
//   setup    bench/pypi-claiming-setup.ts: probes, every claim signed, the first claims recorded
//            and promoted (ceremony), the first publication
//   clone    the database (CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY) and the data dir (cp)
//   old/new  bench/pypi-claiming-layout.ts on the original and on the copy
//
// Run: node dist/bench/pypi-claiming-bench.js [--quick] [--json] [--help]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { CONFIG_FILE } from '../src/repository/config.js';
import { initDemoRepository } from '../src/repository/init.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { bulwarkBin, fmt, machine, note, parseFlags, processMemory, table, verdict } from './common.js';
import type { CeremonyTiming } from './pypi-claiming-ceremony.js';
import type { InstallFigures, LayoutArgs, LayoutResult } from './pypi-claiming-layout.js';
import type { SetupArgs, SetupResult } from './pypi-claiming-setup.js';
import type { LoadArgs, LoadResult } from './pypi-scale-load.js';
import { databaseSize, directorySize, lastJsonLine, phase, runNode, type PhaseStats } from './pypi-scale-processes.js';

const flags = parseFlags('node dist/bench/pypi-claiming-bench.js [flags]', {
  quick: { default: false, help: 'small sizes (20,000 projects, 100,000 files, 1,024 bins, 2,000 claimed): about a minute, figures mean little' },
  projects: { default: 0, help: 'projects from the list (0: every line)' },
  files: { default: 5_000_000, help: 'files spread over the projects' },
  bins: { default: 16384, help: 'hashed bins of unclaimed (power of two)' },
  claimed: { default: 200_000, help: 'claimed projects in all, one developer key each' },
  recent: { default: 50_000, help: 'of them, still in recently-claimed' },
  ceremony: { default: 10_000, help: 'projects promoted by the measured ceremony' },
  uploads: { default: 30, help: 'uploads timed per layout, one at a time' },
  warmup: { default: 2, help: 'uploads made first and not timed' },
  seed: { default: 1, help: 'seed of every invented value and of the draw of claimed projects' },
  list: { default: '/work/shared/data/pypi-projects.tsv.gz', help: 'TSV (name, version, month, rank), gzip' },
  dir: { default: tmpdir(), help: 'where to create the repositories (the PostgreSQL cluster lives in the temp dir)' },
  keep: { default: false, help: 'keep the repository directories' },
  json: { default: false, help: 'print one JSON object instead of tables' },
  out: { default: '', help: 'also write the JSON result to this file, and each phase as it ends' },
  'wait-for': { default: '', help: 'after the clone, wait until this file exists before the measured layout phases (to change the build they run meanwhile)' },
});
if (flags.quick) Object.assign(flags, { projects: 20_000, files: 100_000, bins: 1024, claimed: 2000, recent: 500, ceremony: 100, uploads: 10 });

const here = dirname(fileURLToPath(import.meta.url));
const BENCH_USER = 'bench';
const PG_SETTINGS = { shared_buffers: '1GB', max_wal_size: '8GB', checkpoint_timeout: '15min' };
/** The issue's targets (KB = 1,000 bytes). */
export const TARGETS = { coldBytes: 160_000, warmBytes: 8_000, refreshCpuMs: 5, publicationMedianMs: 50, publicationP99Ms: 150, ceremonyStepMs: 60_000, processBytes: 4 * 2 ** 30 };

interface Result {
  benchmark: 'pypi-claiming';
  machine: ReturnType<typeof machine>;
  config: typeof flags & { postgresSettings: typeof PG_SETTINGS; claimedProjects: string };
  init: { ms: number; stats: PhaseStats; peakRss: number };
  load: LoadResult & { stats: PhaseStats; peakRss: number };
  setup: SetupResult & { stats: PhaseStats; peakRss: number };
  clone: { ms: number; stats: PhaseStats };
  old: LayoutResult & { stats: PhaseStats; peakRss: number };
  new: LayoutResult & { stats: PhaseStats; peakRss: number };
  disk: { databaseBytes: number; secondDatabaseBytes: number; postgresDirBytes: number; dataDirBytes: number; secondDataDirBytes: number; totalBytes: number };
  auditorLag: string;
  targets: { rows: TargetRow[] };
}

interface TargetRow {
  measure: string;
  old: number;
  new: number;
  target: number;
  unit: 'B' | 'ms';
  verdict: string;
}

/** With --out, what the phases so far measured, written after each: a run stopped early still tells them. */
const partial: Record<string, unknown> = {};
function savePartial(phaseName: string, value: unknown): void {
  partial[phaseName] = value;
  if (flags.out) writeFileSync(flags.out, `${JSON.stringify({ benchmark: 'pypi-claiming', partial: true, config: flags, ...partial }, null, 2)}\n`);
}

async function main(): Promise<Result> {
  const info = machine();
  note('starting a throwaway PostgreSQL cluster (fsync on)…');
  const cluster = await startPostgres({ durable: true, settings: PG_SETTINGS });
  const url = await cluster.createDatabase('pypi_claiming');
  const dataDir = mkdtempSync(join(flags.dir, 'bulwark-pypi-claiming-'));
  const newDir = `${dataDir}-new`;
  const newUrl = `${url}_new`;
  try {
    const t0 = performance.now();
    const init = await phase('init', cluster, async () => {
      await initDemoRepository(dataDir, { bins: flags.bins, projectDelegations: 'direct' });
      // The old layout: a classic snapshot with every publication, no tree.
      const configPath = join(dataDir, CONFIG_FILE);
      writeFileSync(configPath, `${JSON.stringify({ ...JSON.parse(readFileSync(configPath, 'utf8')), merkle: { enabled: false } }, null, 2)}\n`);
      return runNode([bulwarkBin, '--data', dataDir, '--database', url, '--json', 'user', 'add', BENCH_USER]);
    });
    const initMs = performance.now() - t0;

    const planFile = join(dataDir, 'pypi-claiming-uploads.json');
    const loadArgs: LoadArgs = {
      dataDir, databaseUrl: url, list: flags.list, projects: flags.projects, files: flags.files, seed: flags.seed,
      uploads: 3 * (flags.warmup + flags.uploads + 2) + 50, planFile, user: BENCH_USER,
    };
    const load = await phase('load', cluster, () => runNode([join(here, 'pypi-scale-load.js'), JSON.stringify(loadArgs)]));
    const loaded = lastJsonLine<LoadResult>(load.value.stdout);
    savePartial('load', { ...loaded, stats: load.stats, peakRss: load.value.peakRss });

    const stage = join(dataDir, 'pypi-claiming-stage');
    const setupArgs: SetupArgs = {
      dataDir, databaseUrl: url, seed: flags.seed, user: BENCH_USER, claimedAtSetup: flags.claimed - flags.recent - flags.ceremony,
      ceremonyProjects: flags.ceremony, recentlyClaimed: flags.recent, planFile, stage,
    };
    const setup = await phase('setup', cluster, () => runNode([join(here, 'pypi-claiming-setup.js'), JSON.stringify(setupArgs)]));
    const setupResult = lastJsonLine<SetupResult>(setup.value.stdout);
    savePartial('setup', { ...setupResult, stats: setup.stats, peakRss: setup.value.peakRss });

    const tc = performance.now();
    const clone = await phase('clone (database and data dir)', cluster, async () => {
      const admin = new pg.Client({ connectionString: cluster.adminUrl });
      await admin.connect();
      try {
        const from = new URL(url).pathname.slice(1);
        await admin.query(`CREATE DATABASE ${from}_new TEMPLATE ${from} STRATEGY FILE_COPY`);
      } finally {
        await admin.end();
      }
      execFileSync('cp', ['-a', '--reflink=auto', dataDir, newDir]);
    });
    const cloneMs = performance.now() - tc;
    await waitForFile(flags['wait-for']);

    const layoutArgs = (layout: 'old' | 'new'): LayoutArgs => ({
      layout, dataDir: layout === 'old' ? dataDir : newDir, databaseUrl: layout === 'old' ? url : newUrl, stage: layout === 'old' ? stage : join(newDir, 'pypi-claiming-stage'),
      seed: flags.seed, user: BENCH_USER, uploads: flags.uploads, warmup: flags.warmup,
    });
    const old = await phase('old layout', cluster, () => runNode([join(here, 'pypi-claiming-layout.js'), JSON.stringify(layoutArgs('old'))]));
    const oldResult = lastJsonLine<LayoutResult>(old.value.stdout);
    savePartial('old', { ...oldResult, stats: old.stats, peakRss: old.value.peakRss });
    const neu = await phase('new layout', cluster, () => runNode([join(here, 'pypi-claiming-layout.js'), JSON.stringify(layoutArgs('new'))]));
    const newResult = lastJsonLine<LayoutResult>(neu.value.stdout);

    const db1 = await databaseSize(dataDir, url);
    const db2 = await databaseSize(newDir, newUrl);
    const pgDir = directorySize(cluster.dataDir).bytes;
    const d1 = directorySize(dataDir).bytes;
    const d2 = directorySize(newDir).bytes;
    const r: Result = {
      benchmark: 'pypi-claiming',
      machine: info,
      config: { ...flags, postgresSettings: PG_SETTINGS, claimedProjects: 'a seeded uniform draw over every loaded project (bench/pypi-claiming-claims.ts drawProjects)' },
      init: { ms: initMs, stats: init.stats, peakRss: Math.max(init.value.peakRss, processMemory(process.pid)?.peakRss ?? 0) },
      load: { ...loaded, stats: load.stats, peakRss: load.value.peakRss },
      setup: { ...setupResult, stats: setup.stats, peakRss: setup.value.peakRss },
      clone: { ms: cloneMs, stats: clone.stats },
      old: { ...oldResult, stats: old.stats, peakRss: old.value.peakRss },
      new: { ...newResult, stats: neu.stats, peakRss: neu.value.peakRss },
      disk: { databaseBytes: db1.total, secondDatabaseBytes: db2.total, postgresDirBytes: pgDir, dataDirBytes: d1, secondDataDirBytes: d2, totalBytes: pgDir + d1 + d2 },
      auditorLag: 'not measured here: bench/auditor-lag.ts measures it (its own index and auditor process); see bench/README.md "auditor-lag"',
      targets: { rows: [] },
    };
    r.targets.rows = targetRows(r);
    return r;
  } finally {
    if (flags.keep) note(`kept ${dataDir} and ${newDir}`);
    else {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(newDir, { recursive: true, force: true });
    }
  }
}

/** Returns once `path` exists (at once when no path is given); notes the wait. */
async function waitForFile(path: string): Promise<void> {
  if (!path || existsSync(path)) return;
  note(`waiting for ${path} before the layout phases…`);
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 2000));
}

// ---- targets and report -----------------------------------------------------------------------

const PROBES = [
  ['claimed', 'claimed'],
  ['recentlyClaimed', 'recently claimed'],
  ['unclaimed', 'unclaimed'],
] as const;

function targetRows(r: Result): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (measure: string, get: (l: LayoutResult) => number, target: number, unit: 'B' | 'ms') => {
    const n = get(r.new);
    rows.push({ measure, old: get(r.old), new: n, target, unit, verdict: verdict(n, target) });
  };
  for (const [key, label] of PROBES) add(`cold install, ${label} project: metadata`, (l) => l.installs[key].cold.metadataBytes, TARGETS.coldBytes, 'B');
  for (const [key, label] of PROBES) add(`warm refresh after an upload elsewhere, ${label}`, (l) => l.installs[key].afterUpload.metadataBytes, TARGETS.warmBytes, 'B');
  for (const [key, label] of PROBES) add(`warm refresh after a claim elsewhere, ${label}`, (l) => l.installs[key].afterClaim.metadataBytes, TARGETS.warmBytes, 'B');
  // Old results (runs before the in-process figure) have no updaterCpuMs: NaN, shown as '–'.
  const updaterCpu = (l: LayoutResult) => Math.max(...PROBES.map(([k]) => l.installs[k].updaterCpuMs?.median ?? Number.NaN));
  add('client CPU per warm refresh + lookup (updater alone, median; largest probe)', updaterCpu, TARGETS.refreshCpuMs, 'ms');
  const proxyCpu = (l: LayoutResult) => Math.max(...PROBES.flatMap(([k]) => [l.installs[k].afterUpload.proxyCpuMs, l.installs[k].afterClaim.proxyCpuMs]));
  add('proxy CPU per warm install (largest of 6; refresh + page + file served)', proxyCpu, TARGETS.refreshCpuMs, 'ms');
  add('publication, median', (l) => l.publications.ms.median, TARGETS.publicationMedianMs, 'ms');
  add('publication, p99', (l) => l.publications.ms.p99, TARGETS.publicationP99Ms, 'ms');
  const ceremony = (k: keyof Pick<CeremonyTiming, 'exportMs' | 'signMs' | 'importMs'>) => (l: LayoutResult) => l.ceremony[k];
  add(`ceremony of ${r.config.ceremony} projects: export`, ceremony('exportMs'), TARGETS.ceremonyStepMs, 'ms');
  add(`ceremony of ${r.config.ceremony} projects: offline signing`, ceremony('signMs'), TARGETS.ceremonyStepMs, 'ms');
  add(`ceremony of ${r.config.ceremony} projects: import`, ceremony('importMs'), TARGETS.ceremonyStepMs, 'ms');
  const largest = Math.max(r.init.peakRss, r.load.peakRss, r.setup.peakRss, r.old.peakRss, r.new.peakRss,
    ...PROBES.flatMap(([k]) => [r.old.installs[k].proxyPeakRss, r.new.installs[k].proxyPeakRss, r.old.installs[k].updaterCpuMs?.peakRss ?? 0, r.new.installs[k].updaterCpuMs?.peakRss ?? 0]),
    ...[r.load, r.setup, r.old, r.new].map((p) => p.stats.postgres?.largestProcess ?? 0));
  rows.push({ measure: 'largest process, whole run (peak RSS)', old: largest, new: largest, target: TARGETS.processBytes, unit: 'B', verdict: verdict(largest, TARGETS.processBytes) });
  return rows;
}

const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`;
const value = (v: number, unit: 'B' | 'ms') => (unit === 'B' ? (v >= 1e8 ? `${(v / 2 ** 30).toFixed(2)} GiB` : kb(v)) : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${fmt.ms(v)} ms`);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

function installLine(name: string, f: InstallFigures): string[] {
  return [f.error ? `${name} (FAILED: ${f.error.slice(0, 80)})` : name, kb(f.metadataBytes), String(f.metadataRequests), kb(f.otherBytes), `${fmt.ms(f.proxyCpuMs)} ms`];
}

function report(r: Result): string {
  const out: string[] = [];
  const c = r.config;
  out.push(`\nBulwark PyPI-size benchmark with claiming — PostgreSQL, ${c.bins} bins; node ${r.machine.node}, ${r.machine.cpu}, ${r.machine.cores} cores`);
  out.push(
    `Projects ${r.load.projects.toLocaleString('en')}, files ${r.load.files.toLocaleString('en')}; claimed ${c.claimed.toLocaleString('en')} (${(c.claimed - c.recent).toLocaleString('en')} claimed, ${c.recent.toLocaleString('en')} recently claimed), one Ed25519 key each; ${c.claimedProjects}`
  );
  out.push(
    `Setup: ${r.setup.signing.roles.toLocaleString('en')} project roles signed in ${fmt.num(r.setup.signing.ms / 1000)} s (${fmt.bytes(r.setup.signing.bytes)}, largest ${fmt.bytes(r.setup.signing.largest)}); recorded in ${fmt.num(r.setup.recordMs / 1000)} s; ` +
      `setup promotion of ${r.setup.ceremony.projects.toLocaleString('en')} in ${fmt.num((r.setup.ceremony.exportMs + r.setup.ceremony.signMs + r.setup.ceremony.importMs) / 1000)} s; first publication ${fmt.num(r.setup.firstPublication.ms / 1000)} s (${r.setup.firstPublication.roles.toLocaleString('en')} roles)`
  );
  out.push(`Load ${fmt.num(r.load.seconds.total)} s; clone of database and data dir ${fmt.num(r.clone.ms / 1000)} s (CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY, cp -a)`);
  if (r.new.migration) {
    const m = r.new.migration;
    out.push(`New layout: migration ceremony (${m.roles} roles, ${fmt.bytes(m.signedBytes)} carried back): export ${fmt.num(m.exportMs / 1000)} s, sign ${fmt.num(m.signMs / 1000)} s, import ${fmt.num(m.importMs / 1000)} s; publication after it ${fmt.num((r.new.publishAfterMigrationMs ?? 0) / 1000)} s`);
  }
  out.push('');
  for (const l of [r.old, r.new]) {
    out.push(`${l.layout === 'old' ? 'OLD layout (direct delegations, classic snapshot; client in classic mode)' : 'NEW layout (name bins, snapshot Merkle tree; Merkle client)'}: bytes between proxy and index`);
    const rows: string[][] = [];
    for (const [k, label] of PROBES) {
      const i = l.installs[k];
      rows.push(installLine(`${label}: cold install`, i.cold), installLine(`${label}: again after an upload elsewhere`, i.afterUpload), installLine(`${label}: again after a claim elsewhere`, i.afterClaim));
    }
    out.push(table(['install (page + one file)', 'metadata', 'requests', 'page + file', 'proxy CPU'], rows));
    const upd = PROBES.map(([k, label]) => {
      const u = l.installs[k].updaterCpuMs;
      return u ? `${label} ${fmt.ms(u.median)} ms steady (runs 2–6 ${u.early === undefined ? '–' : `${fmt.ms(u.early)} ms`}; first in a new process ${fmt.ms(u.first)} ms)` : `${label} –`;
    });
    out.push(`client CPU per warm refresh + lookup, updater alone: ${upd.join('; ')}`);
    const ce = l.ceremony;
    out.push(
      `ceremony of ${ce.projects.toLocaleString('en')} projects: ${ce.roles} role(s), carried out ${fmt.bytes(ce.exportedBytes)}, back ${fmt.bytes(ce.signedBytes)}; export ${fmt.num(ce.exportMs / 1000, 2)} s, sign ${fmt.num(ce.signMs / 1000, 2)} s, import ${fmt.num(ce.importMs / 1000, 2)} s; publication after it ${fmt.num(l.publishAfterCeremonyMs / 1000, 2)} s`
    );
    out.push(
      `publications: ${l.publications.n} uploads, median ${fmt.ms(l.publications.ms.median)} ms, p99 ${fmt.ms(l.publications.ms.p99)} ms (end to end median ${fmt.ms(l.publications.endToEndMs.median)} ms); ${fmt.num(l.publications.rolesPerPublication)} roles per publication${l.publications.phasesMs ? `; median build ${fmt.ms(l.publications.phasesMs.build)} ms, files + timestamp signed ${fmt.ms(l.publications.phasesMs.write)} ms, commit + timestamp.json ${fmt.ms(l.publications.phasesMs.commit)} ms` : ''}`
    );
    out.push(`sizes: ${Object.entries(l.sizes).map(([k, v]) => `${k} ${fmt.bytes(v)}`).join(', ')}`);
    out.push(`peak RSS: layout process ${mib(l.peakRss)}, proxies ${PROBES.map(([k]) => mib(l.installs[k].proxyPeakRss)).join(' / ')}; PostgreSQL largest process ${mib(l.stats.postgres?.largestProcess ?? 0)}`);
    out.push('');
  }
  out.push(table(['target (new layout; old for comparison)', 'old', 'new', 'target', 'verdict'], r.targets.rows.map((t) => [t.measure, value(t.old, t.unit), value(t.new, t.unit), value(t.target, t.unit), t.verdict])));
  out.push(`auditor lag: ${r.auditorLag}`);
  out.push('');
  const d = r.disk;
  out.push(`disk: PostgreSQL cluster ${(d.postgresDirBytes / 2 ** 30).toFixed(2)} GiB (two databases: ${(d.databaseBytes / 2 ** 30).toFixed(2)} + ${(d.secondDatabaseBytes / 2 ** 30).toFixed(2)} GiB), data dirs ${(d.dataDirBytes / 2 ** 30).toFixed(2)} + ${(d.secondDataDirBytes / 2 ** 30).toFixed(2)} GiB: ${(d.totalBytes / 2 ** 30).toFixed(2)} GiB in all`);
  const phases: [string, PhaseStats][] = [['init', r.init.stats], ['load', r.load.stats], ['setup', r.setup.stats], ['clone', r.clone.stats], ['old layout', r.old.stats], ['new layout', r.new.stats]];
  out.push(
    table(
      ['phase', 'wall s', 'ours CPU-s', 'others CPU-s', ''],
      phases.map(([n, s]) => [n, fmt.num(s.seconds), fmt.num(s.ownCpuSeconds), fmt.num(s.otherCpuSeconds), s.otherCpuSeconds > 0.1 * s.seconds ? 'WARNING: disturbed (figures are upper bounds)' : ''])
    )
  );
  return `${out.join('\n')}\n`;
}

main().then(
  (r) => {
    if (flags.out) writeFileSync(flags.out, `${JSON.stringify(r, null, 2)}\n`);
    process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : report(r));
    process.exit(0); // the PostgreSQL cluster is stopped by the exit handler
  },
  (e: unknown) => {
    note(`pypi-claiming-bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
);
