// SPDX-License-Identifier: Apache-2.0
// `bulwark user add NAME [--admin]` and `bulwark user token NAME`: accounts and API tokens.
// Works while the index runs (the embedded store takes concurrent writers).
import type { Command } from 'commander';
import { AccountError } from '../../repository/accounts.js';
import { Repository } from '../../repository/repository.js';
import { StateConflictError } from '../../storage/state/types.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';

async function withRepository<T>(opts: { data: string; database: string | undefined }, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
  try {
    return await fn(repo);
  } catch (e) {
    if (e instanceof AccountError) throw new CliError(e.message, EXIT.usage, 'USAGE');
    if (e instanceof StateConflictError) throw new CliError(e.message, EXIT.failure, e.code);
    throw e;
  } finally {
    await repo.close();
  }
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('manage accounts and API tokens');
  user
    .command('add <name>')
    .description('create an account and print its first API token (shown only once)')
    .option('--admin', 'make the account an administrator')
    .action(async (name: string, cmdOpts: { admin?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const { token } = await withRepository(opts, (repo) => repo.accounts.addUser(name, { admin: cmdOpts.admin === true }));
      output(
        opts,
        { name, admin: cmdOpts.admin === true, token },
        `Created user ${name}${cmdOpts.admin ? ' (administrator)' : ''}. API token (shown only once):\n${token}\n` +
          `Upload with: twine upload -u __token__ -p ${token.slice(0, 12)}… --repository-url http://HOST/legacy/ dist/*`
      );
    });
  user
    .command('token <name>')
    .description('make another API token for an account')
    .option('--description <text>', 'what the token is for', 'API token')
    .action(async (name: string, cmdOpts: { description: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const token = await withRepository(opts, (repo) => repo.accounts.addToken(name, cmdOpts.description));
      output(opts, { name, token }, `New API token for ${name} (shown only once):\n${token}`);
    });
}
