// SPDX-License-Identifier: Apache-2.0
// The process side of the PyPI-scale benchmarks (bench/pypi-scale-bench.ts,
// bench/pypi-claiming-bench.ts): running a child to completion with its peak memory, the CPU of
// the benchmark's processes and of PostgreSQL's, phases with their CPU and the server's memory,
// and the sizes of a directory and a database.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DATABASE_FILE } from '../src/repository/paths.js';
import type { PgCluster } from '../test/helpers/postgres.js';
import { machineCpu, note, otherCpu, processCpu, processMemory, type MachineCpu } from './common.js';

// ---- processes ----------------------------------------------------------------------------------

export interface ChildRun {
  stdout: string;
  /** VmHWM, read every 100 ms while it ran: misses only growth in its last 100 ms */
  peakRss: number;
  seconds: number;
}

/**
 * Runs a node script to completion, following its peak memory from /proc. With `onMark`, the
 * child may send `{ mark: label }` (process.send) when it starts a part worth its own figures.
 */
export function runNode(args: string[], nodeArgs: string[] = [], onMark?: (label: string, pid: number) => void): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: onMark ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'] });
    child.on('message', (m: { mark?: string }) => {
      if (m.mark !== undefined && child.pid !== undefined) onMark?.(m.mark, child.pid);
    });
    let stdout = '';
    let peakRss = 0;
    const timer = setInterval(() => {
      if (child.pid !== undefined) peakRss = Math.max(peakRss, processMemory(child.pid)?.peakRss ?? 0);
    }, 100);
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearInterval(timer);
      if (code === 0) resolvePromise({ stdout, peakRss, seconds: (performance.now() - t0) / 1000 });
      else reject(new Error(`${args[0] ?? 'child'} ${args.slice(1, 3).join(' ')} exited with ${code ?? signal}`));
    });
  });
}

export const lastJsonLine = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as T;

/** The PostgreSQL server's processes: the postmaster and its children (backends, workers). */
export function postgresPids(cluster: PgCluster): number[] {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** CPU seconds of the whole cluster: the postmaster, its exited children (waited for) and its live ones. */
export function postgresCpu(cluster: PgCluster | undefined): number {
  if (!cluster) return 0;
  const [postmaster, ...children] = postgresPids(cluster);
  if (postmaster === undefined) return 0;
  const pm = processCpu(postmaster);
  return (pm ? pm.total + pm.children : 0) + children.reduce((a, pid) => a + (processCpu(pid)?.total ?? 0), 0);
}

/** This process and the children it has waited for. */
export function ownCpu(): number {
  const me = processCpu(process.pid);
  return me ? me.total + me.children : 0;
}

/** A point in time with the machine's CPU and the benchmark's own (a running child's given by pid). */
export interface CpuMark {
  t: number;
  machine: MachineCpu | undefined;
  own: number;
}

export function cpuMark(cluster: PgCluster | undefined, runningChild?: number): CpuMark {
  const child = runningChild === undefined ? 0 : (processCpu(runningChild)?.total ?? 0);
  return { t: performance.now(), machine: machineCpu(), own: ownCpu() + postgresCpu(cluster) + child };
}

export interface CpuWindow {
  seconds: number;
  /** CPU seconds of the benchmark's processes, PostgreSQL included */
  ownCpuSeconds: number;
  otherCpuSeconds: number;
}

export function cpuWindow(a: CpuMark | undefined, b: CpuMark | undefined): CpuWindow {
  if (!a || !b) return { seconds: Number.NaN, ownCpuSeconds: Number.NaN, otherCpuSeconds: Number.NaN };
  const own = b.own - a.own;
  return { seconds: (b.t - a.t) / 1000, ownCpuSeconds: own, otherCpuSeconds: otherCpu(a.machine, b.machine, own).otherProcesses };
}

export interface PostgresMemory {
  /** the largest peak RSS (VmHWM) of one server process */
  largestProcess: number;
  /** the peak, over samples, of the server's private memory summed plus its shared memory counted once */
  cluster: number;
}

export interface PhaseStats extends CpuWindow {
  postgres: PostgresMemory | null;
}

/** Runs a phase, with its CPU accounting and (on PostgreSQL) the server's memory every 200 ms. */
export async function phase<T>(name: string, cluster: PgCluster | undefined, fn: () => Promise<T>): Promise<{ value: T; stats: PhaseStats }> {
  note(`== ${name}`);
  const start = cpuMark(cluster);
  const pgMemory: PostgresMemory = { largestProcess: 0, cluster: 0 };
  const sample = () => {
    if (!cluster) return;
    let anon = 0;
    let shmem = 0;
    for (const pid of postgresPids(cluster)) {
      const m = processMemory(pid);
      if (!m) continue;
      pgMemory.largestProcess = Math.max(pgMemory.largestProcess, m.peakRss);
      anon += m.anon;
      shmem = Math.max(shmem, m.shmem);
    }
    pgMemory.cluster = Math.max(pgMemory.cluster, anon + shmem);
  };
  const timer = setInterval(sample, 200);
  try {
    const value = await fn();
    sample();
    return { value, stats: { ...cpuWindow(start, cpuMark(cluster)), postgres: cluster ? pgMemory : null } };
  } finally {
    clearInterval(timer);
  }
}

// ---- sizes --------------------------------------------------------------------------------------

export function directorySize(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = directorySize(path);
      files += sub.files;
      bytes += sub.bytes;
    } else {
      files++;
      bytes += statSync(path).size;
    }
  }
  return { files, bytes };
}

export async function databaseSize(dataDir: string, url: string | undefined): Promise<{ total: number; targets: number | null; files: number | null }> {
  if (!url) {
    const path = join(dataDir, DATABASE_FILE);
    const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
    return { total: size(path) + size(`${path}-wal`) + size(`${path}-shm`), targets: null, files: null };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = (
      await client.query(
        "SELECT pg_database_size(current_database()) AS total, pg_total_relation_size('targets') AS targets, pg_total_relation_size('files') AS files"
      )
    ).rows[0] as Record<string, string>;
    return { total: Number(r['total']), targets: Number(r['targets']), files: Number(r['files']) };
  } finally {
    await client.end();
  }
}

