// SPDX-License-Identifier: Apache-2.0
// Whether a wheel is a verified build: the builders of its `.intoto.jsonl` file, each trusted by
// the `wheels-<project>` delegation, signed statements about exactly these wheel bytes, built
// from the one sdist the developers' role vouches for, and enough distinct builders agreed to
// meet the delegation's threshold. Pure: the caller has already verified, through TUF, the
// delegation and the bytes of the wheel and of its attestation file.
import type { Key } from '../tuf/keys.js';
import { parseBundle } from './bundle.js';
import { envelopePayload, verifyEnvelope } from './dsse.js';
import { AttestationError } from './errors.js';
import { parseWheelProvenance, type ToolVersions } from './provenance.js';
import { parseStatement, type Subject } from './statement.js';

export interface BuildAgreement {
  /** Each builder that agreed, once per distinct key. */
  builders: { keyid: string; builderId: string; tools: ToolVersions }[];
  builtFrom: { filename: string; sha256: string };
}

export interface VerifyBuildInput {
  /** The bytes of `<wheel>.intoto.jsonl`. */
  attestations: Uint8Array;
  wheel: Subject;
  /** The delegation's keys and threshold (`wheels-<project>` in the developers' role). */
  keys: ReadonlyMap<string, Key>;
  threshold: number;
  /** The sha256 the developers' role lists for an sdist file name, or undefined. */
  signedSdist(filename: string): string | undefined;
}

/**
 * @throws AttestationError BAD_ENVELOPE, BAD_STATEMENT, BAD_ATTESTATION_SIGNATURE (an envelope no
 *   trusted builder signed: every line must verify), ATTESTATION_SUBJECT_MISMATCH,
 *   BUILD_SOURCES_DISAGREE, BUILD_SOURCE_MISMATCH, BUILD_THRESHOLD_NOT_MET
 */
export function verifyWheelBuild(input: VerifyBuildInput): BuildAgreement {
  const { wheel } = input;
  const envelopes = parseBundle(input.attestations, `${wheel.name}.intoto.jsonl`);
  const builders: BuildAgreement['builders'] = [];
  const seen = new Set<string>();
  let source: Subject | undefined;
  envelopes.forEach((envelope, i) => {
    const where = `${wheel.name}.intoto.jsonl line ${i + 1}`;
    const signers = verifyEnvelope(envelope, input.keys, where);
    const provenance = parseWheelProvenance(parseStatement(envelopePayload(envelope), where), where);
    if (provenance.wheel.name !== wheel.name || provenance.wheel.sha256 !== wheel.sha256) {
      throw new AttestationError(
        'ATTESTATION_SUBJECT_MISMATCH',
        `${where} is about ${provenance.wheel.name} (sha256 ${provenance.wheel.sha256}), not ${wheel.name} (sha256 ${wheel.sha256})`
      );
    }
    if (source && (source.name !== provenance.sdist.name || source.sha256 !== provenance.sdist.sha256)) {
      throw new AttestationError('BUILD_SOURCES_DISAGREE', `${where} names the sdist ${provenance.sdist.name} (${provenance.sdist.sha256}), another line ${source.name} (${source.sha256})`);
    }
    source = provenance.sdist;
    for (const keyid of signers) {
      const identity = input.keys.get(keyid)?.identity ?? keyid;
      if (seen.has(identity)) continue;
      seen.add(identity);
      builders.push({ keyid, builderId: provenance.builderId, tools: provenance.tools });
    }
  });
  if (!source) throw new AttestationError('BAD_ENVELOPE', `${wheel.name}.intoto.jsonl holds no attestation`);
  const signed = input.signedSdist(source.name);
  if (signed !== source.sha256) {
    throw new AttestationError(
      'BUILD_SOURCE_MISMATCH',
      signed === undefined
        ? `${wheel.name} was built from ${source.name}, which the developers' role does not list`
        : `${wheel.name} was built from ${source.name} with sha256 ${source.sha256}, but the developers signed ${signed}`
    );
  }
  if (builders.length < input.threshold) {
    throw new AttestationError('BUILD_THRESHOLD_NOT_MET', `${wheel.name}: ${builders.length} trusted builder(s) attest it, the delegation requires ${input.threshold}`);
  }
  return { builders, builtFrom: { filename: source.name, sha256: source.sha256 } };
}
