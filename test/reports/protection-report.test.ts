// The protection report (issue 14, item 5): `bulwark report protection` and the /admin/ chart on
// a repository seeded from the shared PyPI data (an excerpt of ../shared/data/pypi-projects.tsv.gz
// taken at test time) with a few thousand projects at mixed levels. Every figure is checked
// against a computation written here from the file's lines, apart from src/reports/.
// Projects are seeded straight into the state database's projects table, as bench/ does:
// thousands of uploads and claims over HTTP would take minutes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync, gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { initDemoRepository } from '../../src/repository/init.js';
import { DATABASE_FILE } from '../../src/repository/paths.js';
import { PROTECTION_LEVELS, type ProtectionLevelName } from '../../src/repository/protection-levels.js';
import { Repository } from '../../src/repository/repository.js';
import { readDownloadWeights, WeightsFileError } from '../../src/reports/download-weights.js';
import { protectionReport, type ProtectionReport } from '../../src/reports/protection-report.js';
import { buildServer } from '../../src/server/app.js';
import { protectionSection, protectionSectionData } from '../../src/web/protection-chart.js';
import { removeTempDir, runBulwark, tempDir } from '../helpers/processes.js';
import { Client } from '../web/client.js';
import { PYPI_PROJECTS_FILE } from '../helpers/shared-data.js';

const SHARED_FILE = PYPI_PROJECTS_FILE;
const EXCERPT_LINES = 60_000;
const ADA_PASSWORD = 'lovelace analytical engine';

/** A small deterministic PRNG (mulberry32): the same levels on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pep503 = (n: string) => n.toLowerCase().replace(/[._-]+/g, '-');

interface Seeded {
  name: string;
  level: ProtectionLevelName;
}

/** The expected report, from first principles: weights, shares, then the fewest heaviest projects. */
function expected(projects: Seeded[], weight: (name: string) => number, kind: 'ranks' | 'downloads'): ProtectionReport {
  const total = projects.reduce((s, p) => s + weight(p.name), 0);
  const levels = {} as ProtectionReport['levels'];
  for (const l of PROTECTION_LEVELS) {
    const at = projects.filter((p) => p.level === l);
    levels[l] = { projects: at.length, download_share: at.reduce((s, p) => s + weight(p.name), 0) / total };
  }
  const fewest = (atLeast: ProtectionLevelName[], target: number) => {
    let got = projects.filter((p) => atLeast.includes(p.level)).reduce((s, p) => s + weight(p.name), 0);
    const candidates = projects
      .filter((p) => !atLeast.includes(p.level) && weight(p.name) > 0)
      .sort((a, b) => weight(b.name) - weight(a.name) || (a.name < b.name ? -1 : 1));
    const out: string[] = [];
    for (const c of candidates) {
      if (got / total >= target - 1e-12) break;
      out.push(c.name);
      got += weight(c.name);
    }
    return out;
  };
  const dev: ProtectionLevelName[] = ['recently-claimed', 'claimed'];
  const twoFactor: ProtectionLevelName[] = ['two-factor', 'recently-claimed', 'claimed'];
  return {
    levels,
    invite: { developer_signed_50: fewest(dev, 0.5), developer_signed_80: fewest(dev, 0.8), two_factor_50: fewest(twoFactor, 0.5), two_factor_80: fewest(twoFactor, 0.8) },
    weights: kind,
  };
}

function assertSameReport(got: ProtectionReport, want: ProtectionReport): void {
  assert.equal(got.weights, want.weights);
  for (const l of PROTECTION_LEVELS) {
    assert.equal(got.levels[l].projects, want.levels[l].projects, `${l}: projects`);
    assert.ok(Math.abs(got.levels[l].download_share - want.levels[l].download_share) < 1e-9, `${l}: share ${got.levels[l].download_share} ≠ ${want.levels[l].download_share}`);
  }
  assert.deepEqual(got.invite, want.invite);
}

