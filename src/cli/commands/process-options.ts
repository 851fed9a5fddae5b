// SPDX-License-Identifier: Apache-2.0
// What `bulwark serve` and `bulwark worker` share: the options of a long-running process of
// the index (which parts run, the leader lease, logging) and its orderly shutdown.
import type { Command } from 'commander';
import pino from 'pino';
import type { Logger } from '../../repository/logger.js';
import { CliError, EXIT } from '../context.js';

export interface ProcessOptions {
  snapshot: boolean;
  leaderTtl: string;
  workerConcurrency: string;
  logLevel: string;
}

export function addProcessOptions(cmd: Command): Command {
  return cmd
    .option('--no-snapshot', 'never become the snapshot leader in this process (other processes publish)')
    .option('--leader-ttl <seconds>', 'snapshot leader lease: a silent leader is replaced after this long', '10')
    .option('--worker-concurrency <n>', 'project transactions applied at once by this process', '8')
    .option('--log-level <level>', 'pino log level (logs go to standard error)', 'info');
}

function positive(value: string, flag: string, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new CliError(`${flag} must be a number in (0, ${max}], got ${value}`, EXIT.usage, 'USAGE');
  return n;
}

export function parseProcessOptions(o: ProcessOptions): { leaderTtlMs: number; workerConcurrency: number; log: pino.Logger } {
  return {
    leaderTtlMs: Math.round(positive(o.leaderTtl, '--leader-ttl', 3600) * 1000),
    workerConcurrency: Math.round(positive(o.workerConcurrency, '--worker-concurrency', 256)),
    log: pino({ level: o.logLevel }, pino.destination(2)),
  };
}

/** Processes other than one `bulwark serve` share the work through PostgreSQL only. */
export function requirePostgres(database: string | undefined, what: string): void {
  if (database === undefined) {
    throw new CliError(
      `${what} needs PostgreSQL (--database postgres://… or BULWARK_DATABASE_URL): the embedded store serves one process, and \`bulwark serve\` does all the work there`,
      EXIT.usage,
      'USAGE'
    );
  }
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits 0. */
export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(EXIT.ok),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(EXIT.failure);
      }
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}
