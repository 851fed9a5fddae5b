// SPDX-License-Identifier: Apache-2.0
// The developers' own attestations (issue 15 item 4): DSSE envelopes, for instance from their
// CI, attached to files of a release as `<file>.intoto.jsonl` targets of the developer-signed
// project role. Bulwark cannot know the CI's keys, so it checks what it can: each file is a
// strict bundle of in-toto statements, and every subject of every statement names a
// distribution of the release being uploaded (the files sent with it), with its sha256. The developers'
// signature over the role then vouches for the attestation's bytes.
import { normalizeVersion, PackagingError, parseDistributionFilename } from '../packaging/index.js';
import type { TargetFile } from '../tuf/index.js';
import { parseBundle, serializeBundle } from './bundle.js';
import { envelopePayload, IN_TOTO_PAYLOAD_TYPE, type DsseEnvelope } from './dsse.js';
import { AttestationError } from './errors.js';
import { parseStatement } from './statement.js';
import { ATTESTATION_SUFFIX, attestationFileName } from './wheels-role.js';

function releaseOf(filename: string): string | undefined {
  try {
    return normalizeVersion(parseDistributionFilename(filename).version);
  } catch (e) {
    if (e instanceof PackagingError) return undefined;
    throw e;
  }
}

/**
 * The files an envelope is about: each a file of `release` (the file names uploaded now) that
 * `targets` lists with the subject's sha256, all of one version.
 * @throws AttestationError BAD_ENVELOPE, BAD_STATEMENT, ATTESTATION_SUBJECT_MISMATCH
 */
export function attestedFiles(project: string, envelope: DsseEnvelope, targets: ReadonlyMap<string, TargetFile>, release: ReadonlySet<string>, where = 'attestation'): string[] {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new AttestationError('BAD_ENVELOPE', `${where}: payload type "${envelope.payloadType}" is not ${IN_TOTO_PAYLOAD_TYPE}`);
  const statement = parseStatement(envelopePayload(envelope), where);
  const releases = new Set<string | undefined>();
  for (const s of statement.subjects) {
    const t = targets.get(`${project}/${s.name}`);
    const version = releaseOf(s.name);
    if (!t || version === undefined || t.hashes['sha256'] !== s.sha256 || !release.has(s.name)) {
      throw new AttestationError('ATTESTATION_SUBJECT_MISMATCH', `${where} is about ${s.name} (sha256 ${s.sha256}), which is not a file of this release of ${project} with these bytes (${[...release].join(', ')})`);
    }
    releases.add(version);
  }
  if (releases.size !== 1) throw new AttestationError('ATTESTATION_SUBJECT_MISMATCH', `${where} names files of ${releases.size} releases: an attestation is about one release`);
  return statement.subjects.map((s) => s.name);
}

/**
 * Groups envelopes by the files they are about: `<file>.intoto.jsonl` bundles, one per file.
 * @throws AttestationError as attestedFiles
 */
export function attestationBundles(project: string, envelopes: readonly DsseEnvelope[], targets: ReadonlyMap<string, TargetFile>, release: ReadonlySet<string>): Map<string, Buffer> {
  const byFile = new Map<string, DsseEnvelope[]>();
  envelopes.forEach((e, i) => {
    for (const file of attestedFiles(project, e, targets, release, `attestation ${i + 1}`)) byFile.set(file, [...(byFile.get(file) ?? []), e]);
  });
  return new Map([...byFile].map(([file, list]) => [attestationFileName(file), serializeBundle(list)]));
}

/**
 * The index's check of one uploaded `<file>.intoto.jsonl`: a strict bundle whose every
 * statement names files of one release of the role, the file itself among them.
 * @throws AttestationError BAD_ENVELOPE, BAD_STATEMENT, ATTESTATION_SUBJECT_MISMATCH
 */
export function checkReleaseAttestation(project: string, name: string, bytes: Uint8Array, targets: ReadonlyMap<string, TargetFile>, release: ReadonlySet<string>): void {
  const file = name.endsWith(ATTESTATION_SUFFIX) ? name.slice(0, -ATTESTATION_SUFFIX.length) : '';
  if (!file || !release.has(file) || !targets.has(`${project}/${file}`)) {
    throw new AttestationError('ATTESTATION_SUBJECT_MISMATCH', `${name}: attestations are named <file>${ATTESTATION_SUFFIX} after a file uploaded with them`);
  }
  parseBundle(bytes, name).forEach((e, i) => {
    const files = attestedFiles(project, e, targets, release, `${name} line ${i + 1}`);
    if (!files.includes(file)) throw new AttestationError('ATTESTATION_SUBJECT_MISMATCH', `${name} line ${i + 1} is not about ${file}`);
  });
}
