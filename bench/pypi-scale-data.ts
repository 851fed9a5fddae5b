// SPDX-License-Identifier: Apache-2.0
// A synthetic PyPI for bench/pypi-scale-bench.ts: the real project names of
// /work/shared/data/pypi-projects.tsv.gz (name, latest version, month, download rank among the
// top 15,000), and invented files spread over them, deterministic for a seed.
//
// Files per project: every project has at least one; the rest are shared out in proportion to
// a weight: 25·(15000/rank)^0.6 for the 15,000 most downloaded projects, a log-normal
// (σ = 1.3) draw for the others. With 5,000,000 files over PyPI's 886,300 projects that gives
// a median of 2, a 99th percentile of ~55 and a largest project of ~11,000 files, about a
// quarter of all files in the top 15,000: the long tail and the few huge projects PyPI has.
// A project's files are releases of an sdist and a pure-Python wheel (one sdist alone when the
// count is odd), versions 0.0.0, 0.0.1, … and the list's latest version last.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { compareVersions, isValidProjectName, isValidVersion, normalizeProjectName, normalizeVersion } from '../src/packaging/index.js';
import { SIMPLE_HTML, SIMPLE_JSON, targetPath } from '../src/repository/layout.js';
import { prng } from './common.js';

export interface ScaleProject {
  /** PEP 503 normalized name */
  name: string;
  /** as listed */
  displayName: string;
  /** the list's latest version, PEP 440 normalized ('1.0' when it is not a valid version) */
  latest: string;
  /** ISO time of the latest release (the list's month) */
  uploadTime: string;
  rank: number | null;
  files: number;
}

export interface ProjectList {
  projects: ScaleProject[];
  /** data lines in the file */
  lines: number;
  /** lines skipped because their name normalizes to one already taken */
  collisions: number;
  /** latest versions that are not PEP 440 (replaced by 1.0) */
  invalidVersions: number;
}

/**
 * Reads the list. With `limit` > 0, every k-th line (k = lines ÷ limit), so that a small run
 * keeps PyPI's spread of names over bins and a few ranked projects.
 */
export function readProjectList(path: string, limit = 0): ProjectList {
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').slice(1).filter((l) => l.length > 0);
  const step = limit > 0 && limit < lines.length ? lines.length / limit : 1;
  const seen = new Set<string>();
  const projects: ScaleProject[] = [];
  let collisions = 0;
  let invalidVersions = 0;
  for (let i = 0; Math.floor(i * step) < lines.length && (limit <= 0 || projects.length < limit); i++) {
    const [displayName = '', version = '', month = '', rank = ''] = (lines[Math.floor(i * step)] as string).split('\t');
    const name = normalizeProjectName(displayName);
    if (seen.has(name)) {
      collisions++;
      continue;
    }
    seen.add(name);
    const valid = isValidVersion(version);
    if (!valid) invalidVersions++;
    projects.push({
      name,
      displayName,
      latest: valid ? normalizeVersion(version) : '1.0',
      uploadTime: /^\d{4}-\d{2}$/.test(month) ? `${month}-15T12:00:00.000Z` : '2020-01-15T12:00:00.000Z',
      rank: rank === '' ? null : Number(rank),
      files: 0,
    });
  }
  return { projects, lines: lines.length, collisions, invalidVersions };
}

/** A standard normal draw (Box–Muller). */
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * Sets `files` of every project (see the header): at least 1 each, `total` in all. Throws when
 * `total` is below the number of projects.
 */
export function assignFileCounts(projects: ScaleProject[], total: number, seed: number): void {
  if (total < projects.length) throw new RangeError(`${total} files cannot give each of ${projects.length} projects one`);
  const rand = prng(seed ^ 0xf11e5);
  const weights = projects.map((p) => (p.rank !== null ? 25 * (15000 / p.rank) ** 0.6 : Math.exp(1.3 * normal(rand))));
  const sum = weights.reduce((a, b) => a + b, 0);
  const extra = total - projects.length;
  const share = weights.map((w) => (extra * w) / sum);
  let given = 0;
  for (const [i, p] of projects.entries()) {
    p.files = 1 + Math.floor(share[i] as number);
    given += p.files;
  }
  // What the rounding down left over goes to the largest remainders.
  const byRemainder = projects.map((_, i) => i).sort((a, b) => ((share[b] as number) % 1) - ((share[a] as number) % 1));
  for (let k = 0; given < total; k++, given++) (projects[byRemainder[k % projects.length] as number] as ScaleProject).files++;
}

/** One invented file, with the fields a FileRecord and projectTargets() need. */
export interface SyntheticFile {
  filename: string;
  version: string;
  packagetype: 'sdist' | 'bdist_wheel';
  pythonVersion: string;
  size: number;
  sha256: string;
  metadataSha256: string | null;
  metadataSize: number | null;
}

const digestScratch = Buffer.alloc(32);
/** 64 hex digits from the PRNG: an invented sha256, much cheaper than hashing. */
export function fakeSha256(rand: () => number): string {
  for (let i = 0; i < 8; i++) digestScratch.writeUInt32BE((rand() * 4294967296) >>> 0, 4 * i);
  return digestScratch.toString('hex');
}

