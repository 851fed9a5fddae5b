// SPDX-License-Identifier: Apache-2.0
// Offline ceremonies: the index exports unsigned metadata for an offline role, people sign it
// on machines that hold the offline keys (`bulwark admin sign`), and the index imports the
// signed result after checking it is exactly what was exported and signed by a threshold.
// The index never holds an offline private key (the demo repository aside).
//
// Promotion (PEP 480): projects waiting in recently-claimed (online key) move to claimed
// (offline key), every two weeks to a month, so that a compromise of the online keys can no
// longer touch them.
import { createHash } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import {
  DelegatedRole,
  Delegations,
  Ed25519Signer,
  canonicalFileText,
  encodeCanonical,
  isOfflineSigningKey,
  expiresIn,
  formatExpires,
  Key,
  Metadata,
  RepositoryError,
  ROLE_NAME_FIELD,
  Root,
  signCanonical,
  Targets,
  type Signer,
} from '../tuf/index.js';
import { auditorKeyIds, withAuditors } from '../auditor/root-auditors.js';
import { writeKeyFile } from './keyring.js';
import { metadataBlobPath, ROLES, usesNameBins } from './layout.js';
import { binDelegator, groupByBin, projectBin, type ProjectKeys } from './bin-delegations.js';
import { nameBinCountOf, nameBinRoles } from './name-bins.js';
import type { ProjectDelegation } from '../storage/state/types.js';
import { KEYS_GENERATION, type Repository } from './repository.js';

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
  /** With name bins: the claimed bins this ceremony signs, in the order the file carries them. */
  bins?: string[];
  /** Root rotations: the root keys after and before, and the online keys replaced. */
  root?: { keyids: string[]; threshold: number; previousKeyids: string[]; previousThreshold: number; rotated: Record<string, string>; auditors?: string[] };
  /** Targets rotations: the delegated roles whose keys were replaced. */
  targets?: { rotated: Record<string, string> };
}

type CeremonyMetadata = { signatures: { keyid: string; sig: string }[]; signed: unknown };

export interface CeremonyFile {
  /** The unsigned (or partly signed) metadata, as TUF writes it. */
  metadata: CeremonyMetadata;
  /**
   * More roles signed in the same ceremony: the claimed bins a promotion changes (ADR 0005).
   * With name bins, `metadata` is the first of them (`summary.role` names it).
   */
  roles?: { name: string; metadata: CeremonyMetadata }[];
  summary: CeremonySummary;
}

/** The newest published version of a targets-type role (targets, claimed, a bin). */
export async function publishedTargetsRole(repo: Repository, role: string): Promise<Metadata<Targets>> {
  const st = (await repo.state.roleStates()).find((r) => r.name === role);
  const bytes = st && st.version > 0 ? await repo.blobs.get(metadataBlobPath(role, st.version)) : undefined;
  if (!bytes) throw new CeremonyError(`the published ${role} role is missing`);
  return Metadata.parse(bytes, 'targets', role === ROLES.targets ? undefined : role);
}

async function currentClaimed(repo: Repository): Promise<Targets> {
  return (await publishedTargetsRole(repo, ROLES.claimed)).signed;
}

/**
 * The next claimed role: every project it delegates now (with key changes waiting for this
 * ceremony applied), plus every project waiting in recently-claimed.
 */
