// SPDX-License-Identifier: Apache-2.0
// Error taxonomy of the TUF core, after python-tuf: who is at fault decides what the caller does.
//  - RepositoryError: the data is bad (possible attack): stop and report, never retry blindly.
//  - DownloadError: the network failed: retrying (or another mirror) may help.
// Every error carries a stable `code` that the server and the CLI's --json output use.

export type RepositoryErrorCode =
  | 'BAD_METADATA' // malformed, wrong type, unsupported spec version…
  | 'UNSIGNED_METADATA' // threshold of valid signatures not met
  | 'BAD_VERSION' // rollback or unexpected version
  | 'EQUAL_VERSION'
  | 'EXPIRED_METADATA'
  | 'LENGTH_OR_HASH_MISMATCH'
  | 'UNKNOWN_ROLE'
  | 'UNKNOWN_TARGET'
  | 'ROLE_MISMATCH'; // a role that names itself, served under another role's name

/**
 * A signed field by which a delegated role names itself (Bulwark's name bins, ADR 0005). TUF
 * does not sign a role's name, so roles signed by the same keys could be swapped; clients that
 * know this field refuse a role whose metadata names another.
 */
export const ROLE_NAME_FIELD = 'x-bulwark-role';

export type DownloadErrorCode = 'HTTP' | 'NOT_FOUND' | 'LENGTH_EXCEEDED' | 'TIMEOUT' | 'NETWORK';

export abstract class TufError<C extends string = string> extends Error {
  abstract readonly kind: 'repository' | 'download';
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class RepositoryError extends TufError<RepositoryErrorCode> {
  readonly kind = 'repository' as const;
}

export class BadMetadataError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_METADATA', message, options);
  }
}

export class UnsignedMetadataError extends RepositoryError {
  constructor(
    readonly role: string,
    readonly threshold: number,
    readonly valid: number
  ) {
    super('UNSIGNED_METADATA', `${role} has ${valid} valid signature(s) of the ${threshold} required`);
  }
}

export class ExpiredMetadataError extends RepositoryError {
  constructor(
    readonly role: string,
    readonly expires: Date
  ) {
    super('EXPIRED_METADATA', `${role} expired at ${expires.toISOString()}`);
  }
}

export class BadVersionError extends RepositoryError {
  constructor(
    readonly role: string,
    readonly expected: string,
    readonly actual: number,
    code: 'BAD_VERSION' | 'EQUAL_VERSION' = 'BAD_VERSION'
  ) {
    super(code, `${role} version ${actual} is not ${expected}`);
  }
}

export class LengthOrHashMismatchError extends RepositoryError {
  constructor(
    readonly what: string,
    detail: string
  ) {
    super('LENGTH_OR_HASH_MISMATCH', `${what}: ${detail}`);
  }
}

export class DownloadError extends TufError<DownloadErrorCode> {
  readonly kind = 'download' as const;
  constructor(
    code: DownloadErrorCode,
    message: string,
    readonly url?: string,
    readonly status?: number,
    options?: { cause?: unknown }
  ) {
    super(code, message, options);
  }
}
