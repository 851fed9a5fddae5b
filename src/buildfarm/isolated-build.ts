// SPDX-License-Identifier: Apache-2.0
// One wheel build of a developer-signed sdist, isolated (issue 15 item 2): a fresh temporary
// directory as cwd, HOME and TMPDIR; no network (a new network namespace: `unshare -n` as root,
// `unshare -rn` otherwise); an environment of a few fixed variables (none of the index's: no
// data directory, no keys, no tokens); a time limit (the process group is killed) and memory and
// CPU limits (prlimit). The tools are the machine's Debian ones (/usr/bin/python3 with
// python3-setuptools, python3-wheel and python3-pip), run as
// `python3 -m pip wheel --no-deps --no-index --no-build-isolation`, so a build that needs
// anything else fails, and its log says why.
//
// The sdist is hostile input: it runs its own setup.py, which is why every build is fenced in
// this way. What comes back (the wheel) is only ever compared by hash and signed when another
// builder got the same bytes.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseDistributionFilename, readWheelMetadata } from '../packaging/index.js';
import { BUILD_DRIVER, SANDBOX_SCRIPT } from './build-driver.js';

export const DEBIAN_PYTHON = '/usr/bin/python3';
/** Builds started as root run as this user (nobody), after the namespaces are set up. */
const BUILD_UID = 65534;

/** How builds are cut off from the network. */
export type NetworkIsolation = 'unshare-n' | 'unshare-rn' | 'none';

export class BuildSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildSetupError';
  }
}

/** The versions of the tools that made a wheel (recorded in attestations, compared by --verify-build). */
export interface ToolVersions {
  python: string;
  setuptools: string;
  wheel: string;
  pip: string;
}

export interface BuildOptions {
  /** The sdist to build: a file, or its name and bytes. */
  sdist: { path: string } | { filename: string; bytes: Buffer };
  isolation: NetworkIsolation;
  /** Wall-clock limit: the build's process group is killed after it (default 10 minutes). */
  timeoutMs?: number;
  /** Address-space limit of the build's processes (default 2 GiB). */
  memoryBytes?: number;
  /**
   * Directories the build must not see (the index's data directory, key directories): each is
   * covered by an empty unreadable tmpfs in the build's mount namespace.
   */
  hide?: readonly string[];
  /** Where the temporary build directory is made (default the OS's). */
  workRoot?: string;
  python?: string;
}

export type BuildOutcome =
  | {
      ok: true;
      wheel: { filename: string; bytes: Buffer; sha256: string };
      /** The wheel's METADATA (its PEP 658 `.metadata` file). */
      metadata: Buffer;
      tools: ToolVersions;
      sourceDateEpoch: number;
      /** The command that built the wheel, as recorded in attestations. */
      command: string[];
      log: string;
    }
  | { ok: false; reason: string; log: string };

/** The command run inside the sandbox (what attestations name). */
export function pipWheelCommand(python = DEBIAN_PYTHON): string[] {
  return [python, '-m', 'pip', 'wheel', '--no-deps', '--no-index', '--no-build-isolation', '--wheel-dir', 'out', 'SDIST'];
}

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/**
 * The network isolation this machine offers: `unshare -n` as root, `unshare -rn` (a user
 * namespace) otherwise. Without either, builds are refused unless `allowNone` (the
 * `--no-network-isolation` option) says to build with the network.
 */
export function chooseNetworkIsolation(allowNone: boolean): NetworkIsolation {
  const root = process.getuid?.() === 0;
  if (root && works('unshare', ['-n', '-m', 'true'])) return 'unshare-n';
  if (works('unshare', ['-r', '-n', '-m', 'true'])) return 'unshare-rn';
  if (allowNone) return 'none';
  throw new BuildSetupError(
    'cannot cut builds off from the network: neither `unshare -n` (as root) nor `unshare -rn` (user namespaces) works here. ' +
      'Enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), run as root, or pass --no-network-isolation to build with the network.'
  );
}

