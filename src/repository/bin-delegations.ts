// SPDX-License-Identifier: Apache-2.0
// The metadata of the name-bin layout (ADR 0005): `claimed` / `recently-claimed` delegate to
// their bins (not terminating: a name the bin does not delegate falls through to the next
// role), and each bin delegates to the project roles of its names (terminating: a claimed
// project can never be shadowed by a role searched later).
import { DelegatedRole, Delegations, Key, ROLE_NAME_FIELD, Targets } from '../tuf/index.js';
import type { ProjectDelegation } from '../storage/state/types.js';
import { nameBinOf, nameBinPaths, nameBinRole } from './name-bins.js';

/** The keys a delegator signs with, as a delegation names them. */
export interface DelegatorKeys {
  keys: readonly Key[];
  threshold: number;
}

/** `claimed` or `recently-claimed`: one delegation per bin, to the same keys as the role itself. */
export function binDelegator(parent: string, signers: DelegatorKeys, version: number, expires: Date, binCount: number): Targets {
  const keyids = signers.keys.map((k) => k.keyId);
  const roles = new Map<string, DelegatedRole>();
  for (let i = 0; i < binCount; i++) {
    const name = nameBinRole(parent, i, binCount);
    roles.set(name, new DelegatedRole(name, keyids, signers.threshold, false, nameBinPaths(i, binCount)));
  }
  return new Targets({ version, expires, targets: new Map(), delegations: new Delegations(new Map(signers.keys.map((k) => [k.keyId, k])), roles) });
}

/** The keys and threshold a project delegation uses now (a claimed project's pending change once signed). */
export type ProjectKeys = Pick<ProjectDelegation, 'project' | 'role' | 'keys' | 'keyids' | 'threshold'>;

/**
 * Bin `name`: one terminating delegation `<project>/*` per project, sorted by role name. It
 * names itself (ROLE_NAME_FIELD): every claimed bin is signed by the same keys, and without it
 * whoever held the snapshot and an online key could serve a bin without a claimed project in
 * place of the bin with it, letting the search fall through to a role they can sign.
 */
export function projectBin(name: string, projects: readonly ProjectKeys[], version: number, expires: Date): Targets {
  const keys = new Map<string, Key>();
  const roles: [string, DelegatedRole][] = [];
  for (const d of [...projects].sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0))) {
    for (const [id, key] of Object.entries(d.keys)) keys.set(id, Key.fromJSON(key, `key ${id} of ${d.project}`));
    roles.push([d.role, new DelegatedRole(d.role, d.keyids, d.threshold, true, [`${d.project}/*`])]);
  }
  return new Targets({ version, expires, targets: new Map(), delegations: new Delegations(keys, new Map(roles)), unrecognized: { [ROLE_NAME_FIELD]: name } });
}

/** Projects grouped by the bin (under `parent`) whose patterns match their names. */
export function groupByBin<T extends { project: string }>(parent: string, projects: readonly T[], binCount: number): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const p of projects) {
    const bin = nameBinRole(parent, nameBinOf(p.project, binCount), binCount);
    const list = out.get(bin);
    if (list) list.push(p);
    else out.set(bin, [p]);
  }
  return out;
}
