// SPDX-License-Identifier: Apache-2.0
// `bulwark yank PROJECT VERSION`: yank a release (or one file with --file) on a running index,
// as an owner or maintainer (PEP 592). --undo un-yanks.
import type { Command } from 'commander';
import { CliError, EXIT, globalOptions, output } from '../context.js';

interface YankOptions {
  index: string;
  token?: string;
  file?: string;
  reason?: string;
  undo?: boolean;
}

export function registerYank(program: Command): void {
  program
    .command('yank <project> [version]')
    .description('yank a release or a file on a running index (owners and maintainers)')
    .requiredOption('--index <url>', 'base URL of the index, e.g. http://127.0.0.1:8080')
    .option('--token <token>', 'API token (default $BULWARK_TOKEN)')
    .option('--file <name>', 'yank only this file instead of the whole release')
    .option('--reason <text>', 'why, shown to pip users')
    .option('--undo', 'un-yank')
    .action(async (project: string, version: string | undefined, o: YankOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      const token = o.token ?? process.env['BULWARK_TOKEN'];
      if (!token) throw new CliError('an API token is needed: --token or BULWARK_TOKEN', EXIT.usage, 'USAGE');
      if ((version === undefined) === (o.file === undefined)) throw new CliError('give a VERSION or --file NAME (not both)', EXIT.usage, 'USAGE');
      const body = { ...(version ? { version } : { filename: o.file }), ...(o.reason ? { reason: o.reason } : {}), undo: o.undo === true };
      const url = new URL(`/api/v1/projects/${encodeURIComponent(project)}/yank`, o.index);
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      } catch (e) {
        throw new CliError(`cannot reach ${url.origin}: ${(e as Error).message}`, EXIT.failure, 'NETWORK');
      }
      const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string }; files?: string[]; status?: string };
      if (!res.ok) throw new CliError(json.error?.message ?? `${res.status} ${res.statusText}`, EXIT.failure, json.error?.code ?? 'HTTP');
      output(opts, json, `${o.undo ? 'Un-yanked' : 'Yanked'} ${(json.files ?? []).join(', ')} (${json.status ?? 'pending'})`);
    });
}