describe('protection report on a repository seeded from the shared PyPI data', () => {
  let dataDir: string;
  let repo: Repository;
  let app: FastifyInstance;
  let url: string;
  let seeded: Seeded[];
  let rankWeight: (name: string) => number;
  let downloadsOf: Map<string, number>;
  const ranksFile = () => join(dataDir, 'ranks.tsv.gz');
  const downloadsFile = () => join(dataDir, 'downloads.tsv');

  before(async () => {
    assert.ok(SHARED_FILE, 'shared/data/pypi-projects.tsv.gz lies beside the repository (../shared)');
    const lines = gunzipSync(readFileSync(SHARED_FILE)).toString('utf8').split('\n').slice(0, EXCERPT_LINES + 1);
    const [header, ...rows] = lines;
    dataDir = await tempDir('protection-report');
    await writeFile(ranksFile(), gzipSync(`${[header, ...rows].join('\n')}\n`));

    // The weights, computed here: rank^-1, and for the unranked the mean of r^-1 over the ranks
    // after the last ranked one, up to the number of projects in the excerpt.
    const parsed = rows.map((l) => l.split('\t')).map(([name, , , rank]) => ({ name: pep503(name!), rank: rank ? Number(rank) : undefined }));
    const ranked = new Map(parsed.filter((p) => p.rank).map((p) => [p.name, 1 / p.rank!]));
    const all = new Set(parsed.map((p) => p.name));
    let tailSum = 0;
    for (let r = all.size; r > ranked.size; r--) tailSum += 1 / r;
    const tail = tailSum / (all.size - ranked.size);
    rankWeight = (name) => ranked.get(name) ?? (all.has(name) ? tail : 0);
    assert.ok(ranked.size > 500, `the excerpt has ranked projects (${ranked.size})`);

    // A few thousand projects: every ranked one of the excerpt, every 25th unranked one, and a few
    // that are not on PyPI at all (no downloads known), at mixed levels (no two-factor yet).
    const rand = prng(14);
    const names = [...parsed.filter((p) => p.rank).map((p) => p.name), ...parsed.filter((p, i) => !p.rank && i % 25 === 0).map((p) => p.name), 'zz-not-on-pypi-1', 'zz-not-on-pypi-2'];
    seeded = [...new Set(names)].map((name) => {
      const x = rand();
      return { name, level: x < 0.6 ? 'unclaimed' : x < 0.85 ? 'recently-claimed' : 'claimed' };
    });
    downloadsOf = new Map(seeded.map((p, i) => [p.name, (i * 7919) % 100_000]));
    await writeFile(downloadsFile(), `name\tdownloads\n${[...downloadsOf].map(([n, d]) => `${n.toUpperCase()}\t${d}`).join('\n')}\n`);

    await initDemoRepository(dataDir, { bins: 16 });
    const db = new Database(join(dataDir, DATABASE_FILE));
    const insert = db.prepare('INSERT INTO projects (name, display_name, created_at, protection) VALUES (?, ?, ?, ?)');
    db.transaction(() => seeded.forEach((p) => insert.run(p.name, p.name, '2026-01-01T00:00:00.000Z', p.level)))();
    db.close();
    const config = JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ ...config, protectionWeights: { ranks: 'ranks.tsv.gz' } }));

    repo = await Repository.open(dataDir);
    await repo.start();
    app = await buildServer(repo, {});
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await app?.close();
    await repo?.close();
    if (dataDir) await removeTempDir(dataDir);
  });

  it('--ranks --json: shares per level and the shortest invitation lists match an independent computation', async () => {
    const r = await runBulwark(['--data', dataDir, '--json', 'report', 'protection', '--ranks', ranksFile()]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as ProtectionReport;
    const want = expected(seeded, rankWeight, 'ranks');
    assertSameReport(got, want);
    assert.equal(got.levels['two-factor'].projects, 0);
    assert.ok(want.invite.developer_signed_80.length > want.invite.developer_signed_50.length, 'the 80 % list is longer than the 50 % one');
    assert.ok(want.invite.developer_signed_50.length > 0);
  });

  it('--downloads: names match after PEP 503 normalization; the text output lists the levels', async () => {
    const json = await runBulwark(['--data', dataDir, '--json', 'report', 'protection', '--downloads', downloadsFile()]);
    assert.equal(json.code, 0, json.stderr);
    assertSameReport(JSON.parse(json.stdout) as ProtectionReport, expected(seeded, (n) => downloadsOf.get(n) ?? 0, 'downloads'));
    const text = await runBulwark(['--data', dataDir, 'report', 'protection', '--downloads', downloadsFile()]);
    assert.equal(text.code, 0, text.stderr);
    for (const l of PROTECTION_LEVELS) assert.match(text.stdout, new RegExp(`^  ${l} +\\d+ projects +[\\d.]+ %$`, 'm'));
    assert.match(text.stdout, /Invite to claim for 80 % developer-signed \(\d+\):/);
  });

  it('refuses a bad weights file with a typed error naming the line, and needs exactly one of the two', async () => {
    const bad = join(dataDir, 'bad-ranks.tsv');
    await writeFile(bad, 'name\tversion\tmonth\trank_among_15000_most_downloaded\nnumpy\t1\t2026-01\t1\nevil\t1\t2026-01\t-3\n');
    const r = await runBulwark(['--data', dataDir, '--json', 'report', 'protection', '--ranks', bad]);
    assert.equal(r.code, 2);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string; message: string } }).error.code, 'BAD_WEIGHTS_FILE');
    assert.match(r.stdout, /line 3: the rank must be a whole number/);
    const neither = await runBulwark(['--data', dataDir, 'report', 'protection']);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /exactly one of --downloads FILE or --ranks FILE/);
  });

  it('/admin/ shows the chart as inline SVG, with today\'s point at the developer-signed share', async () => {
    await repo.accounts.addUser('ada', { admin: true });
    const pw = await runBulwark(['--data', dataDir, 'user', 'password', 'ada'], { env: { BULWARK_PASSWORD: ADA_PASSWORD } });
    assert.equal(pw.code, 0, pw.stderr);
    const ada = new Client(url);
    await ada.login('ada', ADA_PASSWORD);
    const page = await ada.request('/admin/');
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /script-src/);
    const svg = /<svg [^>]*data-chart="protection"[\s\S]*?<\/svg>/.exec(page.body);
    assert.ok(svg, 'the page has the protection chart');
    const want = expected(seeded, rankWeight, 'ranks');
    const today = want.levels['recently-claimed'].download_share + want.levels.claimed.download_share;
    const point = /<circle [^>]*data-point="today" data-share="([\d.e-]+)"/.exec(svg[0]);
    assert.ok(point, "today's point is marked");
    assert.ok(Math.abs(Number(point[1]) - today) < 1e-9, `today's point ${point[1]} ≠ ${today}`);
    assert.match(svg[0], new RegExp(`today: ${(today * 100).toFixed(1)} %`));
    assert.match(svg[0], /<polyline points="48\.0,[\d.]+ /, 'the developer-signed line starts at 0 projects invited');
    assert.match(page.body, /<th scope="row">two-factor<\/th><td class="num">0<\/td>/);
    assert.doesNotMatch(page.body, /<script/);
  });
});

