// SPDX-License-Identifier: Apache-2.0
// `bulwark auditor`: follow an index's snapshot Merkle trees from somewhere else, with a key of
// its own, and sign a short-lived statement for each tree verified (src/auditor/README.md).
//   bulwark auditor --index URL --root ROOT.json --key NAME --token TOKEN [--once] [--interval MS]
//        [--statement-expiry SECONDS] [--state-dir DIR]
//   bulwark auditor token KEYID      (on the index, by its operator) the upload token of one auditor key
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Auditor, AuditorStateError, StatementUploadError, type AuditOutcome } from '../../auditor/auditor.js';
import { isKeyId, newAuditorToken } from '../../auditor/index-store.js';
import { keyPath, loadKeyFile, unlockKey } from '../../developer/developer-key.js';
import { Repository } from '../../repository/repository.js';
import { DownloadError, RepositoryError } from '../../tuf/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { reportError } from '../error-report.js';
import { PASSPHRASE_OPTION, readPassphrase, type PassphraseOptions } from '../passphrase.js';

interface AuditorCliOptions extends PassphraseOptions {
  index?: string;
  root?: string;
  key: string;
  token?: string;
  once?: boolean;
  interval: string;
  statementExpiry: string;
  stateDir?: string;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${flag} must be a positive integer, got ${value}`, EXIT.usage, 'USAGE');
  return n;
}

/** Per index, so that one machine can audit several: ~/.local/state/bulwark/auditor/<host_port_path>. */
function defaultStateDir(indexUrl: string): string {
  const base = process.env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state');
  return join(base, 'bulwark', 'auditor', indexUrl.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9.-]+/g, '_'));
}

const stamp = () => new Date().toISOString();

function describeOutcome(o: AuditOutcome): string {
  if (o.status === 'unchanged') return `timestamp ${o.timestampVersion}: no new tree; the statement is still fresh`;
  return `timestamp ${o.timestampVersion}: signed statement ${o.statementVersion} for tree ${o.root.slice(0, 16)}… (${o.reason}, ${o.changedShards} shard(s) read)`;
}

export function registerAuditor(program: Command): void {
  const cmd = program
    .command('auditor')
    .description('verify every snapshot Merkle tree an index publishes and sign a short-lived statement for each (run it away from the index)')
    .option('--index <url>', 'base URL of the index (or a mirror of it) to follow')
    .option('--root <file>', "the index's root.json to trust (the first run; later runs keep the newest root verified)")
    .option('--key <name>', 'the auditor key (bulwark key new NAME; root must name it: --auditor-key)', 'auditor')
    .option('--token <token>', 'the upload token the operator made (bulwark auditor token KEYID); default $BULWARK_AUDITOR_TOKEN')
    .option('--once', 'check the newest tree once and exit (0 signed or nothing new, 1 refused)')
    .option('--interval <ms>', 'how often to poll timestamp.json', '500')
    .option('--statement-expiry <seconds>', 'how long a statement is valid', '300')
    .option('--state-dir <dir>', 'where the auditor keeps what it verified (default: per index under ~/.local/state/bulwark/auditor)')
    .option(...PASSPHRASE_OPTION)
    .action(async (o: AuditorCliOptions, c: Command) => {
      const opts = globalOptions(c);
      if (!o.index) throw new CliError('which index? give --index URL', EXIT.usage, 'USAGE');
      const token = o.token ?? process.env['BULWARK_AUDITOR_TOKEN'];
      if (!token) throw new CliError('no upload token: give --token or $BULWARK_AUDITOR_TOKEN (the index operator makes it: bulwark auditor token KEYID)', EXIT.usage, 'USAGE');
      const interval = positive(o.interval, '--interval');
      const expiry = positive(o.statementExpiry, '--statement-expiry');
      const dir = resolve(o.stateDir ?? defaultStateDir(o.index));
      try {
        await Auditor.init(dir, o.root ? await readFile(o.root) : undefined);
      } catch (e) {
        if (e instanceof AuditorStateError) throw new CliError(e.message, EXIT.usage, 'NO_ROOT');
        if (e instanceof RepositoryError) throw new CliError(`${o.root}: not a root that verifies: ${e.message}`, EXIT.usage, 'NO_ROOT');
        throw e;
      }
      const signer = await unlockKey(await loadKeyFile(keyPath(o.key)), await readPassphrase(o, `Passphrase for key ${o.key}: `));
      const log = (line: string) => process.stderr.write(`${stamp()} bulwark auditor: ${line}\n`);
      const auditor = new Auditor({ dir, indexUrl: o.index, signer, token, statementExpirySeconds: expiry, log });
      log(`auditing ${o.index} with key ${signer.keyId.slice(0, 16)}…, state in ${dir}`);
      const emit = (outcome: AuditOutcome) => {
        if (opts.json) process.stdout.write(`${JSON.stringify(outcome)}\n`);
        else if (outcome.status === 'signed' || o.once) log(describeOutcome(outcome));
      };
      if (o.once) {
        try {
          emit(await auditor.poll());
        } catch (e) {
          if (e instanceof StatementUploadError) throw new CliError(e.message, EXIT.failure, e.code);
          throw e; // refusals are RepositoryErrors: exit 1 with their code (error-report.ts)
        }
        return;
      }
      let stopped = false;
      const stop = () => {
        stopped = true;
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let lastProblem = '';
      while (!stopped) {
        try {
          emit(await auditor.poll());
          lastProblem = '';
        } catch (e) {
          // A refused tree is never signed; the auditor goes on checking later trees against the
          // last one it verified. Network trouble is retried. Each problem is logged once.
          const r = e instanceof StatementUploadError ? { code: e.code, message: e.message } : reportError(e);
          if (!(e instanceof RepositoryError || e instanceof DownloadError || e instanceof StatementUploadError)) throw e;
          const line = `${e instanceof RepositoryError ? 'REFUSED' : 'retrying'} (${r.code}): ${r.message}`;
          if (line !== lastProblem) log(line);
          if (opts.json) process.stdout.write(`${JSON.stringify({ status: e instanceof RepositoryError ? 'refused' : 'error', code: r.code, message: r.message })}\n`);
          lastProblem = line;
        }
        await new Promise((res) => setTimeout(res, interval));
      }
      log('stopped');
    });
  cmd
    .command('token <keyid>')
    .description('(on the index) make the upload token of one auditor key; it replaces any earlier one')
    .action(async (keyid: string, _o: unknown, c: Command) => {
      const opts = globalOptions(c);
      if (!isKeyId(keyid)) throw new CliError(`${keyid} is not a key id (64 hex digits: bulwark key show NAME --json on the auditor's machine)`, EXIT.usage, 'USAGE');
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      try {
        const token = await newAuditorToken(repo, keyid);
        output(opts, { keyid, token }, `Upload token of auditor ${keyid.slice(0, 16)}… (shown once; it can only upload that key's statements):\n${token}`);
      } finally {
        await repo.close();
      }
    });
}
