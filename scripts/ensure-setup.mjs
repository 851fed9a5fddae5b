#!/usr/bin/env node
// Installs what Bulwark needs on a fresh machine, then builds it. Idempotent and quick when
// nothing changed, so `npm start` and `npm test` can always call it first.
//   node scripts/ensure-setup.mjs          npm packages + TypeScript build
//   node scripts/ensure-setup.mjs --test   also the Debian packages the tests drive (twine, chromium, postgresql)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The Node releases that load ES modules with require() (package.json "engines"; bin/bulwark.js
// checks the same), said before npm ci spends minutes on a machine that cannot run the result.
const [major, minor] = process.versions.node.split('.').map(Number);
if (!((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23)) {
  process.stderr.write(`[setup] Bulwark needs Node.js 20.19 or later on 20, or 22.12 or later; this is ${process.version}\n`);
  process.exit(1);
}
const forTests = process.argv.includes('--test');
// Everything the set-up prints goes to standard error: standard output belongs to the command
// that follows (`npm run table1 -- --json` prints JSON there).
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 2, 2], ...opts });
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

/** Runs a long command, saying every 15 s that it is still at work (npm ci prints nothing for minutes). */
async function runWithHeartbeat(what, cmd, args) {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const timer = setInterval(() => log(`still ${what}… ${seconds()} s`), 15_000);
  try {
    const code = await new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 2, 2] });
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    if (code !== 0) {
      log(`${cmd} ${args.join(' ')} failed (exit ${code})`);
      process.exit(code);
    }
  } finally {
    clearInterval(timer);
  }
  log(`done ${what} in ${seconds()} s`);
}

// 1. npm packages: reinstall when the lock file changed since the last install.
const stamp = join(root, 'node_modules', '.bulwark-lock-stamp');
const lock = readFileSync(join(root, 'package-lock.json'), 'utf8');
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lock) {
  log('installing npm packages (npm ci): the first time takes about two minutes (better-sqlite3 may compile from source)…');
  await runWithHeartbeat('installing npm packages', 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=warn']);
  writeFileSync(stamp, lock);
}

function hasPostgresServer() {
  const dir = '/usr/lib/postgresql';
  return existsSync(dir) && readdirSync(dir).some((v) => existsSync(join(dir, v, 'bin', 'initdb')));
}

// 2. Debian packages the end-to-end tests use. We run as root on the project's machines;
//    elsewhere we say what is missing instead of failing obscurely later.
if (forTests) {
  const wanted = [
    { bin: '/usr/bin/twine', pkg: 'twine' },
    { bin: '/usr/bin/chromium', pkg: 'chromium' }, // the web pages' browser test (playwright-core never downloads one)
    { bin: '/usr/bin/zbarimg', pkg: 'zbar-tools' }, // decodes the two-factor QR code from a screenshot (test/web/)
    // The PostgreSQL state store's tests start a throwaway cluster with initdb / pg_ctl, found
    // under /usr/lib/postgresql/<major version>/bin whatever the version.
    { present: hasPostgresServer, pkg: 'postgresql' },
    // TUF keys and signatures from an independent implementation (test/fixtures/sslib_tuf.py);
    // its crypto back ends are only Recommends, which --no-install-recommends skips.
    { bin: '/usr/lib/python3/dist-packages/securesystemslib/__init__.py', pkg: 'python3-securesystemslib' },
    { bin: '/usr/lib/python3/dist-packages/nacl/__init__.py', pkg: 'python3-nacl' },
    { bin: '/usr/lib/python3/dist-packages/cryptography/__init__.py', pkg: 'python3-cryptography' },
    { bin: '/usr/bin/strace', pkg: 'strace' }, // test/crash/fsync-order: the order of fsyncs, renames and acks
    // The build farm's wheel builds (src/buildfarm/): Debian's python3 with its build tools.
    { bin: '/usr/lib/python3/dist-packages/setuptools/__init__.py', pkg: 'python3-setuptools' },
    { bin: '/usr/lib/python3/dist-packages/wheel/__init__.py', pkg: 'python3-wheel' },
    { bin: '/usr/lib/python3/dist-packages/pip/__init__.py', pkg: 'python3-pip' },
  ];
  const missing = wanted.filter((w) => (w.present ? !w.present() : !existsSync(w.bin))).map((w) => w.pkg);
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      log(`missing Debian packages: ${missing.join(' ')} (run: sudo apt-get install ${missing.join(' ')})`);
      process.exit(1);
    }
    log(`installing Debian packages: ${missing.join(' ')}…`);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

// 3. TypeScript build (incremental: a no-op build takes about a second).
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const started = Date.now();
run(process.execPath, [tsc, '-p', 'tsconfig.json']);
if (Date.now() - started > 3000) log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);

