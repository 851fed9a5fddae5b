// SPDX-License-Identifier: Apache-2.0
// Child process of bench/pypi-claiming-bench.ts, on the repository bench/pypi-scale-load.ts
// filled (every project unclaimed, every bin dirty; old layout, classic snapshot only):
//   1. probes: the projects the proxy will install (one to be claimed, one to be recently
//      claimed, one unclaimed) get a real release through the real upload path, so that their
//      pages and one file exist as blobs; a new project gets one too, to be claimed "elsewhere"
//      during the measurements (a claim checks that every target it lists is stored)
//   2. every claim signed: one seeded Ed25519 key and a version-1 project role per project
//   3. the first claims recorded, and promoted by a ceremony (export, sign, import)
//   4. the first publication (every bin, every project role, claimed, recently-claimed)
// The claims of the later stages are written to files for the layout children.
// Prints one JSON object (SetupResult).
//   node dist/bench/pypi-claiming-setup.js '<SetupArgs as JSON>'
import { readFile, writeFile } from 'node:fs/promises';
import pg from 'pg';
import { isValidProjectName } from '../src/packaging/index.js';
import { exportPromotion, importPromotion } from '../src/repository/ceremony.js';
import { silentLogger } from '../src/repository/logger.js';
import { Repository } from '../src/repository/repository.js';
import { expiresIn } from '../src/tuf/index.js';
import { note, progress, watchMemory } from './common.js';
import { runCeremony, type CeremonyTiming } from './pypi-claiming-ceremony.js';
import { claimsToLines, drawProjects, recordClaims, signClaims } from './pypi-claiming-claims.js';
import { distributionStem, type PlannedUpload } from './pypi-scale-data.js';
import { uploadPlanned } from './pypi-scale-upload.js';

/**
 * This process is the only publisher. At PyPI's size its first publications hold the event loop
 * for seconds at a time (parsing and signing roles of tens of MiB), longer than the default
 * 10 s lease under a loaded machine: the lease then ran out and the publication was abandoned.
 */
const BENCH_LEADER_TTL_MS = 30 * 60_000;

export interface SetupArgs {
  dataDir: string;
  databaseUrl: string;
  seed: number;
  user: string;
  /** claimed at setup (promoted by the setup ceremony) */
  claimedAtSetup: number;
  /** claimed later, then promoted by the measured ceremony */
  ceremonyProjects: number;
  /** claimed last, left in recently-claimed */
  recentlyClaimed: number;
  /** the loader's upload plan (read), and this run's files (written: `<stage>.json`, `.ceremony.jsonl`, `.recent.jsonl`) */
  planFile: string;
  stage: string;
}

/** A project the proxy installs: its name and the real file it fetches. */
export interface Probe {
  project: string;
  filename: string;
}

export interface Stage {
  probes: { claimed: Probe; recentlyClaimed: Probe; unclaimed: Probe; claimElsewhere: Probe };
  /** uploads to unclaimed projects, for the measurements */
  plan: PlannedUpload[];
}

export interface SetupResult {
  probesMs: number;
  signing: { roles: number; ms: number; bytes: number; largest: number };
  recordMs: number;
  ceremony: CeremonyTiming;
  firstPublication: { ms: number; roles: number };
  memory: { maxRss: number };
}

const CLAIM_ELSEWHERE = 'bulwark-bench-claim-elsewhere';

