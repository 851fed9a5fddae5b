// SPDX-License-Identifier: Apache-2.0
// The request limits of `bulwark serve` (README, "Limits"): what one upload request may make
// the server hold in memory or write to disk. The defaults are safe for an index open to the
// internet; an operator raises them for a project that needs more.
import type { Command } from 'commander';
import { DEFAULT_LIMITS, type RequestLimits } from '../../server/http/form-limits.js';
import { CliError, EXIT } from '../context.js';

export interface LimitOptions {
  maxUploadSize: string;
  maxFiles: string;
  maxFields: string;
  maxFieldSize: string;
  maxFormSize: string;
  requestTimeout: string;
}

export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option('--max-upload-size <bytes>', 'largest distribution file accepted', String(DEFAULT_LIMITS.maxUploadBytes))
    .option('--max-files <n>', 'distribution files in one signed upload', String(DEFAULT_LIMITS.maxFiles))
    .option('--max-fields <n>', 'text fields in one upload request', String(DEFAULT_LIMITS.maxFields))
    .option('--max-field-size <bytes>', 'largest text field (twine sends the long description as one)', String(DEFAULT_LIMITS.maxFieldBytes))
    .option('--max-form-size <bytes>', 'text fields and in-memory parts (signed roles, pages) of one request, together', String(DEFAULT_LIMITS.maxFormBytes))
    .option('--request-timeout <seconds>', 'how long a whole request (headers and body) may take to arrive', String(DEFAULT_LIMITS.requestTimeoutMs / 1000));
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${flag} must be a positive integer, got ${value}`, EXIT.usage, 'USAGE');
  return n;
}

export function parseLimitOptions(o: LimitOptions): RequestLimits {
  return {
    maxUploadBytes: positiveInteger(o.maxUploadSize, '--max-upload-size'),
    maxFiles: positiveInteger(o.maxFiles, '--max-files'),
    maxFields: positiveInteger(o.maxFields, '--max-fields'),
    maxFieldBytes: positiveInteger(o.maxFieldSize, '--max-field-size'),
    maxFormBytes: positiveInteger(o.maxFormSize, '--max-form-size'),
    requestTimeoutMs: positiveInteger(o.requestTimeout, '--request-timeout') * 1000,
  };
}
