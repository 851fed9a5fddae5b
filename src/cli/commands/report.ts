// SPDX-License-Identifier: Apache-2.0
// `bulwark report protection`: the share of downloads each protection level covers, and whom to
// invite to claim (or to turn on two-factor) to reach 50 % and 80 % (src/reports/).
import type { Command } from 'commander';
import { Repository } from '../../repository/repository.js';
import { readDownloadWeights, WeightsFileError, type WeightKind } from '../../reports/download-weights.js';
import { formatProtectionReport, protectionReport } from '../../reports/protection-report.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';

export function registerReport(program: Command): void {
  const report = program.command('report').description('reports on the index');
  report
    .command('protection')
    .description(
      'share of downloads protected at each level, and the shortest lists of projects to invite so that developer-signed ' +
        '(recently-claimed or claimed) and two-factor-or-better downloads reach 50 % and 80 %: greedy by downloads among the ' +
        'projects below the level, heaviest first, until the share is reached'
    )
    .option('--downloads <file>', 'weigh by downloads: "name<TAB>downloads" per line (gzip or plain)')
    .option('--ranks <file>', 'weigh by download rank (the format of pypi-projects.tsv.gz, gzip or plain): downloads fall as 1/rank (Zipf); the unranked share the mean weight of the ranks after the last one')
    .action(async (o: { downloads?: string; ranks?: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      if ((o.downloads === undefined) === (o.ranks === undefined)) throw new CliError('pass exactly one of --downloads FILE or --ranks FILE', EXIT.usage, 'USAGE');
      const [kind, file]: [WeightKind, string] = o.ranks !== undefined ? ['ranks', o.ranks] : ['downloads', o.downloads!];
      let weights;
      try {
        weights = await readDownloadWeights(file, kind);
      } catch (e) {
        if (e instanceof WeightsFileError) throw new CliError(e.message, EXIT.usage, e.code);
        throw e;
      }
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      try {
        const r = protectionReport(await repo.state.listProjects(), weights);
        output(opts, r, formatProtectionReport(r));
      } finally {
        await repo.close();
      }
    });
}
