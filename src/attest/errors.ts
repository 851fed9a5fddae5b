// SPDX-License-Identifier: Apache-2.0
// Typed errors of attestation checks. Each attack on a verified build has its own code, so the
// CLI's --json output, the proxy's report and the tests can tell them apart.
export type AttestationErrorCode =
  | 'BAD_ENVELOPE' // not a DSSE envelope: malformed JSON, fields, base64, or too large
  | 'BAD_STATEMENT' // the payload is not an in-toto Statement v1 with the expected predicate
  | 'BAD_ATTESTATION_SIGNATURE' // no signature of the envelope verifies with a trusted key
  | 'ATTESTATION_SUBJECT_MISMATCH' // the statement is about another file or other bytes
  | 'BUILD_SOURCE_MISMATCH' // the wheel was built from an sdist the developers did not sign
  | 'BUILD_SOURCES_DISAGREE' // builders name different sdists for the same wheel
  | 'BUILD_THRESHOLD_NOT_MET' // fewer distinct trusted builders than the delegation requires
  | 'MISSING_ATTESTATION' // a wheel of `wheels-<project>` without its `.intoto.jsonl` there
  | 'WHEELS_DELEGATION' // a project role's delegation other than the one wheels-<project> allowed
  | 'WHEELS_ROLE_PATH' // `wheels-<project>` lists a path outside its wheels (an sdist, a page…)
  | 'WHEELS_ROLE_SHADOWS'; // `wheels-<project>` lists a file of a wheel the developers list

export class AttestationError extends Error {
  constructor(
    readonly code: AttestationErrorCode,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options);
    this.name = 'AttestationError';
  }
}
