// SPDX-License-Identifier: Apache-2.0
// Child process of bench/pypi-scale-bench.ts: fills a fresh repository's state with a synthetic
// PyPI (bench/pypi-scale-data.ts) in one transaction, and marks every bin dirty, so that the
// next publication signs them all. Rows per project, as the upload path and the transaction
// worker would leave them once published: the project, its owner (the benchmark's user), one
// journal entry (state published), its files, and its target rows (each file, each wheel's
// PEP 658 metadata file, index.html and index.json) in the bins the published unclaimed role
// assigns them. Prints one JSON object (LoadResult) on standard output.
//   node dist/bench/pypi-scale-load.js '<LoadArgs as JSON>'
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../src/repository/logger.js';
import { DATABASE_FILE } from '../src/repository/paths.js';
import { Repository } from '../src/repository/repository.js';
import { projectTargets } from '../src/repository/transaction-worker.js';
import { note, prng, progress, watchMemory } from './common.js';
import { assignFileCounts, fileCountStats, planUploads, readProjectList, syntheticFiles, syntheticPages, type ScaleProject } from './pypi-scale-data.js';
import { addRow, emptyBatch, PgSink, SqliteSink, type Columns, type Sink } from './pypi-scale-sinks.js';

export interface LoadArgs {
  dataDir: string;
  databaseUrl: string | null;
  list: string;
  /** 0: every line */
  projects: number;
  files: number;
  seed: number;
  /** uploads to plan for the publication phase, written to `planFile` */
  uploads: number;
  planFile: string;
  user: string;
}

export interface LoadResult {
  listLines: number;
  projects: number;
  collisions: number;
  invalidVersions: number;
  files: number;
  wheels: number;
  rows: { projects: number; project_roles: number; journal: number; files: number; targets: number };
  filesPerProject: ReturnType<typeof fileCountStats>;
  dirtyBins: number;
    /** generate overlaps the inserts on PostgreSQL; waitForInserts is the time the loader waited beyond that */
  seconds: { read: number; generate: number; waitForInserts: number; commit: number; settle: number; markDirty: number; total: number };
  settle: string;
  memory: { peakSampledRss: number; maxRss: number };
  cpuSeconds: number;
}

/** Projects per batch: ~30,000 files and ~55,000 target rows at PyPI's mean. */
const BATCH = 5000;

/** The rows of a batch of projects, per table, in an order their foreign keys allow. */
interface BatchRows {
  projects: Columns<'projects'>;
  project_roles: Columns<'project_roles'>;
  journal: Columns<'journal'>;
  files: Columns<'files'>;
  targets: Columns<'targets'>;
}

interface RowContext {
  rand: () => number;
  userId: number;
  binOf: (path: string) => string;
}

/**
 * The rows of `batch`, its journal entries numbered from `firstSeq`. It yields to the event loop
 * every few hundred projects, so that the previous batch's INSERTs go on meanwhile (pg sends a
 * queued statement only from the event loop): generation and the database then use both cores.
 */
async function batchRows(batch: readonly ScaleProject[], firstSeq: number, ctx: RowContext): Promise<BatchRows> {
  const rows: BatchRows = {
    projects: emptyBatch('projects'),
    project_roles: emptyBatch('project_roles'),
    journal: emptyBatch('journal'),
    files: emptyBatch('files'),
    targets: emptyBatch('targets'),
  };
  for (const [i, p] of batch.entries()) {
    if (i % 250 === 0) await new Promise((r) => setImmediate(r));
    const seq = firstSeq + i;
    addRow(rows.projects, { name: p.name, display_name: p.displayName, created_at: p.uploadTime });
    addRow(rows.project_roles, { project: p.name, user_id: ctx.userId, role: 'owner' });
    // Published by the benchmark's first publication: snapshot version 2 (init made 1).
    addRow(rows.journal, { seq, kind: 'upload', project: p.name, state: 'published', created_at: p.uploadTime, applied_at: p.uploadTime, published_version: 2 });
    const files = syntheticFiles(p, ctx.rand);
    for (const f of files) {
      addRow(rows.files, {
        project: p.name, version: f.version, filename: f.filename, packagetype: f.packagetype, python_version: f.pythonVersion, size: f.size,
        sha256: f.sha256, metadata_sha256: f.metadataSha256, metadata_size: f.metadataSize, upload_time: p.uploadTime, uploader_id: ctx.userId, journal_seq: seq,
      });
    }
    for (const t of projectTargets(p.name, files, syntheticPages(p, files.length, ctx.rand), ctx.binOf)) addRow(rows.targets, t);
  }
  return rows;
}

