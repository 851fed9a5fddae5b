// SPDX-License-Identifier: Apache-2.0
// What the benchmarks share: flags, statistics, a seeded PRNG, a progress bar on standard error,
// the machine they ran on, a process's CPU time, and plain-text tables.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';

/** The `bulwark` command of this checkout (benchmarks run from dist/bench/). */
export const bulwarkBin = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'bin', 'bulwark.js');

// ---- flags ------------------------------------------------------------------------------------

export interface FlagSpec {
  /** Default value; its type says how the flag parses (number, string or boolean). */
  default: number | string | boolean;
  help: string;
}

export type Flags<S extends Record<string, FlagSpec>> = { [K in keyof S]: S[K]['default'] extends number ? number : S[K]['default'] extends boolean ? boolean : string };

/** `--name value`, `--name=value`, `--flag`; `--help` prints the flags and exits. */
export function parseFlags<S extends Record<string, FlagSpec>>(usage: string, spec: S, argv = process.argv.slice(2)): Flags<S> {
  const out: Record<string, number | string | boolean> = {};
  for (const [k, s] of Object.entries(spec)) out[k] = s.default;
  const help = () => {
    const lines = Object.entries(spec).map(([k, s]) => `  --${k}${typeof s.default === 'boolean' ? '' : ` <${typeof s.default}>`}`.padEnd(30) + `${s.help} (default ${String(s.default)})`);
    return `usage: ${usage}\n${lines.join('\n')}\n`;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(help());
      process.exit(0);
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    const name = m?.[1];
    const s = name === undefined ? undefined : spec[name];
    if (!m || name === undefined || !s) {
      process.stderr.write(`unknown argument ${arg}\n${help()}`);
      process.exit(2);
    }
    if (typeof s.default === 'boolean') {
      out[name] = m[2] === undefined ? true : m[2] !== 'false';
      continue;
    }
    const raw = m[2] ?? argv[++i];
    if (raw === undefined) {
      process.stderr.write(`--${name} needs a value\n`);
      process.exit(2);
    }
    if (typeof s.default === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) {
        process.stderr.write(`--${name} must be a number, got ${raw}\n`);
        process.exit(2);
      }
      out[name] = n;
    } else {
      out[name] = raw;
    }
  }
  return out as Flags<S>;
}

// ---- statistics -------------------------------------------------------------------------------

export interface Summary {
  n: number;
  mean: number;
  min: number;
  median: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    mean: s.length ? sum / s.length : Number.NaN,
    min: s[0] ?? Number.NaN,
    median: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    p95: quantile(s, 0.95),
    p99: quantile(s, 0.99),
    max: s[s.length - 1] ?? Number.NaN,
  };
}

/** Times `fn` (ms per call) after `warmup` untimed calls. */
export async function timeRuns(iterations: number, fn: (i: number) => unknown, warmup = Math.min(5, iterations)): Promise<Summary> {
  for (let i = 0; i < warmup; i++) await fn(-1 - i);
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  return summarize(ms);
}

// ---- seeded PRNG ------------------------------------------------------------------------------

/** mulberry32: a small, fast, seeded PRNG; [0, 1). Runs with the same seed draw the same values. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` pseudo-random bytes from a seed (incompressible, like a real archive). */
export function seededBytes(seed: number, length: number): Buffer {
  const words = new Uint32Array(Math.ceil(length / 4));
  const next = prng(seed);
  for (let i = 0; i < words.length; i++) words[i] = (next() * 4294967296) >>> 0;
  return Buffer.from(words.buffer, 0, length);
}

// ---- progress ---------------------------------------------------------------------------------

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

/** A cli-progress bar on standard error; without a terminal, a line every few seconds. */
export function progress(label: string, total: number, enabled = true): Progress {
  if (!enabled || total <= 0) return { tick: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(28)} [{bar}] {percentage}% {value}/{total} {duration_formatted} eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic
  );
  bar.start(total, 0);
  let done = 0;
  return {
    tick(n = 1) {
      done += n;
      bar.update(done);
    },
    stop() {
      bar.stop();
    },
  };
}

/** A status line on standard error (never on standard output, which carries the results). */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

// ---- machine and processes ---------------------------------------------------------------------

export interface Machine {
  node: string;
  cpu: string;
  cores: number;
  kernel: string;
  date: string;
}

