// SPDX-License-Identifier: Apache-2.0
// The one delegation a project role may hold, and what its delegated role may list. The index
// checks both when it accepts roles; clients check them again before they call a wheel a
// verified build (the index may be the attacker).
//
// Shadowing: TUF looks a path up in the project role's own targets before any delegation
// (§5.6.7.2), so a file the developers list is always theirs. What is left is a file of theirs
// the developers do not list: a `.metadata` or `.intoto.jsonl` of one of their wheels. So
// `wheels-<p>` may list nothing that belongs to a wheel the developers list.
import { PackagingError, parseDistributionFilename } from '../packaging/index.js';
import { DelegatedRole, Delegations, type Key, type TargetFile, type Targets } from '../tuf/index.js';
import { AttestationError } from './errors.js';
import { isWheelsRolePath, MIN_WHEELS_THRESHOLD, wheelOfPath, wheelsRoleName, wheelsRolePaths } from './wheels-role.js';

export const MAX_BUILDER_KEYS = 16;

/** The delegation `bulwark project build-farm enable` signs: terminating, wheel paths only. */
export function wheelsDelegation(project: string, keys: readonly Key[], threshold: number): Delegations {
  const byId = new Map(keys.map((k) => [k.keyId, k] as const));
  const role = new DelegatedRole(wheelsRoleName(project), [...byId.keys()], threshold, true, wheelsRolePaths(project));
  checkShape(project, byId, role);
  return new Delegations(byId, new Map([[role.name, role]]));
}

function fail(message: string): AttestationError {
  return new AttestationError('WHEELS_DELEGATION', message);
}

function checkShape(project: string, keys: ReadonlyMap<string, Key>, role: DelegatedRole): void {
  const name = wheelsRoleName(project);
  if (role.name !== name) throw fail(`a project role may delegate only to ${name}, not ${role.name}`);
  if (!role.terminating) throw fail(`the delegation to ${name} must be terminating`);
  const expected = wheelsRolePaths(project);
  if (role.pathHashPrefixes !== undefined || !role.paths || role.paths.length !== expected.length || role.paths.some((p, i) => p !== expected[i])) {
    throw fail(`the delegation to ${name} must list exactly the paths ${expected.join(', ')}`);
  }
  if (role.keyids.length > MAX_BUILDER_KEYS) throw fail(`the delegation to ${name} may name at most ${MAX_BUILDER_KEYS} keys`);
  const identities = new Set<string>();
  for (const id of role.keyids) {
    const key = keys.get(id);
    if (!key || key.keyId !== id || key.keytype !== 'ed25519' || key.scheme !== 'ed25519' || key.identity === undefined) throw fail(`the delegation to ${name} names key ${id}, which is not an Ed25519 key listed under its own id`);
    identities.add(key.identity);
  }
  if (!Number.isInteger(role.threshold) || role.threshold < MIN_WHEELS_THRESHOLD || role.threshold > identities.size) {
    throw fail(`the delegation to ${name} needs a threshold from ${MIN_WHEELS_THRESHOLD} to its number of distinct keys (${identities.size}), not ${role.threshold}`);
  }
}

/**
 * The wheels delegation of a project role, checked; undefined when the role delegates nothing.
 * @throws AttestationError WHEELS_DELEGATION for any other delegation
 */
export function projectWheelsDelegation(project: string, role: Targets): { role: DelegatedRole; keys: Map<string, Key> } | undefined {
  const d = role.delegations;
  if (!d) return undefined;
  if (d.succinctRoles || !d.roles || d.roles.size !== 1) throw fail(`a project role may only delegate to ${wheelsRoleName(project)}`);
  const delegated = [...d.roles.values()][0] as DelegatedRole;
  checkShape(project, d.keys, delegated);
  const keys = new Map<string, Key>();
  for (const id of delegated.keyids) keys.set(id, d.keys.get(id) as Key);
  for (const id of d.keys.keys()) if (!keys.has(id)) throw fail(`the project role lists key ${id}, which its delegation does not use`);
  return { role: delegated, keys };
}

/** A wheel file name whose project is `project` (a name under another project's path is refused). */
function isWheelOf(project: string, filename: string): boolean {
  try {
    const parsed = parseDistributionFilename(filename);
    return parsed.packagetype === 'bdist_wheel' && parsed.project === project;
  } catch (e) {
    if (e instanceof PackagingError) return false;
    throw e;
  }
}

/**
 * What `wheels-<project>` lists: wheel paths only, none belonging to a wheel the developers'
 * role lists.
 * @throws AttestationError WHEELS_ROLE_PATH or WHEELS_ROLE_SHADOWS
 */
export function checkWheelsRoleTargets(project: string, wheelsTargets: ReadonlyMap<string, TargetFile>, projectTargets: ReadonlyMap<string, TargetFile>): void {
  const name = wheelsRoleName(project);
  for (const path of wheelsTargets.keys()) {
    if (!isWheelsRolePath(project, path) || !isWheelOf(project, wheelOfPath(path.slice(project.length + 1)))) {
      throw new AttestationError('WHEELS_ROLE_PATH', `${name} lists ${JSON.stringify(path)}: it may list only wheels of ${project} (${wheelsRolePaths(project).join(', ')})`);
    }
    const wheel = `${project}/${wheelOfPath(path.slice(project.length + 1))}`;
    if (projectTargets.has(wheel) || projectTargets.has(path)) throw new AttestationError('WHEELS_ROLE_SHADOWS', `${name} lists ${path}, a file of ${wheel}, which the developers' role lists: it may only add wheels of its own`);
  }
}

/**
 * Whether a project's wheels delegation no longer names the farm's current key (the farm rotated
 * it): its developers must sign the delegation again (`bulwark project build-farm enable`).
 */
export function farmKeyRotated(project: string, role: Targets, farmKey: Key): boolean {
  const delegation = projectWheelsDelegation(project, role);
  if (!delegation) return false;
  return ![...delegation.keys.values()].some((k) => k.identity !== undefined && k.identity === farmKey.identity);
}