async function insertBatch(sink: Sink, rows: BatchRows): Promise<void> {
  await sink.insert('projects', rows.projects);
  await sink.insert('project_roles', rows.project_roles);
  await sink.insert('journal', rows.journal);
  await sink.insert('files', rows.files);
  await sink.insert('targets', rows.targets);
}

async function main(args: LoadArgs): Promise<LoadResult> {
  const memory = watchMemory();
  const t0 = performance.now();
  // The bins and the user exactly as the repository sees them.
  const repo = await Repository.open(args.dataDir, { databaseUrl: args.databaseUrl ?? undefined, log: silentLogger });
  const bins = repo.bins;
  const user = await repo.state.userByName(args.user);
  await repo.close();
  if (!user) throw new Error(`no user ${args.user} in ${args.dataDir}`);

  const list = readProjectList(args.list, args.projects);
  const { projects } = list;
  assignFileCounts(projects, args.files, args.seed);
  writeFileSync(args.planFile, JSON.stringify(planUploads(projects, args.uploads, args.seed)));
  const tRead = performance.now();

  const sink: Sink = args.databaseUrl ? await PgSink.connect(args.databaseUrl) : new SqliteSink(join(args.dataDir, DATABASE_FILE));
  const rows = { projects: 0, project_roles: 0, journal: 0, files: 0, targets: 0 };
  let generateMs = 0;
  let waitMs = 0;
  let wheels = 0;
  try {
    const firstSeq = (await sink.maxJournalSeq()) + 1;
    await sink.begin();
    const ctx: RowContext = { rand: prng(args.seed), userId: user.id, binOf: (path) => bins.roleForTarget(path) };
    const bar = progress('loading projects', projects.length);
    let inserting: Promise<void> = Promise.resolve();
    for (let start = 0; start < projects.length; start += BATCH) {
      const tg = performance.now();
      const batch = projects.slice(start, start + BATCH);
      const next = await batchRows(batch, firstSeq + start, ctx);
      const tw = performance.now();
      generateMs += tw - tg;
      await inserting;
      waitMs += performance.now() - tw;
      inserting = insertBatch(sink, next);
      inserting.catch(() => undefined); // awaited (and thrown) at the next batch
      if (!sink.concurrent) {
        const ts = performance.now();
        await inserting;
        waitMs += performance.now() - ts;
      }
      for (const table of Object.keys(rows) as (keyof BatchRows)[]) rows[table] += (Object.values(next[table])[0] as unknown[]).length;
      wheels += next.files.metadata_sha256.filter((m) => m !== null).length;
      bar.tick(batch.length);
    }
    const tw = performance.now();
    await inserting;
    waitMs += performance.now() - tw;
    bar.stop();
    const tc = performance.now();
    await sink.commit();
    const tCommit = performance.now();
    note('load committed; settling the database after the bulk import…');
    const settle = await sink.settle();
    const tSettled = performance.now();
    // Bins marked dirty only now: ANALYZE (in settle) must see the roles as they are between
    // publications, almost none dirty, or PostgreSQL plans the dirty-roles query as a scan.
    const binNames = [...bins.roleNames()];
    await sink.markDirty(binNames);
    const tEnd = performance.now();
    const cpu = process.cpuUsage();
    return {
      listLines: list.lines,
      projects: projects.length,
      collisions: list.collisions,
      invalidVersions: list.invalidVersions,
      files: rows.files,
      wheels,
      rows,
      filesPerProject: fileCountStats(projects),
      dirtyBins: binNames.length,
      seconds: {
        read: (tRead - t0) / 1000,
        generate: generateMs / 1000,
        waitForInserts: waitMs / 1000,
        commit: (tCommit - tc) / 1000,
        settle: (tSettled - tCommit) / 1000,
        markDirty: (tEnd - tSettled) / 1000,
        total: (tEnd - t0) / 1000,
      },
      settle,
      memory: { peakSampledRss: memory.peakSampledRss(), maxRss: memory.maxRss() },
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  } finally {
    memory.stop();
    await sink.close();
  }
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
main(args).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    note(`pypi-scale-load failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
);