async function main(a: SetupArgs): Promise<SetupResult> {
  const memory = watchMemory();
  const client = new pg.Client({ connectionString: a.databaseUrl });
  await client.connect();
  const display = new Map(((await client.query('SELECT name, display_name FROM projects')).rows as { name: string; display_name: string }[]).map((r) => [r.name, r.display_name]));
  await client.end();
  const names = [...display.keys()].sort();
  const total = a.claimedAtSetup + a.ceremonyProjects + a.recentlyClaimed;
  const drawn = drawProjects(names, total, a.seed);
  const claimSet = new Set(drawn);
  const atSetup = drawn.slice(0, a.claimedAtSetup);
  const atCeremony = drawn.slice(a.claimedAtSetup, a.claimedAtSetup + a.ceremonyProjects);
  const recent = drawn.slice(a.claimedAtSetup + a.ceremonyProjects);
  const uploadable = (p: string) => isValidProjectName(display.get(p) ?? '');
  const pick = (list: readonly string[], what: string) => {
    const p = list.find(uploadable);
    if (!p) throw new Error(`no ${what} project has a name the upload checks accept`);
    return p;
  };
  const unclaimed = pick(drawProjects(names, Math.min(names.length, total + 1000), a.seed + 1).filter((p) => !claimSet.has(p)), 'unclaimed');
  const probeUpload = (project: string): PlannedUpload => ({
    project,
    displayName: display.get(project) ?? project,
    version: '2027.0.0',
    filename: `${distributionStem(project)}-2027.0.0.tar.gz`,
    size: 40_000,
  });
  const uploads = [pick(atSetup, 'claimed'), pick(recent, 'recently claimed'), unclaimed, CLAIM_ELSEWHERE].map(probeUpload);
  const probe = (u: PlannedUpload): Probe => ({ project: u.project, filename: u.filename });
  const plan = (JSON.parse(await readFile(a.planFile, 'utf8')) as PlannedUpload[]).filter((u) => !claimSet.has(u.project) && u.project !== unclaimed);
  const stage: Stage = {
    probes: { claimed: probe(uploads[0] as PlannedUpload), recentlyClaimed: probe(uploads[1] as PlannedUpload), unclaimed: probe(uploads[2] as PlannedUpload), claimElsewhere: probe(uploads[3] as PlannedUpload) },
    plan,
  };

  // 1. Probes: real releases, applied by the transaction worker (published with the rest in 4).
  const t0 = performance.now();
  let repo = await Repository.open(a.dataDir, { databaseUrl: a.databaseUrl, log: silentLogger, leaderTtlMs: BENCH_LEADER_TTL_MS });
  try {
    repo.publisher.disable();
    const user = await repo.state.userByName(a.user);
    if (!user) throw new Error(`no user ${a.user}`);
    for (const [k, u] of uploads.entries()) await uploadPlanned(repo, user, u, 100_000 + k, a.seed, () => repo.worker.idle());
  } finally {
    await repo.close();
  }
  const probesMs = performance.now() - t0;

  // 2. Every claim signed, as each developer would with `bulwark claim`.
  const signClient = new pg.Client({ connectionString: a.databaseUrl });
  await signClient.connect();
  const bar = progress('signing project roles', total);
  const ts = performance.now();
  const claims = await signClaims(signClient, drawn, a.seed, expiresIn(new Date(), 365 * 24 * 3600 * 1000), bar);
  const signMs = performance.now() - ts;
  bar.stop();
  await signClient.end();
  const sizes = claims.map((c) => c.bytes.length);
  await writeFile(`${a.stage}.ceremony.jsonl`, claimsToLines(claims.slice(atSetup.length, atSetup.length + atCeremony.length)));
  await writeFile(`${a.stage}.recent.jsonl`, claimsToLines(claims.slice(atSetup.length + atCeremony.length)));
  await writeFile(`${a.stage}.json`, JSON.stringify(stage));

  // 3. The first claims, promoted at once.
  const recBar = progress('recording claims', atSetup.length);
  const tr = performance.now();
  await recordClaims(a.databaseUrl, claims.slice(0, atSetup.length), new Date().toISOString(), recBar);
  const recordMs = performance.now() - tr;
  recBar.stop();
  claims.length = 0;
  repo = await Repository.open(a.dataDir, { databaseUrl: a.databaseUrl, log: silentLogger, leaderTtlMs: BENCH_LEADER_TTL_MS });
  try {
    await repo.publisher.init();
    note(`setup ceremony: promoting ${atSetup.length} projects…`);
    const ceremony = await runCeremony(repo, `${a.stage}.setup-promotion.json`, (r) => exportPromotion(r), (r, f) => importPromotion(r, f));

    // 4. The first publication.
    note('first publication: every bin, every project role, claimed and recently-claimed…');
    const tp = performance.now();
    const first = await repo.publisher.publish();
    const publishMs = performance.now() - tp;
    if (!first) throw new Error('the first publication found nothing to publish');
    note('compressing the published metadata…');
    return {
      probesMs,
      signing: { roles: sizes.length, ms: signMs, bytes: sizes.reduce((x, y) => x + y, 0), largest: sizes.reduce((x, y) => Math.max(x, y), 0) },
      recordMs,
      ceremony,
      firstPublication: { ms: publishMs, roles: first.roles.length },
      memory: { maxRss: memory.maxRss() },
    };
  } finally {
    await repo.close();
    memory.stop();
  }
}

main(JSON.parse(process.argv[2] ?? '{}') as SetupArgs).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    note(`pypi-claiming-setup failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
);
