// SPDX-License-Identifier: Apache-2.0
// `bulwark project build-farm enable|disable PROJECT`: the developers opt in to verified builds
// (issue 15, PEP 480 level 4) with their own signature. The next version of their project role
// delegates, terminating, to `wheels-<project>` (wheel paths only) with the build farm's key and
// the rebuilders' keys they chose, threshold ≥ 2; disabling signs a version without it. Their own
// files stay theirs: TUF looks in the project role before any delegation.
//
// Projects that need t signatures use the flow of `bulwark upload`:
//   … enable P --rebuilder-key R.json --partial change.json    (sign, write, do not send)
//   … enable P --rebuilder-key R.json --cosign change.json     (same arguments: check, add a signature)
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AttestationError, FARM_KEY_API_PATH, MIN_WHEELS_THRESHOLD, parseFarmKeyResponse, wheelsDelegation, wheelsRoleName } from '../../attest/index.js';
import { IndexApiError, sendSignedUpload } from '../../developer/index-api.js';
import { currentProjectState } from '../../developer/release-builder.js';
import { normalizeProjectName } from '../../packaging/index.js';
import { projectRoleName } from '../../repository/layout.js';
import { untrustedKeyMessage } from '../../repository/project-roles.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { encodeCanonical, expiresIn, Metadata, signCanonical, Targets, type Delegations, type Key, type RoleKeys, type Signature } from '../../tuf/index.js';
import { CliError, EXIT, globalOptions, output, type GlobalOptions } from '../context.js';
import { addDeveloperOptions, developerContext, type DeveloperContext, type DeveloperOptions } from '../developer-context.js';
import { readPublicKeyFiles } from '../public-keys.js';
import { PROJECT_ROLE_DAYS } from './claim.js';

interface BuildFarmOptions extends DeveloperOptions {
  rebuilderKey: string[];
  farmKey?: string;
  threshold: string;
  partial?: string;
  cosign?: string;
}

/** A role change signed by fewer keys than the project needs, passed between maintainers. */
interface PartialRoleChange {
  format: 'bulwark-partial-role-change';
  project: string;
  metadata: { signatures: Signature[]; signed: unknown };
}

export function registerBuildFarm(project: Command): void {
  const farm = project.command('build-farm').description('verified builds: let the build farm and independent rebuilders publish wheels of your signed sdists');
  const common = (cmd: Command) =>
    addDeveloperOptions(cmd)
      .option('--partial <file>', 'sign, and write the change for other maintainers to co-sign instead of sending it')
      .option('--cosign <file>', "check another maintainer's partial change (give the same arguments), add your signature, send when enough");
  common(
    farm
      .command('enable <project>')
      .description(`sign a delegation of PROJECT's wheels to wheels-PROJECT: the farm's key and your rebuilders' keys, a threshold of ${MIN_WHEELS_THRESHOLD} or more`)
      .option('--rebuilder-key <file>', "a rebuilder's public key (`bulwark key show NAME --json` on its machine; repeatable)", (v: string, p: string[]) => [...p, v], [] as string[])
      .option('--farm-key <file>', `the build farm's public key (default: the one the index serves at ${FARM_KEY_API_PATH})`)
      .option('--threshold <n>', 'distinct builders that must agree on a wheel', String(MIN_WHEELS_THRESHOLD))
  ).action(async (name: string, o: BuildFarmOptions, cmd: Command) => {
    const threshold = Number(o.threshold);
    if (!Number.isInteger(threshold) || threshold < MIN_WHEELS_THRESHOLD) throw new CliError(`--threshold must be an integer ≥ ${MIN_WHEELS_THRESHOLD}`, EXIT.usage, 'USAGE');
    if (o.rebuilderKey.length === 0) throw new CliError('give at least one --rebuilder-key FILE: the farm alone can never vouch for a wheel', EXIT.usage, 'USAGE');
    const ctx = await developerContext(o);
    const keys = [await farmKey(ctx, o.farmKey), ...(await readPublicKeyFiles(o.rebuilderKey))];
    const project = normalizeProjectName(name);
    let delegations: Delegations;
    try {
      delegations = wheelsDelegation(project, keys, threshold);
    } catch (e) {
      if (e instanceof AttestationError) throw new CliError(e.message, EXIT.usage, e.code);
      throw e;
    }
    await signChange(globalOptions(cmd), ctx, o, project, delegations, `Enabled verified builds of ${project}: ${wheelsRoleName(project)} needs ${threshold} of ${keys.length} builders`);
  });
  common(farm.command('disable <project>').description("sign a version of PROJECT's role without the wheels delegation")).action(
    async (name: string, o: BuildFarmOptions, cmd: Command) => {
      const project = normalizeProjectName(name);
      await signChange(globalOptions(cmd), await developerContext(o), o, project, undefined, `Disabled verified builds of ${project}`);
    }
  );
}

