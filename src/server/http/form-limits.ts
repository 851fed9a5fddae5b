// SPDX-License-Identifier: Apache-2.0
// What one upload request may make the server hold: the operator's limits, the multipart
// parser's limits derived from them, and the per-request budget of bytes held in memory (text
// fields and parts read into buffers), so that no request, signed in or not, can grow the
// server by more than a known amount.
import type { MultipartFile, MultipartValue } from '@fastify/multipart';
import { HttpProblem } from './problem.js';

export interface RequestLimits {
  /** Largest distribution file (bytes); PyPI's default is 100 MiB. */
  maxUploadBytes: number;
  /** Distribution files in one signed upload (a twine upload carries one). */
  maxFiles: number;
  /** Text fields in one request. */
  maxFields: number;
  /** Largest text field (bytes): twine sends the long description as one. */
  maxFieldBytes: number;
  /** Text fields and parts read into memory (signed roles, simple pages) together, per request (bytes). */
  maxFormBytes: number;
  /**
   * How long a whole request (headers and body) may take to arrive (ms). Without it a client
   * can hold a connection for ever by sending a few bytes and then nothing.
   */
  requestTimeoutMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: RequestLimits = {
  maxUploadBytes: 100 * MiB,
  maxFiles: 200,
  maxFields: 500,
  maxFieldBytes: 4 * MiB,
  maxFormBytes: 32 * MiB,
  // 100 MiB at about 120 kB/s: a slow link still uploads the largest file.
  requestTimeoutMs: 15 * 60_000,
};

/** The multipart parser's limits for a request that may carry `files` file parts. */
export function multipartLimits(limits: RequestLimits, files: number) {
  return {
    fileSize: limits.maxUploadBytes,
    files,
    fields: limits.maxFields,
    fieldSize: limits.maxFieldBytes,
    parts: limits.maxFields + files,
    headerPairs: 200,
  };
}

/**
 * Maps what the multipart parser throws to a problem for the client. `tooManyFiles` says how
 * many files the route takes, since that is what the client must change.
 */
export function multipartProblem(err: unknown, limits: RequestLimits, tooManyFiles: string): HttpProblem {
  if (err instanceof HttpProblem) return err;
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new HttpProblem(413, 'FILE_TOO_LARGE', `File too large: the limit is ${limits.maxUploadBytes} bytes per file.`);
    case 'FST_FILES_LIMIT':
      return new HttpProblem(400, 'TOO_MANY_FILES', tooManyFiles);
    case 'FST_FIELDS_LIMIT':
      return new HttpProblem(400, 'TOO_MANY_FIELDS', `Too many form fields: a request may carry at most ${limits.maxFields}.`);
    case 'FST_PARTS_LIMIT':
      return new HttpProblem(400, 'TOO_MANY_PARTS', `Too many form parts: a request may carry at most ${limits.maxFields} fields and the files its route takes.`);
    case 'FST_MP_PREMATURE_CLOSE':
      return new HttpProblem(400, 'INCOMPLETE_BODY', 'The request ended before its multipart/form-data body was complete.');
    default:
      return new HttpProblem(400, 'BAD_FORM', `Malformed multipart/form-data body: ${String(e.message ?? err).slice(0, 200)}`);
  }
}

/** Counts the bytes one request holds in memory, and refuses (413) past the operator's limit. */
export class FormBudget {
  private used = 0;

  constructor(private readonly limits: RequestLimits) {}

  private take(bytes: number, what: string): void {
    this.used += bytes;
    if (this.used > this.limits.maxFormBytes) {
      throw new HttpProblem(413, 'FORM_TOO_LARGE', `Form too large: its text fields and metadata parts may total ${this.limits.maxFormBytes} bytes, and ${what} goes past that.`);
    }
  }

  /** A text field's value, counted against the budget. */
  field(part: MultipartValue): string {
    // The parser stops a field at maxFieldBytes and says so: a cut field must not pass as whole.
    if (part.valueTruncated) throw new HttpProblem(413, 'FIELD_TOO_LARGE', `Field "${part.fieldname}" is larger than ${this.limits.maxFieldBytes} bytes.`);
    // A part sent as application/json arrives parsed: keep its text.
    const text = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
    this.take(Buffer.byteLength(text) + part.fieldname.length, `field "${part.fieldname}"`);
    return text;
  }

  /** A file part read into memory, at most `max` bytes of it, counted against the budget as it arrives. */
  async buffer(part: MultipartFile, max: number, what: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of part.file) {
      const chunk = c as Buffer;
      size += chunk.length;
      if (size > max) throw new HttpProblem(413, 'PART_TOO_LARGE', `${what} is larger than ${max} bytes.`);
      this.take(chunk.length, what);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, size);
  }
}

