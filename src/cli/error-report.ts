// SPDX-License-Identifier: Apache-2.0
// What an error means for whoever ran the command: a typed code, a message, and the exit code
// that says whose fault it is (see EXIT). Failures the code anticipates (verification,
// refusals, bad input, settings) are typed; anything else is a bug, the only case with a stack.
import { DeveloperKeyError } from '../developer/developer-key.js';
import { KeySourceError } from '../repository/keyring.js';
import { NoRepositoryError } from '../repository/repository.js';
import { ConfigurationError } from '../storage/configuration-error.js';
import { TufError } from '../tuf/index.js';
import { CliError, EXIT } from './context.js';

export interface ErrorReport {
  code: string;
  message: string;
  exitCode: number;
  /** Set for internal errors only: the trace to report. */
  stack?: string;
}

export function reportError(e: unknown): ErrorReport {
  if (e instanceof CliError) return { code: e.code, message: e.message, exitCode: e.exitCode };
  if (e instanceof NoRepositoryError) return { code: 'NO_REPOSITORY', message: e.message, exitCode: EXIT.notFound };
  if (e instanceof ConfigurationError) return { code: e.code, message: e.message, exitCode: EXIT.config };
  if (e instanceof DeveloperKeyError) return { code: 'KEY', message: e.message, exitCode: EXIT.failure };
  if (e instanceof KeySourceError) return { code: 'KEY_SOURCE', message: e.message, exitCode: EXIT.failure };
  // Verification and download failures: a typed reason, no stack (they are not bugs).
  if (e instanceof TufError) {
    return { code: e.code, message: `${e.kind === 'repository' ? 'TUF verification failed' : 'download failed'} (${e.code}): ${e.message}`, exitCode: EXIT.failure };
  }
  // The operating system refused (no such file, permission denied, disk full): not a bug.
  if (isSystemError(e)) return { code: e.code, message: e.message, exitCode: EXIT.failure };
  const message = e instanceof Error ? e.message : String(e);
  const stack = e instanceof Error ? e.stack : undefined;
  return { code: 'INTERNAL', message: `internal error (a bug, please report it): ${message}`, exitCode: EXIT.internal, ...(stack ? { stack } : {}) };
}

function isSystemError(e: unknown): e is NodeJS.ErrnoException & { code: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string' && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/**
 * Prints the report: with --json, `{"error": {"code", "message", "exit_code"}}` on standard
 * output for scripts; always the message on standard error (with the stack of a bug).
 */
export function printErrorReport(r: ErrorReport, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify({ error: { code: r.code, message: r.message, exit_code: r.exitCode } })}\n`);
  process.stderr.write(`bulwark: ${r.message}\n${r.stack ? `${r.stack}\n` : ''}`);
}
