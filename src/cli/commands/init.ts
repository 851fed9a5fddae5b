// SPDX-License-Identifier: Apache-2.0
// `bulwark init`: create a demo repository in the data directory.
import { join } from 'node:path';
import type { Command } from 'commander';
import { initDemoRepository, RepositoryExistsError } from '../../repository/init.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { progressBar } from '../progress.js';

export const DEMO_WARNING =
  'WARNING: this is a DEMO repository. Its offline keys (root, targets, claimed) are stored on this machine in ' +
  'keys/offline-DEMO-ONLY/, so anyone who takes this machine can sign anything. Never use it for real packages.';

export async function createDemo(dataDir: string, bins: number, showProgress: boolean): Promise<void> {
  const bar = progressBar('signing bins', showProgress);
  try {
    await initDemoRepository(dataDir, { bins, onProgress: (done, total) => bar.update(done, total) });
  } finally {
    bar.stop();
  }
}

export function parseBins(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new CliError(`--bins must be a power of two ≥ 2, got ${value}`, EXIT.usage, 'USAGE');
  return n;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a repository (demo mode: every key generated here, offline keys kept on disk)')
    .option('--bins <n>', 'number of hashed bins under unclaimed (a power of two; PEP 458 uses 16384)', '16384')
    .action(async (cmdOpts: { bins: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const bins = parseBins(cmdOpts.bins);
      try {
        await createDemo(opts.data, bins, !opts.json);
      } catch (e) {
        if (e instanceof RepositoryExistsError) throw new CliError(e.message, EXIT.failure, 'EXISTS');
        throw e;
      }
      process.stderr.write(`${DEMO_WARNING}\n`);
      output(
        opts,
        { data: opts.data, bins, root: join(opts.data, 'root.json'), mode: 'demo' },
        `Created a demo repository with ${bins} bins in ${opts.data}.\nClients pin its initial root: ${join(opts.data, 'root.json')}`
      );
    });
}
