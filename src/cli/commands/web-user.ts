// SPDX-License-Identifier: Apache-2.0
// `bulwark user password NAME`: set the password an account logs in to the web pages with.
// The password comes from --password-fd N, then $BULWARK_PASSWORD, then a prompt on the
// terminal (asked twice, not echoed); it is stored as a scrypt hash, and the account's web
// sessions end. Works while the index runs; with --database (or $BULWARK_DATABASE_URL), in the
// PostgreSQL database every `bulwark serve` of the index reads.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Repository } from '../../repository/repository.js';
import { openWebStore } from '../../storage/state/open-web-store.js';
import type { WebStore } from '../../storage/state/web-store.js';
import { hashPassword, passwordProblem } from '../../web/passwords.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { askHidden } from '../passphrase.js';

export async function readPassword(o: { passwordFd?: string }, name: string): Promise<string> {
  if (o.passwordFd !== undefined) {
    const fd = Number(o.passwordFd);
    if (!Number.isInteger(fd) || fd < 0) throw new CliError('--password-fd takes a file descriptor number', EXIT.usage, 'USAGE');
    return readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
  }
  const env = process.env['BULWARK_PASSWORD'];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new CliError('no password: set BULWARK_PASSWORD or use --password-fd N (no terminal to ask on)', EXIT.usage, 'NO_PASSWORD');
  const first = await askHidden(`New web password for ${name}: `);
  if ((await askHidden('Again, to confirm: ')) !== first) throw new CliError('the passwords differ', EXIT.usage, 'USAGE');
  return first;
}

export function registerWebUser(program: Command): void {
  const user = program.commands.find((c) => c.name() === 'user') ?? program.command('user').description('manage accounts');
  user
    .command('password <name>')
    .description('set the password NAME logs in to the web pages with (from --password-fd, $BULWARK_PASSWORD or a prompt)')
    .option('--password-fd <n>', 'read the password from this file descriptor (else $BULWARK_PASSWORD, else a prompt)')
    .action(async (name: string, o: { passwordFd?: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      let store: WebStore | undefined;
      try {
        const account = await repo.state.userByName(name);
        if (!account) throw new CliError(`no user named ${name} (make one with \`bulwark user add ${name}\`)`, EXIT.notFound, 'NOT_FOUND');
        const password = await readPassword(o, name);
        const problem = passwordProblem(password, name);
        if (problem) throw new CliError(`choose another password: ${problem}`, EXIT.usage, 'WEAK_PASSWORD');
        const hash = await hashPassword(password);
        store = await openWebStore(repo.dataDir, repo.databaseUrl);
        await store.setPassword(account.id, hash, new Date().toISOString());
        output(opts, { name, admin: account.isAdmin, password: 'set' }, `Password set for ${name}${account.isAdmin ? ' (administrator)' : ''}; their web sessions were ended. Log in at /account/login/.`);
      } finally {
        await store?.close();
        await repo.close();
      }
    });
}
