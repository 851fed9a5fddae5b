// SPDX-License-Identifier: Apache-2.0
// The proposal protocol of verified wheels (pure: no file system, no network).
//
// TUF signatures cover the canonical bytes of a role's `signed` part, so every builder must
// sign byte-identical bodies. The index therefore assembles each new version of
// `wheels-<project>` itself, from builds that agree, and the builders only check and sign it:
//   1. each builder builds the sdist and sends a signed build report (wheel name, sha256, its
//      DSSE attestation, its log), or a failure with its log;
//   2. once a threshold of the delegation's keys reported the same wheel bytes, the index
//      proposes version N+1 of the role: the previous targets plus the wheel, its `.metadata`
//      and its `.intoto.jsonl` (the agreeing builders' envelopes, one per line);
//   3. each builder checks that every wheel in the proposal is one it built itself, byte for
//      byte, and signs the body; the index publishes the role once a threshold signed it.
// Reports that disagree on the wheel's bytes are a mismatch: shown with both hashes and logs,
// never published.
import { createHash } from 'node:crypto';
import {
  attestationFileName,
  envelopePayload,
  isWheelsRolePath,
  parseBundle,
  parseStatement,
  parseWheelProvenance,
  projectWheelsDelegation,
  serializeBundle,
  serializeEnvelope,
  verifyEnvelope,
  wheelsRoleName,
  type DsseEnvelope,
  type ToolVersions,
} from '../attest/index.js';
import { parseDistributionFilename } from '../packaging/index.js';
import { canonicalString, encodeCanonical, Key, Metadata, Targets, TargetFile, type Signature } from '../tuf/index.js';

