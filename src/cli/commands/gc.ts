// SPDX-License-Identifier: Apache-2.0
// `bulwark gc`: remove metadata and targets no kept snapshot reaches (mark-and-sweep).
import type { Command } from 'commander';
import { collectGarbage } from '../../repository/gc.js';
import { Repository } from '../../repository/repository.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { progressBar } from '../progress.js';

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('garbage-collect old consistent snapshots (keeps every root and the newest N snapshots)')
    .option('--keep <n>', 'consistent snapshots to keep', '3')
    .option('--keep-trees <n>', 'publications whose snapshot Merkle trees are kept (signed with the current timestamp key)', '1000')
    .option('--grace-seconds <s>', 'never remove files younger than this', '600')
    .option('--dry-run', 'only say what would be removed')
    .action(async (o: { keep: string; keepTrees: string; graceSeconds: string; dryRun?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const keep = Number(o.keep);
      const grace = Number(o.graceSeconds);
      if (!Number.isInteger(keep) || keep < 1) throw new CliError('--keep must be a whole number ≥ 1', EXIT.usage, 'USAGE');
      const keepTrees = Number(o.keepTrees);
      if (!Number.isInteger(keepTrees) || keepTrees < 1) throw new CliError('--keep-trees must be a whole number ≥ 1', EXIT.usage, 'USAGE');
      if (!Number.isFinite(grace) || grace < 0) throw new CliError('--grace-seconds must be ≥ 0', EXIT.usage, 'USAGE');
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      const bars = { mark: progressBar('marking ', !opts.json), sweep: progressBar('sweeping', !opts.json) };
      try {
        const r = await collectGarbage(repo, {
          keep,
          keepTrees,
          graceMs: grace * 1000,
          dryRun: o.dryRun === true,
          onProgress: (done, total, phase) => {
            if (phase === 'sweep') bars.mark.stop();
            bars[phase].update(done, total);
          },
        });
        bars.mark.stop();
        bars.sweep.stop();
        output(
          opts,
          { keptSnapshots: r.keptSnapshots, keptTrees: r.keptTrees.length, marked: r.marked, removed: r.removed.length, bytesFreed: r.bytesFreed, dryRun: r.dryRun, files: r.removed },
          `${r.dryRun ? 'Would remove' : 'Removed'} ${r.removed.length} file(s), ${(r.bytesFreed / 1024).toFixed(1)} KiB; kept snapshots ${r.keptSnapshots.join(', ')} and ${r.keptTrees.length} Merkle tree(s)`
        );
      } finally {
        await repo.close();
      }
    });
}
