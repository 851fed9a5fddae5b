// SPDX-License-Identifier: Apache-2.0
// PyPI-scale benchmark: a 16,384-bin repository holding PyPI's 886,300 real project names and
// 5,000,000 files (metadata only: no blob is written for them), on PostgreSQL or SQLite.
//
//   init     `bulwark init --bins N` (demo) and `bulwark user add bench` (with --database, the
//            first open moves the embedded state into the empty PostgreSQL database)
//   load     child process bench/pypi-scale-load.ts: every row in one transaction, bins dirty
//   publish  child process bench/pypi-scale-publish.ts: the first publication (every bin), then
//            uploads one at a time through the real path, each until it is published
//
// It reports load time, publication times, snapshot and bin sizes, database size, the peak
// memory of every process (ours and PostgreSQL's) and the CPU other processes took meanwhile.
// Targets (issue): a publication at PyPI size ≤ 50 ms; no process above 4 GB.
//
// Run: node dist/bench/pypi-scale-bench.js [--database postgres|sqlite] [--projects N --files M] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PUBLIC_DIR } from '../src/repository/paths.js';
import { startPostgres, type PgCluster } from '../test/helpers/postgres.js';
import { bulwarkBin, fmt, machine, note, parseFlags, table, verdict, type Summary } from './common.js';
import { cpuMark, cpuWindow, databaseSize, directorySize, lastJsonLine, phase, runNode, type CpuMark, type CpuWindow, type PhaseStats, type PostgresMemory } from './pypi-scale-processes.js';
import type { LoadArgs, LoadResult } from './pypi-scale-load.js';
import type { PublishArgs, PublishPhaseResult } from './pypi-scale-publish.js';

const flags = parseFlags('node dist/bench/pypi-scale-bench.js [flags]', {
  database: { default: 'postgres', help: "state store: 'postgres' (a throwaway cluster, fsync on) or 'sqlite' (the embedded file)" },
  projects: { default: 0, help: 'projects from the list (0: every line; fewer: every k-th line)' },
  files: { default: 5_000_000, help: 'files spread over the projects (each at least one)' },
  bins: { default: 16384, help: 'hashed bins (power of two)' },
  uploads: { default: 50, help: 'uploads after the first publication, each timed until published' },
  warmup: { default: 2, help: 'uploads made first and not timed' },
  seed: { default: 1, help: 'seed of every invented value (file counts, sizes, hashes)' },
  list: { default: '/work/shared/data/pypi-projects.tsv.gz', help: 'TSV (name, version, month, rank), gzip' },
  dir: { default: tmpdir(), help: 'where to create the repository (and the PostgreSQL cluster lives in the temp dir)' },
  keep: { default: false, help: 'keep the repository directory (the PostgreSQL cluster is always removed)' },
  'publish-node-args': { default: '', help: 'node flags for the publishing child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"' },
  json: { default: false, help: 'print one JSON object instead of tables' },
});
if (flags.database !== 'postgres' && flags.database !== 'sqlite') {
  process.stderr.write(`--database must be postgres or sqlite, got ${flags.database}\n`);
  process.exit(2);
}

const here = dirname(fileURLToPath(import.meta.url));
const BENCH_USER = 'bench';
const MEMORY_TARGET = 4 * 2 ** 30;
const PUBLICATION_TARGET_MS = 50;
/** PostgreSQL as a production server would run on this machine: durable, a modest cache. */
const PG_SETTINGS = { shared_buffers: '1GB', max_wal_size: '8GB', checkpoint_timeout: '15min' };

// ---- main ---------------------------------------------------------------------------------------

interface Result {
  benchmark: 'pypi-scale';
  machine: ReturnType<typeof machine>;
  config: typeof flags & { postgresSettings: typeof PG_SETTINGS | null };
  init: { seconds: number; peakRss: number; userAddSeconds: number; userAddPeakRss: number; stats: PhaseStats };
  load: LoadResult & { peakRssFromProc: number; rowsPerSecond: number; stats: PhaseStats };
  /** windows: CPU while the first publication ran, and while the timed uploads ran */
  publish: PublishPhaseResult & { peakRssFromProc: number; stats: PhaseStats; windows: { firstPublication: CpuWindow; uploads: CpuWindow } };
  sizes: { database: { total: number; targets: number | null; files: number | null }; metadataOnDisk: { files: number; bytes: number } };
  targets: { publicationMedianMs: number; publicationP95Ms: number; largestProcessBytes: number; verdicts: { publicationMedian: string; publicationP95: string; memory: string } };
}