/** Log-uniform integer in [min, max]. */
export function logUniform(rand: () => number, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + rand() * (Math.log(max) - Math.log(min))));
}

/** PEP 625 / wheel spelling of a normalized name: '-' becomes '_'. */
export function distributionStem(name: string): string {
  return name.replace(/-/g, '_');
}

/** Versions of `releases` releases, oldest first, distinct as PEP 440 versions, `latest` last. */
function releaseVersions(latest: string, releases: number): string[] {
  const out: string[] = [];
  for (let j = 0; out.length < releases - 1; j++) {
    const v = `0.0.${j}`;
    if (compareVersions(v, latest) !== 0) out.push(v);
  }
  out.push(latest);
  return out;
}

/** The project's files: sizes log-uniform 10 kB–10 MB, PEP 658 metadata 1–20 kB. */
export function syntheticFiles(p: ScaleProject, rand: () => number): SyntheticFile[] {
  const releases = Math.ceil(p.files / 2);
  const stem = distributionStem(p.name);
  const files: SyntheticFile[] = [];
  for (const [j, version] of releaseVersions(p.latest, releases).entries()) {
    files.push({
      filename: `${stem}-${version}.tar.gz`,
      version,
      packagetype: 'sdist',
      pythonVersion: 'source',
      size: logUniform(rand, 10_000, 10_000_000),
      sha256: fakeSha256(rand),
      metadataSha256: null,
      metadataSize: null,
    });
    // An odd count: the oldest release has no wheel (old projects often shipped sdists only).
    if (j === 0 && p.files % 2 === 1) continue;
    files.push({
      filename: `${stem}-${version}-py3-none-any.whl`,
      version,
      packagetype: 'bdist_wheel',
      pythonVersion: 'py3',
      size: logUniform(rand, 10_000, 10_000_000),
      sha256: fakeSha256(rand),
      metadataSha256: fakeSha256(rand),
      metadataSize: logUniform(rand, 1_000, 20_000),
    });
  }
  return files;
}

/**
 * The project's simple pages as targets, with invented hashes and lengths close to what
 * renderProjectPages() writes for that many files (the pages themselves are never stored).
 */
export function syntheticPages(p: ScaleProject, files: number, rand: () => number): { path: string; sha256: string; bytes: { length: number } }[] {
  const perFile = 2 * p.name.length + 60;
  return [
    { path: targetPath(p.name, SIMPLE_HTML), sha256: fakeSha256(rand), bytes: { length: 200 + p.name.length + files * (perFile + 110) } },
    { path: targetPath(p.name, SIMPLE_JSON), sha256: fakeSha256(rand), bytes: { length: 150 + p.name.length + files * (perFile + 230) } },
  ];
}

/** An upload the benchmark adds after the load: a new release of an existing project. */
export interface PlannedUpload {
  project: string;
  displayName: string;
  version: string;
  filename: string;
  size: number;
}

/**
 * `n` uploads to existing projects, picked in proportion to their files (projects that have
 * released often release again), each a new sdist; projects whose listed name is not a valid
 * PEP 508 name are passed over (the upload checks would refuse them).
 */
export function planUploads(projects: readonly ScaleProject[], n: number, seed: number): PlannedUpload[] {
  const rand = prng(seed ^ 0x0b10ad);
  const cumulative = new Float64Array(projects.length);
  let sum = 0;
  for (const [i, p] of projects.entries()) cumulative[i] = sum += p.files;
  const out: PlannedUpload[] = [];
  for (let k = 0, tries = 0; out.length < n && tries < 100 * n; tries++) {
    const x = rand() * sum;
    let lo = 0;
    let hi = projects.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) <= x) lo = mid + 1;
      else hi = mid;
    }
    const p = projects[lo] as ScaleProject;
    if (!isValidProjectName(p.displayName)) continue;
    const version = `2027.1.${k++}`;
    out.push({ project: p.name, displayName: p.displayName, version, filename: `${distributionStem(p.name)}-${version}.tar.gz`, size: logUniform(rand, 10_000, 10_000_000) });
  }
  return out;
}

/** Quantiles of the files per project, for the report. */
export function fileCountStats(projects: readonly ScaleProject[]): { median: number; p90: number; p99: number; max: number; maxProject: string; top15000Share: number } {
  const counts = projects.map((p) => p.files).sort((a, b) => a - b);
  const q = (f: number) => counts[Math.min(counts.length - 1, Math.floor(f * counts.length))] ?? 0;
  let biggest = projects[0];
  let ranked = 0;
  let total = 0;
  for (const p of projects) {
    if (biggest === undefined || p.files > biggest.files) biggest = p;
    if (p.rank !== null) ranked += p.files;
    total += p.files;
  }
  return { median: q(0.5), p90: q(0.9), p99: q(0.99), max: biggest?.files ?? 0, maxProject: biggest?.name ?? '', top15000Share: total ? ranked / total : 0 };
}