export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /Model name:\s*(.+)/.exec(execFileSync('lscpu', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    if (m?.[1]) cpu = m[1].trim();
  } catch {
    // lscpu missing: keep os.cpus()
  }
  return { node: process.version, cpu, cores: availableParallelism(), kernel: release(), date: new Date().toISOString() };
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * User and system CPU seconds a process has used so far (Linux /proc/PID/stat, fields 14 and
 * 15), all its threads; with `tid`, one thread's (/proc/PID/task/TID/stat; a process's main
 * thread has TID = PID: for Node, the event loop). `children`: the CPU seconds of its children
 * that have exited and been waited for (fields 16 and 17).
 */
export function processCpu(pid: number, tid?: number): { user: number; system: number; total: number; children: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = ticksPerSecond();
  const user = Number(fields[11]) / hz; // field 14 overall, 12th after the name
  const system = Number(fields[12]) / hz;
  const children = (Number(fields[13]) + Number(fields[14])) / hz;
  return { user, system, total: user + system, children };
}

/** Resident memory of a process from /proc/PID/status, in bytes (undefined once it is gone). */
export interface ProcessMemory {
  /** VmRSS: resident now */
  rss: number;
  /** VmHWM: the peak resident size so far (the kernel's high-water mark) */
  peakRss: number;
  /** RssAnon: private memory (heap, stacks), the part no other process shares */
  anon: number;
  /** RssShmem: shared memory mapped in (e.g. PostgreSQL's shared buffers) */
  shmem: number;
}

export function processMemory(pid: number): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM'), anon: kb('RssAnon'), shmem: kb('RssShmem') };
}

/**
 * This process's peak resident memory: process.memoryUsage().rss sampled every `everyMs`, and
 * ru_maxrss (process.resourceUsage().maxRSS), the kernel's exact peak over the process's life.
 * The sampler runs on the event loop, so it misses peaks inside long synchronous work;
 * ru_maxrss does not.
 */
export function watchMemory(everyMs = 100): { peakSampledRss(): number; maxRss(): number; reset(): void; stop(): void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  timer.unref();
  return {
    peakSampledRss: () => Math.max(peak, process.memoryUsage().rss),
    maxRss: () => process.resourceUsage().maxRSS * 1024,
    reset: () => {
      peak = process.memoryUsage().rss;
    },
    stop: () => clearInterval(timer),
  };
}

export interface MachineCpu {
  /** user + nice + system, all cores (s) */
  tasks: number;
  /** time in hardware and software interrupts (loopback networking, block I/O completion) */
  irq: number;
  /** time the hypervisor gave this VM's CPUs to someone else */
  steal: number;
  iowait: number;
  /** kernel threads (writeback, kworkers): mostly the file system work the benchmark causes */
  kernelThreads: number;
}

/** Machine-wide CPU seconds so far (/proc/stat, all cores), and those of kernel threads. */
export function machineCpu(): MachineCpu | undefined {
  let line: string | undefined;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  } catch {
    return undefined;
  }
  const v = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const hz = ticksPerSecond();
  let kernelThreads = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (entry === '2' || f[1] === '2') kernelThreads += (Number(f[11]) + Number(f[12])) / hz;
  }
  return { tasks: (user + nice + system) / hz, irq: (irq + softirq) / hz, steal: steal / hz, iowait: iowait / hz, kernelThreads };
}

/** What else used the machine between two machineCpu() readings, once `ownSeconds` (the benchmark's processes) is taken out. */
export function otherCpu(a: MachineCpu | undefined, b: MachineCpu | undefined, ownSeconds: number): { otherProcesses: number; kernelThreads: number; irq: number; steal: number; iowait: number } {
  if (!a || !b) return { otherProcesses: NaN, kernelThreads: NaN, irq: NaN, steal: NaN, iowait: NaN };
  const kernelThreads = b.kernelThreads - a.kernelThreads;
  return {
    otherProcesses: Math.max(0, b.tasks - a.tasks - kernelThreads - ownSeconds),
    kernelThreads,
    irq: b.irq - a.irq,
    steal: b.steal - a.steal,
    iowait: b.iowait - a.iowait,
  };
}

// ---- output -----------------------------------------------------------------------------------

export const fmt = {
  ms: (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)) : '–'),
  num: (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–'),
  bytes: (v: number) => (v >= 1 << 20 ? `${(v / (1 << 20)).toFixed(2)} MiB` : v >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v} B`),
  pct: (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : '–'),
};

/** Left-aligned first column, the others right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Verdict against a target: "ok" or "MISSED by …". */
export function verdict(value: number, target: number, lowerIsBetter = true): string {
  if (!Number.isFinite(value)) return 'n/a';
  const ok = lowerIsBetter ? value <= target : value >= target;
  if (ok) return 'ok';
  const factor = lowerIsBetter ? value / target : target / value;
  return `MISSED (×${factor.toFixed(1)})`;
}
