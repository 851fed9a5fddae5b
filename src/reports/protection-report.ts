// SPDX-License-Identifier: Apache-2.0
// The protection report (issue 14, the Diplomat's 80/20): what share of downloads each
// protection level covers, and the shortest list of projects to invite so that developer-signed
// (recently-claimed or claimed) or two-factor-or-better downloads reach 50 % and 80 %.
// "Shortest" is greedy by downloads among the projects below the level: taking the heaviest
// first reaches any share with the fewest projects, so greedy is exact here, not an estimate.
import { PROTECTION_LEVELS, meetsLevel, type ProtectionLevelName } from '../repository/protection-levels.js';
import { weightOf, type DownloadWeights, type WeightKind } from './download-weights.js';

export interface ProjectLevel {
  name: string;
  protection: ProtectionLevelName;
}

export interface ProtectionReport {
  levels: Record<ProtectionLevelName, { projects: number; download_share: number }>;
  invite: { developer_signed_50: string[]; developer_signed_80: string[]; two_factor_50: string[]; two_factor_80: string[] };
  weights: WeightKind;
}

/** The lowest level that counts as developer-signed (PEP 480). */
export const DEVELOPER_SIGNED: ProtectionLevelName = 'recently-claimed';
export const TWO_FACTOR: ProtectionLevelName = 'two-factor';

/** Shares count as reached despite rounding in the sums. */
const EPSILON = 1e-12;

interface Weighted extends ProjectLevel {
  weight: number;
}

/** Who to invite, heaviest first, and the protected share after each invitation. */
export interface InviteCurve {
  /** The share at or above the level today. */
  today: number;
  order: { name: string; share: number }[];
}

function weigh(projects: readonly ProjectLevel[], weights: DownloadWeights): { list: Weighted[]; total: number } {
  const list = projects.map((p) => ({ ...p, weight: weightOf(weights, p.name) }));
  return { list, total: list.reduce((s, p) => s + p.weight, 0) };
}

function curveOf(list: readonly Weighted[], total: number, minimum: ProtectionLevelName): InviteCurve {
  if (total <= 0) return { today: 0, order: [] };
  let protectedWeight = 0;
  const below: Weighted[] = [];
  for (const p of list) {
    if (meetsLevel(p.protection, minimum)) protectedWeight += p.weight;
    else if (p.weight > 0) below.push(p);
  }
  below.sort((a, b) => b.weight - a.weight || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const today = protectedWeight / total;
  const order = below.map((p) => ({ name: p.name, share: (protectedWeight += p.weight) / total }));
  return { today, order };
}

/** The shortest prefix of the curve whose share reaches `target` (empty if reached today). */
export function invitesFor(curve: InviteCurve, target: number): string[] {
  if (curve.today >= target - EPSILON) return [];
  const i = curve.order.findIndex((o) => o.share >= target - EPSILON);
  return (i < 0 ? curve.order : curve.order.slice(0, i + 1)).map((o) => o.name);
}

export function inviteCurve(projects: readonly ProjectLevel[], weights: DownloadWeights, minimum: ProtectionLevelName): InviteCurve {
  const { list, total } = weigh(projects, weights);
  return curveOf(list, total, minimum);
}

export function protectionReport(projects: readonly ProjectLevel[], weights: DownloadWeights): ProtectionReport {
  const { list, total } = weigh(projects, weights);
  const levels = Object.fromEntries(PROTECTION_LEVELS.map((l) => [l, { projects: 0, download_share: 0 }])) as ProtectionReport['levels'];
  for (const p of list) {
    levels[p.protection].projects++;
    if (total > 0) levels[p.protection].download_share += p.weight / total;
  }
  const dev = curveOf(list, total, DEVELOPER_SIGNED);
  const twoFactor = curveOf(list, total, TWO_FACTOR);
  return {
    levels,
    invite: {
      developer_signed_50: invitesFor(dev, 0.5),
      developer_signed_80: invitesFor(dev, 0.8),
      two_factor_50: invitesFor(twoFactor, 0.5),
      two_factor_80: invitesFor(twoFactor, 0.8),
    },
    weights: weights.kind,
  };
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** The report for people: one line per level, then the invitation lists (long lists shortened). */
export function formatProtectionReport(r: ProtectionReport, show = 20): string {
  const weighed = PROTECTION_LEVELS.some((l) => r.levels[l].download_share > 0);
  const list = (names: string[]) =>
    names.length === 0
      ? weighed
        ? '  (none: reached today)'
        : '  (none: no project of this index has downloads in the file)' : `  ${names.slice(0, show).join(', ')}${names.length > show ? `, … and ${names.length - show} more (--json lists all)` : ''}`;
  const atOrAbove = (min: ProtectionLevelName) => PROTECTION_LEVELS.filter((l) => meetsLevel(l, min)).reduce((s, l) => s + r.levels[l].download_share, 0);
  return [
    `Share of downloads protected, weighted by ${r.weights === 'ranks' ? `download rank (Zipf law)` : 'downloads'}:`,
    ...PROTECTION_LEVELS.map((l) => `  ${l.padEnd(17)} ${String(r.levels[l].projects).padStart(8)} projects  ${percent(r.levels[l].download_share).padStart(8)}`),
    `  developer-signed: ${percent(atOrAbove(DEVELOPER_SIGNED))}, two-factor or better: ${percent(atOrAbove(TWO_FACTOR))}`,
    '',
    `Invite to claim for 50 % developer-signed (${r.invite.developer_signed_50.length}):`,
    list(r.invite.developer_signed_50),
    `Invite to claim for 80 % developer-signed (${r.invite.developer_signed_80.length}):`,
    list(r.invite.developer_signed_80),
    `Invite to two-factor for 50 % (${r.invite.two_factor_50.length}):`,
    list(r.invite.two_factor_50),
    `Invite to two-factor for 80 % (${r.invite.two_factor_80.length}):`,
    list(r.invite.two_factor_80),
  ].join('\n');
}
