// SPDX-License-Identifier: Apache-2.0
// Everything one consistent snapshot reaches, verified through TUF by our client (Updater):
// after refresh() (root chain, timestamp, snapshot, top-level targets), every targets role the
// snapshot lists is loaded through the delegation that names it, level by level from
// `targets`, each verified with its delegator's keys at the version the snapshot names. Used by
// `bulwark mirror sync` and `bulwark audit`.
import { fileBlobPath, metadataBlobPath, SIMPLE_HTML, SIMPLE_JSON, targetBlobPath } from '../repository/layout.js';
import type { Updater } from '../client/updater.js';
import { RepositoryError, type Metadata, type Root, type Snapshot, type TargetFile, type Targets, type Timestamp } from '../tuf/index.js';
import { mapPool } from './pool.js';

export interface WalkedRole {
  name: string;
  /** The role whose delegation verified it (`root` for `targets`). */
  delegator: string;
  version: number;
  metadata: Metadata<Targets>;
}

export interface SnapshotWalk {
  root: Metadata<Root>;
  timestamp: Metadata<Timestamp>;
  snapshot: Metadata<Snapshot>;
  /** Every reachable role, verified, parents before children. */
  roles: WalkedRole[];
  /** Listed by the snapshot but delegated by no reachable role: nothing can verify them, no client loads them. */
  unreachable: string[];
  /** Delegated, but not listed by the snapshot: a client looking there fails (UNKNOWN_ROLE). */
  missing: string[];
}

export interface WalkOptions {
  concurrency?: number;
  onRole?: (done: number, total: number) => void;
}

function childRoles(md: Metadata<Targets>): Iterable<string> {
  const d = md.signed.delegations;
  if (!d) return [];
  if (d.succinctRoles) return d.succinctRoles.roleNames();
  return d.roles?.keys() ?? [];
}

/**
 * Loads and verifies every role of the snapshot `updater.refresh()` verified.
 * @throws RepositoryError when any role fails verification, DownloadError when one cannot be fetched
 */
export async function walkSnapshot(updater: Updater, opts: WalkOptions = {}): Promise<SnapshotWalk> {
  const { root, timestamp, snapshot } = updater.getVerifiedTopLevel();
  const listed = snapshot.signed.meta;
  const total = listed.size;
  const roles: WalkedRole[] = [];
  const missing: string[] = [];
  const seen = new Set<string>(['targets']);
  let level: { name: string; delegator: string }[] = [{ name: 'targets', delegator: 'root' }];
  let done = 0;
  while (level.length > 0) {
    const loaded = await mapPool(level, opts.concurrency ?? 8, async (r) => {
      const metadata = await updater.loadTargets(r.name, r.delegator);
      opts.onRole?.(++done, total);
      return { ...r, version: metadata.signed.version, metadata };
    });
    roles.push(...loaded);
    const next: { name: string; delegator: string }[] = [];
    for (const r of loaded) {
      for (const child of childRoles(r.metadata)) {
        if (seen.has(child)) continue;
        seen.add(child);
        if (!listed.has(`${child}.json`)) missing.push(child);
        else next.push({ name: child, delegator: r.name });
      }
    }
    level = next;
  }
  const unreachable = [...listed.keys()].map((f) => f.slice(0, -'.json'.length)).filter((r) => !seen.has(r));
  return { root, timestamp, snapshot, roles, unreachable, missing };
}

// ---- names in the static tree ---------------------------------------------------------------

const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._+~!-]*$/;
const HEX = /^[0-9a-f]{16,128}$/;

/** Refuses names (from signed, but possibly malicious, metadata) that could escape the tree. */
export class UnsafeNameError extends RepositoryError {
  constructor(what: string, name: string) {
    super('BAD_METADATA', `refusing unsafe ${what} ${JSON.stringify(name)}: it could escape the mirror directory`);
  }
}

/** @throws UnsafeNameError unless every `/`-separated segment of `path` is a plain, safe name */
export function checkSegments(what: string, path: string): void {
  const segments = path.split('/');
  if (segments.some((s) => s === '.' || s === '..' || !SAFE_SEGMENT.test(s))) throw new UnsafeNameError(what, path);
}

/** `metadata/VERSION.ROLE.json` for a role name that is one safe path segment. */
export function roleFilePath(role: string, version: number | null): string {
  checkSegments('role name', role);
  if (role.includes('/')) throw new UnsafeNameError('role name', role);
  return metadataBlobPath(role, version);
}

/**
 * Where a target lives in a consistent-snapshot tree: `targets/<dir>/<hash>.<name>` with the
 * first hash the metadata lists, exactly the name our client requests.
 */
export function consistentTargetPath(target: TargetFile): string {
  checkSegments('target path', target.path);
  const hash = Object.values(target.hashes)[0];
  if (hash === undefined || !HEX.test(hash)) throw new UnsafeNameError('target hash', String(hash));
  return targetBlobPath(target.path, hash);
}

/** The pip-facing alias `files/<project>/<name>` of a distribution or its `.metadata`; none for simple pages. */
export function aliasPath(target: TargetFile): string | undefined {
  const parts = target.path.split('/');
  if (parts.length !== 2) return undefined;
  const [project, name] = parts as [string, string];
  if (name === SIMPLE_HTML || name === SIMPLE_JSON) return undefined;
  return fileBlobPath(project, name);
}
