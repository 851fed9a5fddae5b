// SPDX-License-Identifier: Apache-2.0
// The index's side of verified wheels: which sdists the builders should build, their signed
// build reports, the proposals of the next `wheels-<project>` role, the builders' signatures of
// them, and the publication of a role once a threshold of the delegation's keys signed it (see
// proposals.ts for the protocol). Used by the API routes (rebuilders over HTTP) and by
// `bulwark build-farm` (the farm, on the index), in different processes on one data directory.
//
// Records are files under <data>/build-farm/, each written atomically and never replaced:
//   reports/<project>/<sdist>/<keyid>.json        a builder's signed report and its log
//   wheels/<project>/<sha256>.<wheel>[.metadata]  the farm's wheel bytes (what gets published)
//   proposals/<project>/<version>.json            the proposed role body (first writer wins)
//   proposals/<project>/<version>.sig-<keyid>.json a builder's signature of it
// Publication stores the wheel, its metadata and its attestations as targets first, then the
// role (one database transaction that also marks it for the snapshot process): a crash at any
// point publishes nothing half; the next advance() finishes the job. Nothing here ever touches
// an upload: a failing or stuck build cannot block one.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { attestationFileName, parseBundle, wheelsRoleName } from '../attest/index.js';
import { createFileExclusive } from '../storage/atomic-write.js';
import { crashPoint } from '../storage/crash-points.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { StateStore } from '../storage/state/types.js';
import { expiresIn, Metadata, TargetFile, type Signature, type Signer } from '../tuf/index.js';
import { fileBlobPath, projectRoleName, targetBlobPath, targetPath } from '../repository/layout.js';
import { verifyWheelsRole } from '../repository/wheels-role-check.js';
import { assembleRole, checkProposal, judgeBuilds, type OwnBuild, proposeWheelsRole, ProposalError, verifyBuildReport, wheelsDelegationOf, type Agreement, type BuildReport, type Mismatch, type SignedBuildReport, type WheelsDelegation } from './proposals.js';

export const FARM_DIR = 'build-farm';
/** A wheels role is signed by its builders, not re-signed by the index: give it a long life. */
export const WHEELS_ROLE_EXPIRY_SECONDS = 365 * 86_400;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** File names the records use: the names are checked by the callers; this keeps them one segment. */
const safe = (s: string) => {
  if (!/^[A-Za-z0-9._+-]+$/.test(s) || s.startsWith('.')) throw new ProposalError('BAD_REPORT', `unexpected name ${JSON.stringify(s)}`);
  return s;
};

export interface OptedInProject {
  project: string;
  delegation: WheelsDelegation;
  /** The developer-signed sdists: file name → sha256. */
  sdists: Map<string, string>;
  /** Every file name the developers' role lists (a verified wheel never shadows one). */
  developerFiles: Set<string>;
}

export interface QueueItem {
  project: string;
  filename: string;
  sha256: string;
}

export interface StoredReport {
  signed: SignedBuildReport;
  log: string;
}

export interface OpenProposal {
  project: string;
  version: number;
  signed: string;
  /** The attestation files it lists: name → base64 bytes (a builder checks its own envelope in them). */
  bundles: Record<string, string>;
}

export interface FarmStatus {
  verified: { wheel: string; sha256: string; builtFrom: { filename: string; sha256: string }; builders: string[]; attestation: { path: string; sha256: string } }[];
  mismatches: (Mismatch & { logs: Record<string, string> })[];
  failures: { sdist: string; keyid: string; reason: string; log: string }[];
  /**
   * The developers' delegation no longer names the farm's current key (the farm's key was
   * rotated): no new wheel can be verified until they sign it again.
   */
  farmKeyRotated: boolean;
}

export class BuildFarm {
  private readonly root: string;

  constructor(
    private readonly o: {
      dataDir: string;
      state: StateStore;
      blobs: BlobStore;
      /** Asks the snapshot process to publish (the role was marked dirty). */
      requestPublication: () => void;
      /** The farm's own key: it signs proposals whose wheels it built itself. */
      farmSigner?: Signer;
      clock?: () => Date;
    }
  ) {
    this.root = join(o.dataDir, FARM_DIR);
  }

  private now(): Date {
    return this.o.clock?.() ?? new Date();
  }

