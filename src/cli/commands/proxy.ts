// SPDX-License-Identifier: Apache-2.0
// `bulwark proxy`: a local PEP 503/691 index for pip that serves only what TUF verified.
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import pino from 'pino';
import { metadataDirFor, seedRoot } from '../../client/client-cache.js';
import { buildProxy } from '../../client/proxy.js';
import { ServedReport } from '../../client/served-report.js';
import { VerifiedIndex } from '../../client/verified-index.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { collect } from './fetch.js';
import { addLevelOptions, levelPolicyFrom, type LevelOptions } from './level-options.js';

interface ProxyCliOptions extends LevelOptions {
  requireAuditor?: boolean;
  index: string;
  root?: string;
  port: string;
  host: string;
  mirror: string[];
  cache?: string;
  logLevel: string;
  report?: string;
  summaryAfter: string;
}

export function registerProxy(program: Command): void {
  const cmd = program
    .command('proxy')
    .description('serve a verifying PEP 503/691 index for pip on 127.0.0.1')
    .requiredOption('--index <url>', 'base URL of the index')
    .option('--root <file>', 'the trusted initial root.json (needed the first time for this index)')
    .option('--port <port>', 'port (0 picks a free one)', '3141')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--mirror <url>', 'a mirror with the same layout, tried before the index (repeatable)', collect, [])
    .option('--cache <dir>', 'metadata cache directory (default: per index under ~/.cache/bulwark)')
    .option('--log-level <level>', 'log level (logs go to standard error)', 'info')
    .option('--report <file>', 'when stopped, write what was served and at which level (JSON) to this file')
    .option('--require-auditor', 'use only timestamps an auditor root names has verified and signed for (refuses with UNAUDITED_TREE, STALE_AUDIT, AUDIT_SIGNATURE or AUDIT_MISMATCH)')
    // For tests: how long without requests before the summary line is logged.
    .addOption(new Option('--summary-after <ms>').default('2000').hideHelp());
  addLevelOptions(cmd)
    .action(async (o: ProxyCliOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      const policy = await levelPolicyFrom(o, 'this proxy');
      const idleSummaryMs = Number(o.summaryAfter);
      if (!Number.isSafeInteger(idleSummaryMs) || idleSummaryMs < 1) {
        throw new CliError(`--summary-after must be a positive integer, got ${o.summaryAfter}`, EXIT.usage, 'USAGE');
      }
      const metadataDir = o.cache ? resolve(o.cache) : metadataDirFor(o.index);
      await seedRoot(metadataDir, o.root).catch((e: Error) => {
        throw new CliError(e.message, EXIT.usage, 'NO_ROOT');
      });
      const log = pino({ level: o.logLevel }, pino.destination(2));
      const index = new VerifiedIndex({ indexUrl: o.index, mirrors: o.mirror, metadataDir, ...(o.requireAuditor ? { requireAuditor: true } : {}) });
      const report = new ServedReport();
      const app = buildProxy(index, log, { report, idleSummaryMs, ...(policy ? { policy } : {}) });
      const url = await app.listen({ host: o.host, port: Number(o.port) });
      output(opts, { url, index: o.index }, `Bulwark verifying proxy listening on ${url}\n  pip install --index-url ${url}/simple/ NAME`);
      const writeReport = async () => {
        if (o.report) await writeFileAtomic(resolve(o.report), `${JSON.stringify(report.toJSON(), null, 2)}\n`);
      };
      const stop = () =>
        void app
          .close()
          .then(writeReport)
          .then(
            () => process.exit(EXIT.ok),
            (e: Error) => {
              log.error(`cannot write the report to ${o.report}: ${e.message}`);
              process.exit(EXIT.failure);
            }
          );
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
