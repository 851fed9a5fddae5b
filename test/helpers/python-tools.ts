// Drives the real Python clients against a Bulwark server: Debian's twine for uploads and the
// pyenv python's pip for installs. Each runs in a clean environment so that the machine's
// pip.conf (extra indexes, find-links, constraints), ~/.pypirc or TWINE_* variables cannot
// change what the tests observe: the index under test is the only source of packages.
import { tempDir, removeTempDir, runCommand, type CommandResult } from './processes.js';

export type { CommandResult } from './processes.js';

export const TWINE = '/usr/bin/twine';
const TIMEOUT_MS = 120_000;

/** A minimal environment with a throwaway HOME; nothing else leaks in from ours. */
async function cleanEnv(extra: Record<string, string> = {}): Promise<{ env: NodeJS.ProcessEnv; home: string }> {
  const home = await tempDir('home');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: process.env['TMPDIR'] ?? '/tmp',
    PYTHONDONTWRITEBYTECODE: '1',
    NO_COLOR: '1',
    ...extra,
  };
  return { env, home };
}

async function runClean(cmd: string, args: string[], extra: Record<string, string> = {}): Promise<CommandResult> {
  const { env, home } = await cleanEnv(extra);
  try {
    return await runCommand(cmd, args, { env, timeoutMs: TIMEOUT_MS });
  } finally {
    await removeTempDir(home);
  }
}

// `python3` on PATH is a pyenv shim that needs our HOME/PYENV_* to pick the interpreter, so
// resolve the real executable once, in our own environment, and run that in the clean one.
let pythonPath: Promise<string> | undefined;
export function python(): Promise<string> {
  pythonPath ??= runCommand('python3', ['-c', 'import sys; print(sys.executable)'], { timeoutMs: 30_000 }).then(
    (r) => {
      const exe = r.stdout.trim();
      if (r.code !== 0 || exe === '') throw new Error(`cannot locate python3: ${r.stderr}`);
      return exe;
    },
  );
  return pythonPath;
}

/** Runs the pyenv python (real executable) in the clean environment. */
export async function runPython(args: string[], extraEnv: Record<string, string> = {}): Promise<CommandResult> {
  return runClean(await python(), args, extraEnv);
}

// PIP_CONFIG_FILE=/dev/null makes pip skip every config file (global, user, site).
const PIP_ENV = { PIP_CONFIG_FILE: '/dev/null' };
const PIP_COMMON = ['--no-cache-dir', '--disable-pip-version-check', '--no-input'];

/** `twine upload` to repositoryUrl (e.g. http://127.0.0.1:PORT/legacy/) with an API token. */
export function twineUpload(opts: {
  repositoryUrl: string;
  token: string;
  files: string[];
  skipExisting?: boolean;
  extraArgs?: string[];
}): Promise<CommandResult> {
  const args = ['--no-color', 'upload', '--non-interactive', '--disable-progress-bar'];
  args.push('--repository-url', opts.repositoryUrl, '-u', '__token__', '-p', opts.token);
  if (opts.skipExisting) args.push('--skip-existing');
  args.push(...(opts.extraArgs ?? []), ...opts.files);
  // The null keyring keeps twine from probing a desktop keyring for credentials.
  return runClean(TWINE, args, { PYTHON_KEYRING_BACKEND: 'keyring.backends.null.Keyring' });
}

/** `twine check` on built distributions (no server involved). */
export function twineCheck(files: string[]): Promise<CommandResult> {
  return runClean(TWINE, ['--no-color', 'check', ...files]);
}

/** `pip install --target DIR` from indexUrl (the simple index, e.g. http://127.0.0.1:PORT/simple/). */
export async function pipInstall(opts: {
  indexUrl: string;
  packages: string[];
  target: string;
  extraArgs?: string[];
}): Promise<CommandResult> {
  // --root-user-action (install only): the tests run as root; keep that warning out of stderr.
  const args = ['-m', 'pip', 'install', ...PIP_COMMON, '--root-user-action=ignore', '--index-url', opts.indexUrl, '--target', opts.target];
  return runPython([...args, ...(opts.extraArgs ?? []), ...opts.packages], PIP_ENV);
}

/** `pip download --no-deps -d DEST` from indexUrl. */
export async function pipDownload(opts: {
  indexUrl: string;
  packages: string[];
  dest: string;
  extraArgs?: string[];
}): Promise<CommandResult> {
  const args = ['-m', 'pip', 'download', ...PIP_COMMON, '--no-deps', '--index-url', opts.indexUrl, '-d', opts.dest];
  return runPython([...args, ...(opts.extraArgs ?? []), ...opts.packages], PIP_ENV);
}

/** Any other pip command in the same clean environment, e.g. ['install', '--no-index', ...]. */
export function pip(args: string[]): Promise<CommandResult> {
  return runPython(['-m', 'pip', ...args], PIP_ENV);
}
