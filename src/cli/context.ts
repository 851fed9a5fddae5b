// SPDX-License-Identifier: Apache-2.0
// What every subcommand shares: where the data directory is, how to print for people or for
// scripts (--json), and exit codes that mean something.
import { resolve } from 'node:path';
import type { Command } from 'commander';

export const EXIT = {
  ok: 0,
  failure: 1, // the operation failed (verification, conflict, …)
  usage: 2, // bad command line
  notFound: 3, // no repository / no such thing
  internal: 70, // a bug (sysexits EX_SOFTWARE): never mistaken for a refusal
  config: 78, // a setting is wrong: database URL, config.json (sysexits EX_CONFIG)
} as const;

/** For --help and the README. */
export const EXIT_CODES_HELP =
  'Exit codes: 0 ok, 1 the operation failed (verification, refusal, conflict), 2 bad command line, 3 no repository or no such thing, 70 internal error (a bug: please report it), 78 configuration error (database URL, config.json). With --json, an error is {"error": {"code", "message", "exit_code"}} on standard output.';

export interface GlobalOptions {
  data: string;
  json: boolean;
  /** postgres://… when the state lives in PostgreSQL (--database, else $BULWARK_DATABASE_URL). */
  database: string | undefined;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ data?: string; json?: boolean; database?: string }>();
  const database = o.database ?? process.env['BULWARK_DATABASE_URL'];
  return { data: resolve(o.data ?? process.env['BULWARK_DATA'] ?? 'bulwark-data'), json: o.json === true, database: database || undefined };
}

/** Prints a result: the JSON value for scripts, or the human text. */
export function output(opts: GlobalOptions, json: unknown, human: string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(json)}\n` : `${human}\n`);
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    readonly code = 'FAILED'
  ) {
    super(message);
    this.name = 'CliError';
  }
}
