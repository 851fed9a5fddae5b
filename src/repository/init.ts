// SPDX-License-Identifier: Apache-2.0
// `bulwark init`: creates a repository with the PEP 480 layout in a data directory.
// Demo mode generates every key here and keeps the offline ones on disk (the loud exception);
// a production index is created from offline-signed metadata by the ceremony commands.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DelegatedRole,
  Delegations,
  Ed25519Signer,
  isOfflineSigningKey,
  canonicalFileText,
  encodeCanonical,
  Metadata,
  Root,
  signCanonical,
  SuccinctRoles,
  Targets,
  expiresIn,
  formatExpires,
  type Key,
  type TopLevelRole,
} from '../tuf/index.js';
import { ensureDir, writeFileAtomic } from '../storage/atomic-write.js';
import { FsBlobStore } from '../storage/blob-store.js';
import { SqliteState } from '../storage/state/sqlite-state.js';
import type { RoleState } from '../storage/state/types.js';
import { CONFIG_FILE, DEFAULT_EXPIRY, loadConfig, saveConfig, type ExpiryPeriods, type RepositoryConfig } from './config.js';
import { writeKeyFile } from './keyring.js';
import {
  ALL_PROJECT_TARGETS,
  BIN_PREFIX,
  binBitLength,
  metadataBlobPath,
  OFFLINE_ROLES,
  ONLINE_ROLES,
  ROLES,
  type OfflineRole,
  type OnlineRole,
} from './layout.js';
import { binCanonical, SnapshotMeta, timestampCanonical } from './metadata-builder.js';
import { binDelegator, projectBin } from './bin-delegations.js';
import { defaultNameBinCount, NAME_BIN_COUNT, nameBinRoles } from './name-bins.js';
import { DATABASE_FILE, PUBLIC_DIR } from './paths.js';
import { withAuditors } from '../auditor/root-auditors.js';

export interface InitOptions {
  bins?: number;
  now?: Date;
  expiry?: Partial<ExpiryPeriods>;
  onProgress?: (done: number, total: number, what: string) => void;
  /** 'direct' makes the layout from before name bins (for tests of `bulwark migrate`). */
  projectDelegations?: 'direct' | 'name-bins';
  /** Auditor keys root names in `x-bulwark-auditors` (src/auditor/root-auditors.ts). */
  auditors?: { keys: readonly Key[]; threshold?: number };
}

