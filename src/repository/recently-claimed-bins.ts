// SPDX-License-Identifier: Apache-2.0
// The online half of the name-bin layout (ADR 0005), for the snapshot process: after a claim,
// a key change or a promotion, only the recently-claimed bins whose delegations changed are
// signed again (with the recently-claimed key), and `recently-claimed` itself only when its
// key changed or it is close to expiry. What was published is compared by its delegations
// and signing key, read once from the published files and then remembered per version.
import { createHash } from 'node:crypto';
import type { BlobStore } from '../storage/blob-store.js';
import type { StateStore } from '../storage/state/types.js';
import { encodeCanonical, Metadata, type Delegations, type Signer, type Targets } from '../tuf/index.js';
import { binDelegator, groupByBin, projectBin } from './bin-delegations.js';
import { metadataBlobPath, ROLES } from './layout.js';
import { nameBinRoles } from './name-bins.js';

export interface SignedRole {
  name: string;
  version: number;
  bytes: Buffer;
  expires: Date;
}

const digestOf = (delegations: Delegations | undefined, signer: string) =>
  createHash('sha256').update(signer).update(encodeCanonical(delegations?.toJSON() ?? null)).digest('hex');

export class RecentlyClaimedBins {
  /** Role → the digest of its published version. */
  private readonly published = new Map<string, { version: number; digest: string }>();

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
    const groups = groupByBin(ROLES.recentlyClaimed, await this.state.delegations(ROLES.recentlyClaimed), this.binCount);
    const candidates: [string, (version: number) => Targets][] = [
      [ROLES.recentlyClaimed, (v) => binDelegator(ROLES.recentlyClaimed, { keys: [signer.publicKey], threshold: 1 }, v, expires, this.binCount)],
      ...nameBinRoles(ROLES.recentlyClaimed, this.binCount).map((name): [string, (version: number) => Targets] => [name, (v) => projectBin(name, groups.get(name) ?? [], v, expires)]),
    ];
    const out: SignedRole[] = [];
    for (const [name, build] of candidates) {
      const version = this.versionOf(name) + 1;
      const next = build(version);
      const digest = digestOf(next.delegations, signer.keyId);
      if (!expiring.has(name) && digest === (await this.publishedDigest(name))) continue;
      const md = await Metadata.sign(next, [signer]);
      // Remembered under its new version: used only once that version is the published one.
      this.published.set(name, { version, digest });
      out.push({ name, version, bytes: md.bytes, expires });
    }
    return out;
  }
}
