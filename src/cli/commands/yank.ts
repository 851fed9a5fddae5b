// SPDX-License-Identifier: Apache-2.0
// `bulwark yank PROJECT VERSION`: yank a release (or one file with --file) on a running index,
// as an owner or maintainer (PEP 592). --undo un-yanks. For a claimed project the yank is a
// change its developers sign: the pages are rendered anew and the next project role signed.
import type { Command } from 'commander';
import { IndexApiError, sendSignedUpload } from '../../developer/index-api.js';
import { currentProjectState, nextRelease } from '../../developer/release-builder.js';
import { normalizeProjectName, normalizeVersion, parseDistributionFilename } from '../../packaging/index.js';
import { expiresIn, Metadata, Targets } from '../../tuf/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { addDeveloperOptions, developerContext, type DeveloperOptions } from '../developer-context.js';
import { PROJECT_ROLE_DAYS } from './claim.js';

interface YankOptions extends DeveloperOptions {
  index?: string;
  file?: string;
  reason?: string;
  undo?: boolean;
}

export function registerYank(program: Command): void {
  addDeveloperOptions(
    program
      .command('yank <project> [version]')
      .description('yank a release or a file (owners and maintainers); signed with your developer key when the project is claimed')
      .option('--index <url>', 'base URL of the index (instead of --repository-url)')
      .option('--file <name>', 'yank only this file instead of the whole release')
      .option('--reason <text>', 'why, shown to pip users')
      .option('--undo', 'un-yank')
  ).action(async (projectName: string, version: string | undefined, o: YankOptions, cmd: Command) => {
    const opts = globalOptions(cmd);
    if ((version === undefined) === (o.file === undefined)) throw new CliError('give a VERSION or --file NAME (not both)', EXIT.usage, 'USAGE');
    const ctx = await developerContext({ ...o, ...(o.index ? { repositoryUrl: o.index } : {}) });
    const project = normalizeProjectName(projectName);
    const state = await currentProjectState(await ctx.updater(), project);
    if (state.claimed && state.projectRole) {
      const wanted = version !== undefined ? normalizeVersion(version) : undefined;
      const files = state.pageFiles
        .map((f) => f.filename)
        .filter((f) => (o.file ? f === o.file : normalizeVersion(parseDistributionFilename(f).version) === wanted));
      if (files.length === 0) throw new CliError(`${project} has no ${o.file ?? `release ${version ?? ''}`}`, EXIT.notFound, 'NOT_FOUND');
      const reason: string | true = o.reason ?? true;
      const next = nextRelease(state, [], {
        now: new Date(),
        ...(o.undo ? { unyank: new Set(files) } : { yank: new Map(files.map((f) => [f, reason])) }),
      });
      const role = await Metadata.sign(
        new Targets({ version: state.projectRole.version + 1, expires: expiresIn(new Date(), PROJECT_ROLE_DAYS * 86400), targets: next.targets, delegations: state.projectRole.delegations }),
        await ctx.signers()
      );
      try {
        const r = await sendSignedUpload(ctx.indexUrl, ctx.token, project, role.bytes, [], next.pages);
        output(opts, { ...r, files, yanked: !o.undo, role_version: role.signed.version }, `${o.undo ? 'Un-yanked' : 'Yanked'} ${files.join(', ')} (signed, role version ${role.signed.version}, ${r.status})`);
      } catch (e) {
        if (e instanceof IndexApiError) throw new CliError(e.message, EXIT.failure, e.code);
        throw e;
      }
      return;
    }
    const body = { ...(version ? { version } : { filename: o.file }), ...(o.reason ? { reason: o.reason } : {}), undo: o.undo === true };
    const url = `${ctx.indexUrl}/api/v1/projects/${encodeURIComponent(project)}/yank`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch (e) {
      throw new CliError(`cannot reach ${ctx.indexUrl}: ${(e as Error).message}`, EXIT.failure, 'NETWORK');
    }
    const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string }; files?: string[]; status?: string };
    if (!res.ok) throw new CliError(json.error?.message ?? `${res.status} ${res.statusText}`, EXIT.failure, json.error?.code ?? 'HTTP');
    output(opts, json, `${o.undo ? 'Un-yanked' : 'Yanked'} ${(json.files ?? []).join(', ')} (${json.status ?? 'pending'})`);
  });
}
