// SPDX-License-Identifier: Apache-2.0
// The online half of the name-bin layout (ADR 0005), for the snapshot process: after a claim,
// a key change or a promotion, only the recently-claimed bins whose delegations changed are
// signed again (with the recently-claimed key), and `recently-claimed` itself only when its
// key changed or it is close to expiry. What was published is compared by its delegations
// and signing key, read once from the published files and then remembered per version.
// Only the bins whose projects' delegations changed since the last call are built and compared
// (one claim: one bin), not every bin: at 50,000 recently-claimed projects building all 1,024
// bins took 1.6–2.6 s per claim on the shared 2-core machine. A bin is built again whenever its
// published version is not the one it was last compared at (another leader, a failed publication).
import { createHash } from 'node:crypto';
import type { BlobStore } from '../storage/blob-store.js';
import type { StateStore } from '../storage/state/types.js';
import { encodeCanonical, Metadata, type Delegations, type Signer, type Targets } from '../tuf/index.js';
import { binDelegator, groupByBin, projectBin, type ProjectKeys } from './bin-delegations.js';
import { metadataBlobPath, ROLES } from './layout.js';
import { nameBinOf, nameBinRole, nameBinRoles } from './name-bins.js';

export interface SignedRole {
  name: string;
  version: number;
  bytes: Buffer;
  expires: Date;
}

const digestOf = (delegations: Delegations | undefined, signer: string) =>
  createHash('sha256').update(signer).update(encodeCanonical(delegations?.toJSON() ?? null)).digest('hex');

/** What a project's delegation contributes to its bin: a change of it changes the bin (key ids name their keys). */
const rowOf = (d: ProjectKeys) => `${d.role} ${d.threshold} ${d.keyids.join(',')}`;

export class RecentlyClaimedBins {
  /** Role → the digest of its published version. */
  private readonly published = new Map<string, { version: number; digest: string }>();
  /** The delegations (project → rowOf) as of the last call that completed. */
  private rows = new Map<string, string>();
  /** Bin → the published version it was last compared at (or signed as), with the key it was. */
  private readonly compared = new Map<string, number>();
  private signerOfRows: string | undefined;
  /** Project → its bin (a name never changes bins). */
  private readonly binOfProject = new Map<string, string>();
  /** How many bins the last call built and compared (tests: one claim builds one). */
  binsBuilt = 0;

  private binOf(project: string): string {
    let bin = this.binOfProject.get(project);
    if (bin === undefined) {
      bin = nameBinRole(ROLES.recentlyClaimed, nameBinOf(project, this.binCount), this.binCount);
      this.binOfProject.set(project, bin);
    }
    return bin;
  }

  constructor(
    private readonly state: StateStore,
    private readonly blobs: BlobStore,
    /** The published version of a role (0: never). */
    private readonly versionOf: (role: string) => number,
    /** The repository's number of name bins (name-bins.ts). */
    private readonly binCount: number
  ) {}

  private async publishedDigest(name: string): Promise<string | undefined> {
    const version = this.versionOf(name);
    const known = this.published.get(name);
    if (known?.version === version) return known.digest;
    if (version === 0) return undefined;
    const bytes = await this.blobs.get(metadataBlobPath(name, version));
    if (!bytes) return undefined;
    const md = Metadata.parse(bytes, 'targets', name);
    const digest = digestOf(md.signed.delegations, md.signatures.map((s) => s.keyid).join(','));
    this.published.set(name, { version, digest });
    return digest;
  }

  /**
   * The roles of the recently-claimed tree to publish now: those whose content or key changed,
   * and those in `expiring` (same content, next version, new expiry).
   */
  async changed(signer: Signer, expires: Date, expiring: ReadonlySet<string>): Promise<SignedRole[]> {
    const delegations = await this.state.delegations(ROLES.recentlyClaimed);
    const rows = new Map(delegations.map((d) => [d.project, rowOf(d)]));
    // Bins whose delegations changed since the last call; every bin with a new key (or the first call).
    const everyBin = this.signerOfRows !== signer.keyId;
    const touched = new Set<string>();
    const binOf = (project: string) => this.binOf(project);
    if (!everyBin) {
      for (const [project, row] of rows) if (this.rows.get(project) !== row) touched.add(binOf(project));
      for (const project of this.rows.keys()) {
        if (rows.has(project)) continue;
        touched.add(binOf(project));
        this.binOfProject.delete(project); // promoted: no longer needed here
      }
    }
    const bins = nameBinRoles(ROLES.recentlyClaimed, this.binCount).filter(
      (name) => everyBin || touched.has(name) || expiring.has(name) || this.compared.get(name) !== this.versionOf(name)
    );
    const wanted = new Set(bins);
    const groups = groupByBin(ROLES.recentlyClaimed, everyBin ? delegations : delegations.filter((d) => wanted.has(binOf(d.project))), this.binCount);
    const candidates: [string, (version: number) => Targets][] = [
      [ROLES.recentlyClaimed, (v) => binDelegator(ROLES.recentlyClaimed, { keys: [signer.publicKey], threshold: 1 }, v, expires, this.binCount)],
      ...bins.map((name): [string, (version: number) => Targets] => [name, (v) => projectBin(name, groups.get(name) ?? [], v, expires)]),
    ];
    const out: SignedRole[] = [];
    for (const [name, build] of candidates) {
      const version = this.versionOf(name) + 1;
      const next = build(version);
      const digest = digestOf(next.delegations, signer.keyId);
      if (!expiring.has(name) && digest === (await this.publishedDigest(name))) {
        this.compared.set(name, version - 1);
        continue;
      }
      const md = await Metadata.sign(next, [signer]);
      // Remembered under its new version: used only once that version is the published one.
      this.published.set(name, { version, digest });
      this.compared.set(name, version);
      out.push({ name, version, bytes: md.bytes, expires });
    }
    this.binsBuilt = bins.length;
    this.rows = rows;
    this.signerOfRows = signer.keyId;
    return out;
  }
}