  /** Claimed projects whose developer-signed role delegates to `wheels-<project>`. */
  async optedIn(only?: string): Promise<OptedInProject[]> {
    const out: OptedInProject[] = [];
    const one = only === undefined ? undefined : await this.o.state.getDelegation(only);
    for (const d of only === undefined ? await this.o.state.delegations() : one ? [one] : []) {
      const latest = await this.o.state.latestProjectRole(d.project);
      if (!latest) continue;
      let delegation: WheelsDelegation | undefined;
      try {
        delegation = wheelsDelegationOf(d.project, latest.bytes, projectRoleName(d.project));
      } catch {
        continue; // a delegation the index would have refused: never built for
      }
      if (!delegation) continue;
      const md = Metadata.parse(latest.bytes, 'targets', projectRoleName(d.project));
      const sdists = new Map<string, string>();
      const developerFiles = new Set<string>();
      for (const [path, t] of md.signed.targets) {
        const name = path.slice(d.project.length + 1);
        developerFiles.add(name);
        if ((name.endsWith('.tar.gz') || name.endsWith('.zip')) && t.hashes['sha256']) sdists.set(name, t.hashes['sha256']);
      }
      out.push({ project: d.project, delegation, sdists, developerFiles });
    }
    return out;
  }

  /** The signed sdists `keyid` is delegated to build and has not reported on yet. */
  async queue(keyid: string): Promise<QueueItem[]> {
    const out: QueueItem[] = [];
    for (const p of await this.optedIn()) {
      if (!p.delegation.keys.has(keyid)) continue;
      for (const [filename, hash] of p.sdists) {
        if (!(await this.readReport(p.project, filename, keyid))) out.push({ project: p.project, filename, sha256: hash });
      }
    }
    return out;
  }

  private reportPath(project: string, sdist: string, keyid: string): string {
    return join(this.root, 'reports', safe(project), safe(sdist), `${safe(keyid)}.json`);
  }

