// SPDX-License-Identifier: Apache-2.0
// `bulwark init`: creates a repository with the PEP 480 layout in a data directory.
// Demo mode generates every key here and keeps the offline ones on disk (the loud exception);
// a production index is created from offline-signed metadata by the ceremony commands.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DelegatedRole,
  Delegations,
  Ed25519Signer,
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
import { writeFileAtomic } from '../storage/atomic-write.js';
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
import { DATABASE_FILE, PUBLIC_DIR } from './paths.js';

export interface InitOptions {
  bins?: number;
  now?: Date;
  expiry?: Partial<ExpiryPeriods>;
  onProgress?: (done: number, total: number, what: string) => void;
}

export class RepositoryExistsError extends Error {
  constructor(dataDir: string) {
    super(`${dataDir} already holds a repository (${CONFIG_FILE} exists); use another --data directory`);
    this.name = 'RepositoryExistsError';
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Creates a demo repository: all keys generated here, offline ones kept on disk (demo only). */
export async function initDemoRepository(dataDir: string, opts: InitOptions = {}): Promise<RepositoryConfig> {
  if (await loadConfig(dataDir)) throw new RepositoryExistsError(dataDir);
  const bins = opts.bins ?? 16384;
  const bitLength = binBitLength(bins);
  const now = opts.now ?? new Date();
  const expiry: ExpiryPeriods = { ...DEFAULT_EXPIRY, ...opts.expiry };
  await mkdir(dataDir, { recursive: true });

  const online = Object.fromEntries(ONLINE_ROLES.map((r) => [r, Ed25519Signer.generate()])) as Record<OnlineRole, Ed25519Signer>;
  const offline = Object.fromEntries(OFFLINE_ROLES.map((r) => [r, Ed25519Signer.generate()])) as Record<OfflineRole, Ed25519Signer>;
  const onlineKeys = {} as Record<OnlineRole, string>;
  for (const role of ONLINE_ROLES) {
    await writeKeyFile(join(dataDir, 'keys', 'online', `${role}.pem`), online[role]);
    onlineKeys[role] = `file:keys/online/${role}.pem`;
  }
  const demoOfflineKeysDir = 'keys/offline-DEMO-ONLY';
  for (const role of OFFLINE_ROLES) await writeKeyFile(join(dataDir, demoOfflineKeysDir, `${role}.pem`), offline[role]);
  await writeFile(
    join(dataDir, demoOfflineKeysDir, 'README'),
    'DEMO ONLY: these offline keys (root, targets, claimed) must never live on an index server.\n' +
      'A production index is created with the offline ceremony instead.\n'
  );

  const exp = (role: keyof ExpiryPeriods) => expiresIn(now, expiry[role]);
  const keyEntry = (s: Ed25519Signer): [string, Key] => [s.keyId, s.publicKey];
  const topKeys = { root: offline.root, targets: offline.targets, snapshot: online.snapshot, timestamp: online.timestamp };
  const root = await Metadata.sign(
    new Root({
      version: 1,
      expires: exp('root'),
      keys: new Map(Object.values(topKeys).map(keyEntry)),
      roles: new Map(
        (Object.entries(topKeys) as [TopLevelRole, Ed25519Signer][]).map(([name, s]) => [name, { keyids: [s.keyId], threshold: 1 }])
      ),
      consistentSnapshot: true,
    }),
    [offline.root]
  );

  // targets → claimed, recently-claimed, unclaimed, searched in that order. None of the three
  // is terminating (a miss in claimed must fall through); the project delegations inside
  // claimed and recently-claimed are, so a claimed project can never be shadowed.
  const top = (name: string, s: Ed25519Signer) => new DelegatedRole(name, [s.keyId], 1, false, [ALL_PROJECT_TARGETS]);
  const targets = await Metadata.sign(
    new Targets({
      version: 1,
      expires: exp('targets'),
      targets: new Map(),
      delegations: new Delegations(
        new Map([keyEntry(offline.claimed), keyEntry(online['recently-claimed']), keyEntry(online.unclaimed)]),
        new Map([
          [ROLES.claimed, top(ROLES.claimed, offline.claimed)],
          [ROLES.recentlyClaimed, top(ROLES.recentlyClaimed, online['recently-claimed'])],
          [ROLES.unclaimed, top(ROLES.unclaimed, online.unclaimed)],
        ])
      ),
    }),
    [offline.targets]
  );
  const emptyProjectDelegator = (role: 'claimed' | 'recently-claimed', signer: Ed25519Signer) =>
    Metadata.sign(
      new Targets({ version: 1, expires: exp(role), targets: new Map(), delegations: new Delegations(new Map(), new Map()) }),
      [signer]
    );
  const claimed = await emptyProjectDelegator('claimed', offline.claimed);
  const recentlyClaimed = await emptyProjectDelegator('recently-claimed', online['recently-claimed']);
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
  for (const dir of ['metadata', 'targets', 'files']) await mkdir(join(dataDir, PUBLIC_DIR, dir), { recursive: true });
  const roleStates: RoleState[] = [];
  const snapshotMeta = new SnapshotMeta();
  const publish = async (name: string, bytes: Buffer, expires: Date, durable = true) => {
    await blobs.put(metadataBlobPath(name, 1), bytes, { durable });
    roleStates.push({ name, version: 1, expires: formatExpires(expires), length: bytes.length, sha256: sha256(bytes) });
    if (name !== ROLES.root && name !== ROLES.snapshot && name !== ROLES.timestamp) snapshotMeta.set(name, 1);
  };
  await publish(ROLES.root, root.bytes, root.signed.expires);
  await publish(ROLES.targets, targets.bytes, targets.signed.expires);
  await publish(ROLES.claimed, claimed.bytes, claimed.signed.expires);
  await publish(ROLES.recentlyClaimed, recentlyClaimed.bytes, recentlyClaimed.signed.expires);
  await publish(ROLES.unclaimed, unclaimed.bytes, unclaimed.signed.expires);

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
    opts.onProgress?.(Math.min(bins, start + batch), bins, 'bins');
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
    await state.commitPublication({
      roles: [],
      clearedDirty: [],
      publishedSeqs: [],
      snapshotVersion: 1,
      timestampBytes: timestamp.bytes,
      now: now.toISOString(),
    });
  } finally {
    await state.close();
  }
  await blobs.put(metadataBlobPath(ROLES.timestamp, null), timestamp.bytes);
  // The initial trusted root, for clients to pin (also served as /metadata/1.root.json).
  await writeFileAtomic(join(dataDir, 'root.json'), root.bytes);

  const config: RepositoryConfig = {
    formatVersion: 1,
    mode: 'demo',
    bins,
    expiry,
    onlineKeys,
    demoOfflineKeysDir,
    createdAt: now.toISOString(),
  };
  await saveConfig(dataDir, config); // last: its presence marks a complete repository
  return config;
}
