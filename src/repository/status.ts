// SPDX-License-Identifier: Apache-2.0
// The state of every role, for `bulwark status` and the admin pages.
import { Metadata, type RoleKeys } from '../tuf/index.js';
import { BIN_PREFIX, metadataBlobPath, ONLINE_ROLES, ROLES } from './layout.js';
import type { LeaderInfo } from '../storage/state/types.js';
import type { Repository } from './repository.js';

export interface RoleStatus {
  name: string;
  version: number;
  expires: string;
  online: boolean;
  keyids: string[];
  threshold: number;
}

export interface RepositoryStatus {
  mode: 'demo' | 'production';
  snapshotVersion: number;
  bins: number;
  projects: number;
  roles: RoleStatus[];
  binsSummary: { minVersion: number; maxVersion: number; earliestExpiry: string };
  /** The snapshot leader's lease (`host/pid/id`), or null before any process has led. */
  leader: LeaderInfo | null;
  warnings: string[];
}

const DAY = 86_400_000;

export async function repositoryStatus(repo: Repository, now: Date): Promise<RepositoryStatus> {
  const states = await repo.state.roleStates();
  const byName = new Map(states.map((s) => [s.name, s]));
  const load = async (role: string, type: 'root' | 'targets') => {
    const st = byName.get(role);
    const bytes = st && (await repo.blobs.get(metadataBlobPath(role, st.version)));
    if (!bytes) throw new Error(`${role} metadata is missing from the store`);
    return Metadata.parse(bytes, type, role).signed;
  };
  const root = (await load(ROLES.root, 'root')) as import('../tuf/index.js').Root;
  const targets = (await load(ROLES.targets, 'targets')) as import('../tuf/index.js').Targets;
  const unclaimed = (await load(ROLES.unclaimed, 'targets')) as import('../tuf/index.js').Targets;
  const keysOf = (name: string): RoleKeys | undefined => {
    if (name === 'root' || name === 'timestamp' || name === 'snapshot' || name === 'targets') return root.roles.get(name);
    return targets.delegations?.roleKeys(name);
  };
  const roles: RoleStatus[] = [];
  const warnings: string[] = [];
  for (const name of ['root', 'timestamp', 'snapshot', 'targets', 'claimed', 'recently-claimed', 'unclaimed']) {
    const st = byName.get(name);
    if (!st) continue;
    const keys = keysOf(name);
    const online = (ONLINE_ROLES as readonly string[]).includes(name);
    roles.push({ name, version: st.version, expires: st.expires, online, keyids: [...(keys?.keyids ?? [])], threshold: keys?.threshold ?? 0 });
    const left = Date.parse(st.expires) - now.getTime();
    if (left <= 0) warnings.push(`${name} has EXPIRED (${st.expires}): clients refuse the repository until it is re-signed`);
    else if (!online && left < 30 * DAY) warnings.push(`offline role ${name} expires in ${Math.ceil(left / DAY)} day(s) (${st.expires}): hold a signing ceremony`);
  }
  const bins = states.filter((s) => s.name.startsWith(`${BIN_PREFIX}-`));
  const binsSummary = {
    minVersion: Math.min(...bins.map((b) => b.version)),
    maxVersion: Math.max(...bins.map((b) => b.version)),
    earliestExpiry: bins.map((b) => b.expires).sort()[0] ?? '',
  };
  if (Date.parse(binsSummary.earliestExpiry) <= now.getTime()) warnings.push('some bins have expired: is the index running?');
  if (repo.config.mode === 'demo') warnings.push('demo repository: the offline keys are on this machine');
  const leader = (await repo.state.leader()) ?? null;
  if (leader?.expired) warnings.push(`no snapshot leader: the last lease (${leader.holder}) ran out at ${leader.expiresAt}; is any serve or worker process running?`);
  return {
    mode: repo.config.mode,
    snapshotVersion: byName.get(ROLES.snapshot)?.version ?? 0,
    bins: unclaimed.delegations?.succinctRoles?.numberOfBins ?? 0,
    projects: (await repo.state.listProjects()).length,
    roles,
    binsSummary,
    leader,
    warnings,
  };
}
