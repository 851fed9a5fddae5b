// Child processes and temp dirs for the end-to-end tests: run one-shot commands with a
// timeout, start a Bulwark server and wait until it listens, and make sure nothing outlives
// the test process (every child runs in its own process group, killed on exit).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file runs from dist/test/helpers/. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string | undefined;
  /** The complete environment (not merged with process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  input?: string | undefined;
  timeoutMs?: number | undefined;
}

// ---- cleanup on exit ----------------------------------------------------------------------

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** Signals a child's whole process group (it was spawned detached, so it leads one). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function cleanupSync(): void {
  for (const child of liveChildren) signalGroup(child, 'SIGKILL');
  liveChildren.clear();
  if (process.env['BULWARK_KEEP_TMP']) return; // keep data dirs around for debugging
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', cleanupSync);
// Children run in their own process groups, so Ctrl-C or the test runner's SIGTERM does not
// reach them: clean up, then die of the same signal (once() restores the default action).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    cleanupSync();
    process.kill(process.pid, signal);
  });
}

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : 0); // the shell's convention
}

// ---- temp dirs ----------------------------------------------------------------------------

/** A fresh directory under the OS temp dir, removed on process exit (unless BULWARK_KEEP_TMP). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `bulwark-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Removes a directory made by tempDir() now rather than at exit. */
export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true });
}

// ---- one-shot commands --------------------------------------------------------------------

/** Runs a command to completion, capturing its output; kills it after timeoutMs (default 120 s). */
export function runCommand(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n[test helper] ${cmd} killed after ${timeoutMs} ms\n`;
      resolvePromise({ code: exitCode(code, signal), stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the child may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `node bin/bulwark.js ARGS` (one-shot CLI commands) from the repository root. */
export function runBulwark(
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return runCommand(process.execPath, [join(repoRoot, 'bin', 'bulwark.js'), ...args], {
    env: { ...process.env, ...opts.env },
    input: opts.input,
    timeoutMs: opts.timeoutMs,
  });
}

// ---- long-running servers -----------------------------------------------------------------

export interface RunningServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  proc: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL) at once, e.g. to simulate a crash. */
  kill(signal?: NodeJS.Signals): void;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
}

export interface StartOptions {
  cwd?: string | undefined;
  /** The complete environment (not merged with process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Must capture the base URL in group 1 and the port in group 2. */
  ready: RegExp;
  timeoutMs?: number | undefined;
}

const MAX_OUTPUT = 4 * 1024 * 1024; // keep the tail only: a chatty server must not eat memory

/** Spawns a long-running process and resolves once a stdout line matches `ready`. */
export function startProcess(cmd: string, args: string[], opts: StartOptions): Promise<RunningServer> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  track(child);
  let log = '';
  const append = (s: string): void => {
    log += s;
    if (log.length > MAX_OUTPUT) log = log.slice(-MAX_OUTPUT / 2);
  };
  const exited = new Promise<void>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once('exit', () => res());
  });
  let stopping: Promise<void> | undefined;
  const describe = (): string => `${cmd} ${args.join(' ')}\n--- output ---\n${log}`;

  return new Promise((resolvePromise, reject) => {
    let pending = ''; // the unfinished last line of stdout
    const onStdout = (s: string): void => {
      append(s);
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const m = opts.ready.exec(line);
        if (m?.[1] && m[2]) return ready(m[1], Number(m[2]));
      }
    };
    // Keep draining both pipes for the whole life of the process: a full pipe blocks it.
    child.stdout.setEncoding('utf8').on('data', onStdout);
    child.stderr.setEncoding('utf8').on('data', append);

    const timer = setTimeout(() => {
      signalGroup(child, 'SIGKILL');
      fail(new Error(`not ready after ${timeoutMs} ms: ${describe()}`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`exited (${exitCode(code, signal)}) before it was ready: ${describe()}`));
    child.once('exit', onExit);
    child.once('error', (err) => fail(new Error(`cannot start: ${err.message}: ${describe()}`)));

    function fail(err: Error): void {
      clearTimeout(timer);
      child.stdout.off('data', onStdout).on('data', append);
      signalGroup(child, 'SIGKILL');
      reject(err);
    }

    function ready(url: string, port: number): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout.off('data', onStdout).on('data', append);
      // A test that forgets stop() must not hang the run: let the test process exit anyway
      // (the exit hook then kills the server).
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      resolvePromise({
        url: url.replace(/\/+$/, ''),
        port,
        proc: child,
        output: () => log,
        kill: (signal = 'SIGKILL') => signalGroup(child, signal),
        stop: () => {
          stopping ??= (async () => {
            signalGroup(child, 'SIGTERM');
            const killer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
            await exited;
            clearTimeout(killer);
          })();
          return stopping;
        },
      });
    }
  });
}

/**
 * Starts `node bin/bulwark.js serve --data DIR --host 127.0.0.1 --port 0 ...args` and waits
 * (30 s at most) for its stdout line `listening on http://127.0.0.1:PORT`.
 */
export function startBulwark(opts: {
  dataDir: string;
  args?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<RunningServer> {
  const args = ['serve', '--data', opts.dataDir, '--host', '127.0.0.1', '--port', '0', ...(opts.args ?? [])];
  return startProcess(process.execPath, [join(repoRoot, 'bin', 'bulwark.js'), ...args], {
    env: { ...process.env, ...opts.env },
    ready: /listening on (http:\/\/127\.0\.0\.1:(\d+))/,
    timeoutMs: opts.timeoutMs,
  });
}

/**
 * Starts `node bin/bulwark.js worker --data DIR ...args` and waits for its line
 * `Bulwark worker PID …` (`port` of the result is the worker's pid; it serves no HTTP).
 */
export function startWorker(opts: { dataDir: string; args?: string[]; env?: Record<string, string>; timeoutMs?: number }): Promise<RunningServer> {
  const args = ['worker', '--data', opts.dataDir, ...(opts.args ?? [])];
  return startProcess(process.execPath, [join(repoRoot, 'bin', 'bulwark.js'), ...args], {
    env: { ...process.env, ...opts.env },
    ready: /^(Bulwark worker) (\d+)/,
    timeoutMs: opts.timeoutMs,
  });
}
