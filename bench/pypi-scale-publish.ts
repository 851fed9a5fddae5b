// SPDX-License-Identifier: Apache-2.0
// Child process of bench/pypi-scale-bench.ts, on the repository the loader filled: the first
// publication (every bin dirty: SnapshotProcess.publish() signs and writes them all), then
// uploads one at a time through the real path (UploadService.upload → journal → transaction
// worker → snapshot process), each timed until the snapshot that publishes it is out.
// Compression is off, as in snapshot-bench: the .gz/.br copies are made after the publication
// point and would only add background CPU. Prints one JSON object (PublishPhaseResult).
//   node dist/bench/pypi-scale-publish.js '<PublishArgs as JSON>'
import { mkdir, readFile } from 'node:fs/promises';
import { BIN_PREFIX, ROLES } from '../src/repository/layout.js';
import { silentLogger } from '../src/repository/logger.js';
import { Repository } from '../src/repository/repository.js';
import type { PublicationResult } from '../src/repository/snapshot-process.js';
import { note, progress, summarize, watchMemory, type Summary } from './common.js';
import type { PlannedUpload } from './pypi-scale-data.js';
import { uploadPlanned } from './pypi-scale-upload.js';

export interface PublishArgs {
  dataDir: string;
  databaseUrl: string | null;
  planFile: string;
  /** uploads timed after the first publication */
  uploads: number;
  /** uploads made first and not timed */
  warmup: number;
  seed: number;
  user: string;
}

interface Memory {
  peakSampledRss: number;
  maxRss: number;
}

export interface PublishPhaseResult {
  first: { wallMs: number; phasesMs: PublicationResult['ms']; roles: number; snapshotVersion: number; memory: Memory; cpuSeconds: number };
  sizes: {
    snapshotBytes: number;
    timestampBytes: number;
    bins: { count: number; min: number; median: number; max: number; total: number };
    /** every current role file plus snapshot and timestamp: what a full mirror of the metadata holds */
    currentMetadataBytes: number;
  };
  uploads: {
    n: number;
    endToEndMs: Summary;
    recordMs: Summary;
    /** end to end minus record and publication: the worker applying it, and the queues */
    applyAndQueueMs: Summary;
    publicationMs: Summary;
    publicationPhasesMs: { build: Summary; write: Summary; commit: Summary };
    rolesPerPublication: number;
    memory: Memory;
  };
  memory: Memory;
  cpuSeconds: number;
}

async function main(args: PublishArgs): Promise<PublishPhaseResult> {
  const memory = watchMemory();
  const repo = await Repository.open(args.dataDir, { databaseUrl: args.databaseUrl ?? undefined, compress: false, log: silentLogger });
  try {
    await repo.publisher.init();
    const before = repo.publisher.snapshotVersion;

    // 1. The first publication: every bin.
    note('first publication: signing and writing every bin…');
    process.send?.({ mark: 'first-publication' }); // the parent's CPU accounting, per part
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const first = await repo.publisher.publish();
    const wallMs = performance.now() - t0;
    const cpu1 = process.cpuUsage(cpu0);
    if (!first) throw new Error('the first publication found nothing to publish: did the load mark the bins dirty?');
    if (first.snapshotVersion !== before + 1) throw new Error(`expected snapshot version ${before + 1}, got ${first.snapshotVersion}`);
    const firstMemory = { peakSampledRss: memory.peakSampledRss(), maxRss: memory.maxRss() };

    const states = await repo.state.roleStates();
    const binSizes = states.filter((r) => r.name.startsWith(`${BIN_PREFIX}-`)).map((r) => r.length).sort((a, b) => a - b);
    const length = (name: string) => states.find((r) => r.name === name)?.length ?? 0;
    const sizes = {
      snapshotBytes: length(ROLES.snapshot),
      timestampBytes: length(ROLES.timestamp),
      bins: {
        count: binSizes.length,
        min: binSizes[0] ?? 0,
        median: binSizes[Math.floor(binSizes.length / 2)] ?? 0,
        max: binSizes[binSizes.length - 1] ?? 0,
        total: binSizes.reduce((a, b) => a + b, 0),
      },
      currentMetadataBytes: states.reduce((a, r) => a + r.length, 0),
    };

    // 2. One upload at a time, through the real path.
    memory.reset();
    const plan = JSON.parse(await readFile(args.planFile, 'utf8')) as PlannedUpload[];
    if (plan.length < args.warmup + args.uploads) throw new Error(`the plan has ${plan.length} uploads, ${args.warmup + args.uploads} needed`);
    const user = await repo.state.userByName(args.user);
    if (!user) throw new Error(`no user ${args.user}`);
    await mkdir(repo.tmpDir, { recursive: true });
    const publications: PublicationResult[] = [];
    repo.publisher.onPublished((r) => publications.push(r));
    const endToEnd: number[] = [];
    const record: number[] = [];
    const rest: number[] = [];
    const publication: number[] = [];
    const phases = { build: [] as number[], write: [] as number[], commit: [] as number[] };
    let roles = 0;
    const bar = progress('uploads, one at a time', args.warmup + args.uploads);
    process.send?.({ mark: 'uploads' });
    for (const [k, u] of plan.slice(0, args.warmup + args.uploads).entries()) {
      const { seq, recordMs, endToEndMs } = await uploadPlanned(repo, user, u, k, args.seed);
      bar.tick();
      const pub = publications.find((p) => p.publishedSeqs.includes(seq));
      if (!pub) throw new Error(`no publication reported for upload ${seq}`);
      if (k < args.warmup) continue;
      endToEnd.push(endToEndMs);
      record.push(recordMs);
      publication.push(pub.ms.total);
      rest.push(endToEndMs - recordMs - pub.ms.total);
      phases.build.push(pub.ms.build);
      phases.write.push(pub.ms.write);
      phases.commit.push(pub.ms.commit);
      roles += pub.roles.length;
    }
    bar.stop();
    process.send?.({ mark: 'end' });
    const n = endToEnd.length;
    const cpu = process.cpuUsage();
    return {
      first: { wallMs, phasesMs: first.ms, roles: first.roles.length, snapshotVersion: first.snapshotVersion, memory: firstMemory, cpuSeconds: (cpu1.user + cpu1.system) / 1e6 },
      sizes,
      uploads: {
        n,
        endToEndMs: summarize(endToEnd),
        recordMs: summarize(record),
        applyAndQueueMs: summarize(rest),
        publicationMs: summarize(publication),
        publicationPhasesMs: { build: summarize(phases.build), write: summarize(phases.write), commit: summarize(phases.commit) },
        rolesPerPublication: n ? roles / n : Number.NaN,
        memory: { peakSampledRss: memory.peakSampledRss(), maxRss: memory.maxRss() },
      },
      memory: { peakSampledRss: Math.max(firstMemory.peakSampledRss, memory.peakSampledRss()), maxRss: memory.maxRss() },
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  } finally {
    memory.stop();
    await repo.close();
  }
}

main(JSON.parse(process.argv[2] ?? '{}') as PublishArgs).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    note(`pypi-scale-publish failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
);
