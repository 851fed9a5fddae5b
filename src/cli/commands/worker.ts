// SPDX-License-Identifier: Apache-2.0
// `bulwark worker`: a process that applies project transactions (and stands as a candidate for
// the snapshot leader) for a cluster of API servers on PostgreSQL. It serves no HTTP.
import type { Command } from 'commander';
import { Repository } from '../../repository/repository.js';
import { globalOptions, output } from '../context.js';
import { addProcessOptions, parseProcessOptions, requirePostgres, stopOnSignals, type ProcessOptions } from './process-options.js';

export function registerWorker(program: Command): void {
  addProcessOptions(
    program
      .command('worker')
      .description('apply project transactions for API servers on PostgreSQL (also a snapshot leader candidate unless --no-snapshot)')
  ).action(async (cmdOpts: ProcessOptions, cmd: Command) => {
    const opts = globalOptions(cmd);
    requirePostgres(opts.database, 'bulwark worker');
    const { leaderTtlMs, workerConcurrency, log } = parseProcessOptions(cmdOpts);
    const repo = await Repository.open(opts.data, { log, databaseUrl: opts.database, leaderTtlMs, workerConcurrency });
    await repo.start({ worker: true, snapshot: cmdOpts.snapshot });
    output(
      opts,
      { pid: process.pid, data: opts.data, snapshotCandidate: cmdOpts.snapshot, leader: repo.leadership.current() !== undefined },
      `Bulwark worker ${process.pid} applying project transactions${cmdOpts.snapshot ? ' (snapshot leader candidate)' : ''}`
    );
    stopOnSignals(log, () => repo.close());
  });
}
