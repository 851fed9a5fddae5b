// SPDX-License-Identifier: Apache-2.0
// `bulwark migrate`: moves a data directory made before name bins to the layout of ADR 0005.
//   migrate --data DIR --out FILE      (index machine) the unsigned claimed role and claimed bins
//   admin sign --in FILE --out SIGNED --key PEM   (offline machine, as for a promotion)
//   migrate --data DIR --import SIGNED (index machine) check and record; restart the index
// Until the import, the old layout stays published and works as before.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CeremonyError, type CeremonyFile } from '../../repository/ceremony.js';
import { exportMigration, importMigration } from '../../repository/migrate.js';
import { Repository } from '../../repository/repository.js';
import { StateConflictError } from '../../storage/state/types.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { progressBar } from '../progress.js';

async function readSigned(path: string): Promise<CeremonyFile> {
  try {
    const file = JSON.parse(await readFile(path, 'utf8')) as CeremonyFile;
    if (!file.metadata || !file.summary || !Array.isArray(file.roles)) throw new Error('missing metadata, roles or summary');
    return file;
  } catch (e) {
    throw new CliError(`${path} is not a signed migration file: ${(e as Error).message}`, EXIT.usage, 'USAGE');
  }
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('move a repository to name bins under claimed and recently-claimed (ADR 0005); claimed is re-signed offline')
    .option('--out <file>', 'step 1: where to write the unsigned claimed role and claimed bins', 'migrate-claimed.json')
    .option('--import <file>', 'step 3: the file signed by the claimed key holders (bulwark admin sign)')
    .action(async (o: { out: string; import?: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const file = o.import ? await readSigned(o.import) : undefined;
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      const bar = progressBar('claimed bins', !opts.json);
      try {
        if (file) {
          const summary = await importMigration(repo, file);
          output(
            opts,
            { imported: o.import, claimedVersion: summary.version, bins: summary.bins?.length ?? 0, projects: summary.delegations, restart: true },
            `Recorded claimed version ${summary.version} and ${summary.bins?.length ?? 0} claimed bins (${summary.delegations} claimed projects).\n` +
              'Restart the index: it publishes claimed, its bins, recently-claimed and its bins in one snapshot.'
          );
          return;
        }
        const exported = await exportMigration(repo, new Date(), (done, total) => bar.update(done, total));
        bar.stop();
        await writeFileAtomic(o.out, `${JSON.stringify(exported, null, 2)}\n`);
        output(
          opts,
          { out: o.out, claimedVersion: exported.summary.version, bins: exported.summary.bins?.length ?? 0, projects: exported.summary.delegations },
          `Wrote ${o.out}: claimed version ${exported.summary.version} delegating to ${exported.summary.bins?.length ?? 0} bins, which hold the ${exported.summary.delegations} claimed projects.\n` +
            `The published layout is unchanged. Have the claimed key holders sign it:\n  bulwark admin sign --in ${o.out} --out SIGNED.json --key CLAIMED_KEY.pem\n` +
            'then: bulwark migrate --import SIGNED.json'
        );
      } catch (e) {
        if (e instanceof CeremonyError || e instanceof StateConflictError) throw new CliError(e.message, EXIT.failure, 'CEREMONY');
        throw e;
      } finally {
        bar.stop();
        await repo.close();
      }
    });
}