export class ProposalError extends Error {
  constructor(
    readonly code: 'BAD_REPORT' | 'NOT_DELEGATED' | 'BAD_PROPOSAL' | 'NOT_MY_BUILD' | 'BAD_SIGNATURE',
    message: string
  ) {
    super(message);
    this.name = 'ProposalError';
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SHA256 = /^[0-9a-f]{64}$/;

/** The `wheels-<project>` delegation of a developer-signed project role. */
export interface WheelsDelegation {
  role: string;
  keys: Map<string, Key>;
  keyids: string[];
  threshold: number;
}

/**
 * Reads the wheels delegation out of a project role (undefined: the project did not opt in),
 * with the checks of its shape that src/attest makes for the index and the clients.
 * @throws AttestationError WHEELS_DELEGATION for any other delegation
 */
export function wheelsDelegationOf(project: string, projectRole: Uint8Array, roleName: string): WheelsDelegation | undefined {
  const d = projectWheelsDelegation(project, Metadata.parse(projectRole, 'targets', roleName).signed);
  if (!d) return undefined;
  return { role: d.role.name, keys: d.keys, keyids: [...d.role.keyids], threshold: d.role.threshold };
}

/** What a builder reports about one sdist (signed by its key as canonical JSON). */
export interface BuildReport {
  project: string;
  sdist: { filename: string; sha256: string };
  keyid: string;
  ok: boolean;
  wheel?: { filename: string; sha256: string; length: number };
  metadata?: { sha256: string; length: number };
  /** The builder's in-toto attestation of the wheel (successful builds). */
  envelope?: DsseEnvelope;
  tools?: ToolVersions;
  reason?: string;
  /** sha256 of the build log (the log travels beside the signed report). */
  log_sha256: string;
  at: string;
}

export interface SignedBuildReport {
  report: BuildReport;
  signature: Signature;
}

export function reportBytes(report: BuildReport): Buffer {
  return Buffer.from(encodeCanonical(report as never), 'utf8');
}

/**
 * Checks a build report against the project's delegation and the sdist the developers signed:
 * signed by a delegated key, about that sdist, and for a successful build an attestation by the
 * same key whose subject is the reported wheel.
 * @throws ProposalError
 */
export function verifyBuildReport(signed: SignedBuildReport, log: string, delegation: WheelsDelegation, sdistSha256: string | undefined): BuildReport {
  const r = signed.report;
  if (!r || typeof r !== 'object' || typeof r.keyid !== 'string' || !signed.signature) throw new ProposalError('BAD_REPORT', 'not a signed build report');
  const key = delegation.keys.get(r.keyid);
  if (!key) throw new ProposalError('NOT_DELEGATED', `the key ${r.keyid} is not one of ${delegation.role}'s builders`);
  if (signed.signature.keyid !== r.keyid || !key.verify(reportBytes(r), signed.signature.sig)) throw new ProposalError('BAD_SIGNATURE', `the build report is not signed by ${r.keyid}`);
  if (sdistSha256 === undefined || r.sdist?.sha256 !== sdistSha256) throw new ProposalError('BAD_REPORT', `${r.sdist?.filename} is not an sdist the developers of ${r.project} signed`);
  if (r.log_sha256 !== sha256(Buffer.from(log, 'utf8'))) throw new ProposalError('BAD_REPORT', 'the log is not the one the report names');
  if (r.ok) {
    const w = r.wheel;
    if (!w || !SHA256.test(w.sha256) || !Number.isInteger(w.length) || !isWheelsRolePath(r.project, `${r.project}/${w.filename}`) || !w.filename.endsWith('.whl')) {
      throw new ProposalError('BAD_REPORT', 'a successful build names its wheel: file name, sha256 and length');
    }
    if (!r.metadata || !SHA256.test(r.metadata.sha256) || !Number.isInteger(r.metadata.length)) throw new ProposalError('BAD_REPORT', 'a successful build names its wheel METADATA');
    if (!r.envelope) throw new ProposalError('BAD_REPORT', 'a successful build carries its attestation');
    let wheelOf;
    try {
      wheelOf = parseDistributionFilename(w.filename);
    } catch (e) {
      throw new ProposalError('BAD_REPORT', `${w.filename}: ${(e as Error).message}`);
    }
    const sdistOf = parseDistributionFilename(r.sdist.filename);
    if (wheelOf.project !== r.project || wheelOf.version !== sdistOf.version) throw new ProposalError('BAD_REPORT', `${w.filename} is not a wheel of ${r.sdist.filename}`);
    try {
      verifyEnvelope(r.envelope, new Map([[r.keyid, key]]), 'the attestation');
      // The attestation says what the report says: this wheel, from this sdist.
      const p = parseWheelProvenance(parseStatement(envelopePayload(r.envelope), 'the attestation'), 'the attestation');
      if (p.wheel.name !== w.filename || p.wheel.sha256 !== w.sha256 || p.sdist.name !== r.sdist.filename || p.sdist.sha256 !== r.sdist.sha256) {
        throw new Error('the attestation is about another wheel or sdist than the report');
      }
    } catch (e) {
      throw new ProposalError('BAD_REPORT', (e as Error).message);
    }
  }
  return r;
}

/** Builds of one sdist that agree on the wheel's bytes, by at least a threshold of distinct keys. */
export interface Agreement {
  sdist: { filename: string; sha256: string };
  wheel: { filename: string; sha256: string; length: number };
  metadata: { sha256: string; length: number };
  keyids: string[];
  /** The agreeing builders' attestations, by key id. */
  bundle: Buffer;
}

/** Two successful builds of the same sdist with different wheel bytes. */
export interface Mismatch {
  sdist: string;
  builds: { keyid: string; wheel: string; sha256: string }[];
}

/** The agreement among an sdist's reports, or the mismatch, or neither yet. */
export function judgeBuilds(reports: readonly BuildReport[], delegation: WheelsDelegation): { agreement?: Agreement; mismatch?: Mismatch } {
  const ok = reports.filter((r) => r.ok && r.wheel && r.metadata && r.envelope && delegation.keys.has(r.keyid)).sort((a, b) => (a.keyid < b.keyid ? -1 : 1));
  const byHash = new Map<string, BuildReport[]>();
  for (const r of ok) {
    const k = `${r.wheel?.filename} ${r.wheel?.sha256} ${r.metadata?.sha256}`;
    byHash.set(k, [...(byHash.get(k) ?? []), r]);
  }
  const out: { agreement?: Agreement; mismatch?: Mismatch } = {};
  if (byHash.size > 1) {
    out.mismatch = { sdist: ok[0]?.sdist.filename ?? '', builds: ok.map((r) => ({ keyid: r.keyid, wheel: r.wheel?.filename ?? '', sha256: r.wheel?.sha256 ?? '' })) };
    return out; // builders that disagree: nothing is published for this sdist
  }
  const group = [...byHash.values()][0];
  if (group && group.length >= delegation.threshold) {
    const first = group[0] as BuildReport;
    out.agreement = {
      sdist: first.sdist,
      wheel: first.wheel as Agreement['wheel'],
      metadata: first.metadata as Agreement['metadata'],
      keyids: group.map((r) => r.keyid),
      bundle: serializeBundle(group.map((r) => r.envelope as DsseEnvelope)),
    };
  }
  return out;
}

/** The canonical `signed` body of the next wheels role: the previous targets plus the agreed wheels. */
export function proposeWheelsRole(project: string, previous: ReadonlyMap<string, TargetFile>, agreements: readonly Agreement[], version: number, expires: Date): string {
  const targets = new Map(previous);
  const add = (name: string, length: number, hash: string) => targets.set(`${project}/${name}`, new TargetFile(`${project}/${name}`, length, { sha256: hash }));
  for (const a of agreements) {
    add(a.wheel.filename, a.wheel.length, a.wheel.sha256);
    add(`${a.wheel.filename}.metadata`, a.metadata.length, a.metadata.sha256);
    add(attestationFileName(a.wheel.filename), a.bundle.length, sha256(a.bundle));
  }
  return encodeCanonical(new Targets({ version, expires, targets, delegations: undefined }).toJSON());
}

/** What a builder knows of its own build of a wheel. */
export interface OwnBuild {
  sha256: string;
  length: number;
  metadataSha256: string;
  envelope: DsseEnvelope;
}

/**
 * A builder's check before it signs a proposal: a targets body of the wheels role, every path
 * one the role may list, every wheel one this builder built with the same bytes and METADATA,
 * and every attestation file holding this builder's own envelope.
 * @throws ProposalError NOT_MY_BUILD / BAD_PROPOSAL
 */
export function checkProposal(project: string, canonical: string, ownBuilds: ReadonlyMap<string, OwnBuild>, bundles: ReadonlyMap<string, Buffer>, now: Date): Targets {
  let signed: Targets;
  try {
    const json = JSON.parse(canonical) as unknown;
    if (encodeCanonical(json as never) !== canonical) throw new Error('not canonical JSON');
    signed = Targets.fromJSON(json, wheelsRoleName(project));
  } catch (e) {
    throw new ProposalError('BAD_PROPOSAL', `the proposal is not a targets role: ${(e as Error).message}`);
  }
  if (signed.delegations) throw new ProposalError('BAD_PROPOSAL', 'a wheels role delegates nothing');
  if (signed.expires.getTime() <= now.getTime()) throw new ProposalError('BAD_PROPOSAL', 'the proposal has expired');
  for (const [path, t] of signed.targets) {
    if (!isWheelsRolePath(project, path)) throw new ProposalError('BAD_PROPOSAL', `the proposal lists ${path}, which ${wheelsRoleName(project)} may not`);
    const name = path.slice(project.length + 1);
    const hash = t.hashes['sha256'];
    if (name.endsWith('.whl')) {
      const own = ownBuilds.get(name);
      if (!own || own.sha256 !== hash || own.length !== t.length) throw new ProposalError('NOT_MY_BUILD', `${name} (sha256 ${hash}) is not a wheel this builder built`);
    } else if (name.endsWith('.whl.metadata')) {
      const own = ownBuilds.get(name.slice(0, -'.metadata'.length));
      if (!own || own.metadataSha256 !== hash) throw new ProposalError('NOT_MY_BUILD', `${name} is not the METADATA of this builder's wheel`);
    } else {
      const wheel = name.slice(0, -'.intoto.jsonl'.length);
      const own = ownBuilds.get(wheel);
      const bundle = bundles.get(name);
      if (!own || !bundle || sha256(bundle) !== hash || bundle.length !== t.length) throw new ProposalError('BAD_PROPOSAL', `${name} is missing or not the file the proposal lists`);
      const mine = serializeEnvelope(own.envelope);
      if (!parseBundle(bundle, name).some((e) => serializeEnvelope(e) === mine)) throw new ProposalError('NOT_MY_BUILD', `${name} does not hold this builder's attestation`);
    }
  }
  return signed;
}

/** The role file: the proposal's body with the signatures gathered (canonical, as signCanonical writes it). */
export function assembleRole(canonical: string, signatures: readonly Signature[]): Buffer {
  const sigs = [...signatures].sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0));
  const sigJson = sigs.map((s) => `{"keyid":${canonicalString(s.keyid)},"sig":${canonicalString(s.sig)}}`).join(',');
  return Buffer.from(`{"signatures":[${sigJson}],"signed":${canonical}}`, 'utf8');
}
