// SPDX-License-Identifier: Apache-2.0
// `bulwark tuf-client`: the command-line protocol TUF client conformance suites drive.
// Exit code 0 on success, 1 on any failure (the protocol's two codes), with the typed reason on
// standard error ("tuf-client: CODE: message"); a bug exits 70, so that a suite expecting a
// refusal does not count a crash as one. Metadata in --metadata-dir as ROLE.json, the role
// name percent-encoded as python-tuf does it.
//   --metadata-dir D init ROOT_FILE
//   --metadata-dir D --metadata-url U refresh
//   --metadata-dir D --metadata-url U --target-name P [--target-name P2 …]
//        --target-base-url T --target-dir TD download
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Updater } from '../../client/updater.js';
import { localFileName } from '../../client/quote.js';
import { Metadata } from '../../tuf/index.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { CliError, EXIT } from '../context.js';
import { reportError } from '../error-report.js';
import { collect } from './fetch.js';

interface TufClientOptions {
  metadataDir: string;
  metadataUrl?: string;
  targetName: string[];
  targetBaseUrl?: string;
  targetDir?: string;
  requireAuditor?: boolean;
}

function updaterFor(o: TufClientOptions, targetBaseUrl?: string): Updater {
  if (!o.metadataUrl) throw new CliError('--metadata-url is required', EXIT.usage, 'USAGE');
  return new Updater({
    metadataDir: o.metadataDir,
    indexUrl: o.metadataUrl,
    metadataBaseUrl: o.metadataUrl,
    ...(targetBaseUrl ? { targetBaseUrl } : {}),
    ...(o.requireAuditor ? { requireAuditor: true } : {}),
  });
}

export function registerTufClient(program: Command): void {
  program
    .command('tuf-client <command> [root]')
    .description('TUF conformance client protocol: init ROOT_FILE | refresh | download (exit 0 ok, 1 failure, 70 internal error)')
    .requiredOption('--metadata-dir <dir>', 'trusted metadata directory')
    .option('--metadata-url <url>', 'base URL of the metadata')
    .option('--target-name <path>', 'target to download (repeatable)', collect, [])
    .option('--target-base-url <url>', 'base URL of the targets')
    .option('--target-dir <dir>', 'where downloaded targets go')
    .option('--require-auditor', 'use only timestamps an auditor root names has verified and signed for (refuses with UNAUDITED_TREE, STALE_AUDIT, AUDIT_SIGNATURE or AUDIT_MISMATCH)')
    .action(async (command: string, root: string | undefined, o: TufClientOptions) => {
      try {
        if (command === 'init') {
          if (!root) throw new CliError('init needs ROOT_FILE', EXIT.usage, 'USAGE');
          Metadata.parse(await readFile(root), 'root');
          await mkdir(o.metadataDir, { recursive: true });
          await copyFile(root, join(o.metadataDir, 'root.json'));
        } else if (command === 'refresh') {
          await updaterFor(o).refresh();
        } else if (command === 'download') {
          if (!o.targetBaseUrl || !o.targetDir) throw new CliError('download needs --target-base-url and --target-dir', EXIT.usage, 'USAGE');
          const updater = updaterFor(o, o.targetBaseUrl);
          await updater.refresh();
          await mkdir(o.targetDir, { recursive: true });
          for (const name of o.targetName) {
            const info = await updater.getTargetInfo(name);
            if (!info) throw new CliError(`target ${name} is not listed in the TUF metadata`, EXIT.failure, 'UNKNOWN_TARGET');
            const local = join(o.targetDir, localFileName(name));
            const present = await readFile(local).then(
              (b) => {
                try {
                  info.verify(b);
                  return true;
                } catch {
                  return false;
                }
              },
              () => false
            );
            if (present) continue; // already downloaded and still valid: not fetched again
            await writeFileAtomic(local, await updater.downloadTarget(info), { durable: false });
          }
        } else {
          throw new CliError(`unknown command ${command} (init, refresh or download)`, EXIT.usage, 'USAGE');
        }
      } catch (e) {
        // The typed reason first (UNSIGNED_METADATA, BAD_VERSION, EXPIRED_METADATA…), for harnesses.
        const report = reportError(e);
        const internal = report.exitCode === EXIT.internal;
        const message = !internal && e instanceof Error ? e.message : report.message;
        process.stderr.write(`tuf-client: ${report.code}: ${message}\n${report.stack ? `${report.stack}\n` : ''}`);
        process.exit(internal ? EXIT.internal : EXIT.failure);
      }
    });
}
