// SPDX-License-Identifier: Apache-2.0
// The `bulwark` command: wires the subcommands (one module each) and maps errors to exit codes.
import { Command, CommanderError } from 'commander';
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
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerProject } from './commands/project.js';
import { registerUser } from './commands/user.js';
import { registerWorker } from './commands/worker.js';
import { registerWebUser } from './commands/web-user.js';
import { registerYank } from './commands/yank.js';
import { registerBuildFarm } from './commands/build-farm.js';
import { registerRebuilder } from './commands/rebuilder.js';
import { registerMigrate } from './commands/migrate.js';
import { registerAuditor } from './commands/auditor.js';
import { EXIT, EXIT_CODES_HELP } from './context.js';
import { printErrorReport, reportError } from './error-report.js';

const program = new Command('bulwark')
  .description('Bulwark: a PyPI-compatible package index that survives its own compromise (PEP 458/480, TUF)')
  .option('--data <dir>', 'data directory (default $BULWARK_DATA or ./bulwark-data)')
  .option('--json', 'print machine-readable JSON on standard output')
  .option('--database <url>', 'keep the state in PostgreSQL: postgres://… (default $BULWARK_DATABASE_URL, else the embedded file in the data directory)')
  .addHelpText('after', `\n${EXIT_CODES_HELP}`)
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
registerReport(program);
registerBuildFarm(program);
registerRebuilder(program);
registerMigrate(program);
registerAuditor(program);

const json = process.argv.includes('--json');
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    if (e.exitCode === 0) process.exit(EXIT.ok);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message: e.message.replace(/^error: /, ''), exit_code: EXIT.usage } })}\n`);
    process.exit(EXIT.usage);
  }
  const report = reportError(e);
  printErrorReport(report, json);
  process.exit(report.exitCode);
}
