// SPDX-License-Identifier: Apache-2.0
// Summarizes a V8 .cpuprofile (node --cpu-prof): where the main thread's time went.
//   node dist/bench/cpuprofile-summary.js FILE.cpuprofile [--top 30] [--last SECONDS] [--json]
// Prints the functions with the most self time, and the inclusive time of every function whose
// name or file matches one of --focus (comma-separated substrings; defaults to Bulwark's hot paths).
import { readFileSync } from 'node:fs';
import { fmt, parseFlags, table } from './common.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const DEFAULT_FOCUS = [
  'publish',
  'applyProject',
  'upload',
  'streamToTempFile',
  'collectPublishInputs',
  'roleTargets',
  'expiringRoles',
  'clone',
  'canonical',
  'signCanonical',
  'compressLater',
  'writeFileAtomic',
  'recordUpload',
  'applyProjectTransaction',
  'commitPublication',
  'renderProjectPages',
  '(garbage collector)',
].join(',');

const argv = process.argv.slice(2);
const file = argv.find((a) => !a.startsWith('--'));
const flags = parseFlags(
  'node dist/bench/cpuprofile-summary.js FILE.cpuprofile [flags]',
  {
    top: { default: 30, help: 'functions to list by self time' },
    focus: { default: DEFAULT_FOCUS, help: 'comma-separated function names (substring match) to report inclusive time for' },
    json: { default: false, help: 'print JSON' },
    last: { default: 0, help: 'count only the samples of the last N seconds (a benchmark phase at the end of the run); 0: all' },
  },
  argv.filter((a) => a !== file)
);
if (!file) {
  process.stderr.write('usage: node dist/bench/cpuprofile-summary.js FILE.cpuprofile [--top N] [--focus a,b] [--json]\n');
  process.exit(2);
}

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node (µs), from the sample deltas; with --last, only the samples taken in the
// last N seconds before the profile ended.
const self = new Map<number, number>();
const from = flags.last > 0 ? profile.endTime - flags.last * 1e6 : profile.startTime;
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] as number;
  at += profile.timeDeltas[i] ?? 0;
  if (at >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const totalUs = profile.endTime - Math.max(from, profile.startTime);
const idleUs = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((a, [, v]) => a + v, 0);

const label = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
};

const selfByLabel = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id);
  if (n) selfByLabel.set(label(n), (selfByLabel.get(label(n)) ?? 0) + us);
}
// Self time per module: a Bulwark source file, an npm package, or node's internals.
const moduleOf = (n: ProfileNode): string => {
  const url = n.callFrame.url;
  if (!url) return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return `npm:${pkg[1]}`;
  const own = /dist\/(src\/.+)$/.exec(url);
  if (own?.[1]) return own[1];
  return url.startsWith('node:') ? url : `node:${url}`;
};
const selfByModule = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id);
  if (n && n.callFrame.functionName !== '(idle)') selfByModule.set(moduleOf(n), (selfByModule.get(moduleOf(n)) ?? 0) + us);
}
const modules = [...selfByModule].sort((a, b) => b[1] - a[1]).slice(0, flags.top);
const top = [...selfByLabel].filter(([l]) => !l.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, flags.top);

// Inclusive time: a sample counts once for each focus name found on its stack.
const focus = flags.focus.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
const inclusive = new Map<string, number>(focus.map((f) => [f, 0]));
for (const [id, us] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const name = byId.get(cur)?.callFrame.functionName ?? '';
    for (const f of focus) if (!seen.has(f) && name.includes(f)) seen.add(f);
  }
  for (const f of seen) inclusive.set(f, (inclusive.get(f) ?? 0) + us);
}

const busyUs = totalUs - idleUs;
if (flags.json) {
  process.stdout.write(
    `${JSON.stringify({ file, wallMs: totalUs / 1000, busyMs: busyUs / 1000, top: top.map(([l, us]) => ({ fn: l, selfMs: us / 1000 })), modules: modules.map(([m, us]) => ({ module: m, selfMs: us / 1000 })), inclusiveMs: Object.fromEntries([...inclusive].map(([k, v]) => [k, v / 1000])) }, null, 2)}\n`
  );
} else {
  process.stdout.write(`${file}\nprofiled ${fmt.num(totalUs / 1e6, 2)} s, main thread busy ${fmt.num(busyUs / 1e6, 2)} s (${fmt.pct(busyUs / totalUs)})\n\n`);
  process.stdout.write(`${table(['self time', 'ms', '% busy'], top.map(([l, us]) => [l, fmt.num(us / 1000, 0), fmt.pct(us / busyUs)]))}\n\n`);
  process.stdout.write(`${table(['self time by module', 'ms', '% busy'], modules.map(([m, us]) => [m, fmt.num(us / 1000, 0), fmt.pct(us / busyUs)]))}\n\n`);
  process.stdout.write(
    `${table(['inclusive (name on the stack)', 'ms', '% busy'], [...inclusive].sort((a, b) => b[1] - a[1]).map(([l, us]) => [l, fmt.num(us / 1000, 0), fmt.pct(us / busyUs)]))}\n`
  );
}