async function main(): Promise<Result> {
  const info = machine();
  let cluster: PgCluster | undefined;
  let url: string | undefined;
  if (flags.database === 'postgres') {
    note('starting a throwaway PostgreSQL cluster (fsync on)…');
    cluster = await startPostgres({ durable: true, settings: PG_SETTINGS });
    url = await cluster.createDatabase('pypi_scale');
  }
  const dataDir = mkdtempSync(join(flags.dir, 'bulwark-pypi-scale-'));
  const dbArgs = url ? ['--database', url] : [];
  try {
    const init = await phase('init', cluster, async () => {
      const made = await runNode([bulwarkBin, '--data', dataDir, 'init', '--bins', String(flags.bins), '--json']);
      const user = await runNode([bulwarkBin, '--data', dataDir, ...dbArgs, '--json', 'user', 'add', BENCH_USER]);
      return { made, user };
    });

    const planFile = join(dataDir, 'pypi-scale-uploads.json');
    const loadArgs: LoadArgs = {
      dataDir, databaseUrl: url ?? null, list: flags.list, projects: flags.projects, files: flags.files, seed: flags.seed,
      uploads: flags.warmup + flags.uploads, planFile, user: BENCH_USER,
    };
    const load = await phase('load', cluster, () => runNode([join(here, 'pypi-scale-load.js'), JSON.stringify(loadArgs)]));
    const loaded = lastJsonLine<LoadResult>(load.value.stdout);

    const publishArgs: PublishArgs = {
      dataDir, databaseUrl: url ?? null, planFile, uploads: flags.uploads, warmup: flags.warmup, seed: flags.seed, user: BENCH_USER,
    };
    const nodeArgs = flags['publish-node-args'].split(/\s+/).filter((a) => a.length > 0);
    const marks = new Map<string, CpuMark>();
    const publish = await phase('publish', cluster, () =>
      runNode([join(here, 'pypi-scale-publish.js'), JSON.stringify(publishArgs)], nodeArgs, (label, pid) => marks.set(label, cpuMark(cluster, pid)))
    );
    const published = lastJsonLine<PublishPhaseResult>(publish.value.stdout);
    const windows = { firstPublication: cpuWindow(marks.get('first-publication'), marks.get('uploads')), uploads: cpuWindow(marks.get('uploads'), marks.get('end')) };

    const sizes = { database: await databaseSize(dataDir, url), metadataOnDisk: directorySize(join(dataDir, PUBLIC_DIR, 'metadata')) };
    const totalRows = Object.values(loaded.rows).reduce((a, b) => a + b, 0);
    const largest = Math.max(
      init.value.made.peakRss, init.value.user.peakRss, loaded.memory.maxRss, load.value.peakRss, published.memory.maxRss, publish.value.peakRss,
      load.stats.postgres?.largestProcess ?? 0, publish.stats.postgres?.largestProcess ?? 0
    );
    const pub = published.uploads.publicationMs;
    return {
      benchmark: 'pypi-scale',
      machine: info,
      config: { ...flags, postgresSettings: cluster ? PG_SETTINGS : null },
      init: { seconds: init.value.made.seconds, peakRss: init.value.made.peakRss, userAddSeconds: init.value.user.seconds, userAddPeakRss: init.value.user.peakRss, stats: init.stats },
      load: { ...loaded, peakRssFromProc: load.value.peakRss, rowsPerSecond: totalRows / loaded.seconds.total, stats: load.stats },
      publish: { ...published, peakRssFromProc: publish.value.peakRss, stats: publish.stats, windows },
      sizes,
      targets: {
        publicationMedianMs: pub.median,
        publicationP95Ms: pub.p95,
        largestProcessBytes: largest,
        verdicts: {
          publicationMedian: verdict(pub.median, PUBLICATION_TARGET_MS),
          publicationP95: verdict(pub.p95, PUBLICATION_TARGET_MS),
          memory: verdict(largest, MEMORY_TARGET),
        },
      },
    };
  } finally {
    if (flags.keep) note(`kept ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- report -------------------------------------------------------------------------------------

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ms = (s: Summary) => [fmt.ms(s.median), fmt.ms(s.p95), fmt.ms(s.max)];

function report(r: Result): string {
  const l = r.load;
  const p = r.publish;
  const out: string[] = [];
  out.push(`\nBulwark PyPI-scale benchmark — ${r.config.database}, ${r.config.bins} bins; node ${r.machine.node}, ${r.machine.cpu}, ${r.machine.cores} cores`);
  if (r.config.postgresSettings) out.push(`PostgreSQL: throwaway cluster, fsync on, ${Object.entries(r.config.postgresSettings).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out.push(
    `Projects: ${l.projects.toLocaleString('en')} of ${l.listLines.toLocaleString('en')} lines (${l.collisions} skipped: the same name once PEP 503-normalized; ${l.invalidVersions} latest versions not PEP 440, replaced by 1.0)`
  );
  out.push(
    `Files: ${l.files.toLocaleString('en')} (${l.wheels.toLocaleString('en')} wheels, each with its .metadata target); per project median ${l.filesPerProject.median}, p90 ${l.filesPerProject.p90}, p99 ${l.filesPerProject.p99}, max ${l.filesPerProject.max} (${l.filesPerProject.maxProject}); top 15,000 hold ${fmt.pct(l.filesPerProject.top15000Share)}`
  );
  out.push(`Rows: ${Object.entries(l.rows).map(([t, n]) => `${t} ${n.toLocaleString('en')}`).join(', ')}\n`);
  out.push(
    table(
      ['phase', 'seconds', 'notes'],
      [
        ['init (bulwark init + user add)', fmt.num(r.init.seconds + r.init.userAddSeconds), `init ${fmt.num(r.init.seconds)} s`],
        ['load: read list, plan', fmt.num(l.seconds.read), ''],
        ['load: generate rows', fmt.num(l.seconds.generate), r.config.database === 'postgres' ? 'while the server inserts the previous batch' : ''],
        ['load: waiting for the inserts', fmt.num(l.seconds.waitForInserts), ''],
        ['load: commit', fmt.num(l.seconds.commit), ''],
        ['load: settle', fmt.num(l.seconds.settle), l.settle],
        ['load: mark every bin dirty', fmt.num(l.seconds.markDirty), ''],
        ['load: total', fmt.num(l.seconds.total), `${Math.round(l.rowsPerSecond).toLocaleString('en')} rows/s overall`],
        ['first publication (every bin)', fmt.num(p.first.wallMs / 1000), `${p.first.roles} roles; build ${fmt.num(p.first.phasesMs.build / 1000)} s, write ${fmt.num(p.first.phasesMs.write / 1000)} s, commit ${fmt.num(p.first.phasesMs.commit / 1000)} s; ${fmt.num(p.first.cpuSeconds)} CPU-s`],
      ]
    )
  );
  out.push('');
  out.push(`One upload at a time: ${p.uploads.n} timed after ${r.config.warmup} untimed; ${fmt.num(p.uploads.rolesPerPublication, 1)} roles written per publication (bins, snapshot, timestamp):`);
  out.push(
    table(
      ['ms', 'median', 'p95', 'max'],
      [
        ['add one upload, end to end (record → published)', ...ms(p.uploads.endToEndMs)],
        ['  record (UploadService.upload: file stored, journal entry)', ...ms(p.uploads.recordMs)],
        ['  apply + queues (transaction worker)', ...ms(p.uploads.applyAndQueueMs)],
        ['  PUBLICATION (SnapshotProcess.publish)', ...ms(p.uploads.publicationMs)],
        ['    build (inputs, bins signed)', ...ms(p.uploads.publicationPhasesMs.build)],
        ['    write (bins written, snapshot + timestamp signed, snapshot written)', ...ms(p.uploads.publicationPhasesMs.write)],
        ['    commit (database, timestamp.json)', ...ms(p.uploads.publicationPhasesMs.commit)],
      ]
    )
  );
  out.push('');
  const s = p.sizes;
  out.push(
    table(
      ['size', 'bytes'],
      [
        ['snapshot.json', fmt.bytes(s.snapshotBytes)],
        ['timestamp.json', fmt.bytes(s.timestampBytes)],
        [`bins (${s.bins.count}): smallest / median / largest`, `${fmt.bytes(s.bins.min)} / ${fmt.bytes(s.bins.median)} / ${fmt.bytes(s.bins.max)}`],
        ['bins, all current versions', fmt.bytes(s.bins.total)],
        ['metadata, current version of every role', fmt.bytes(s.currentMetadataBytes)],
        [`metadata/ on disk (${r.sizes.metadataOnDisk.files} files, every version)`, fmt.bytes(r.sizes.metadataOnDisk.bytes)],
        [
          'database',
          `${gib(r.sizes.database.total)}${r.sizes.database.targets !== null ? ` (targets ${gib(r.sizes.database.targets)}, files ${gib(r.sizes.database.files ?? 0)}, with indexes)` : ''}`,
        ],
      ]
    )
  );
  out.push('');
  const pgRow = (name: string, m: PostgresMemory | null | undefined) =>
    m ? [[`PostgreSQL during ${name}: largest process / whole server`, `${mib(m.largestProcess)} / ${mib(m.cluster)}`]] : [];
  out.push(
    table(
      ['peak resident memory', ''],
      [
        ['bulwark init', mib(r.init.peakRss)],
        [`bulwark user add${r.config.database === 'postgres' ? ' (moves the state into PostgreSQL)' : ''}`, mib(r.init.userAddPeakRss)],
        ['loader (ru_maxrss)', mib(l.memory.maxRss)],
        ['publisher: after the first publication / whole run (ru_maxrss)', `${mib(p.first.memory.maxRss)} / ${mib(p.memory.maxRss)}`],
        ['publisher: sampled rss peak, first publication / uploads', `${mib(p.first.memory.peakSampledRss)} / ${mib(p.uploads.memory.peakSampledRss)}`],
        ...pgRow('load', l.stats.postgres),
        ...pgRow('publish', p.stats.postgres),
      ]
    )
  );
  out.push('');
  const cpuRow = (name: string, st: CpuWindow) => [
    name,
    fmt.num(st.seconds),
    fmt.num(st.ownCpuSeconds),
    fmt.num(st.otherCpuSeconds),
    st.otherCpuSeconds > 0.1 * st.seconds ? 'WARNING: disturbed' : '',
  ];
  out.push(
    table(
      ['phase', 'wall s', 'ours CPU-s', 'others CPU-s', ''],
      [
        cpuRow('init', r.init.stats),
        cpuRow('load', l.stats),
        cpuRow('publish', p.stats),
        cpuRow('  first publication', p.windows.firstPublication),
        cpuRow('  timed uploads', p.windows.uploads),
      ]
    )
  );
  out.push('');
  const w = p.windows.uploads;
  out.push(
    `target: a publication at PyPI size ≤ ${PUBLICATION_TARGET_MS} ms: median ${fmt.ms(r.targets.publicationMedianMs)} ms (${r.targets.verdicts.publicationMedian}), p95 ${fmt.ms(r.targets.publicationP95Ms)} ms (${r.targets.verdicts.publicationP95})` +
      (w.otherCpuSeconds > 0.1 * w.seconds ? ` — WARNING: other processes used ${fmt.num(w.otherCpuSeconds)} CPU-s during the ${fmt.num(w.seconds)} s of timed uploads` : '')
  );
  out.push(`target: no process above 4 GB: the largest peaked at ${gib(r.targets.largestProcessBytes)} (${r.targets.verdicts.memory})\n`);
  return out.join('\n');
}

main().then(
  (r) => {
    process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : report(r));
    process.exit(0); // the PostgreSQL cluster is stopped by the exit handler
  },
  (e: unknown) => {
    note(`pypi-scale-bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
);
