// SPDX-License-Identifier: Apache-2.0
// `bulwark project role PROJECT USER`: operator commands on the data directory; `bulwark project
// build-farm …` (project-build-farm.ts) is the developers' opt-in to verified builds.
import type { Command } from 'commander';
import { normalizeProjectName } from '../../packaging/index.js';
import { Repository } from '../../repository/repository.js';
import { StateConflictError } from '../../storage/state/types.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { registerBuildFarm } from './project-build-farm.js';

export function registerProject(program: Command): void {
  const project = program.command('project').description('manage projects (role: operator command on the data directory; build-farm: developers, on a running index)');
  project
    .command('role <project> <user>')
    .description('let USER upload to PROJECT as a maintainer (or --owner)')
    .option('--owner', 'make the user an owner instead')
    .action(async (name: string, userName: string, o: { owner?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      try {
        const normalized = normalizeProjectName(name);
        await repo.state.addProjectRole(normalized, userName, o.owner ? 'owner' : 'maintainer');
        const roles = await repo.state.projectRoles(normalized);
        output(opts, { project: normalized, roles }, roles.map((r) => `${r.role}\t${r.user}`).join('\n'));
      } catch (e) {
        if (e instanceof StateConflictError) throw new CliError(e.message, EXIT.notFound, e.code);
        throw e;
      } finally {
        await repo.close();
      }
    });
  registerBuildFarm(project);
}