  private async readJson<T>(path: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  private readReport(project: string, sdist: string, keyid: string): Promise<StoredReport | undefined> {
    return this.readJson<StoredReport>(this.reportPath(project, sdist, keyid));
  }

  /** One builder's log of one sdist's build, or undefined. */
  async log(project: string, sdist: string, keyid: string): Promise<string | undefined> {
    return (await this.readReport(project, sdist, keyid))?.log;
  }

  async reports(project: string, sdist: string): Promise<StoredReport[]> {
    const dir = join(this.root, 'reports', safe(project), safe(sdist));
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: StoredReport[] = [];
    for (const n of names.filter((f) => f.endsWith('.json')).sort()) {
      const r = await this.readJson<StoredReport>(join(dir, n));
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Records a builder's signed report (the first one of a key for an sdist stands). The farm
   * passes its wheel's bytes: only the farm's bytes are ever published, once others agree.
   * @throws ProposalError when the report is not a valid one of a delegated builder
   */
  async recordReport(signed: SignedBuildReport, log: string, farmWheel?: { bytes: Buffer; metadata: Buffer }): Promise<{ recorded: boolean }> {
    const project = String(signed.report?.project ?? '');
    const [p] = await this.optedIn(project);
    if (!p) throw new ProposalError('NOT_DELEGATED', `${project} has not opted in to verified wheels`);
    const report = verifyBuildReport(signed, log, p.delegation, p.sdists.get(String(signed.report.sdist?.filename)));
    if (farmWheel && report.ok && report.wheel) {
      if (sha256(farmWheel.bytes) !== report.wheel.sha256 || sha256(farmWheel.metadata) !== report.metadata?.sha256) throw new ProposalError('BAD_REPORT', 'the wheel is not the one reported');
      const dir = join(this.root, 'wheels', safe(project));
      await createFileExclusive(join(dir, `${report.wheel.sha256}.${safe(report.wheel.filename)}`), farmWheel.bytes);
      await createFileExclusive(join(dir, `${report.wheel.sha256}.${safe(report.wheel.filename)}.metadata`), farmWheel.metadata);
      crashPoint('farm:after-wheel');
    }
    const recorded = await createFileExclusive(this.reportPath(project, report.sdist.filename, report.keyid), JSON.stringify({ signed, log }));
    await this.advance(project);
    return { recorded };
  }

  private proposalPath(project: string, version: number, keyid?: string): string {
    return join(this.root, 'proposals', safe(project), keyid === undefined ? `${version}.json` : `${version}.sig-${safe(keyid)}.json`);
  }

  private async published(role: string): Promise<{ version: number; targets: Map<string, TargetFile> }> {
    const latest = await this.o.state.latestSignedRole(role);
    if (!latest) return { version: 0, targets: new Map() };
    return { version: latest.version, targets: new Map(Metadata.parse(latest.bytes, 'targets', role).signed.targets) };
  }

  /** Proposals waiting for a signature of `keyid`. */
  async openProposals(keyid: string): Promise<OpenProposal[]> {
    const out: OpenProposal[] = [];
    for (const p of await this.optedIn()) {
      if (!p.delegation.keys.has(keyid)) continue;
      const { version } = await this.published(p.delegation.role);
      const proposal = await this.readJson<OpenProposal>(this.proposalPath(p.project, version + 1));
      if (!proposal || (await this.readJson(this.proposalPath(p.project, version + 1, keyid)))) continue;
      out.push(proposal);
    }
    return out;
  }

  /**
   * A builder's signature of an open proposal.
   * @throws ProposalError when it is not a valid signature of a delegated key over that proposal
   */
  async addSignature(project: string, version: number, signature: Signature): Promise<void> {
    const [p] = await this.optedIn(project);
    if (!p) throw new ProposalError('NOT_DELEGATED', `${project} has not opted in to verified wheels`);
    const proposal = await this.readJson<OpenProposal>(this.proposalPath(project, version));
    if (!proposal || (await this.published(p.delegation.role)).version >= version) throw new ProposalError('BAD_PROPOSAL', `no open proposal ${version} of ${p.delegation.role}`);
    const key = p.delegation.keys.get(String(signature?.keyid));
    if (!key || !key.verify(Buffer.from(proposal.signed, 'utf8'), String(signature.sig))) throw new ProposalError('BAD_SIGNATURE', `not a signature of a ${p.delegation.role} builder over proposal ${version}`);
    await createFileExclusive(this.proposalPath(project, version, signature.keyid), JSON.stringify({ keyid: signature.keyid, sig: signature.sig }));
    await this.advance(project);
  }

  /**
   * Moves a project on: publishes an open proposal that a threshold signed, or proposes the
   * next version when builds agree on wheels not published yet. Safe to call at any time,
   * from any process, again after a crash.
   */
  async advance(project: string): Promise<void> {
    const [p] = await this.optedIn(project);
    if (!p) return;
    const role = p.delegation.role;
    const published = await this.published(role);
    const next = published.version + 1;
    let proposal = await this.readJson<OpenProposal>(this.proposalPath(project, next));
    if (!proposal) {
      const agreements: Agreement[] = [];
      for (const sdist of p.sdists.keys()) {
        const { agreement } = judgeBuilds(
          (await this.reports(project, sdist)).map((r) => r.signed.report),
          p.delegation
        );
        if (!agreement || published.targets.has(targetPath(project, agreement.wheel.filename))) continue;
        if (p.developerFiles.has(agreement.wheel.filename)) continue; // the developers' own wheel wins
        if (!this.o.farmSigner || !agreement.keyids.includes(this.o.farmSigner.keyId)) continue; // only the farm's bytes are published
        agreements.push(agreement);
      }
      if (agreements.length === 0) return;
      const signed = proposeWheelsRole(project, published.targets, agreements, next, expiresIn(this.now(), WHEELS_ROLE_EXPIRY_SECONDS));
      // Every attestation file the role will list, the published ones too: a builder checks
      // its own envelope in each before it signs.
      const bundles: Record<string, string> = {};
      for (const [path, t] of published.targets) {
        if (!path.endsWith('.intoto.jsonl')) continue;
        const bytes = await this.o.blobs.get(targetBlobPath(path, t.hashes['sha256'] as string));
        if (bytes) bundles[path.slice(project.length + 1)] = bytes.toString('base64');
      }
      for (const a of agreements) bundles[attestationFileName(a.wheel.filename)] = a.bundle.toString('base64');
      await createFileExclusive(this.proposalPath(project, next), JSON.stringify({ project, version: next, signed, bundles } satisfies OpenProposal));
      proposal = (await this.readJson<OpenProposal>(this.proposalPath(project, next))) as OpenProposal;
    }
    const farm = this.o.farmSigner;
    if (farm && p.delegation.keys.has(farm.keyId) && !(await this.readJson(this.proposalPath(project, next, farm.keyId)))) {
      // The farm signs as a rebuilder does: only wheels it built itself, byte for byte.
      const bundles = new Map(Object.entries(proposal.bundles).map(([name, b64]) => [name, Buffer.from(b64, 'base64')]));
      checkProposal(project, proposal.signed, await this.ownBuilds(p, farm.keyId), bundles, this.now());
      const sig = await farm.sign(Buffer.from(proposal.signed, 'utf8'));
      await createFileExclusive(this.proposalPath(project, next, farm.keyId), JSON.stringify(sig));
    }
    const signatures: Signature[] = [];
    for (const keyid of p.delegation.keyids) {
      const s = await this.readJson<Signature>(this.proposalPath(project, next, keyid));
      if (s && p.delegation.keys.get(keyid)?.verify(Buffer.from(proposal.signed, 'utf8'), s.sig)) signatures.push(s);
    }
    if (signatures.length < p.delegation.threshold) return;
    await this.publish(project, role, proposal, published.targets, assembleRole(proposal.signed, signatures));
  }

  /** The wheels `keyid` reported building for a project, by file name. */
  private async ownBuilds(p: OptedInProject, keyid: string): Promise<Map<string, OwnBuild>> {
    const out = new Map<string, OwnBuild>();
    for (const sdist of p.sdists.keys()) {
      const r = (await this.readReport(p.project, sdist, keyid))?.signed.report;
      if (r?.ok && r.wheel && r.metadata && r.envelope) out.set(r.wheel.filename, { sha256: r.wheel.sha256, length: r.wheel.length, metadataSha256: r.metadata.sha256, envelope: r.envelope });
    }
    return out;
  }

  private async publish(project: string, role: string, proposal: OpenProposal, before: Map<string, TargetFile>, bytes: Buffer): Promise<void> {
    // The index's own check of a wheels role (delegation, threshold, version, paths, no shadowing).
    const developers = await this.o.state.latestProjectRole(project);
    if (!developers) return;
    const md = verifyWheelsRole(project, bytes, Metadata.parse(developers.bytes, 'targets', projectRoleName(project)).signed, proposal.version, this.now());
    // Targets first (bytes the farm built, checked against the role), then the role.
    for (const [path, t] of md.signed.targets) {
      if (before.has(path)) continue;
      const name = path.slice(project.length + 1);
      const hash = t.hashes['sha256'] as string;
      let data: Buffer | undefined;
      if (name.endsWith('.intoto.jsonl')) {
        data = Buffer.from(proposal.bundles[name] ?? '', 'base64');
        parseBundle(data, name);
      } else {
        const wheel = name.endsWith('.metadata') ? name.slice(0, -'.metadata'.length) : name;
        const wheelTarget = md.signed.targets.get(targetPath(project, wheel));
        data = await readFile(join(this.root, 'wheels', safe(project), `${wheelTarget?.hashes['sha256']}.${safe(name)}`)).catch(() => undefined);
      }
      if (!data || sha256(data) !== hash || data.length !== t.length) throw new Error(`${path}: the farm has no file with sha256 ${hash}`);
      await this.o.blobs.put(targetBlobPath(path, hash), data);
      if (!name.endsWith('.intoto.jsonl')) await this.o.blobs.alias(fileBlobPath(project, name), targetBlobPath(path, hash));
    }
    if (await this.o.state.recordBuilderSignedRole(role, md.signed.version, bytes)) this.o.requestPublication();
  }

  /** What a project's page shows: verified wheels, mismatches (both hashes and logs) and failed builds. */
  async status(project: string): Promise<FarmStatus | undefined> {
    const [p] = await this.optedIn(project);
    if (!p) return undefined;
    const farm = this.o.farmSigner;
    const out: FarmStatus = { verified: [], mismatches: [], failures: [], farmKeyRotated: farm !== undefined && !p.delegation.keys.has(farm.keyId) };
    const published = await this.published(wheelsRoleName(project));
    for (const sdist of p.sdists.keys()) {
      const reports = await this.reports(project, sdist);
      const { agreement, mismatch } = judgeBuilds(
        reports.map((r) => r.signed.report),
        p.delegation
      );
      if (mismatch) {
        const logs: Record<string, string> = {};
        for (const r of reports) logs[r.signed.report.keyid] = r.log;
        out.mismatches.push({ ...mismatch, logs });
      }
      const attestation = agreement && published.targets.get(targetPath(project, attestationFileName(agreement.wheel.filename)));
      if (agreement && attestation && published.targets.get(targetPath(project, agreement.wheel.filename))?.hashes['sha256'] === agreement.wheel.sha256) {
        const path = attestation.path;
        out.verified.push({ wheel: agreement.wheel.filename, sha256: agreement.wheel.sha256, builtFrom: agreement.sdist, builders: agreement.keyids, attestation: { path, sha256: attestation.hashes['sha256'] as string } });
      }
      for (const r of reports) {
        const rep: BuildReport = r.signed.report;
        if (!rep.ok) out.failures.push({ sdist, keyid: rep.keyid, reason: rep.reason ?? 'failed', log: r.log });
      }
    }
    return out;
  }
}
