// A throwaway PostgreSQL cluster for the tests that run against the PostgreSQL state store:
// Debian's initdb / pg_ctl (/usr/lib/postgresql/<version>/bin), a data directory in the temp
// dir, listening on 127.0.0.1 and a free port (and on a Unix socket in the data directory),
// trust authentication, fsync off. One cluster per test process (node --test runs each file in
// its own process), started on first use and stopped when the process exits; every call of
// createDatabase() gives a fresh, empty database. Benchmarks (bench/pypi-scale-bench.ts) start
// it too, durable (fsync on) and with their own settings.
// PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user (created
// by Debian's package) through runuser.
// When the binaries are missing, postgresOrSkip() returns a reason to skip, unless CI=true:
// CI installs them (scripts/ensure-setup.mjs --test), so there a missing server is a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const PG_ROOT = '/usr/lib/postgresql';

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  adminUrl: string;
  port: number;
  /** The data directory (its postmaster.pid names the server process). */
  dataDir: string;
  /**
   * Creates a fresh database and returns its URL. By default it has the cluster's "C" locale;
   * `icuLocale` (e.g. 'en-US') gives it a locale that sorts and folds case as people do, to
   * check that queries do not depend on the database's locale.
   */
  createDatabase(prefix?: string, opts?: { icuLocale?: string }): Promise<string>;
}

/** The newest installed PostgreSQL's bin directory, or undefined. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')) && existsSync(join(PG_ROOT, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(PG_ROOT, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the user that may run it. */
function pgCommand(bin: string, args: string[]): { cmd: string; args: string[] } {
  return asRoot ? { cmd: 'runuser', args: ['-u', 'postgres', '--', bin, ...args] } : { cmd: bin, args };
}

export interface ClusterOptions {
  /**
   * fsync, synchronous commits and full-page writes on, as a production server runs. Off by
   * default: tests want speed and lose nothing when the machine crashes.
   */
  durable?: boolean;
  /** More server settings (`-c name=value`), e.g. shared_buffers. */
  settings?: Readonly<Record<string, string>>;
}

let started: Promise<PgCluster> | undefined;
let stopSync: (() => void) | undefined;

function registerCleanup(stop: () => void): void {
  stopSync = stop;
  process.on('exit', () => stopSync?.());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => stopSync?.());
}

async function startCluster(binDir: string, options: ClusterOptions): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (asRoot) {
    chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  }
  const run = (name: string, args: string[], timeout = 60_000) => {
    const c = pgCommand(join(binDir, name), args);
    return execFileSync(c.cmd, c.args, { stdio: ['ignore', 'pipe', 'pipe'], timeout, cwd: dir });
  };
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? String(e)}`);
  }
  // Several test processes may start clusters at once: a port taken between freePort() and the
  // server's bind makes pg_ctl fail, and we try another one.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const durability = options.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
    const extra = Object.entries(options.settings ?? {}).map(([k, v]) => ` -c ${k}=${v}`).join('');
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${data}${durability} -c max_connections=200${extra}`;
    try {
      run('pg_ctl', ['-D', data, '-l', log, '-o', opts, '-w', '-t', '60', 'start'], 90_000);
      break;
    } catch (e) {
      if (attempt >= 5) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`pg_ctl start failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? String(e)}`);
      }
    }
  }
  registerCleanup(() => {
    const c = pgCommand(join(binDir, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    spawnSync(c.cmd, c.args, { stdio: 'ignore', timeout: 30_000 });
    if (!process.env['BULWARK_KEEP_TMP']) rmSync(dir, { recursive: true, force: true });
  });
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let n = 0;
  return {
    adminUrl,
    port,
    dataDir: data,
    async createDatabase(prefix = 'bulwark_test', opts = {}) {
      const name = `${prefix}_${process.pid}_${++n}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        // LC_CTYPE must not be C either: PostgreSQL then folds case by ASCII whatever the provider.
        const locale = opts.icuLocale ? ` LOCALE_PROVIDER icu ICU_LOCALE '${opts.icuLocale.replace(/[^A-Za-z0-9_-]/g, '')}' LOCALE 'C.utf8'` : '';
        await client.query(`CREATE DATABASE ${name} TEMPLATE template0${locale}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
  };
}

function idOf(flag: '-u' | '-g', user: string): number {
  return Number(execFileSync('id', [flag, user]).toString().trim());
}
const uidOf = (user: string) => idOf('-u', user);
const gidOf = (user: string) => idOf('-g', user);

/**
 * Starts the cluster for this process (once: the options of the first call apply). Throws when
 * PostgreSQL is not installed.
 */
export function startPostgres(options: ClusterOptions = {}): Promise<PgCluster> {
  const binDir = postgresBinDir();
  if (!binDir) return Promise.reject(new Error(`PostgreSQL is not installed (no initdb under ${PG_ROOT}/*/bin): apt-get install postgresql`));
  started ??= startCluster(binDir, options);
  return started;
}

/**
 * The cluster, or a reason to skip the PostgreSQL tests: only when the binaries are missing and
 * CI=true is not set (so that a developer without PostgreSQL can still run everything else).
 */
export async function postgresOrSkip(): Promise<{ cluster: PgCluster; skip?: undefined } | { cluster?: undefined; skip: string }> {
  if (!postgresBinDir() && process.env['CI'] !== 'true') {
    const skip = `PostgreSQL is not installed (no ${PG_ROOT}/*/bin/initdb): skipping the PostgreSQL tests; install it with \`apt-get install postgresql\` or run \`node scripts/ensure-setup.mjs --test\``;
    process.stderr.write(`# ${skip}\n`);
    return { skip };
  }
  return { cluster: await startPostgres() };
}
