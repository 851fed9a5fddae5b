// SPDX-License-Identifier: Apache-2.0
// `bulwark mirror sync URL DIR`: copy an index's current consistent snapshot into a static tree,
// verified through TUF from the pinned root, resumable, timestamp.json last.
import type { Command } from 'commander';
import { MirrorSyncError, syncMirror } from '../../mirror/sync.js';
import { resolveSource } from '../../mirror/source.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { progressBar } from '../progress.js';

interface SyncOptions {
  root?: string;
  keep?: string;
  concurrency: string;
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} must be a whole number ≥ 1`, EXIT.usage, 'USAGE');
  return n;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export function registerMirror(program: Command): void {
  const mirror = program.command('mirror').description('mirrors: static copies of an index that any web server can serve');
  mirror
    .command('sync <url> <dir>')
    .description(
      'copy the index at URL (or a local static tree) into DIR, verifying every file through TUF; ' +
        'resumes where an interrupted sync stopped; timestamp.json is written last, so DIR always serves a whole snapshot'
    )
    .option('--root <file>', 'the trusted initial root.json (needed on the first sync of DIR)')
    .option('--keep <n>', 'then keep only the newest N snapshots in DIR (every root stays); default: remove nothing')
    .option('--concurrency <n>', 'parallel downloads', '8')
    .action(async (url: string, dir: string, o: SyncOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      const keep = positiveInt(o.keep, '--keep');
      const concurrency = positiveInt(o.concurrency, '--concurrency') as number;
      const source = await resolveSource(url).catch((e: Error) => {
        throw new CliError(e.message, EXIT.usage, 'USAGE');
      });
      const bars = { roles: progressBar('roles  ', !opts.json), targets: progressBar('targets', !opts.json) };
      let phase: 'roles' | 'targets' = 'roles';
      const stop = () => (phase === 'roles' ? bars.roles.stop() : bars.targets.stop());
      let r;
      try {
        r = await syncMirror({
          upstream: source.base,
          dir,
          ...(o.root ? { rootPath: o.root } : {}),
          ...(keep !== undefined ? { keep } : {}),
          concurrency,
          onProgress: (p, done, total) => {
            if (p !== phase) {
              stop();
              phase = p;
            }
            bars[p].update(done, total);
          },
        });
      } catch (e) {
        if (e instanceof MirrorSyncError) throw new CliError(e.message, e.kind === 'usage' ? EXIT.usage : EXIT.failure, e.code);
        throw e;
      } finally {
        stop();
      }
      const lines = [
        `${r.updated ? 'Mirrored' : 'Already at'} snapshot ${r.snapshot} (timestamp ${r.timestamp}, root ${r.root}) into ${r.dir}`,
        `  fetched ${r.files.fetched} file(s), ${kib(r.bytes)}; skipped ${r.files.skipped} already verified (of ${r.files.total}: ${r.metadata.total} metadata, ${r.targets.total} targets)`,
      ];
      if (r.removed) lines.push(`  removed ${r.removed.files} file(s) no kept snapshot reaches (${kib(r.removed.bytes)}); kept snapshots ${r.removed.keptSnapshots.join(', ')}`);
      if (r.unreachableRoles.length > 0) lines.push(`  not copied: ${r.unreachableRoles.length} role(s) listed by the snapshot but delegated by none (${r.unreachableRoles.slice(0, 5).join(', ')})`);
      output(opts, r, lines.join('\n'));
    });
}