/** Checks that the Debian tools are there before any build; says which package to install otherwise. */
export function checkBuildTools(python = DEBIAN_PYTHON): void {
  for (const [mod, pkg] of [
    ['setuptools', 'python3-setuptools'],
    ['wheel', 'python3-wheel'],
    ['pip', 'python3-pip'],
  ] as const) {
    if (!works(python, ['-c', `import ${mod}`])) throw new BuildSetupError(`${python} cannot import ${mod}: install it (apt-get install ${pkg})`);
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * The sandbox around the driver: limits first; then new network and mount namespaces (as root:
 * `unshare -n -m`; otherwise in a user namespace, `unshare -r -n -m`); then the hidden paths are
 * covered; then, when started as root, the build drops to nobody (setpriv) so that nothing else
 * of the machine's is writable or readable to it beyond what any user may.
 */
function sandboxCommand(o: BuildOptions, python: string, timeoutMs: number, hidden: readonly string[]): string[] {
  const memory = o.memoryBytes ?? 2 * 1024 ** 3;
  const cpuSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const limits = ['prlimit', `--as=${memory}`, `--cpu=${cpuSeconds}`, `--fsize=${memory}`, '--core=0', '--'];
  const driver = [python, '-I', 'driver.py'];
  if (o.isolation === 'none') return [...limits, ...driver];
  const namespaces = o.isolation === 'unshare-n' ? ['unshare', '-n', '-m', '--propagation', 'private', '--'] : ['unshare', '-r', '-n', '-m', '--propagation', 'private', '--'];
  const drop = o.isolation === 'unshare-n' ? ['setpriv', `--reuid=${BUILD_UID}`, `--regid=${BUILD_UID}`, '--clear-groups', '--no-new-privs'] : [];
  return [...limits, ...namespaces, '/bin/sh', 'sandbox.sh', ...hidden, '--', ...drop, ...driver];
}

/** The hidden paths that exist and do not contain the build directory (hiding those would hide the build). */
function hiddenPaths(o: BuildOptions, dir: string): string[] {
  const out: string[] = [];
  for (const h of o.hide ?? []) {
    const abs = resolve(h);
    const rel = relative(abs, dir);
    if (rel === '' || !rel.startsWith('..')) continue;
    if (spawnSync('test', ['-d', abs]).status === 0) out.push(abs);
  }
  return out;
}

/**
 * Builds the sdist's wheel in a fresh directory and removes the directory afterwards.
 * Never throws for a failing build: the outcome says why, with the whole log.
 */
export async function buildWheel(o: BuildOptions): Promise<BuildOutcome> {
  const python = o.python ?? DEBIAN_PYTHON;
  const timeoutMs = o.timeoutMs ?? 600_000;
  const dir = await mkdtemp(join(o.workRoot ?? tmpdir(), 'bulwark-build-'));
  try {
    const sdistName = 'path' in o.sdist ? basename(o.sdist.path) : o.sdist.filename;
    if (!/^[A-Za-z0-9._+-]+\.(tar\.gz|zip)$/.test(sdistName)) return { ok: false, reason: `${sdistName} is not an sdist file name`, log: '' };
    if ('path' in o.sdist) await copyFile(o.sdist.path, join(dir, sdistName));
    else await writeFile(join(dir, sdistName), o.sdist.bytes);
    await writeFile(join(dir, 'driver.py'), BUILD_DRIVER);
    await writeFile(join(dir, 'sandbox.sh'), SANDBOX_SCRIPT);
    // As root the build runs as nobody: its directory must be its own.
    if (o.isolation === 'unshare-n') for (const f of ['', sdistName, 'driver.py', 'sandbox.sh']) await chown(join(dir, f), BUILD_UID, BUILD_UID);
    const hidden = hiddenPaths(o, dir);
    const [cmd, ...args] = sandboxCommand(o, python, timeoutMs, hidden) as [string, ...string[]];
    const env = {
      PATH: '/usr/bin:/bin',
      HOME: dir,
      TMPDIR: dir,
      LANG: 'C.UTF-8',
      PYTHONDONTWRITEBYTECODE: '1',
      PIP_NO_CACHE_DIR: '1',
      PIP_CONFIG_FILE: '/dev/null',
      PIP_DISABLE_PIP_VERSION_CHECK: '1',
      BULWARK_SDIST: sdistName,
      BULWARK_PYTHON: python,
    };
    const run = await runLimited(cmd, args, { cwd: dir, env, timeoutMs });
    let log = run.output;
    if (run.timedOut) return { ok: false, reason: `the build took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`, log };
    let result: { wheel?: string; tools?: ToolVersions; source_date_epoch?: number; error?: string } = {};
    try {
      result = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as typeof result;
    } catch {
      // no result: the driver itself failed (the log says how)
    }
    if (run.code !== 0 || !result.wheel || !result.tools || typeof result.source_date_epoch !== 'number') {
      return { ok: false, reason: result.error ?? `the build failed (exit ${run.code ?? run.signal})`, log };
    }
    const wheels = (await readdir(join(dir, 'out'))).filter((f) => f.endsWith('.whl'));
    if (wheels.length !== 1 || wheels[0] !== result.wheel) {
      return { ok: false, reason: `the build made ${wheels.length} wheels (${wheels.join(', ')}); one is expected`, log };
    }
    const bytes = await readFile(join(dir, 'out', result.wheel));
    let metadata: Buffer;
    try {
      const parsed = parseDistributionFilename(result.wheel);
      metadata = (await readWheelMetadata(join(dir, 'out', result.wheel), { project: parsed.project, version: parsed.version })).bytes;
    } catch (e) {
      return { ok: false, reason: `the built wheel is not valid: ${(e as Error).message}`, log };
    }
    log += `\nwheel ${result.wheel} sha256 ${sha256(bytes)}\n`;
    return {
      ok: true,
      wheel: { filename: result.wheel, bytes, sha256: sha256(bytes) },
      metadata,
      tools: result.tools,
      sourceDateEpoch: result.source_date_epoch,
      command: pipWheelCommand(python).map((a) => (a === 'SDIST' ? sdistName : a)),
      log,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a command in its own process group; kills the whole group after the time limit. Output is capped. */
function runLimited(cmd: string, args: string[], o: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<{ code: number | null; signal: string | null; output: string; timedOut: boolean }> {
  const MAX_LOG = 1024 * 1024;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (b: Buffer) => {
      if (output.length < MAX_LOG) output += b.toString('utf8').slice(0, MAX_LOG - output.length);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, o.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, output: `${output}\n${e.message}\n`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, timedOut });
    });
  });
}
