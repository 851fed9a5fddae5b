#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Generates src/repository/name-bins-table.ts, the fixed split of project names into bins
// (ADR 0005), from a list of PyPI's project names (first column of a .tsv.gz, header skipped):
//
//   node scripts/generate-name-bins.mjs ../shared/data/pypi-projects.tsv.gz [BINS]
//
// Deterministic: the same list gives the same table. The product only reads the checked-in
// table; it never reads the list.
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const [, , listPath, binsArg = '1024'] = process.argv;
if (!listPath) {
  process.stderr.write('usage: node scripts/generate-name-bins.mjs NAMES.tsv.gz [BINS]\n');
  process.exit(2);
}
const BINS = Number(binsArg);
// Normalized names (PEP 503) use '-', digits and lower-case letters; a name starts with either of the latter two.
const ALPHABET = ['-', ...'0123456789', ...'abcdefghijklmnopqrstuvwxyz'];
const normalize = (n) => n.replace(/[-_.]+/g, '-').toLowerCase();
const VALID = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const text = gunzipSync(readFileSync(listPath)).toString('utf8');
const names = [...new Set(text.split('\n').slice(1).map((l) => normalize(l.split('\t')[0] ?? '')).filter((n) => VALID.test(n)))].sort();
const N = names.length;
const target = N / BINS;
// A prefix is split further while it holds more than this many names: small leaves pack evenly.
const cap = Math.max(1, Math.floor(target / 2));

/** Index of the first name >= s (names is sorted). */
function lowerBound(s) {
  let lo = 0, hi = N;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (names[mid] < s) lo = mid + 1; else hi = mid;
  }
  return lo;
}
/** Names with prefix p: [lowerBound(p), lowerBound(p + '\uffff')). */
const countPrefix = (p) => lowerBound(`${p}\uffff`) - lowerBound(p);

// 1. The trie: a node is a prefix leaf (every name starting with P) or is split into the exact
//    name P and one child per next character. Leaves come out in lexicographic order.
function build(prefix) {
  const count = prefix === '' ? N : countPrefix(prefix);
  if (prefix !== '' && count <= cap) return { prefix, kind: 'prefix', count };
  const exact = prefix !== '' && names[lowerBound(prefix)] === prefix ? 1 : 0;
  const children = ALPHABET.filter((c) => prefix !== '' || c !== '-').map((c) => build(prefix + c));
  return { prefix, kind: 'split', exact, exactBin: -1, children, count };
}
const root = build('');

// 2. Packing: bins are runs of consecutive leaves. Each cut lies within WINDOW of its ideal
//    place (k·N/BINS names) at the shallowest point of the trie there (the fewest patterns),
//    the nearest to the ideal place among equals.
const WINDOW = 0.35 * target;
const leaves = [];
(function collect(node) {
  if (node.kind === 'prefix') return void leaves.push({ node, count: node.count, prefix: node.prefix, exact: false });
  if (node.prefix !== '') leaves.push({ node, count: node.exact, prefix: node.prefix, exact: true });
  node.children.forEach(collect);
})(root);
const common = (a, b) => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
};
let cum = 0;
let bin = 0;
let best = null;
for (let i = 0; i < leaves.length; i++) {
  // A cut before leaf i (i > 0) ends the current bin with cum names in it and before.
  if (i > 0 && bin < BINS - 1) {
    const ideal = (bin + 1) * target;
    const depth = common(leaves[i - 1].prefix, leaves[i].prefix);
    if (Math.abs(cum - ideal) <= WINDOW && (best === null || depth < best.depth || (depth === best.depth && Math.abs(cum - ideal) < Math.abs(best.cum - ideal)))) {
      best = { i, depth, cum };
    }
    if (cum >= ideal + WINDOW || i === leaves.length - 1) {
      const cut = best ?? { i };
      for (let j = cut.i; j < leaves.length; j++) leaves[j].bin = bin + 1;
      bin++;
      best = null;
    }
  }
  if (leaves[i].bin === undefined) leaves[i].bin = bin;
  cum += leaves[i].count;
}
for (const l of leaves) {
  if (l.exact) l.node.exactBin = l.bin;
  else l.node.bin = l.bin;
}
if (bin !== BINS - 1) throw new Error(`packed into ${bin + 1} bins, not ${BINS}`);

// 3. Patterns: a subtree whose leaves all went to one bin is the one pattern `P*`; runs of
//    such siblings become one character class (digits and letters kept apart: `[0-4]`, `[a-f]`).
function soleBin(node) {
  if (node.kind === 'prefix') return node.bin;
  if (node.sole !== undefined) return node.sole;
  const bins = new Set([node.exactBin, ...node.children.map(soleBin)].filter((b) => b !== -1 && b !== undefined));
  node.sole = bins.size === 1 && node.children.every((c) => soleBin(c) !== null) ? [...bins][0] : null;
  return node.sole;
}
const patterns = Array.from({ length: BINS }, () => []);
const group = (c) => (c === '-' ? '-' : c <= '9' ? 'digit' : 'letter');
function emit(node) {
  if (node.prefix !== '' && soleBin(node) !== null) return void patterns[soleBin(node)].push(`${node.prefix}*`);
  if (node.prefix !== '') patterns[node.exactBin].push(node.prefix);
  let i = 0;
  const kids = node.children;
  while (i < kids.length) {
    const b = soleBin(kids[i]);
    if (b === null) {
      emit(kids[i]);
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < kids.length && soleBin(kids[j + 1]) === b && group(kids[j + 1].prefix.at(-1)) === group(kids[i].prefix.at(-1))) j++;
    const first = kids[i].prefix.at(-1), last = kids[j].prefix.at(-1);
    const cls = i === j ? first : j === i + 1 ? `[${first}${last}]` : `[${first}-${last}]`;
    patterns[b].push(`${node.prefix}${cls}*`);
    i = j + 1;
  }
}
emit(root);

const sizes = new Array(BINS).fill(0);
(function tally(node) {
  if (node.kind === 'prefix') return void (sizes[node.bin] += node.count);
  if (node.prefix !== '') sizes[node.exactBin] += node.exact;
  node.children.forEach(tally);
})(root);
const sorted = [...sizes].sort((a, b) => a - b);
process.stdout.write(`names per bin: min ${sorted[0]}, median ${sorted[BINS >> 1]}, max ${sorted[BINS - 1]}\n`);
const lines = patterns.map((p) => JSON.stringify(p.join(' ')));
const out = `// SPDX-License-Identifier: Apache-2.0
// GENERATED by scripts/generate-name-bins.mjs from ${N} normalized PyPI project names
// (../shared/data/pypi-projects.tsv.gz); do not edit. ${BINS} bins; each entry is one bin's
// path patterns on the project-name segment, separated by spaces (each is used as \`PATTERN/*\`).
export const NAME_BIN_PATTERNS: readonly string[] = [
${lines.map((l) => `  ${l},`).join('\n')}
];
`;
writeFileSync(new URL('../src/repository/name-bins-table.ts', import.meta.url), out);
const perBin = patterns.map((p) => p.length).sort((a, b) => a - b);
process.stdout.write(`${N} names, ${BINS} bins, cap ${cap}; patterns per bin: median ${perBin[BINS >> 1]}, max ${perBin[BINS - 1]}, total ${perBin.reduce((a, b) => a + b, 0)}; ${out.length} bytes\n`);
