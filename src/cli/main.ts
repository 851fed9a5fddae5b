// SPDX-License-Identifier: Apache-2.0
// The `bulwark` command: wires the subcommands (one module each) and maps errors to exit codes.
import { Command, CommanderError } from 'commander';
import { DeveloperKeyError } from '../developer/developer-key.js';
import { KeySourceError } from '../repository/keyring.js';
import { NoRepositoryError } from '../repository/repository.js';
import { TufError } from '../tuf/index.js';
import { registerAdmin } from './commands/admin.js';
import { registerClaim } from './commands/claim.js';
import { registerFetch } from './commands/fetch.js';
import { registerGc } from './commands/gc.js';
import { registerKey } from './commands/key.js';
import { registerMirror } from './commands/mirror.js';
import { registerAudit } from './commands/audit.js';
import { registerUpload } from './commands/upload.js';
import { registerInit } from './commands/init.js';
import { registerProxy } from './commands/proxy.js';
import { registerTufClient } from './commands/tuf-client.js';
import { registerRecover } from './commands/recover.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerProject } from './commands/project.js';
import { registerUser } from './commands/user.js';
import { registerWorker } from './commands/worker.js';
import { registerWebUser } from './commands/web-user.js';
import { registerYank } from './commands/yank.js';
import { CliError, EXIT } from './context.js';

const program = new Command('bulwark')
  .description('Bulwark: a PyPI-compatible package index that survives its own compromise (PEP 458/480, TUF)')
  .option('--data <dir>', 'data directory (default $BULWARK_DATA or ./bulwark-data)')
  .option('--json', 'print machine-readable JSON on standard output')
  .option('--database <url>', 'keep the state in PostgreSQL: postgres://… (default $BULWARK_DATABASE_URL, else the embedded file in the data directory)')
  .showHelpAfterError()
  .exitOverride()
  // Every command opens the repository through Repository.open, which reads the URL from the
  // environment: --database is passed on that way (and to any child process).
  .hook('preAction', (_program, action) => {
    const url = action.optsWithGlobals<{ database?: string }>().database;
    if (url) process.env['BULWARK_DATABASE_URL'] = url;
  });

registerInit(program);
registerServe(program);
registerWorker(program);
registerStatus(program);
registerUser(program);
registerWebUser(program);
registerProject(program);
registerYank(program);
registerFetch(program);
registerProxy(program);
registerTufClient(program);
registerKey(program);
registerClaim(program);
registerUpload(program);
registerAdmin(program);
registerGc(program);
registerMirror(program);
registerAudit(program);
registerRecover(program);

function fail(code: string, message: string, exitCode: number): never {
  const json = process.argv.includes('--json');
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.stderr.write(`bulwark: ${message}\n`);
  process.exit(exitCode);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  if (e instanceof CliError) fail(e.code, e.message, e.exitCode);
  if (e instanceof NoRepositoryError) fail('NO_REPOSITORY', e.message, EXIT.notFound);
  if (e instanceof DeveloperKeyError) fail('KEY', e.message, EXIT.failure);
  if (e instanceof KeySourceError) fail('KEY_SOURCE', e.message, EXIT.failure);
  // Verification and download failures: a typed reason, no stack (they are not bugs).
  if (e instanceof TufError) fail(e.code, `${e.kind === 'repository' ? 'TUF verification failed' : 'download failed'} (${e.code}): ${e.message}`, EXIT.failure);
  fail('INTERNAL', (e as Error).stack ?? String(e), EXIT.failure);
}
