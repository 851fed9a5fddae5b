// SPDX-License-Identifier: Apache-2.0
// `bulwark serve`: run the index (API server, transaction worker and snapshot process in one
// process). On an empty data directory it first creates a demo repository. On PostgreSQL,
// several can run: `--no-worker --no-snapshot` makes one an API server only, leaving the rest
// to `bulwark worker` processes and the elected snapshot leader.
import type { Command } from 'commander';
import { loadConfig } from '../../repository/config.js';
import { Repository } from '../../repository/repository.js';
import { buildServer } from '../../server/app.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { createDemo, DEMO_WARNING, parseBins } from './init.js';
import { addLimitOptions, parseLimitOptions, type LimitOptions } from './limit-options.js';
import { addProcessOptions, parseProcessOptions, requirePostgres, stopOnSignals, type ProcessOptions } from './process-options.js';

interface ServeOptions extends ProcessOptions, LimitOptions {
  host: string;
  port: string;
  bins: string;
  worker: boolean;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port must be 0–65535, got ${value}`, EXIT.usage, 'USAGE');
  return n;
}

export function registerServe(program: Command): void {
  addProcessOptions(
    addLimitOptions(
      program
        .command('serve')
        .description('run the package index (creates a demo repository on first run)')
        .option('--host <host>', 'address to listen on', '127.0.0.1')
        .option('--port <port>', 'port to listen on (0 picks a free one)', '8080')
        .option('--bins <n>', 'hashed bins for a new demo repository', '16384')
        .option('--no-worker', 'leave project transactions to `bulwark worker` processes (PostgreSQL)')
    )
  ).action(async (cmdOpts: ServeOptions, cmd: Command) => {
    const opts = globalOptions(cmd);
    const port = parsePort(cmdOpts.port);
    const limits = parseLimitOptions(cmdOpts);
    if (!(await loadConfig(opts.data))) {
      process.stderr.write(`No repository in ${opts.data}: creating a demo repository…\n`);
      await createDemo(opts.data, parseBins(cmdOpts.bins), !opts.json);
    }
    if (!cmdOpts.worker || !cmdOpts.snapshot) requirePostgres(opts.database, '--no-worker / --no-snapshot');
    const { leaderTtlMs, workerConcurrency, log } = parseProcessOptions(cmdOpts);
    const repo = await Repository.open(opts.data, { log, databaseUrl: opts.database, leaderTtlMs, workerConcurrency });
    if (repo.config.mode === 'demo') {
      process.stderr.write(`\n${DEMO_WARNING}\n\n`);
      log.warn({ data: opts.data }, DEMO_WARNING);
    }
    await repo.start({ worker: cmdOpts.worker, snapshot: cmdOpts.snapshot });
    if (opts.database === undefined && !repo.leadership.current()) {
      // Two processes on one embedded store would apply transactions side by side.
      const leader = await repo.state.leader();
      await repo.close();
      throw new CliError(
        `another bulwark process (${leader?.holder ?? 'unknown'}) serves ${opts.data}: the embedded store serves one process; stop it, or move the state to PostgreSQL (--database) to run several`,
        EXIT.failure,
        'BUSY'
      );
    }
    const app = await buildServer(repo, { logger: log, ...limits });
    const address = await app.listen({ host: cmdOpts.host, port });
    const url = address.replace('[::1]', 'localhost');
    output(
      opts,
      { url, data: opts.data, root: `${url}/metadata/1.root.json`, mode: repo.config.mode },
      `Bulwark listening on ${url}\n  pip:   pip install --index-url ${url}/simple/ NAME\n  twine: twine upload --repository-url ${url}/legacy/ dist/*\n  root:  ${url}/metadata/1.root.json`
    );
    stopOnSignals(log, async () => {
      await app.close();
      await repo.close();
    });
  });
}
