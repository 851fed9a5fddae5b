// SPDX-License-Identifier: Apache-2.0
// Where things are: role names of the PEP 480 layout, target paths, and the names files are
// published under in the static tree (consistent snapshots: `VERSION.ROLE.json` for metadata,
// `HASH.FILENAME` for targets, `timestamp.json` unversioned).
//
// Static tree: metadata/ (TUF metadata), targets/ (TUF targets by hash), files/ (the same
// distributions under the names pip needs; see fileBlobPath).
//
//   root ─ timestamp ─ snapshot ─ targets
//                                  ├─ claimed           (offline)  claimed-bin-000 … 3ff (offline)
//                                  │                                └─ project roles, terminating
//                                  ├─ recently-claimed  (online)   recently-claimed-bin-… (online)
//                                  │                                └─ project roles, terminating
//                                  └─ unclaimed         (online)   succinct hashed bins (TAP 15)
//
// Target paths are `<normalized project>/<file name>`, so a project delegation is the single
// path pattern `<project>/*` (a `*` never crosses `/`). The bins under claimed and
// recently-claimed are name-pattern bins (name-bins.ts, ADR 0005); repositories made before
// them (config.projectDelegations unset) delegate project roles from the two roles directly.

import { nameBinOf, nameBinRole } from './name-bins.js';

export const ROLES = {
  root: 'root',
  timestamp: 'timestamp',
  snapshot: 'snapshot',
  targets: 'targets',
  claimed: 'claimed',
  recentlyClaimed: 'recently-claimed',
  unclaimed: 'unclaimed',
} as const;

export type OnlineRole = 'timestamp' | 'snapshot' | 'recently-claimed' | 'unclaimed';
export type OfflineRole = 'root' | 'targets' | 'claimed';
export const ONLINE_ROLES: readonly OnlineRole[] = ['timestamp', 'snapshot', 'recently-claimed', 'unclaimed'];
export const OFFLINE_ROLES: readonly OfflineRole[] = ['root', 'targets', 'claimed'];

/** Name prefix of the hashed bins delegated by `unclaimed`: `bins-0000` … `bins-3fff`. */
export const BIN_PREFIX = 'bins';
/** Every target path has two segments; the top-level delegations cover them all. */
export const ALL_PROJECT_TARGETS = '*/*';

/** Project roles (PEP 480, developer keys) are named `project-<normalized name>`. */
export const PROJECT_ROLE_PREFIX = 'project-';
export function projectRoleName(project: string): string {
  return `${PROJECT_ROLE_PREFIX}${project}`;
}

/** True when claimed and recently-claimed delegate through name bins (ADR 0005). */
export function usesNameBins(config: { projectDelegations?: 'name-bins' }): boolean {
  return config.projectDelegations === 'name-bins';
}

/**
 * The roles that may delegate a project's role: claimed and recently-claimed, or (name bins)
 * the one bin under each whose patterns match the name.
 */
export function projectDelegators(project: string, nameBinCount: number): string[] {
  const bin = nameBinOf(project, nameBinCount);
  return [ROLES.claimed, ROLES.recentlyClaimed, nameBinRole(ROLES.claimed, bin, nameBinCount), nameBinRole(ROLES.recentlyClaimed, bin, nameBinCount)];
}

export const SIMPLE_HTML = 'index.html';
export const SIMPLE_JSON = 'index.json';

export function targetPath(project: string, filename: string): string {
  return `${project}/${filename}`;
}

/** The consistent-snapshot name of a target in the static tree: `targets/<dir>/<sha256>.<name>`. */
export function targetBlobPath(path: string, sha256: string): string {
  const slash = path.lastIndexOf('/');
  return `targets/${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}`;
}

/**
 * The pip-facing name of a distribution or its PEP 658 metadata: `files/<project>/<name>`.
 * pip takes a link's last path segment as the file name (to parse name and version), so the
 * links in simple pages cannot use the hash-prefixed TUF names; this second name is a hard
 * link to the same immutable blob (a file name can never be uploaded twice).
 */
export function fileBlobPath(project: string, filename: string): string {
  return `files/${project}/${filename}`;
}

export function metadataBlobPath(role: string, version: number | null): string {
  return version === null ? `metadata/${role}.json` : `metadata/${version}.${role}.json`;
}

/** bit_length for a power-of-two bin count. */
export function binBitLength(bins: number): number {
  if (!Number.isInteger(bins) || bins < 2 || bins > 2 ** 20 || (bins & (bins - 1)) !== 0) {
    throw new RangeError(`the number of bins must be a power of two from 2 to 1048576, got ${bins}`);
  }
  return Math.log2(bins);
}
