// SPDX-License-Identifier: Apache-2.0
// Offline ceremonies: the index exports unsigned metadata for an offline role, people sign it
// on machines that hold the offline keys (`bulwark admin sign`), and the index imports the
// signed result after checking it is exactly what was exported and signed by a threshold.
// The index never holds an offline private key (the demo repository aside).
//
// Promotion (PEP 480): projects waiting in recently-claimed (online key) move to claimed
// (offline key), every two weeks to a month, so that a compromise of the online keys can no
// longer touch them.
import {
  DelegatedRole,
  Delegations,
  encodeCanonical,
  expiresIn,
  Key,
  Metadata,
  RepositoryError,
  signCanonical,
  Targets,
  type Signer,
} from '../tuf/index.js';
import { metadataBlobPath, ROLES } from './layout.js';
import type { Repository } from './repository.js';

export class CeremonyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CeremonyError';
  }
}

/** What the exported file says it is, for people to read before they sign. */
export interface CeremonySummary {
  role: string;
  version: number;
  expires: string;
  promote: { project: string; keyids: string[]; threshold: number }[];
  keyChanges: { project: string; keyids: string[]; threshold: number }[];
  delegations: number;
}

export interface CeremonyFile {
  /** The unsigned (or partly signed) metadata, as TUF writes it. */
  metadata: { signatures: { keyid: string; sig: string }[]; signed: unknown };
  summary: CeremonySummary;
}

async function currentClaimed(repo: Repository): Promise<Targets> {
  const st = (await repo.state.roleStates()).find((r) => r.name === ROLES.claimed);
  const bytes = st && (await repo.blobs.get(metadataBlobPath(ROLES.claimed, st.version)));
  if (!bytes) throw new CeremonyError('the published claimed role is missing');
  return Metadata.parse(bytes, 'targets', ROLES.claimed).signed;
}

/**
 * The next claimed role: every project it delegates now (with key changes waiting for this
 * ceremony applied), plus every project waiting in recently-claimed.
 */
export async function exportPromotion(repo: Repository, now = new Date()): Promise<CeremonyFile> {
  const claimed = await currentClaimed(repo);
  const pending = await repo.state.delegations(ROLES.recentlyClaimed);
  const changed = (await repo.state.delegations(ROLES.claimed)).filter((d) => d.pending);
  if (pending.length === 0 && changed.length === 0) throw new CeremonyError('no project is waiting in recently-claimed and no key change is pending: nothing to sign');
  const roles = new Map(claimed.delegations?.roles ?? []);
  const delegated = [...(await repo.state.delegations(ROLES.claimed)), ...pending];
  const keys = new Map<string, Key>();
  for (const d of delegated) {
    const k = d.pending ?? d;
    for (const [id, key] of Object.entries(k.keys)) keys.set(id, Key.fromJSON(key, `key ${id}`));
    roles.set(d.role, new DelegatedRole(d.role, k.keyids, k.threshold, true, [`${d.project}/*`]));
  }
  const sortedRoles = new Map([...roles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const next = new Targets({
    version: claimed.version + 1,
    expires: expiresIn(now, repo.config.expiry.claimed),
    targets: new Map(),
    delegations: new Delegations(keys, sortedRoles),
  });
  return {
    metadata: { signatures: [], signed: next.toJSON() },
    summary: {
      role: ROLES.claimed,
      version: next.version,
      expires: next.expires.toISOString(),
      promote: pending.map((d) => ({ project: d.project, keyids: d.keyids, threshold: d.threshold })),
      keyChanges: changed.map((d) => ({ project: d.project, keyids: d.pending?.keyids ?? [], threshold: d.pending?.threshold ?? 0 })),
      delegations: sortedRoles.size,
    },
  };
}

/** Adds signatures to a ceremony file (run on the offline machine). */
export async function signCeremonyFile(file: CeremonyFile, signers: readonly Signer[]): Promise<CeremonyFile> {
  const { signatures } = await signCanonical(encodeCanonical(file.metadata.signed), signers);
  const merged = [...file.metadata.signatures.filter((s) => !signatures.some((n) => n.keyid === s.keyid)), ...signatures];
  return { ...file, metadata: { ...file.metadata, signatures: merged } };
}

/** Checks the signed promotion against the index's state and records it for publication. */
export async function importPromotion(repo: Repository, file: CeremonyFile, now = new Date()): Promise<CeremonySummary> {
  let bytes: Buffer;
  try {
    bytes = Buffer.from(encodeCanonical(file.metadata), 'utf8');
  } catch (e) {
    throw new CeremonyError(`not a ceremony file: ${(e as Error).message}`);
  }
  let md: Metadata<Targets>;
  try {
    md = Metadata.parse(bytes, 'targets', ROLES.claimed);
  } catch (e) {
    throw new CeremonyError(`not claimed metadata: ${(e as Error).message}`);
  }
  // The keys that may sign claimed are those the top-level targets role delegates to it.
  const targetsState = (await repo.state.roleStates()).find((r) => r.name === ROLES.targets);
  const targetsBytes = targetsState && (await repo.blobs.get(metadataBlobPath(ROLES.targets, targetsState.version)));
  if (!targetsBytes) throw new CeremonyError('the published targets role is missing');
  const delegations = Metadata.parse(targetsBytes, 'targets').signed.delegations;
  const roleKeys = delegations?.roleKeys(ROLES.claimed);
  if (!delegations || !roleKeys) throw new CeremonyError('targets does not delegate to claimed');
  try {
    md.verifyRole(ROLES.claimed, roleKeys, delegations.keys);
  } catch (e) {
    if (e instanceof RepositoryError) throw new CeremonyError(`${e.message}: have ${roleKeys.threshold} holder(s) of the claimed keys sign it (bulwark admin sign)`);
    throw e;
  }
  // It must be exactly what the index would export now: nothing added, nothing dropped.
  const expected = await exportPromotion(repo, now);
  const want = expected.metadata.signed as { version: number; delegations: unknown };
  if (md.signed.version !== want.version) throw new CeremonyError(`claimed version ${md.signed.version} is not the next one (${want.version}): export again`);
  if (encodeCanonical(md.signed.delegations?.toJSON() ?? null) !== encodeCanonical(want.delegations)) {
    throw new CeremonyError('the signed delegations differ from what is waiting now (a project was claimed meanwhile?): export and sign again');
  }
  if (md.signed.expires.getTime() <= now.getTime()) throw new CeremonyError('the signed claimed role has already expired');
  await repo.state.promoteDelegations(expected.summary.promote.map((p) => p.project), { version: md.signed.version, bytes: md.bytes }, now.toISOString());
  return expected.summary;
}
