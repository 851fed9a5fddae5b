// SPDX-License-Identifier: Apache-2.0
// The /admin/ protection chart (issue 14): the cumulative share of downloads that is
// developer-signed (and two-factor or better) against the number of projects invited, heaviest
// first, with today's point marked. Inline SVG markup made on the server: no script, no fetch,
// so the page's Content-Security-Policy stays as it is. Hand-written because a chart library
// would bring a script to the browser or a canvas dependency to the server for two lines.
import { PROTECTION_LEVELS } from '../repository/protection-levels.js';
import type { RepositoryConfig } from '../repository/config.js';
import { configuredWeights } from '../reports/configured-weights.js';
import { WeightsFileError } from '../reports/download-weights.js';
import { DEVELOPER_SIGNED, inviteCurve, protectionReport, TWO_FACTOR, type InviteCurve, type ProjectLevel, type ProtectionReport } from '../reports/protection-report.js';
import { html, type Html } from './html.js';

const W = 640;
const H = 300;
const M = { left: 48, right: 16, top: 16, bottom: 40 };
/** Past the first 100 projects, a point every 2 % more projects: about 300 points for PyPI. */
const DENSE = 100;
const GROWTH = 1.02;

const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

function points(curve: InviteCurve): [number, number][] {
  const n = curve.order.length;
  const out: [number, number][] = [[0, curve.today]];
  for (let i = 1; i <= n; i = i < DENSE ? i + 1 : Math.max(i + 1, Math.floor(i * GROWTH))) out.push([i, curve.order[i - 1]!.share]);
  if (n > 0 && out[out.length - 1]![0] !== n) out.push([n, curve.order[n - 1]!.share]);
  return out;
}

export function protectionChart(dev: InviteCurve, twoFactor: InviteCurve): Html {
  // A logarithmic axis: downloads fall as a power of the rank, so the first ten, hundred and
  // thousand projects each get their share of the width.
  const span = Math.max(1, dev.order.length, twoFactor.order.length);
  const x = (i: number) => M.left + ((W - M.left - M.right) * Math.log1p(i)) / Math.log1p(span);
  const y = (share: number) => M.top + (H - M.top - M.bottom) * (1 - share);
  const line = (c: InviteCurve) => points(c).map(([i, s]) => `${x(i).toFixed(1)},${y(s).toFixed(1)}`).join(' ');
  const yTicks = [0, 0.5, 0.8, 1];
  const xTicks = [0, ...[1, 10, 100, 1000, 10_000, 100_000, 1_000_000].filter((t) => t * 3 < span), span];
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="protection-chart-title" data-chart="protection">
<title id="protection-chart-title">Share of downloads developer-signed against projects invited: ${pct(dev.today)} today</title>
${yTicks.map((t) => html`<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#bbb" stroke-width="1"${t === 0.5 || t === 0.8 ? html` stroke-dasharray="4 3"` : ''}/><text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${Math.round(t * 100)} %</text>`)}
${xTicks.map((t) => html`<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${t}</text>`)}
<text x="${(M.left + W - M.right) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">projects invited, heaviest first (logarithmic)</text>
<polyline points="${line(dev)}" fill="none" stroke="#1f5fa8" stroke-width="2.5" data-line="developer-signed"/>
<polyline points="${line(twoFactor)}" fill="none" stroke="#8a6d00" stroke-width="2" stroke-dasharray="6 3" data-line="two-factor"/>
<circle cx="${x(0)}" cy="${y(dev.today)}" r="5" fill="#1f5fa8" stroke="#fff" stroke-width="1.5" data-point="today" data-share="${dev.today}"/>
<text x="${x(0) + 9}" y="${Math.max(M.top + 10, y(dev.today) - 8)}" font-size="12" font-weight="bold">today: ${pct(dev.today)}</text>
</svg>
<figcaption>Cumulative share of downloads developer-signed (solid) and two-factor or better (dashed) as projects are invited, heaviest first; the dot is today.</figcaption>
</figure>`;
}

export type ProtectionSectionData =
  | { state: 'unconfigured' }
  | { state: 'error'; message: string }
  | { state: 'ready'; report: ProtectionReport; dev: InviteCurve; twoFactor: InviteCurve };

/** The /admin/ section: the chart, the share per level, and whom to invite first. */
export function protectionSection(d: ProtectionSectionData): Html {
  if (d.state === 'unconfigured') {
    return html`<p>No download weights configured. Add <code>"protectionWeights": {"ranks": "FILE"}</code> (the format of <code>pypi-projects.tsv.gz</code>) or <code>{"downloads": "FILE"}</code> (<code>name&lt;TAB&gt;downloads</code>) to <code>config.json</code> in the data directory, or run <code>bulwark report protection --ranks FILE</code>.</p>`;
  }
  if (d.state === 'error') return html`<div class="notice notice-bad" role="alert"><p>Cannot weigh the projects: ${d.message}</p></div>`;
  const r = d.report;
  const invite = (label: string, names: string[]) =>
    html`<li>${label}: ${names.length === 0 ? 'reached today' : html`${names.length} project(s): ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}`}</li>`;
  return html`${protectionChart(d.dev, d.twoFactor)}
<table><caption>Share of downloads at each level (weighted by ${r.weights === 'ranks' ? 'download rank' : 'downloads'})</caption>
<thead><tr><th scope="col">Level</th><th scope="col" class="num">Projects</th><th scope="col" class="num">Downloads</th></tr></thead>
<tbody>${PROTECTION_LEVELS.map((l) => html`<tr><th scope="row">${l}</th><td class="num">${r.levels[l].projects}</td><td class="num">${pct(r.levels[l].download_share)}</td></tr>`)}</tbody></table>
<p>The shortest lists to invite, heaviest first (<code>bulwark report protection --json</code> lists them all):</p>
<ul>
${invite('developer-signed 50 %', r.invite.developer_signed_50)}
${invite('developer-signed 80 %', r.invite.developer_signed_80)}
${invite('two-factor 50 %', r.invite.two_factor_50)}
${invite('two-factor 80 %', r.invite.two_factor_80)}
</ul>`;
}

/** What the section shows: the report when config.json names a weights file, else why not. */
export async function protectionSectionData(dataDir: string, config: RepositoryConfig, projects: () => Promise<readonly ProjectLevel[]>): Promise<ProtectionSectionData> {
  let weights;
  try {
    weights = await configuredWeights(dataDir, config);
  } catch (e) {
    if (e instanceof WeightsFileError) return { state: 'error', message: e.message };
    throw e;
  }
  if (!weights) return { state: 'unconfigured' };
  const list = await projects();
  return { state: 'ready', report: protectionReport(list, weights), dev: inviteCurve(list, weights, DEVELOPER_SIGNED), twoFactor: inviteCurve(list, weights, TWO_FACTOR) };
}
