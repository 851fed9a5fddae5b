// SPDX-License-Identifier: Apache-2.0
// How many downloads each project has, for the protection report (issue 14): read from a file the
// operator passes, never from anywhere else. Two formats, gzip or plain:
//   downloads  `name<TAB>downloads` per line (an optional header line, `#` comments)
//   ranks      the TSV of shared/data/pypi-projects.tsv.gz: a header naming the columns `name`
//              and `rank_among_15000_most_downloaded` (empty for the projects outside the top 15,000)
// Names are compared in their PEP 503 normalized form; two lines whose names normalize alike
// count once, with the larger weight.
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { normalizeProjectName } from '../packaging/names.js';

export type WeightKind = 'downloads' | 'ranks';

/**
 * Downloads fall as rank^-ZIPF_EXPONENT. 1 is Zipf's law, and what PyPI's public download counts
 * show: across the top 15,000 (top-pypi-packages, 30 days) monthly downloads fall about tenfold
 * for every tenfold of rank (about 1e9 at rank 1, 1e8 at 100, 1e7 at 1,000, 1e6 around 8,000),
 * a fitted exponent between 0.9 and 1.1. A steeper exponent would make the top few projects look
 * like all of PyPI, a flatter one would hide how much they carry.
 */
export const ZIPF_EXPONENT = 1;

/** The rank column of shared/data/pypi-projects.tsv.gz. */
const RANK_COLUMN = 'rank_among_15000_most_downloaded';

/** PyPI's whole list is 30 MB unpacked: a file that unpacks past this is not a weights file. */
const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;

export class WeightsFileError extends Error {
  readonly code = 'BAD_WEIGHTS_FILE';
  constructor(file: string, line: number | undefined, problem: string) {
    super(`${file}${line === undefined ? '' : `, line ${line}`}: ${problem}`);
    this.name = 'WeightsFileError';
  }
}

export interface DownloadWeights {
  kind: WeightKind;
  /** Normalized name → relative downloads (any unit: only shares are reported). */
  byName: ReadonlyMap<string, number>;
  /** The weight of each unranked project (ranks only): see unrankedWeight. */
  unranked?: number;
}

/** Weight of a project: 0 for a project the file does not list (no downloads known). */
export function weightOf(w: DownloadWeights, project: string): number {
  return w.byName.get(normalizeProjectName(project)) ?? 0;
}

/**
 * The weight of each project without a rank. Nobody knows their order, so each gets the mean
 * Zipf weight of the ranks they share (ranked+1 … total): together they carry exactly what
 * Zipf's law gives the tail. With 15,000 ranked of 886,300, that is ln(886,300/15,000) ≈ 4.1
 * against ≈ 10.2 for the top 15,000: about 29 % of all downloads.
 */
export function unrankedWeight(ranked: number, total: number): number {
  if (total <= ranked) return 0;
  let sum = 0;
  for (let r = ranked + 1; r <= total; r++) sum += r ** -ZIPF_EXPONENT;
  return sum / (total - ranked);
}

async function readText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new WeightsFileError(file, undefined, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_UNPACKED_BYTES });
    } catch (e) {
      throw new WeightsFileError(file, undefined, `not a valid gzip file (${(e as Error).message})`);
    }
  }
  return bytes.toString('utf8');
}

function keepLarger(map: Map<string, number>, name: string, weight: number): void {
  const key = normalizeProjectName(name);
  map.set(key, Math.max(map.get(key) ?? 0, weight));
}

export function parseDownloads(text: string, file: string): DownloadWeights {
  const byName = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.startsWith('#')) return;
    const fields = line.split('\t');
    if (fields.length !== 2) throw new WeightsFileError(file, i + 1, `expected "name<TAB>downloads", got ${fields.length} field(s)`);
    const [name, count] = fields as [string, string];
    if (!/^\d+(\.\d+)?$/.test(count.trim())) {
      if (i === 0) return; // a header line
      throw new WeightsFileError(file, i + 1, `downloads must be a number ≥ 0, got ${JSON.stringify(count.slice(0, 40))}`);
    }
    if (!name.trim()) throw new WeightsFileError(file, i + 1, 'empty project name');
    keepLarger(byName, name.trim(), Number(count));
  });
  return { kind: 'downloads', byName };
}

export function parseRanks(text: string, file: string): DownloadWeights {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const header = (lines[0] ?? '').split('\t');
  const nameAt = header.indexOf('name');
  const rankAt = header.indexOf(RANK_COLUMN);
  if (nameAt < 0 || rankAt < 0) throw new WeightsFileError(file, 1, `the header must name the columns "name" and "${RANK_COLUMN}" (the format of shared/data/pypi-projects.tsv.gz)`);
  const ranked = new Map<string, number>();
  const unranked = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const fields = line.split('\t');
    const name = fields[nameAt]?.trim();
    if (!name) throw new WeightsFileError(file, i + 1, 'no project name');
    const rank = (fields[rankAt] ?? '').trim();
    if (rank === '') {
      unranked.add(normalizeProjectName(name));
      continue;
    }
    if (!/^[1-9]\d{0,8}$/.test(rank)) throw new WeightsFileError(file, i + 1, `the rank must be a whole number ≥ 1 or empty, got ${JSON.stringify(rank.slice(0, 40))}`);
    keepLarger(ranked, name, Number(rank) ** -ZIPF_EXPONENT);
  }
  for (const name of ranked.keys()) unranked.delete(name);
  const tail = unrankedWeight(ranked.size, ranked.size + unranked.size);
  const byName = new Map(ranked);
  for (const name of unranked) byName.set(name, tail);
  return { kind: 'ranks', byName, unranked: tail };
}

export async function readDownloadWeights(file: string, kind: WeightKind): Promise<DownloadWeights> {
  const text = await readText(file);
  return kind === 'ranks' ? parseRanks(text, file) : parseDownloads(text, file);
}
