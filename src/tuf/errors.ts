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
  | 'ROLE_MISMATCH' // a role that names itself, served under another role's name
  | 'MERKLE_PROOF' // a Merkle file does not hash to the node it is named by, or a shard is misplaced/unsorted
  | 'MERKLE_ROLE_MISSING' // the verified tree has no leaf for a role the client needs
  | 'MERKLE_ROLLBACK' // a leaf's version is below the version trusted before
  | 'MERKLE_TOO_LARGE' // a Merkle file is over its size limit
  | 'MERKLE_MALFORMED' // a Merkle file or leaf is not in the documented format
  | AuditErrorCode; // src/auditor/errors.ts

/** Why an audit statement is refused (src/auditor/). */
export type AuditErrorCode =
  | 'UNAUDITED_TREE' // no auditor vouches for a tree as new as the one trusted
  | 'STALE_AUDIT' // the statement expired, or names an older timestamp than the one trusted
  | 'AUDIT_SIGNATURE' // not signed by root's auditor keys, or its timestamp not by root's timestamp keys
  | 'AUDIT_MISMATCH' // the statement's fields disagree with its embedded timestamp
  | 'AUDIT_MALFORMED'; // not an audit statement at all (or too large)

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

/** Which check of a Merkle snapshot file failed (docs/merkle-snapshots.md). */
export type MerkleProofReason =
  | 'root' // the top file is missing or does not hash to the timestamp's root
  | 'node' // a node file does not hash to the hash its parent (top or node file) lists
  | 'shard' // a shard file does not hash to the hash its last-level node file lists
  | 'placement' // a leaf lies in a shard its role does not hash to
  | 'order'; // a shard's leaves are not sorted, or a role appears twice

export class MerkleProofError extends RepositoryError {
  constructor(
    readonly reason: MerkleProofReason,
    message: string
  ) {
    super('MERKLE_PROOF', message);
  }
}

export class MerkleRoleMissingError extends RepositoryError {
  constructor(readonly role: string) {
    super('MERKLE_ROLE_MISSING', `the snapshot Merkle tree has no entry for ${role}`);
  }
}

export class MerkleRollbackError extends RepositoryError {
  constructor(
    readonly role: string,
    readonly trusted: number,
    readonly offered: number
  ) {
    super('MERKLE_ROLLBACK', `the snapshot Merkle tree lists ${role} at version ${offered}, below version ${trusted} trusted before (rollback)`);
  }
}

export class MerkleTooLargeError extends RepositoryError {
  constructor(
    readonly what: string,
    readonly limit: number
  ) {
    super('MERKLE_TOO_LARGE', `${what} is over its limit of ${limit} bytes`);
  }
}

export class MerkleMalformedError extends RepositoryError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MERKLE_MALFORMED', message, options);
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