export async function exportPromotion(repo: Repository, now = new Date()): Promise<CeremonyFile> {
  const pending = await repo.state.delegations(ROLES.recentlyClaimed);
  const changed = (await repo.state.delegations(ROLES.claimed)).filter((d) => d.pending);
  if (usesNameBins(repo.config)) return exportBinPromotion(repo, pending, changed, now);
  if (pending.length === 0 && changed.length === 0) throw new CeremonyError('no project is waiting in recently-claimed and no key change is pending: nothing to sign');
  const claimed = await currentClaimed(repo);
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

/** The keys a project delegation will use once this ceremony is imported. */
const afterCeremony = (d: ProjectDelegation): ProjectKeys => ({ project: d.project, role: d.role, ...(d.pending ?? { keys: d.keys, keyids: d.keyids, threshold: d.threshold }) });

/** The keys `targets` trusts for claimed now: claimed's bins are delegated to the same. */
export async function claimedKeysOfTargets(repo: Repository): Promise<{ keys: Key[]; threshold: number }> {
  const d = (await publishedTargetsRole(repo, ROLES.targets)).signed.delegations;
  const rk = d?.roleKeys(ROLES.claimed);
  if (!d || !rk) throw new CeremonyError('targets does not delegate to claimed');
  return { keys: rk.keyids.map((id) => d.keys.get(id)).filter((k): k is Key => k !== undefined), threshold: rk.threshold };
}

/** True when claimed delegates its bins to other keys than targets now trusts for claimed (after a rotation). */
async function claimedKeysRotated(repo: Repository, claimed: Targets): Promise<boolean> {
  const now = await claimedKeysOfTargets(repo);
  const first = claimed.delegations?.roles?.values().next().value;
  const ids = now.keys.map((k) => k.keyId).sort();
  return !first || first.threshold !== now.threshold || encodeCanonical([...first.keyids].sort()) !== encodeCanonical(ids);
}

/**
 * With name bins (ADR 0005): the next version of each claimed bin that gains a project or a
 * key change, and nothing else; `claimed` itself is not re-signed (its bins never change).
 * After a rotation of the claimed keys (`admin targets`), `claimed` and every bin are signed
 * again, with the new keys.
 */
async function exportBinPromotion(repo: Repository, pending: ProjectDelegation[], changed: ProjectDelegation[], now: Date): Promise<CeremonyFile> {
  const current = await currentClaimed(repo);
  const rekey = await claimedKeysRotated(repo, current);
  if (!rekey && pending.length === 0 && changed.length === 0) throw new CeremonyError('no project is waiting in recently-claimed and no key change is pending: nothing to sign');
  const claimedNow = await repo.state.delegations(ROLES.claimed);
  const binCount = nameBinCountOf(repo.config);
  const touched = rekey ? nameBinRoles(ROLES.claimed, binCount) : [...groupByBin(ROLES.claimed, [...pending, ...changed], binCount).keys()].sort();
  const all = groupByBin(ROLES.claimed, [...claimedNow, ...pending], binCount);
  const versions = new Map((await repo.state.roleStates()).map((r) => [r.name, r.version]));
  const expires = expiresIn(now, repo.config.expiry.claimed);
  const docs = touched.map((name) => {
    const version = versions.get(name);
    if (version === undefined) throw new CeremonyError(`the claimed bin ${name} was never published: is this repository migrated (bulwark migrate)?`);
    return { name, metadata: { signatures: [], signed: projectBin(name, (all.get(name) ?? []).map(afterCeremony), version + 1, expires).toJSON() } };
  });
  if (rekey) docs.unshift({ name: ROLES.claimed, metadata: { signatures: [], signed: binDelegator(ROLES.claimed, await claimedKeysOfTargets(repo), current.version + 1, expires, binCount).toJSON() } });
  const [first, ...rest] = docs as [(typeof docs)[0], ...typeof docs];
  return {
    metadata: first.metadata,
    ...(rest.length > 0 ? { roles: rest } : {}),
    summary: {
      role: first.name,
      version: (first.metadata.signed as { version: number }).version,
      expires: expires.toISOString(),
      promote: pending.map((d) => ({ project: d.project, keyids: d.keyids, threshold: d.threshold })),
      keyChanges: changed.map((d) => ({ project: d.project, keyids: d.pending?.keyids ?? [], threshold: d.pending?.threshold ?? 0 })),
      delegations: claimedNow.length + pending.length,
      bins: touched,
    },
  };
}

/**
 * Checks each signed role against what the index would export now: claimed (after a key
 * rotation) against the keys targets trusts for it, each bin against claimed's delegation to it.
 */
async function importBinPromotion(repo: Repository, file: CeremonyFile, now: Date): Promise<CeremonySummary> {
  const expected = await exportPromotion(repo, now);
  const want = [{ name: expected.summary.role, metadata: expected.metadata }, ...(expected.roles ?? [])];
  const got = [file.metadata, ...(file.roles ?? []).map((r) => r.metadata)];
  if (got.length !== want.length || (file.roles ?? []).some((r, i) => r.name !== want[i + 1]?.name)) {
    throw new CeremonyError(`the file carries ${got.length} role(s), but ${want.length} change now (${want.map((w) => w.name).join(', ')}): export and sign again`);
  }
  let delegator = await currentClaimed(repo);
  let claimed: { version: number; bytes: Buffer } | null = null;
  const signed: { role: string; version: number; bytes: Buffer }[] = [];
  for (const [i, w] of want.entries()) {
    let md: Metadata<Targets>;
    try {
      md = Metadata.parse(Buffer.from(canonicalFileText(encodeCanonical(got[i])), 'utf8'), 'targets', w.name);
    } catch (e) {
      throw new CeremonyError(`${w.name}: not claimed metadata: ${(e as Error).message}`);
    }
    const { keys, threshold } = w.name === ROLES.claimed ? await claimedKeysOfTargets(repo) : { keys: [], threshold: 0 };
    const roleKeys = w.name === ROLES.claimed ? { keyids: keys.map((k) => k.keyId), threshold } : delegator.delegations?.roleKeys(w.name);
    const keyMap = w.name === ROLES.claimed ? new Map(keys.map((k) => [k.keyId, k])) : delegator.delegations?.keys;
    if (!roleKeys || !keyMap) throw new CeremonyError(`claimed does not delegate to ${w.name}`);
    try {
      md.verifyRole(w.name, roleKeys, keyMap);
    } catch (e) {
      if (e instanceof RepositoryError) throw new CeremonyError(`${w.name}: ${e.message}: have ${roleKeys.threshold} holder(s) of the claimed keys sign it (bulwark admin sign)`);
      throw e;
    }
    const wantSigned = w.metadata.signed as { version: number; delegations: unknown };
    if (md.signed.version !== wantSigned.version) throw new CeremonyError(`${w.name} version ${md.signed.version} is not the next one (${wantSigned.version}): export again`);
    if (encodeCanonical(md.signed.delegations?.toJSON() ?? null) !== encodeCanonical(wantSigned.delegations)) {
      throw new CeremonyError(`${w.name}: the signed delegations differ from what is waiting now (a project was claimed meanwhile?): export and sign again`);
    }
    if (md.signed.expires.getTime() <= now.getTime()) throw new CeremonyError(`${w.name} has already expired`);
    if (w.name === ROLES.claimed) {
      // The bins that follow are checked against the claimed role being imported.
      delegator = md.signed;
      claimed = { version: md.signed.version, bytes: md.bytes };
      continue;
    }
    if (md.signed.unrecognized[ROLE_NAME_FIELD] !== w.name) throw new CeremonyError(`${w.name}: the signed bin names itself ${JSON.stringify(md.signed.unrecognized[ROLE_NAME_FIELD])}: export and sign again`);
    signed.push({ role: w.name, version: md.signed.version, bytes: md.bytes });
  }
  await repo.state.promoteDelegations(expected.summary.promote.map((p) => p.project), claimed, now.toISOString(), signed);
  return expected.summary;
}

/** Adds signatures to a ceremony file, to each role it carries (run on the offline machine). */
export async function signCeremonyFile<F extends { metadata: CeremonyMetadata; roles?: { name: string; metadata: CeremonyMetadata }[] }>(file: F, signers: readonly Signer[]): Promise<F> {
  const sign = async (m: CeremonyMetadata): Promise<CeremonyMetadata> => {
    const { signatures } = await signCanonical(encodeCanonical(m.signed), signers);
    return { ...m, signatures: [...m.signatures.filter((s) => !signatures.some((n) => n.keyid === s.keyid)), ...signatures] };
  };
  const roles = file.roles ? { roles: await Promise.all(file.roles.map(async (r) => ({ ...r, metadata: await sign(r.metadata) }))) } : {};
  return { ...file, metadata: await sign(file.metadata), ...roles };
}

/** Checks the signed promotion against the index's state and records it for publication. */
export async function importPromotion(repo: Repository, file: CeremonyFile, now = new Date()): Promise<CeremonySummary> {
  if (usesNameBins(repo.config)) return importBinPromotion(repo, file, now);
  let bytes: Buffer;
  try {
    bytes = Buffer.from(canonicalFileText(encodeCanonical(file.metadata)), 'utf8');
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
  const delegations = (await publishedTargetsRole(repo, ROLES.targets)).signed.delegations;
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

/** New offline key holders' keys must be keys `bulwark admin sign` can sign with. */
function checkOfflineKeys(keys: readonly Key[]): void {
  for (const k of keys) {
    if (!isOfflineSigningKey(k)) throw new CeremonyError(`key ${k.keyId.slice(0, 12)} is a ${k.keytype}/${k.scheme} key; offline roles take Ed25519 or ECDSA P-256 keys`);
  }
}

// --- root rotation ----------------------------------------------------------------------------

export interface RootRotationOptions {
  /** Online roles whose keys are replaced (new keys are made here, on the index). */
  rotateOnline?: readonly ('timestamp' | 'snapshot')[];
  addRootKeys?: readonly Key[];
  removeRootKeyIds?: readonly string[];
  rootThreshold?: number;
  /** New holders of the offline targets key (replaces the current ones). */
  targetsKeys?: readonly Key[];
  targetsThreshold?: number;
  /** The auditors the next root names (replacing the current ones; no keys: none). Undefined: unchanged. */
  auditors?: { keys: readonly Key[]; threshold?: number };
}

const PENDING_ROOT = 'ceremony:root';

async function publishedRoot(repo: Repository): Promise<Metadata<Root>> {
  const st = (await repo.state.roleStates()).find((r) => r.name === ROLES.root);
  const bytes = st && (await repo.blobs.get(metadataBlobPath(ROLES.root, st.version)));
  if (!bytes) throw new CeremonyError('the published root is missing');
  return Metadata.parse(bytes, 'root');
}

/**
 * The next root: root keys added or removed, and new online keys for the rotated roles (made
 * now, kept as `keys/online/<role>.next.pem` until the signed root is imported). The new root
 * must be signed by a threshold of the current root keys AND of its own (TUF §5.3.4).
 */
export async function exportRootRotation(repo: Repository, opts: RootRotationOptions, now = new Date()): Promise<CeremonyFile> {
  checkOfflineKeys([...(opts.addRootKeys ?? []), ...(opts.targetsKeys ?? [])]);
  const current = (await publishedRoot(repo)).signed;
  const keys = new Map(current.keys);
  const roles = new Map(current.roles);
  const rootRole = roles.get('root') as { keyids: readonly string[]; threshold: number };
  let rootKeyids = rootRole.keyids.filter((k) => !(opts.removeRootKeyIds ?? []).includes(k));
  for (const k of opts.addRootKeys ?? []) {
    keys.set(k.keyId, k);
    if (!rootKeyids.includes(k.keyId)) rootKeyids = [...rootKeyids, k.keyId];
  }
  const threshold = opts.rootThreshold ?? Math.min(rootRole.threshold, rootKeyids.length);
  if (rootKeyids.length === 0 || threshold < 1 || threshold > rootKeyids.length) throw new CeremonyError(`root needs 1 to ${rootKeyids.length} as threshold`);
  roles.set('root', { keyids: rootKeyids, threshold });
  const rotated: Record<string, string> = {};
  for (const role of opts.rotateOnline ?? []) {
    const signer = Ed25519Signer.generate();
    await writeKeyFile(join(repo.dataDir, 'keys', 'online', `${role}.next.pem`), signer);
    keys.set(signer.keyId, signer.publicKey);
    roles.set(role, { keyids: [signer.keyId], threshold: 1 });
    rotated[role] = signer.keyId;
  }
  if (opts.targetsKeys && opts.targetsKeys.length > 0) {
    for (const k of opts.targetsKeys) keys.set(k.keyId, k);
    roles.set('targets', { keyids: opts.targetsKeys.map((k) => k.keyId), threshold: opts.targetsThreshold ?? 1 });
    rotated['targets'] = opts.targetsKeys.map((k) => k.keyId).join(',');
  }
  let unrecognizedFields = current.unrecognized;
  if (opts.auditors) {
    let next: ReturnType<typeof withAuditors>;
    try {
      next = withAuditors(current.unrecognized, opts.auditors);
    } catch (e) {
      throw new CeremonyError((e as Error).message);
    }
    for (const k of next.keys) keys.set(k.keyId, k);
    unrecognizedFields = next.unrecognized;
  }
  // Keep only keys some role, or an auditor, still uses.
  const used = new Set([...[...roles.values()].flatMap((r) => r.keyids), ...auditorKeyIds(unrecognizedFields)]);
  for (const id of [...keys.keys()]) if (!used.has(id)) keys.delete(id);
  const next = new Root({
    version: current.version + 1,
    expires: expiresIn(now, repo.config.expiry.root),
    keys,
    roles,
    consistentSnapshot: current.consistentSnapshot,
    unrecognized: unrecognizedFields,
  });
  const signed = next.toJSON();
  await repo.state.setSetting(PENDING_ROOT, encodeCanonical(signed));
  return {
    metadata: { signatures: [], signed },
    summary: {
      role: ROLES.root,
      version: next.version,
      expires: next.expires.toISOString(),
      promote: [],
      keyChanges: [],
      delegations: 0,
      root: { keyids: rootKeyids, threshold, previousKeyids: [...rootRole.keyids], previousThreshold: rootRole.threshold, rotated, auditors: auditorKeyIds(unrecognizedFields) },
    },
  };
}

/** Checks the signed root (old and new thresholds), publishes it, and switches the online keys. */
export async function importRootRotation(repo: Repository, file: CeremonyFile): Promise<CeremonySummary> {
  const pending = await repo.state.getSetting(PENDING_ROOT);
  if (!pending) throw new CeremonyError('no root rotation was exported: run `bulwark admin root export` first');
  let bytes: Buffer;
  let md: Metadata<Root>;
  try {
    bytes = Buffer.from(canonicalFileText(encodeCanonical(file.metadata)), 'utf8');
    md = Metadata.parse(bytes, 'root');
  } catch (e) {
    throw new CeremonyError(`not root metadata: ${(e as Error).message}`);
  }
  if (encodeCanonical(file.metadata.signed) !== pending) throw new CeremonyError('the signed root differs from the one exported: export and sign again');
  const current = (await publishedRoot(repo)).signed;
  try {
    md.verifyRole('root', current.roles.get('root') as { keyids: readonly string[]; threshold: number }, current.keys);
    md.verifyRole('root', md.signed.roles.get('root') as { keyids: readonly string[]; threshold: number }, md.signed.keys);
  } catch (e) {
    if (e instanceof RepositoryError) throw new CeremonyError(`${e.message}: a new root needs a threshold of the current root keys and of its own`);
    throw e;
  }
  // 1. Publish N+1.root.json (kept forever). 2. Record it. 3. Move the new online keys into
  // place. 4. Tell running processes to reload their signers and re-sign. A crash between any
  // two steps is harmless: the index always signs with the keys the newest root trusts.
  await repo.blobs.put(metadataBlobPath(ROLES.root, md.signed.version), md.bytes);
  await repo.state.recordRoleVersion({
    name: ROLES.root,
    version: md.signed.version,
    expires: formatExpires(md.signed.expires),
    length: md.bytes.length,
    sha256: createHash('sha256').update(md.bytes).digest('hex'),
  });
  const rotated = (file.summary.root?.rotated ?? {}) as Record<string, string>;
  for (const role of Object.keys(rotated)) {
    if (role !== 'timestamp' && role !== 'snapshot') continue; // offline keys are not kept here
    const source = repo.config.onlineKeys[role];
    if (source.startsWith('file:')) {
      const path = source.slice('file:'.length);
      await rename(join(repo.dataDir, 'keys', 'online', `${role}.next.pem`), isAbsolute(path) ? path : join(repo.dataDir, path));
    }
  }
  await repo.state.setSetting(KEYS_GENERATION, `${Date.now()}-${md.signed.version}`);
  await repo.state.setSetting(PENDING_ROOT, '');
  return file.summary;
}

// --- targets rotation -----------------------------------------------------------------------

export interface TargetsRotationOptions {
  /** Online delegated roles whose keys are replaced (new keys are made here). */
  rotateOnline?: readonly ('recently-claimed' | 'unclaimed')[];
  /** New holders of the offline claimed key (replaces the current ones), with a threshold. */
  claimedKeys?: readonly Key[];
  claimedThreshold?: number;
}

const PENDING_TARGETS = 'ceremony:targets';

/**
 * The next top-level targets role, with new keys for the rotated delegations. Signed offline
 * by a threshold of the targets keys root names; once imported, the index re-signs
 * recently-claimed, unclaimed and every bin with the new online keys in the same snapshot.
 */
export async function exportTargetsRotation(repo: Repository, opts: TargetsRotationOptions, now = new Date()): Promise<CeremonyFile> {
  checkOfflineKeys(opts.claimedKeys ?? []);
  const st = (await repo.state.roleStates()).find((r) => r.name === ROLES.targets);
  const bytes = st && (await repo.blobs.get(metadataBlobPath(ROLES.targets, st.version)));
  if (!bytes) throw new CeremonyError('the published targets role is missing');
  const current = Metadata.parse(bytes, 'targets').signed;
  const delegations = current.delegations;
  if (!delegations?.roles) throw new CeremonyError('targets has no delegations');
  const keys = new Map(delegations.keys);
  const roles = new Map(delegations.roles);
  const rotated: Record<string, string> = {};
  const replace = (name: string, newKeys: readonly Key[], threshold: number) => {
    const old = roles.get(name);
    if (!old) throw new CeremonyError(`targets does not delegate to ${name}`);
    for (const k of newKeys) keys.set(k.keyId, k);
    roles.set(name, new DelegatedRole(name, newKeys.map((k) => k.keyId), threshold, old.terminating, old.paths, old.pathHashPrefixes, old.unrecognized));
  };
  for (const role of opts.rotateOnline ?? []) {
    const signer = Ed25519Signer.generate();
    await writeKeyFile(join(repo.dataDir, 'keys', 'online', `${role}.next.pem`), signer);
    replace(role, [signer.publicKey], 1);
    rotated[role] = signer.keyId;
  }
  if (opts.claimedKeys && opts.claimedKeys.length > 0) {
    replace(ROLES.claimed, opts.claimedKeys, opts.claimedThreshold ?? 1);
    rotated[ROLES.claimed] = opts.claimedKeys.map((k) => k.keyId).join(',');
  }
  const used = new Set([...roles.values()].flatMap((r) => r.keyids));
  for (const id of [...keys.keys()]) if (!used.has(id)) keys.delete(id);
  const next = new Targets({
    version: current.version + 1,
    expires: expiresIn(now, repo.config.expiry.targets),
    targets: current.targets,
    delegations: new Delegations(keys, roles),
    unrecognized: current.unrecognized,
  });
  const signed = next.toJSON();
  await repo.state.setSetting(PENDING_TARGETS, encodeCanonical(signed));
  return {
    metadata: { signatures: [], signed },
    summary: { role: ROLES.targets, version: next.version, expires: next.expires.toISOString(), promote: [], keyChanges: [], delegations: roles.size, targets: { rotated } },
  };
}

export async function importTargetsRotation(repo: Repository, file: CeremonyFile): Promise<CeremonySummary> {
  const pending = await repo.state.getSetting(PENDING_TARGETS);
  if (!pending) throw new CeremonyError('no targets rotation was exported: run `bulwark admin targets export` first');
  let md: Metadata<Targets>;
  try {
    md = Metadata.parse(Buffer.from(canonicalFileText(encodeCanonical(file.metadata)), 'utf8'), 'targets');
  } catch (e) {
    throw new CeremonyError(`not targets metadata: ${(e as Error).message}`);
  }
  if (encodeCanonical(file.metadata.signed) !== pending) throw new CeremonyError('the signed targets role differs from the one exported: export and sign again');
  const root = (await publishedRoot(repo)).signed;
  try {
    md.verifyRole(ROLES.targets, root.roles.get('targets') as { keyids: readonly string[]; threshold: number }, root.keys);
  } catch (e) {
    if (e instanceof RepositoryError) throw new CeremonyError(`${e.message}: have holders of the targets keys sign it`);
    throw e;
  }
  // Stored for the snapshot process, which publishes it together with recently-claimed,
  // unclaimed and every bin re-signed by the new keys: one consistent snapshot.
  await repo.state.storeSignedRole(ROLES.targets, md.signed.version, md.bytes);
  for (const role of Object.keys(file.summary.targets?.rotated ?? {})) {
    if (role === ROLES.claimed) continue;
    const source = repo.config.onlineKeys[role as 'recently-claimed' | 'unclaimed'];
    if (source.startsWith('file:')) {
      const path = source.slice('file:'.length);
      await rename(join(repo.dataDir, 'keys', 'online', `${role}.next.pem`), isAbsolute(path) ? path : join(repo.dataDir, path));
    }
  }
  await repo.state.markDirty([ROLES.targets, ROLES.recentlyClaimed, ROLES.unclaimed, ...repo.bins.roleNames()]);
  await repo.state.setSetting(KEYS_GENERATION, `${Date.now()}-targets-${md.signed.version}`);
  await repo.state.setSetting(PENDING_TARGETS, '');
  return file.summary;
}
