// SPDX-License-Identifier: Apache-2.0
// Repository settings, stored as `config.json` in the data directory. Written last by `init`,
// so its presence means a complete repository. Expiry periods are policy: PEP defaults here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { ConfigurationError } from '../storage/configuration-error.js';
import type { OnlineRole } from './layout.js';

const DAY = 24 * 3600;

export interface ExpiryPeriods {
  root: number; // seconds
  targets: number;
  claimed: number;
  'recently-claimed': number;
  unclaimed: number;
  bins: number;
  snapshot: number;
  timestamp: number;
}

/** ARCHITECTURE.md: timestamp a day, snapshot and bins a week, offline roles months. */
export const DEFAULT_EXPIRY: ExpiryPeriods = {
  root: 365 * DAY,
  targets: 365 * DAY,
  claimed: 180 * DAY,
  'recently-claimed': 7 * DAY,
  unclaimed: 7 * DAY,
  bins: 7 * DAY,
  snapshot: 7 * DAY,
  timestamp: 1 * DAY,
};

export interface RepositoryConfig {
  formatVersion: 1;
  /** 'demo' keeps offline keys on disk (loudly); 'production' never has them here. */
  mode: 'demo' | 'production';
  bins: number;
  expiry: ExpiryPeriods;
  /** Key sources of the online roles: `file:<path relative to the data dir>` or `env:<VAR>`. */
  onlineKeys: Record<OnlineRole, string>;
  /** Demo mode only: where the offline keys lie. */
  demoOfflineKeysDir?: string;
  /**
   * Optional: the file that weighs projects by downloads for the protection chart on /admin/
   * (issue 14), in either format of `bulwark report protection`; a path relative to the data dir
   * or absolute. Set by hand: `"protectionWeights": {"ranks": "pypi-projects.tsv.gz"}`.
   */
  protectionWeights?: { ranks: string } | { downloads: string };
  /**
   * How claimed and recently-claimed reach project roles: 'name-bins' through the fixed
   * name-pattern bins of ADR 0005 (set by init, or by `bulwark migrate`); absent for
   * repositories made before, whose two roles delegate to every project directly.
   */
  projectDelegations?: 'name-bins';
  /** How many name bins (a power of two ≤ 1,024; absent: 1,024), fixed at init (name-bins.ts). */
  nameBins?: number;
  /** Snapshot Merkle trees (issue 12, docs/merkle-snapshots.md); defaults in merkleSettings(). */
  merkle?: Partial<MerkleSettings>;
  createdAt: string;
}

export interface MerkleSettings {
  /** Publish the tree and name its root in the timestamp (default true). */
  enabled: boolean;
  /** Shards S, a power of two, fixed once a tree is published (default: the bin count, at least 64). */
  shards: number;
  /**
   * The shortest interval between two builds of the classic snapshot.json beside publications
   * (ms; default 1000). The interval is also at least 20 × the last build's cost (about a minute
   * at PyPI's size; classic-snapshot.ts). Merkle clients see every publication at once.
   */
  classicSnapshotIntervalMs: number;
  /**
   * A classic snapshot up to this size (bytes; default 4 MiB, ≈ 30,000 roles) is written by a
   * publication itself, at most once per interval, so classic clients see an upload as soon as
   * it is answered; a larger one is built beside the publications (classic-snapshot.ts).
   */
  inlineClassicMaxBytes: number;
}

/** The Merkle settings of a repository, defaults filled in. */
export function merkleSettings(cfg: Pick<RepositoryConfig, 'bins' | 'merkle'>): MerkleSettings {
  const m = cfg.merkle ?? {};
  const shards = m.shards ?? Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, cfg.bins))));
  if (!Number.isInteger(Math.log2(shards)) || shards < 1 || shards > 2 ** 24) {
    throw new ConfigurationError(`config.json: merkle.shards must be a power of two up to 2^24, not ${shards}`);
  }
  const interval = m.classicSnapshotIntervalMs ?? 1000;
  if (!Number.isSafeInteger(interval) || interval < 0) throw new ConfigurationError(`config.json: merkle.classicSnapshotIntervalMs must be a whole number of ms, not ${interval}`);
  const inline = m.inlineClassicMaxBytes ?? 4 * 1024 * 1024;
  if (!Number.isSafeInteger(inline) || inline < 0) throw new ConfigurationError(`config.json: merkle.inlineClassicMaxBytes must be a whole number of bytes, not ${inline}`);
  return { enabled: m.enabled ?? true, shards, classicSnapshotIntervalMs: interval, inlineClassicMaxBytes: inline };
}

export const CONFIG_FILE = 'config.json';

export async function loadConfig(dataDir: string): Promise<RepositoryConfig | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, CONFIG_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let cfg: RepositoryConfig;
  try {
    cfg = JSON.parse(text) as RepositoryConfig;
  } catch (e) {
    throw new ConfigurationError(`${join(dataDir, CONFIG_FILE)} is not JSON (${(e as Error).message}): fix the file or restore it from a backup`, { cause: e });
  }
  if (cfg === null || typeof cfg !== 'object' || cfg.formatVersion !== 1) {
    throw new ConfigurationError(`${join(dataDir, CONFIG_FILE)}: unsupported formatVersion ${String((cfg as Partial<RepositoryConfig> | null)?.formatVersion)}`);
  }
  return { ...cfg, expiry: { ...DEFAULT_EXPIRY, ...cfg.expiry } };
}

export async function saveConfig(dataDir: string, cfg: RepositoryConfig): Promise<void> {
  await writeFileAtomic(join(dataDir, CONFIG_FILE), `${JSON.stringify(cfg, null, 2)}\n`);
}