describe('protection report: the two-factor level and the admin section without weights', () => {
  it('counts two-factor projects as protected for the two-factor lists only', () => {
    const weights = { kind: 'downloads' as const, byName: new Map([['a', 50], ['b', 30], ['c', 20]]) };
    const projects = [
      { name: 'a', protection: 'two-factor' as const },
      { name: 'b', protection: 'unclaimed' as const },
      { name: 'c', protection: 'claimed' as const },
    ];
    const r = protectionReport(projects, weights);
    const seededLike = projects.map((p) => ({ name: p.name, level: p.protection }));
    assertSameReport(r, expected(seededLike, (n) => weights.byName.get(n) ?? 0, 'downloads'));
    assert.deepEqual(r.invite, { developer_signed_50: ['a'], developer_signed_80: ['a', 'b'], two_factor_50: [], two_factor_80: ['b'] });
  });

  it('refuses hostile weights files with a typed error: corrupt gzip, negative downloads, no rank column', async () => {
    const dir = await tempDir('weights');
    try {
      const cases: [string, Buffer | string, 'ranks' | 'downloads', RegExp][] = [
        ['corrupt.gz', Buffer.concat([gzipSync('name\tdownloads\nnumpy\t5\n').subarray(0, 20), Buffer.from('garbage')]), 'downloads', /corrupt\.gz: not a valid gzip file/],
        ['negative.tsv', 'numpy\t5\nevil\t-5\n', 'downloads', /negative\.tsv, line 2: downloads must be a number ≥ 0/],
        ['extra.tsv', 'numpy\t5\textra\n', 'downloads', /extra\.tsv, line 1: expected "name<TAB>downloads"/],
        ['no-rank.tsv', 'name\tversion\nnumpy\t1.0\n', 'ranks', /no-rank\.tsv, line 1: the header must name/],
      ];
      for (const [name, content, kind, message] of cases) {
        await writeFile(join(dir, name), content);
        await assert.rejects(readDownloadWeights(join(dir, name), kind), (e: Error) => e instanceof WeightsFileError && message.test(e.message), name);
      }
    } finally {
      await removeTempDir(dir);
    }
  });

  it('tells the operator how to configure weights, and names a missing file', async () => {
    const config = {} as never;
    assert.equal((await protectionSectionData('/nonexistent', config, async () => [])).state, 'unconfigured');
    assert.match(String(protectionSection({ state: 'unconfigured' })), /"protectionWeights": \{"ranks": "FILE"\}/);
    const missing = await protectionSectionData('/nonexistent', { protectionWeights: { ranks: 'nope.tsv' } } as never, async () => []);
    assert.equal(missing.state, 'error');
    assert.match(String(protectionSection(missing)), /nonexistent\/nope\.tsv: cannot read it \(ENOENT\)/);
  });
});
