// SPDX-License-Identifier: Apache-2.0
// `bulwark rebuilder`: an independent builder of verified wheels, run by another party with its
// own key and data. It follows the index over HTTP, verifies every sdist through TUF from its
// pinned root, builds it in isolation, and sends its signed reports and its signatures of the
// wheels roles whose wheels it built byte for byte.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { metadataDirFor, seedRoot } from '../../client/client-cache.js';
import { Updater } from '../../client/updater.js';
import { runRebuilderPass } from '../../buildfarm/rebuilder.js';
import { keyPath, keysDir, loadKeyFile, unlockKey } from '../../developer/developer-key.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { PASSPHRASE_OPTION, readPassphrase, type PassphraseOptions } from '../passphrase.js';
import { addBuilderOptions, builderSettings, repeat, type BuilderOptions } from './builder-options.js';

interface RebuilderCliOptions extends BuilderOptions, PassphraseOptions {
  index: string;
  root: string;
  key: string;
  token?: string;
  cache?: string;
}

export function registerRebuilder(program: Command): void {
  addBuilderOptions(
    program
      .command('rebuilder')
      .description('independently rebuild the sdists of projects that delegate their wheels to your key, and sign the wheels you reproduced')
      .requiredOption('--index <url>', 'base URL of the index')
      .requiredOption('--root <file>', "the index's trusted root.json")
      .option('--key <name>', 'your key (bulwark key new; its `bulwark key show --json` is what developers delegate to)', 'default')
      .option('--token <token>', 'API token on the index (default $BULWARK_TOKEN)')
      .option('--cache <dir>', 'TUF metadata cache (default: per index under ~/.cache/bulwark)')
      .option(...PASSPHRASE_OPTION)
  ).action(async (o: RebuilderCliOptions, cmd: Command) => {
    const opts = globalOptions(cmd);
    const token = o.token ?? process.env['BULWARK_TOKEN'];
    if (!token) throw new CliError('no API token: give --token or $BULWARK_TOKEN', EXIT.usage, 'USAGE');
    const key = await unlockKey(await loadKeyFile(keyPath(o.key)), await readPassphrase(o, `Passphrase for key ${o.key}: `));
    const metadataDir = o.cache ? resolve(o.cache) : metadataDirFor(o.index);
    const settings = builderSettings(o, `bulwark-rebuilder:${key.keyId}`, [opts.data, keysDir(), metadataDir]);
    await seedRoot(metadataDir, o.root).catch((e: Error) => {
      throw new CliError(e.message, EXIT.usage, 'NO_ROOT');
    });
    const indexUrl = o.index.replace(/\/+$/, '');
    await repeat(o.once === true, settings.intervalMs, async () => {
      const r = await runRebuilderPass({
        indexUrl,
        token,
        key,
        dataDir: opts.data,
        settings,
        updater: async () => {
          const u = new Updater({ metadataDir, indexUrl });
          await u.refresh();
          return u;
        },
      });
      const lines = [
        ...r.built.map((b) => `${b.project}: ${b.sdist} → ${b.ok ? `${b.wheel} (sha256 ${b.sha256})` : `FAILED: ${b.reason}`}`),
        ...r.skipped.map((s) => `${s.project}: ${s.sdist} skipped: ${s.reason}`),
        ...r.signed.map((s) => `${s.project}: signed wheels role version ${s.version}`),
        ...r.refused.map((s) => `${s.project}: REFUSED to sign wheels role version ${s.version}: ${s.reason}`),
      ];
      if (lines.length > 0 || o.once) output(opts, r, lines.join('\n') || 'nothing to do');
    });
  });
}