export class RepositoryExistsError extends Error {
  constructor(dataDir: string) {
    super(`${dataDir} already holds a repository (${CONFIG_FILE} exists); use another --data directory`);
    this.name = 'RepositoryExistsError';
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Makes the online keys (timestamp, snapshot, recently-claimed, unclaimed) in keys/online/. */
async function makeOnlineKeys(dataDir: string): Promise<{ online: Record<OnlineRole, Ed25519Signer>; onlineKeys: Record<OnlineRole, string> }> {
  const online = Object.fromEntries(ONLINE_ROLES.map((r) => [r, Ed25519Signer.generate()])) as Record<OnlineRole, Ed25519Signer>;
  const onlineKeys = {} as Record<OnlineRole, string>;
  for (const role of ONLINE_ROLES) {
    await writeKeyFile(join(dataDir, 'keys', 'online', `${role}.pem`), online[role]);
    onlineKeys[role] = `file:keys/online/${role}.pem`;
  }
  return { online, onlineKeys };
}

/** Creates a demo repository: all keys generated here, offline ones kept on disk (demo only). */
export async function initDemoRepository(dataDir: string, opts: InitOptions = {}): Promise<RepositoryConfig> {
  if (await loadConfig(dataDir)) throw new RepositoryExistsError(dataDir);
  const bins = opts.bins ?? 16384;
  binBitLength(bins); // fail before writing anything
  const now = opts.now ?? new Date();
  const expiry: ExpiryPeriods = { ...DEFAULT_EXPIRY, ...opts.expiry };
  await mkdir(dataDir, { recursive: true });

  const { online, onlineKeys } = await makeOnlineKeys(dataDir);
  const offline = Object.fromEntries(OFFLINE_ROLES.map((r) => [r, Ed25519Signer.generate()])) as Record<OfflineRole, Ed25519Signer>;
  const demoOfflineKeysDir = 'keys/offline-DEMO-ONLY';
  for (const role of OFFLINE_ROLES) await writeKeyFile(join(dataDir, demoOfflineKeysDir, `${role}.pem`), offline[role]);
  await writeFile(
    join(dataDir, demoOfflineKeysDir, 'README'),
    'DEMO ONLY: these offline keys (root, targets, claimed) must never live on an index server.\n' +
      'A production index is created with the offline ceremony instead.\n'
  );

  const models = buildOfflineRoles(
    online,
    {
      root: { keys: [offline.root.publicKey], threshold: 1 },
      targets: { keys: [offline.targets.publicKey], threshold: 1 },
      claimed: { keys: [offline.claimed.publicKey], threshold: 1 },
    },
    now,
    expiry,
    opts.projectDelegations ?? 'name-bins',
    opts.auditors,
    defaultNameBinCount(bins)
  );
  return finishInit(dataDir, {
    bins,
    now,
    expiry,
    online,
    onlineKeys,
    root: await Metadata.sign(models.root, [offline.root]),
    targets: await Metadata.sign(models.targets, [offline.targets]),
    claimed: await Metadata.sign(models.claimed, [offline.claimed]),
    claimedBins: await Promise.all(models.claimedBins.map((b) => Metadata.sign(b, [offline.claimed]))),
    mode: 'demo',
    demoOfflineKeysDir,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}

export interface OfflineKeyHolders {
  root: { keys: readonly Key[]; threshold: number };
  targets: { keys: readonly Key[]; threshold: number };
  claimed: { keys: readonly Key[]; threshold: number };
}

/**
 * The unsigned initial root, targets and claimed roles for these online and offline keys, and
 * with name bins the empty claimed bins (signed by the claimed keys too).
 */
export function buildOfflineRoles(
  online: Record<OnlineRole, Ed25519Signer>,
  offline: OfflineKeyHolders,
  now: Date,
  expiry: ExpiryPeriods,
  layout: 'direct' | 'name-bins' = 'name-bins',
  auditorKeys?: InitOptions['auditors'],
  nameBinCount = NAME_BIN_COUNT
): { root: Root; targets: Targets; claimed: Targets; claimedBins: Targets[] } {
  const exp = (role: keyof ExpiryPeriods) => expiresIn(now, expiry[role]);
  const entries = (keys: readonly Key[]): [string, Key][] => keys.map((k) => [k.keyId, k]);
  const ids = (keys: readonly Key[]) => keys.map((k) => k.keyId);
  const auditors = withAuditors({}, auditorKeys);
  const root = new Root({
    version: 1,
    expires: exp('root'),
    keys: new Map([
      ...entries(offline.root.keys),
      ...entries(offline.targets.keys),
      ...entries([online.snapshot.publicKey, online.timestamp.publicKey]),
      ...entries(auditors.keys),
    ]),
    roles: new Map<TopLevelRole, { keyids: string[]; threshold: number }>([
      ['root', { keyids: ids(offline.root.keys), threshold: offline.root.threshold }],
      ['targets', { keyids: ids(offline.targets.keys), threshold: offline.targets.threshold }],
      ['snapshot', { keyids: [online.snapshot.keyId], threshold: 1 }],
      ['timestamp', { keyids: [online.timestamp.keyId], threshold: 1 }],
    ]),
    consistentSnapshot: true,
    unrecognized: auditors.unrecognized,
  });
  // targets → claimed, recently-claimed, unclaimed, searched in that order. None of the three
  // is terminating (a miss in claimed must fall through); the project delegations inside
  // claimed and recently-claimed are, so a claimed project can never be shadowed.
  const top = (name: string, keyids: string[], threshold: number) => new DelegatedRole(name, keyids, threshold, false, [ALL_PROJECT_TARGETS]);
  const targets = new Targets({
    version: 1,
    expires: exp('targets'),
    targets: new Map(),
    delegations: new Delegations(
      new Map([...entries(offline.claimed.keys), ...entries([online['recently-claimed'].publicKey, online.unclaimed.publicKey])]),
      new Map([
        [ROLES.claimed, top(ROLES.claimed, ids(offline.claimed.keys), offline.claimed.threshold)],
        [ROLES.recentlyClaimed, top(ROLES.recentlyClaimed, [online['recently-claimed'].keyId], 1)],
        [ROLES.unclaimed, top(ROLES.unclaimed, [online.unclaimed.keyId], 1)],
      ])
    ),
  });
  if (layout === 'direct') {
    const claimed = new Targets({ version: 1, expires: exp('claimed'), targets: new Map(), delegations: new Delegations(new Map(), new Map()) });
    return { root, targets, claimed, claimedBins: [] };
  }
  const claimed = binDelegator(ROLES.claimed, offline.claimed, 1, exp('claimed'), nameBinCount);
  const claimedBins = nameBinRoles(ROLES.claimed, nameBinCount).map((name) => projectBin(name, [], 1, exp('claimed')));
  return { root, targets, claimed, claimedBins };
}

interface FinishOptions {
  bins: number;
  now: Date;
  expiry: ExpiryPeriods;
  online: Record<OnlineRole, Ed25519Signer>;
  onlineKeys: Record<OnlineRole, string>;
  root: Metadata<Root>;
  targets: Metadata<Targets>;
  claimed: Metadata<Targets>;
  /** Empty claimed bins in bin order; none for the layout from before name bins. */
  claimedBins: Metadata<Targets>[];
  mode: 'demo' | 'production';
  demoOfflineKeysDir?: string;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Everything after the offline roles: online roles, bins, snapshot, timestamp, state, config. */
async function finishInit(dataDir: string, o: FinishOptions): Promise<RepositoryConfig> {
  const { bins, now, expiry, online, root, targets, claimed } = o;
  const bitLength = binBitLength(bins);
  const exp = (role: keyof ExpiryPeriods) => expiresIn(now, expiry[role]);
  const keyEntry = (s: Ed25519Signer): [string, Key] => [s.keyId, s.publicKey];
  const emptyProjectDelegator = (role: 'claimed' | 'recently-claimed', signer: Ed25519Signer) =>
    Metadata.sign(
      new Targets({ version: 1, expires: exp(role), targets: new Map(), delegations: new Delegations(new Map(), new Map()) }),
      [signer]
    );
  const nameBins = o.claimedBins.length > 0;
  const nameBinCount = o.claimedBins.length; // the count buildOfflineRoles made them for
  const recentlyClaimed = nameBins
    ? await Metadata.sign(binDelegator(ROLES.recentlyClaimed, { keys: [online['recently-claimed'].publicKey], threshold: 1 }, 1, exp('recently-claimed'), nameBinCount), [online['recently-claimed']])
    : await emptyProjectDelegator('recently-claimed', online['recently-claimed']);
  // unclaimed → 2^bitLength hashed bins (TAP 15 succinct delegation), signed with the same
  // online key (PEP 458: the bins share the unclaimed key).
  const unclaimed = await Metadata.sign(
    new Targets({
      version: 1,
      expires: exp('unclaimed'),
      targets: new Map(),
      delegations: new Delegations(
        new Map([keyEntry(online.unclaimed)]),
        undefined,
        new SuccinctRoles([online.unclaimed.keyId], 1, bitLength, BIN_PREFIX)
      ),
    }),
    [online.unclaimed]
  );

  const blobs = new FsBlobStore(join(dataDir, PUBLIC_DIR));
  // Durable like every directory of the public tree: a power cut must not lose them under their files.
  for (const dir of ['metadata', 'targets', 'files']) await ensureDir(join(dataDir, PUBLIC_DIR, dir));
  const roleStates: RoleState[] = [];
  const snapshotMeta = new SnapshotMeta();
  const publish = async (name: string, bytes: Buffer, expires: Date, durable = true) => {
    await blobs.put(metadataBlobPath(name, 1), bytes, { durable });
    roleStates.push({ name, version: 1, expires: formatExpires(expires), length: bytes.length, sha256: sha256(bytes) });
    if (name !== ROLES.root && name !== ROLES.snapshot && name !== ROLES.timestamp) snapshotMeta.set(name, 1, { length: bytes.length, sha256: sha256(bytes) });
  };
  await publish(ROLES.root, root.bytes, root.signed.expires);
  await publish(ROLES.targets, targets.bytes, targets.signed.expires);
  await publish(ROLES.claimed, claimed.bytes, claimed.signed.expires);
  await publish(ROLES.recentlyClaimed, recentlyClaimed.bytes, recentlyClaimed.signed.expires);
  await publish(ROLES.unclaimed, unclaimed.bytes, unclaimed.signed.expires);
  if (nameBins) {
    const claimedNames = nameBinRoles(ROLES.claimed, nameBinCount);
    await Promise.all(o.claimedBins.map((b, i) => publish(claimedNames[i] as string, b.bytes, b.signed.expires)));
    const recentExpires = exp('recently-claimed');
    for (const name of nameBinRoles(ROLES.recentlyClaimed, nameBinCount)) {
      const bin = await Metadata.sign(projectBin(name, [], 1, recentExpires), [online['recently-claimed']]);
      await publish(name, bin.bytes, recentExpires);
    }
  }

  const succinct = unclaimed.signed.delegations?.succinctRoles as SuccinctRoles;
  const binExpires = exp('bins');
  const batch = 256;
  for (let start = 0; start < bins; start += batch) {
    const jobs: Promise<void>[] = [];
    for (let i = start; i < Math.min(bins, start + batch); i++) {
      const name = succinct.binName(i);
      const { bytes } = await signCanonical(binCanonical(1, binExpires, []), [online.unclaimed]);
      jobs.push(publish(name, bytes, binExpires));
    }
    await Promise.all(jobs);
    o.onProgress?.(Math.min(bins, start + batch), bins, 'bins');
  }

  const snapshotExpires = exp('snapshot');
  const snapshot = await signCanonical(snapshotMeta.canonical(1, snapshotExpires), [online.snapshot]);
  await publish(ROLES.snapshot, snapshot.bytes, snapshotExpires);
  const timestampExpires = exp('timestamp');
  const timestamp = await signCanonical(
    timestampCanonical(1, timestampExpires, { version: 1, length: snapshot.bytes.length, sha256: sha256(snapshot.bytes) }),
    [online.timestamp]
  );
  roleStates.push({
    name: ROLES.timestamp,
    version: 1,
    expires: formatExpires(timestampExpires),
    length: timestamp.bytes.length,
    sha256: sha256(timestamp.bytes),
  });

  const state = new SqliteState(join(dataDir, DATABASE_FILE));
  try {
    await state.initRoles(roleStates, []);
    // The first publication is init's: it leads for that one commit, then steps aside.
    const lease = await state.acquireLeadership('bulwark-init', 60_000);
    if (!lease) throw new Error(`${dataDir}: another process leads this repository already`);
    await state.commitPublication({
      lease,
      roles: [],
      clearedDirty: [],
      publishedSeqs: [],
      snapshotVersion: 1,
      timestampBytes: timestamp.bytes,
      now: now.toISOString(),
    });
    await state.releaseLeadership(lease);
  } finally {
    await state.close();
  }
  await blobs.put(metadataBlobPath(ROLES.timestamp, null), timestamp.bytes);
  // The initial trusted root, for clients to pin (also served as /metadata/1.root.json).
  await writeFileAtomic(join(dataDir, 'root.json'), root.bytes);

  const config: RepositoryConfig = {
    formatVersion: 1,
    mode: o.mode,
    bins,
    expiry,
    onlineKeys: o.onlineKeys,
    ...(o.demoOfflineKeysDir ? { demoOfflineKeysDir: o.demoOfflineKeysDir } : {}),
    ...(nameBins ? { projectDelegations: 'name-bins' as const, nameBins: nameBinCount } : {}),
    createdAt: now.toISOString(),
  };
  await saveConfig(dataDir, config); // last: its presence marks a complete repository
  return config;
}

// --- production: the offline roles are signed in a ceremony, never here ---------------------

const PENDING_INIT = 'init-pending.json';

export interface InitCeremony {
  role: 'root' | 'targets' | 'claimed';
  /** The unsigned metadata, for `bulwark admin sign` on the offline machines. */
  metadata: { signatures: { keyid: string; sig: string }[]; signed: unknown };
  /** The claimed ceremony also signs the empty claimed bins (ADR 0005). */
  roles?: { name: string; metadata: { signatures: { keyid: string; sig: string }[]; signed: unknown } }[];
  summary: { role: string; version: number; expires: string; promote: []; keyChanges: []; delegations: number; init: { keyids: string[]; threshold: number } };
}


/**
 * Phase 1 of a production index: online keys are made here; the initial root, targets and
 * claimed roles are written unsigned for their key holders to sign offline.
 */
export async function prepareProductionInit(dataDir: string, holders: OfflineKeyHolders, opts: InitOptions = {}): Promise<InitCeremony[]> {
  if (await loadConfig(dataDir)) throw new RepositoryExistsError(dataDir);
  const bins = opts.bins ?? 16384;
  binBitLength(bins);
  const now = opts.now ?? new Date();
  const expiry: ExpiryPeriods = { ...DEFAULT_EXPIRY, ...opts.expiry };
  for (const [role, h] of Object.entries(holders)) {
    if (h.keys.length === 0 || h.threshold < 1 || h.threshold > h.keys.length) throw new RangeError(`${role}: give at least one key and a threshold from 1 to the number of keys`);
    // A role whose keys nobody can sign with could never be published, or rotated away from.
    for (const k of h.keys) if (!isOfflineSigningKey(k)) throw new RangeError(`${role}: a ${k.keytype}/${k.scheme} key; offline roles take Ed25519 or ECDSA P-256 keys`);
  }
  await mkdir(dataDir, { recursive: true });
  const { online } = await makeOnlineKeys(dataDir);
  const models = buildOfflineRoles(online, holders, now, expiry, 'name-bins', opts.auditors, defaultNameBinCount(bins));
  const ceremonies: InitCeremony[] = (['root', 'targets', 'claimed'] as const).map((role) => {
    const signed = models[role].toJSON();
    const bins = role === ROLES.claimed ? nameBinRoles(ROLES.claimed, models.claimedBins.length).map((name, i) => ({ name, metadata: { signatures: [], signed: (models.claimedBins[i] as Targets).toJSON() } })) : [];
    return {
      role,
      metadata: { signatures: [], signed },
      ...(bins.length > 0 ? { roles: bins } : {}),
      summary: {
        role,
        version: 1,
        expires: models[role].expires.toISOString(),
        promote: [],
        keyChanges: [],
        delegations: 0,
        init: { keyids: holders[role].keys.map((k) => k.keyId), threshold: holders[role].threshold },
      },
    };
  });
  await writeFileAtomic(
    join(dataDir, PENDING_INIT),
    JSON.stringify({ bins, now: now.toISOString(), expiry, roles: Object.fromEntries([
        ...ceremonies.map((c) => [c.role, encodeCanonical(c.metadata.signed)]),
        ...ceremonies.flatMap((c) => (c.roles ?? []).map((r) => [r.name, encodeCanonical(r.metadata.signed)])),
      ]) })
  );
  return ceremonies;
}

/** Phase 2: checks the three signed roles and creates the repository (mode production). */
export async function completeProductionInit(
  dataDir: string,
  signed: { root: InitCeremony['metadata']; targets: InitCeremony['metadata']; claimed: InitCeremony['metadata']; claimedBins?: InitCeremony['roles'] },
  opts: Pick<InitOptions, 'onProgress'> = {}
): Promise<RepositoryConfig> {
  if (await loadConfig(dataDir)) throw new RepositoryExistsError(dataDir);
  let pending: { bins: number; now: string; expiry: ExpiryPeriods; roles: Record<string, string> };
  try {
    pending = JSON.parse(await readFile(join(dataDir, PENDING_INIT), 'utf8')) as typeof pending;
  } catch {
    throw new Error(`${dataDir} has no production init in progress: run \`bulwark init --production …\` first`);
  }
  for (const role of ['root', 'targets', 'claimed'] as const) {
    if (encodeCanonical(signed[role].signed) !== pending.roles[role]) throw new Error(`the signed ${role} differs from the one prepared: sign the files written by \`bulwark init --production\``);
  }
  const parse = <T extends 'root' | 'targets'>(m: InitCeremony['metadata'], type: T, name: string) => Metadata.parse(Buffer.from(canonicalFileText(encodeCanonical(m)), 'utf8'), type, name);
  const root = parse(signed.root, 'root', 'root');
  const targets = parse(signed.targets, 'targets', 'targets');
  const claimed = parse(signed.claimed, 'targets', 'claimed');
  // Each signed by a threshold of the keys that will vouch for it.
  root.verifyRole('root', root.signed.roles.get('root') as { keyids: readonly string[]; threshold: number }, root.signed.keys);
  targets.verifyRole('targets', root.signed.roles.get('targets') as { keyids: readonly string[]; threshold: number }, root.signed.keys);
  const claimedKeys = targets.signed.delegations?.roleKeys(ROLES.claimed);
  if (!claimedKeys || !targets.signed.delegations) throw new Error('targets does not delegate to claimed');
  claimed.verifyRole(ROLES.claimed, claimedKeys, targets.signed.delegations.keys);
  const claimedBins: Metadata<Targets>[] = [];
  for (const name of nameBinRoles(ROLES.claimed, defaultNameBinCount(pending.bins))) {
    const prepared = pending.roles[name];
    if (prepared === undefined) break; // prepared before name bins: the layout without them
    const bin = signed.claimedBins?.find((b) => b.name === name)?.metadata;
    if (!bin || encodeCanonical(bin.signed) !== prepared) throw new Error(`the signed claimed file lacks ${name} as prepared: sign the file written by \`bulwark init --production\``);
    const md = parse(bin, 'targets', name);
    md.verifyRole(name, claimedKeys, targets.signed.delegations.keys);
    claimedBins.push(md);
  }
  const online = {} as Record<OnlineRole, Ed25519Signer>;
  const onlineKeys = {} as Record<OnlineRole, string>;
  for (const role of ONLINE_ROLES) {
    online[role] = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'online', `${role}.pem`), 'utf8'));
    onlineKeys[role] = `file:keys/online/${role}.pem`;
  }
  const config = await finishInit(dataDir, {
    bins: pending.bins,
    now: new Date(pending.now),
    expiry: pending.expiry,
    online,
    onlineKeys,
    root,
    targets,
    claimed,
    claimedBins,
    mode: 'production',
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  await rm(join(dataDir, PENDING_INIT), { force: true });
  return config;
}
