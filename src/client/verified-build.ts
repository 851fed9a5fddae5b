// SPDX-License-Identifier: Apache-2.0
// The client's check of a verified build (issue 15, level 4). A target found in
// `wheels-<project>` is already TUF-verified: the project role (developer-signed) delegated to
// it, and a threshold of the delegation's keys signed it. On top of that, before anything from
// it is served:
//   - the delegation is the one verified builds allow (terminating, wheel paths, threshold ≥ 2);
//   - the role lists only wheel files, none of a wheel the developers list (no shadowing);
//   - the wheel's `.intoto.jsonl` (in the same role) holds DSSE envelopes, each signed by a key
//     of the delegation, each about this wheel's sha256, all naming the one sdist the
//     developers' role lists with that sha256, from a threshold of distinct builders.
import { checkWheelsRoleTargets, projectWheelsDelegation, verifyWheelBuild, wheelOfPath, wheelsRoleName, attestationFileName, AttestationError, type BuildAgreement } from '../attest/index.js';
import { normalizeVersion, PackagingError, parseDistributionFilename } from '../packaging/index.js';
import { projectRoleName } from '../repository/layout.js';
import type { FoundTarget, Updater } from './updater.js';

export interface VerifiedBuild extends BuildAgreement {
  /** The target path of the attestations the builders signed. */
  attestation: string;
}

/** An sdist of the same project and version as `wheel`: the only source a wheel can be built from. */
function isSourceOf(filename: string, wheel: string): boolean {
  try {
    const source = parseDistributionFilename(filename);
    const built = parseDistributionFilename(wheel);
    return source.packagetype === 'sdist' && source.project === built.project && normalizeVersion(source.version) === normalizeVersion(built.version);
  } catch (e) {
    if (e instanceof PackagingError) return false;
    throw e;
  }
}

/**
 * For a target found in `wheels-<project>`: the builders that agreed and the sdist they built
 * from. Undefined for a target of any other role.
 * @throws AttestationError (its code says which check failed)
 */
export async function checkVerifiedBuild(updater: Updater, found: Pick<FoundTarget, 'role' | 'delegationPath'>, path: string): Promise<VerifiedBuild | undefined> {
  const slash = path.indexOf('/');
  const project = path.slice(0, slash);
  if (slash < 1 || found.role !== wheelsRoleName(project)) return undefined;
  const developersRole = projectRoleName(project);
  const projectRole = found.delegationPath.at(-2) === developersRole ? updater.getVerifiedRole(developersRole) : undefined;
  const wheels = updater.getVerifiedRole(found.role);
  if (!projectRole || !wheels) throw new AttestationError('WHEELS_DELEGATION', `${found.role} was not delegated by ${developersRole} (delegation path ${found.delegationPath.join(' → ')})`);
  const delegation = projectWheelsDelegation(project, projectRole.signed);
  if (!delegation) throw new AttestationError('WHEELS_DELEGATION', `${developersRole} does not delegate to ${found.role}`);
  checkWheelsRoleTargets(project, wheels.signed.targets, projectRole.signed.targets);
  const wheelName = wheelOfPath(path.slice(project.length + 1));
  const wheel = wheels.signed.targets.get(`${project}/${wheelName}`);
  const attestation = `${project}/${attestationFileName(wheelName)}`;
  const attestationTarget = wheels.signed.targets.get(attestation);
  const sha256 = wheel?.hashes['sha256'];
  if (!wheel || !attestationTarget || !sha256) throw new AttestationError('MISSING_ATTESTATION', `${found.role} lists ${path} without ${wheel ? attestation : `the wheel ${wheelName}`}`);
  const agreement = verifyWheelBuild({
    attestations: await updater.downloadTarget(attestationTarget),
    wheel: { name: wheelName, sha256 },
    keys: delegation.keys,
    threshold: delegation.role.threshold,
    signedSdist: (filename) => (isSourceOf(filename, wheelName) ? projectRole.signed.targets.get(`${project}/${filename}`)?.hashes['sha256'] : undefined),
  });
  return { ...agreement, attestation };
}

/**
 * The developers' own attestations of a file (`<file>.intoto.jsonl` in the role that lists the
 * file), as target paths with their sha256: TUF vouches for their bytes.
 */
export function listedAttestations(updater: Updater, found: Pick<FoundTarget, 'role'>, path: string): { path: string; sha256: string }[] {
  const t = updater.getVerifiedRole(found.role)?.signed.targets.get(`${path}.intoto.jsonl`);
  const sha256 = t?.hashes['sha256'];
  return t && sha256 ? [{ path: t.path, sha256 }] : [];
}
