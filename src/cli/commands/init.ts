// SPDX-License-Identifier: Apache-2.0
// `bulwark init`: create a repository in the data directory.
//   bulwark init [--bins N]                         demo: every key made here (offline ones too, loudly)
//   bulwark init --production --root-key F … --out DIR     phase 1: online keys made here; the
//        initial root, targets and claimed written unsigned to DIR for their holders to sign
//   bulwark init --complete --root F --targets F --claimed F   phase 2: check and create
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { completeProductionInit, initDemoRepository, prepareProductionInit, RepositoryExistsError, type InitCeremony, type InitOptions as RepositoryInitOptions } from '../../repository/init.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { assertEmptyDatabase, openStateStore } from '../../storage/state/open-state.js';
import { RepositoryError, type Key } from '../../tuf/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { progressBar } from '../progress.js';
import { readPublicKeyFiles } from '../public-keys.js';

export const DEMO_WARNING =
  'WARNING: this is a DEMO repository. Its offline keys (root, targets, claimed) are stored on this machine in ' +
  'keys/offline-DEMO-ONLY/, so anyone who takes this machine can sign anything. Never use it for real packages.';

export async function createDemo(dataDir: string, bins: number, showProgress: boolean, opts: Pick<RepositoryInitOptions, 'auditors'> = {}): Promise<void> {
  const bar = progressBar('signing bins', showProgress);
  try {
    await initDemoRepository(dataDir, { ...opts, bins, onProgress: (done, total) => bar.update(done, total) });
  } finally {
    bar.stop();
  }
}

export function parseBins(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0) throw new CliError(`--bins must be a power of two ≥ 2, got ${value}`, EXIT.usage, 'USAGE');
  return n;
}

const many = (v: string, p: string[]) => [...p, v];

async function readKeys(files: readonly string[], what: string): Promise<Key[]> {
  if (files.length === 0) throw new CliError(`--production needs at least one --${what}-key`, EXIT.usage, 'USAGE');
  return readPublicKeyFiles(files);
}

interface InitOptions {
  bins: string;
  production?: boolean;
  complete?: boolean;
  rootKey: string[];
  targetsKey: string[];
  claimedKey: string[];
  rootThreshold: string;
  targetsThreshold: string;
  claimedThreshold: string;
  out: string;
  root?: string;
  targets?: string;
  claimed?: string;
  auditorKey: string[];
  auditorThreshold: string;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a repository: a demo (all keys here), or a production one whose offline roles are signed in a ceremony')
    .option('--bins <n>', 'number of hashed bins under unclaimed (a power of two; PEP 458 uses 16384)', '16384')
    .option('--production', 'phase 1: write the initial offline roles unsigned, for their key holders')
    .option('--root-key <file>', 'public key of a root key holder (bulwark key show --json; repeatable)', many, [] as string[])
    .option('--root-threshold <t>', 'root signatures required', '1')
    .option('--targets-key <file>', 'public key of a targets key holder (repeatable)', many, [] as string[])
    .option('--targets-threshold <t>', 'targets signatures required', '1')
    .option('--claimed-key <file>', 'public key of a claimed key holder (repeatable)', many, [] as string[])
    .option('--claimed-threshold <t>', 'claimed signatures required', '1')
    .option('--out <dir>', 'phase 1: where to write the files to sign', '.')
    .option('--auditor-key <file>', 'public key of an auditor root names (bulwark key show NAME --json; repeatable)', many, [] as string[])
    .option('--auditor-threshold <t>', 'auditors whose statements auditor-requiring clients need', '1')
    .option('--complete', 'phase 2: create the repository from the signed files')
    .option('--root <file>', 'phase 2: the signed root')
    .option('--targets <file>', 'phase 2: the signed targets')
    .option('--claimed <file>', 'phase 2: the signed claimed')
    .action(async (o: InitOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      const bins = parseBins(o.bins);
      // With --database the new state moves into PostgreSQL as soon as init is complete.
      const database = o.production ? undefined : opts.database;
      // A database that cannot be used, or holds a repository already, is a configuration error (78).
      if (database !== undefined) await assertEmptyDatabase(database);
      const moveState = async () => {
        if (database !== undefined) await (await openStateStore(opts.data, database)).close();
      };
      const auditorKeys = await readPublicKeyFiles(o.auditorKey);
      const auditors = auditorKeys.length > 0 ? { auditors: { keys: auditorKeys, threshold: Number(o.auditorThreshold) } } : {};
      try {
        if (o.production) {
          const holders = {
            root: { keys: await readKeys(o.rootKey, 'root'), threshold: Number(o.rootThreshold) },
            targets: { keys: await readKeys(o.targetsKey, 'targets'), threshold: Number(o.targetsThreshold) },
            claimed: { keys: await readKeys(o.claimedKey, 'claimed'), threshold: Number(o.claimedThreshold) },
          };
          const ceremonies = await prepareProductionInit(opts.data, holders, { bins, ...auditors });
          const files: string[] = [];
          for (const c of ceremonies) {
            const path = join(o.out, `init-${c.role}.json`);
            await writeFileAtomic(path, `${JSON.stringify(c, null, 2)}\n`);
            files.push(path);
          }
          output(
            opts,
            { data: opts.data, files },
            `Online keys made in ${opts.data}/keys/online. No offline key was made or seen here.\nHave the key holders sign, each on their own machine:\n` +
              files.map((f) => `  bulwark admin sign --in ${f} --out ${f.replace(/\.json$/, '.signed.json')} --key THEIR_KEY.pem`).join('\n') +
              `\nthen: bulwark init --complete --root … --targets … --claimed …`
          );
          return;
        }
        if (o.complete) {
          if (!o.root || !o.targets || !o.claimed) throw new CliError('--complete needs --root, --targets and --claimed (the signed files)', EXIT.usage, 'USAGE');
          const read = async (f: string) => (JSON.parse(await readFile(f, 'utf8')) as InitCeremony).metadata;
          const claimedBins = (JSON.parse(await readFile(o.claimed, 'utf8')) as InitCeremony).roles;
          const bar = progressBar('signing bins', !opts.json);
          try {
            await completeProductionInit(opts.data, { root: await read(o.root), targets: await read(o.targets), claimed: await read(o.claimed), ...(claimedBins ? { claimedBins } : {}) }, { onProgress: (d, t) => bar.update(d, t) });
          } finally {
            bar.stop();
          }
          await moveState();
          output(opts, { data: opts.data, root: join(opts.data, 'root.json'), mode: 'production' }, `Created a production repository in ${opts.data}. Clients pin ${join(opts.data, 'root.json')}.`);
          return;
        }
        await createDemo(opts.data, bins, !opts.json, auditors);
        await moveState();
      } catch (e) {
        if (e instanceof RepositoryExistsError) throw new CliError(e.message, EXIT.failure, 'EXISTS');
        if (e instanceof RepositoryError) throw new CliError(`${e.message}: collect a threshold of signatures from the right key holders`, EXIT.failure, e.code);
        if (e instanceof RangeError) throw new CliError(e.message, EXIT.usage, 'USAGE');
        throw e;
      }
      process.stderr.write(`${DEMO_WARNING}\n`);
      output(
        opts,
        { data: opts.data, bins, root: join(opts.data, 'root.json'), mode: 'demo', database: database !== undefined },
        `Created a demo repository with ${bins} bins in ${opts.data}.\nClients pin its initial root: ${join(opts.data, 'root.json')}`
      );
    });
}
