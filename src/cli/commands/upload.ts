// SPDX-License-Identifier: Apache-2.0
// `bulwark upload dist/*`: like `twine upload` (reads ~/.pypirc), but for a claimed project it
// signs the next version of the project role — files and pages — with your developer key, and
// sends everything as one project transaction (PEP 480). Unclaimed projects get a plain upload.
import { basename } from 'node:path';
import type { Command } from 'commander';
import { IndexApiError, sendSignedUpload } from '../../developer/index-api.js';
import { currentProjectState, nextRelease, readLocalFile, ReleaseError } from '../../developer/release-builder.js';
import { PackagingError, parseDistributionFilename } from '../../packaging/index.js';
import { expiresIn, Metadata, Targets } from '../../tuf/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { addDeveloperOptions, developerContext, type DeveloperOptions } from '../developer-context.js';
import { PROJECT_ROLE_DAYS } from './claim.js';

export function registerUpload(program: Command): void {
  addDeveloperOptions(program.command('upload <files...>').description('upload distributions; signed with your developer key when the project is claimed')).action(
    async (paths: string[], o: DeveloperOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      let projects: Set<string>;
      try {
        projects = new Set(paths.map((p) => parseDistributionFilename(basename(p)).project));
      } catch (e) {
        if (e instanceof PackagingError) throw new CliError(e.message, EXIT.usage, e.code);
        throw e;
      }
      if (projects.size !== 1) throw new CliError(`upload the files of one project at a time (got ${[...projects].join(', ')})`, EXIT.usage, 'USAGE');
      const project = [...projects][0] as string;
      const ctx = await developerContext(o);
      const updater = await ctx.updater();
      const state = await currentProjectState(updater, project);
      if (!state.claimed || !state.projectRole) {
        throw new CliError(`${project} is not claimed: claim it first (bulwark claim ${project}) or upload with twine`, EXIT.failure, 'NOT_CLAIMED');
      }
      try {
        const files = await Promise.all(paths.map((p) => readLocalFile(p, project)));
        const next = nextRelease(state, files, { now: new Date() });
        const signers = await ctx.signers();
        const role = await Metadata.sign(
          new Targets({ version: state.projectRole.version + 1, expires: expiresIn(new Date(), PROJECT_ROLE_DAYS * 86400), targets: next.targets, delegations: undefined }),
          signers
        );
        const r = await sendSignedUpload(ctx.indexUrl, ctx.token, project, role.bytes, files, next.pages);
        output(opts, { ...r, files: files.map((f) => ({ filename: f.filename, sha256: f.sha256 })), role_version: role.signed.version }, `Uploaded and signed ${files.map((f) => f.filename).join(', ')}: ${project} role version ${role.signed.version} (${r.status})`);
      } catch (e) {
        if (e instanceof IndexApiError) throw new CliError(e.message, EXIT.failure, e.code);
        if (e instanceof ReleaseError || e instanceof PackagingError) throw new CliError(e.message, EXIT.failure, 'BAD_RELEASE');
        throw e;
      }
    }
  );
}
