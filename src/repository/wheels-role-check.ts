// SPDX-License-Identifier: Apache-2.0
// The index's check of a submitted `wheels-<project>` role (verified builds, issue 15): it must
// be delegated by the project's current role, signed by a threshold of the delegation's keys,
// the next version, unexpired, and list only the project's wheels that the developers do not
// list themselves (their `.whl`, `.whl.metadata` and `.whl.intoto.jsonl`). Any other path
// rejects the whole role (WHEELS_ROLE_PATH). Nothing is written here: the publication that
// calls it stores the role only when this returns.
import { AttestationError, projectWheelsDelegation, checkWheelsRoleTargets, wheelsRoleName } from '../attest/index.js';
import { Metadata, RepositoryError, type Targets } from '../tuf/index.js';
import { SignedUploadError } from './project-roles.js';

/**
 * @param projectRole the project's current (published) role
 * @param version the version the new role must have (the current one + 1, or 1)
 * @throws SignedUploadError with code WHEELS_DELEGATION (the project did not opt in), a TUF code
 *   (BAD_METADATA, UNSIGNED_METADATA…), BAD_VERSION, EXPIRED_METADATA, WHEELS_ROLE_PATH or
 *   WHEELS_ROLE_SHADOWS
 */
export function verifyWheelsRole(project: string, roleBytes: Buffer, projectRole: Targets, version: number, now: Date): Metadata<Targets> {
  const name = wheelsRoleName(project);
  try {
    const delegation = projectWheelsDelegation(project, projectRole);
    if (!delegation) throw new SignedUploadError(409, 'WHEELS_DELEGATION', `${project} has not enabled verified builds (bulwark project build-farm enable ${project})`);
    const md = Metadata.parse(roleBytes, 'targets', name);
    md.verifyRole(name, delegation.role, delegation.keys); // threshold of the farm's and rebuilders' keys
    if (md.signed.version !== version) throw new SignedUploadError(409, 'BAD_VERSION', `${name} must be version ${version}, got ${md.signed.version}`);
    if (md.signed.expires.getTime() <= now.getTime()) throw new SignedUploadError(400, 'EXPIRED_METADATA', `${name} expired at ${md.signed.expires.toISOString()}`);
    if (md.signed.delegations) throw new SignedUploadError(400, 'WHEELS_ROLE_PATH', `${name} may not delegate`);
    checkWheelsRoleTargets(project, md.signed.targets, projectRole.targets);
    return md;
  } catch (e) {
    if (e instanceof AttestationError) throw new SignedUploadError(400, e.code, e.message);
    if (e instanceof RepositoryError) throw new SignedUploadError(400, e.code, `${name}: ${e.message}`);
    throw e;
  }
}
