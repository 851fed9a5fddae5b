// SPDX-License-Identifier: Apache-2.0
// `bulwark claim PROJECT`: register your developer keys for a project (PEP 480). The index adds
// a terminating delegation in recently-claimed; the files already on the index are adopted —
// verified here through TUF, then listed in the first project role, signed with your keys.
import type { Command } from 'commander';
import { IndexApiError, sendClaim } from '../../developer/index-api.js';
import { currentProjectState, nextRelease } from '../../developer/release-builder.js';
import { isValidProjectName, normalizeProjectName } from '../../packaging/index.js';
import { expiresIn, Metadata, Targets } from '../../tuf/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { addDeveloperOptions, developerContext, type DeveloperOptions } from '../developer-context.js';
import { loadKeyFile, keyPath, publicKeyOf } from '../../developer/developer-key.js';
import { readPublicKeyFiles } from '../public-keys.js';

export const PROJECT_ROLE_DAYS = 365;

export function registerClaim(program: Command): void {
  addDeveloperOptions(
    program
      .command('claim <project>')
      .description('claim a project for your developer keys: from now on only uploads you sign are accepted')
      .option('--threshold <t>', 'signatures required from now on (t of the keys given)', '1')
      .option('--public-key <file>', 'another maintainer\'s public key (bulwark key show --json output; repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
  ).action(async (projectName: string, o: DeveloperOptions & { threshold: string; publicKey: string[] }, cmd: Command) => {
    const opts = globalOptions(cmd);
    if (!isValidProjectName(projectName)) throw new CliError(`"${projectName}" is not a valid project name`, EXIT.usage, 'USAGE');
    const project = normalizeProjectName(projectName);
    const ctx = await developerContext(o);
    const keys = [];
    for (const name of ctx.keyNames) keys.push(publicKeyOf(await loadKeyFile(keyPath(name))));
    keys.push(...(await readPublicKeyFiles(o.publicKey)));
    const threshold = Number(o.threshold);
    const updater = await ctx.updater();
    const state = await currentProjectState(updater, project);
    if (state.claimed) throw new CliError(`${project} is already claimed`, EXIT.failure, 'ALREADY_CLAIMED');
    // Adopt what is there (verified above), or start with empty pages for a new project.
    const pages = state.pageFiles.length === 0 && state.targets.size === 0 ? nextRelease(state, [], { now: new Date() }) : undefined;
    const targets = pages ? pages.targets : state.targets;
    const signers = await ctx.signers();
    const role = await Metadata.sign(new Targets({ version: 1, expires: expiresIn(new Date(), PROJECT_ROLE_DAYS * 86400), targets, delegations: undefined }), signers);
    try {
      const r = await sendClaim(ctx.indexUrl, ctx.token, projectName, { keys: keys.map((k) => k.toJSON()), threshold }, role.bytes, pages?.pages ?? []);
      output(opts, r, `Claimed ${project}: ${keys.length} key(s), threshold ${threshold}, ${targets.size} target(s) adopted (${r.status}).\nFrom now on upload with: bulwark upload dist/*`);
    } catch (e) {
      if (e instanceof IndexApiError) throw new CliError(e.message, EXIT.failure, e.code);
      throw e;
    }
  });
}
