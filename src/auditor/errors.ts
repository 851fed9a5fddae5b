// SPDX-License-Identifier: Apache-2.0
// Why an audit statement is refused. The codes (src/tuf/errors.ts, AuditErrorCode) are stable
// (CLI --json, tests); all are "the data is bad" errors: stop and report, never retry blindly,
// but another mirror may serve a good statement (client/sources.ts tries the next).
import { RepositoryError, type AuditErrorCode } from '../tuf/index.js';

export type { AuditErrorCode };

export class AuditError extends RepositoryError {
  declare readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