/** The farm's key: from a file, or as the index publishes it. */
async function farmKey(ctx: DeveloperContext, file: string | undefined): Promise<Key> {
  if (file) return (await readPublicKeyFiles([file]))[0] as Key;
  const url = `${ctx.indexUrl}${FARM_KEY_API_PATH}`;
  const res = await fetch(url).catch((e: Error) => {
    throw new CliError(`cannot reach ${url}: ${e.message}`, EXIT.failure, 'NETWORK');
  });
  if (!res.ok) throw new CliError(`${url} answered ${res.status}: the index publishes no build farm key; give --farm-key FILE`, EXIT.failure, 'NO_FARM_KEY');
  try {
    return parseFarmKeyResponse(Buffer.from(await res.arrayBuffer()));
  } catch (e) {
    throw new CliError(`${url}: ${(e as Error).message}`, EXIT.failure, 'NO_FARM_KEY');
  }
}

async function signChange(opts: GlobalOptions, ctx: DeveloperContext, o: BuildFarmOptions, project: string, delegations: Delegations | undefined, done: string): Promise<void> {
  const updater = await ctx.updater();
  const state = await currentProjectState(updater, project);
  if (!state.claimed || !state.projectRole) throw new CliError(`${project} is not claimed: claim it first (bulwark claim ${project})`, EXIT.failure, 'NOT_CLAIMED');
  const role = projectRoleName(project);
  const roleKeys: RoleKeys | undefined = ['claimed', 'recently-claimed'].map((r) => updater.getVerifiedRole(r)?.signed.delegations?.roles?.get(role)).find((k) => k);
  if (!roleKeys) throw new CliError(`cannot find the delegation of ${project}`, EXIT.failure, 'NOT_CLAIMED');
  // Everything but the delegation stays as TUF vouches for it now.
  const signed = new Targets({ version: state.projectRole.version + 1, expires: expiresIn(new Date(), PROJECT_ROLE_DAYS * 86400), targets: state.projectRole.targets, delegations }).toJSON();
  let toSign: unknown = signed;
  let signatures: Signature[] = [];
  if (o.cosign) {
    const partial = JSON.parse(await readFile(o.cosign, 'utf8')) as PartialRoleChange;
    if (partial.format !== 'bulwark-partial-role-change' || partial.project !== project) throw new CliError(`${o.cosign} is not a partial role change of ${project}`, EXIT.failure, 'BAD_PARTIAL');
    const theirs = partial.metadata.signed as Record<string, unknown>;
    const mine = signed as Record<string, unknown>;
    // Same version, targets and delegations as this maintainer would sign (expiry may differ).
    for (const field of ['_type', 'version', 'targets', 'delegations', 'spec_version']) {
      if (encodeCanonical(theirs[field] ?? null) !== encodeCanonical(mine[field] ?? null)) {
        throw new CliError(`${o.cosign}: its ${field} differs from the change these arguments make on the role TUF vouches for now: refusing to co-sign`, EXIT.failure, 'BAD_PARTIAL');
      }
    }
    toSign = theirs;
    signatures = partial.metadata.signatures;
  }
  const mine = (await signCanonical(encodeCanonical(toSign), await ctx.signers())).signatures;
  if (!mine.some((m) => roleKeys.keyids.includes(m.keyid))) throw new CliError(untrustedKeyMessage(project, mine.map((m) => m.keyid), roleKeys.keyids), EXIT.failure, 'UNTRUSTED_KEY');
  signatures = [...signatures.filter((s) => !mine.some((m) => m.keyid === s.keyid)), ...mine];
  const valid = signatures.filter((s) => roleKeys.keyids.includes(s.keyid)).length;
  const bytes = Buffer.from(encodeCanonical({ signatures, signed: toSign }), 'utf8');
  const version = Metadata.parse(bytes, 'targets', role).signed.version;
  if (o.partial || valid < roleKeys.threshold) {
    const out = o.partial ?? o.cosign;
    if (!out) throw new CliError(`${project} needs ${roleKeys.threshold} signatures and you gave ${valid}: use --partial FILE and have other maintainers --cosign it`, EXIT.failure, 'THRESHOLD');
    const partial: PartialRoleChange = { format: 'bulwark-partial-role-change', project, metadata: { signatures, signed: toSign } };
    await writeFileAtomic(out, `${JSON.stringify(partial, null, 2)}\n`);
    output(opts, { project, signatures: valid, threshold: roleKeys.threshold, file: out }, `Signed ${project} role version ${version}: ${valid} of ${roleKeys.threshold} signatures. Pass ${out} on (same command, --cosign ${out})`);
    return;
  }
  try {
    const r = await sendSignedUpload(ctx.indexUrl, ctx.token, project, bytes, [], []);
    output(opts, { ...r, role_version: version, build_farm: delegations !== undefined }, `${done} (role version ${version}, ${r.status})`);
  } catch (e) {
    if (e instanceof IndexApiError) throw new CliError(e.message, EXIT.failure, e.code);
    throw e;
  }
}
