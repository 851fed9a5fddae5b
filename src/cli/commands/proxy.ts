// SPDX-License-Identifier: Apache-2.0
// `bulwark proxy`: a local PEP 503/691 index for pip that serves only what TUF verified.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { metadataDirFor, seedRoot } from '../../client/client-cache.js';
import { buildProxy } from '../../client/proxy.js';
import { VerifiedIndex } from '../../client/verified-index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { collect } from './fetch.js';

export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description('serve a verifying PEP 503/691 index for pip on 127.0.0.1')
    .requiredOption('--index <url>', 'base URL of the index')
    .option('--root <file>', 'the trusted initial root.json (needed the first time for this index)')
    .option('--port <port>', 'port (0 picks a free one)', '3141')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--mirror <url>', 'a mirror with the same layout, tried before the index (repeatable)', collect, [])
    .option('--cache <dir>', 'metadata cache directory (default: per index under ~/.cache/bulwark)')
    .option('--log-level <level>', 'log level (logs go to standard error)', 'info')
    .action(async (o: { index: string; root?: string; port: string; host: string; mirror: string[]; cache?: string; logLevel: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const metadataDir = o.cache ? resolve(o.cache) : metadataDirFor(o.index);
      await seedRoot(metadataDir, o.root).catch((e: Error) => {
        throw new CliError(e.message, EXIT.usage, 'NO_ROOT');
      });
      const log = pino({ level: o.logLevel }, pino.destination(2));
      const index = new VerifiedIndex({ indexUrl: o.index, mirrors: o.mirror, metadataDir });
      const app = buildProxy(index, log);
      const url = await app.listen({ host: o.host, port: Number(o.port) });
      output(opts, { url, index: o.index }, `Bulwark verifying proxy listening on ${url}\n  pip install --index-url ${url}/simple/ NAME`);
      const stop = () => void app.close().then(() => process.exit(EXIT.ok));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
