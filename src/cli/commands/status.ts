// SPDX-License-Identifier: Apache-2.0
// `bulwark status`: every role's version, expiry and keys, with warnings for roles close to
// expiry (offline roles need a ceremony to be re-signed, so they are flagged a month ahead).
import type { Command } from 'commander';
import { Repository } from '../../repository/repository.js';
import { repositoryStatus } from '../../repository/status.js';
import { globalOptions, output } from '../context.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show every role: version, expiry, keys, and warnings')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = globalOptions(cmd);
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      try {
        const s = await repositoryStatus(repo, new Date());
        const lines = [
          `Repository ${opts.data} (${s.mode}), snapshot version ${s.snapshotVersion}, ${s.bins} bins, ${s.projects} projects`,
          '',
          'role               version  expires               online  keys (threshold)',
          ...s.roles.map((r) => `${r.name.padEnd(18)} ${String(r.version).padStart(7)}  ${r.expires}  ${(r.online ? 'yes' : 'no').padEnd(6)}  ${r.keyids.map((k) => k.slice(0, 8)).join(',')} (${r.threshold})`),
          `bins-*             ${s.binsSummary.minVersion}…${s.binsSummary.maxVersion}  earliest ${s.binsSummary.earliestExpiry}  yes`,
          '',
          s.leader && !s.leader.expired
            ? `snapshot leader: ${s.leader.holder} (epoch ${s.leader.epoch}, lease until ${s.leader.expiresAt})`
            : 'snapshot leader: none',
          ...(s.warnings.length ? ['', ...s.warnings.map((w) => `WARNING: ${w}`)] : []),
        ];
        output(opts, s, lines.join('\n'));
      } finally {
        await repo.close();
      }
    });
}
