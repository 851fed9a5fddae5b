// SPDX-License-Identifier: Apache-2.0
// Why an audit statement, or a tree an auditor was asked to vouch for, is refused. Each code is
// stable (CLI --json, tests) and says what failed; all are "the data is bad" errors (kind
// repository): stop and report, never retry blindly.
import { TufError } from '../tuf/index.js';

export type AuditErrorCode =
  | 'UNAUDITED_TREE' // no auditor vouches for a tree as new as the one trusted
  | 'STALE_AUDIT' // the statement expired, or names an older timestamp than the one trusted
  | 'AUDIT_SIGNATURE' // not signed by root's auditor keys, or the embedded timestamp not by root's timestamp keys
  | 'AUDIT_MISMATCH' // the statement's fields disagree with its embedded timestamp
  | 'AUDIT_MALFORMED'; // not an audit statement at all (or too large)

export class AuditError extends TufError<AuditErrorCode> {
  readonly kind = 'repository' as const;
}
