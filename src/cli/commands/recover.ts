// SPDX-License-Identifier: Apache-2.0
// `bulwark recover CASE`: the PEP 480 recovery procedures ("In the Event of a Key Compromise"),
// one case each. The command does the index-side steps, writes the ceremony files the offline
// key holders must sign, and prints every remaining step in order.
import { join } from 'node:path';
import type { Command } from 'commander';
import { exportRootRotation, exportTargetsRotation, type CeremonyFile } from '../../repository/ceremony.js';
import { Repository } from '../../repository/repository.js';
import { repositoryStatus } from '../../repository/status.js';
import { normalizeProjectName } from '../../packaging/index.js';
import { StateConflictError } from '../../storage/state/types.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { readPublicKeyFiles } from '../public-keys.js';

const CASES = ['developer-keys', 'online-keys', 'targets', 'claimed', 'online-and-claimed', 'root'] as const;
type Case = (typeof CASES)[number];

const readKeys = readPublicKeyFiles;

async function writeCeremony(dir: string, name: string, file: CeremonyFile): Promise<string> {
  const path = join(dir, name);
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
  return path;
}

interface RecoverOptions {
  project?: string;
  publicKey: string[];
  threshold: string;
  since?: string;
  out: string;
  newKey: string[];
}

export function registerRecover(program: Command): void {
  program
    .command('recover <case>')
    .description(`walk a PEP 480 recovery: ${CASES.join(' | ')}`)
    .option('--project <name>', 'developer-keys: the project whose keys were compromised')
    .option('--public-key <file>', 'developer-keys: the project\'s new public key (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--threshold <t>', 'developer-keys: signatures required', '1')
    .option('--since <time>', 'online cases: discard uploads to unclaimed and recently-claimed projects from this time on (ISO 8601, the compromise)')
    .option('--new-key <file>', 'targets / claimed / root: public key of a new offline key holder (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--out <dir>', 'where to write the ceremony files', '.')
    .action(async (which: string, o: RecoverOptions, cmd: Command) => {
      const opts = globalOptions(cmd);
      if (!(CASES as readonly string[]).includes(which)) throw new CliError(`unknown case ${which}: ${CASES.join(', ')}`, EXIT.usage, 'USAGE');
      const c = which as Case;
      if (o.since !== undefined && Number.isNaN(Date.parse(o.since))) throw new CliError('--since must be an ISO 8601 time', EXIT.usage, 'USAGE');
      const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
      const steps: string[] = [];
      const files: string[] = [];
      const done: Record<string, unknown> = {};
      try {
        if (c === 'developer-keys') {
          if (!o.project || o.publicKey.length === 0) throw new CliError('developer-keys needs --project and --public-key', EXIT.usage, 'USAGE');
          const project = normalizeProjectName(o.project);
          const keys = await readKeys(o.publicKey);
          const r = await repo.state.replaceDelegationKeys({
            project,
            keys: Object.fromEntries(keys.map((k) => [k.keyId, k.toJSON()])),
            keyids: keys.map((k) => k.keyId),
            threshold: Number(o.threshold),
            now: new Date().toISOString(),
          });
          done['replaced'] = { project, pendingCeremony: r.pendingCeremony };
          steps.push(
            r.pendingCeremony
              ? `${project} is in claimed: the new keys take effect with the next ceremony (bulwark admin promote export / sign / import).`
              : `${project}'s new keys are published with the next snapshot (recently-claimed, online).`,
            `The developers restore the project to its last known good state and sign it with the new keys, with a higher version (bulwark upload; bulwark yank for files that must go).`
          );
        }
        const online = c === 'online-keys' || c === 'online-and-claimed' || c === 'root';
        if (online) {
          const r = await repo.state.recoverOnlineCompromise({ since: o.since ? new Date(o.since).toISOString() : null, now: new Date().toISOString() });
          done['unclaimedAgain'] = r.unclaimedAgain;
          done['discarded'] = r.discarded;
          steps.push(
            `Cleared recently-claimed: ${r.unclaimedAgain.length ? r.unclaimedAgain.join(', ') : 'no project'} must be claimed again (their developers re-register their keys).`,
            o.since
              ? `Discarded ${r.discarded.length} upload(s) to unclaimed projects since ${o.since}; compare the rest with the offline archive (bulwark audit compare) before re-opening uploads.`
              : 'No --since given: compare unclaimed projects with the last known good archive (bulwark audit compare) and discard what was added since the compromise.'
          );
        }
        const rootKeys = c === 'root' ? await readKeys(o.newKey) : [];
        if (c === 'root' && rootKeys.length === 0) throw new CliError('root needs --new-key (the new root key holders)', EXIT.usage, 'USAGE');
        if (online || c === 'targets') {
          const targetsKeys = c === 'targets' ? await readKeys(o.newKey) : [];
          if (c === 'targets' && targetsKeys.length === 0) throw new CliError('targets needs --new-key (the new targets key holders)', EXIT.usage, 'USAGE');
          // Retiring every old root key (case root): the new root is signed by the old threshold once more, then never again.
          const oldRootKeys = (await repositoryStatus(repo, new Date())).roles.find((r) => r.name === 'root')?.keyids ?? [];
          const rootFile = await exportRootRotation(repo, {
            ...(online ? { rotateOnline: ['timestamp', 'snapshot'] as const } : {}),
            ...(c === 'root' ? { addRootKeys: rootKeys, removeRootKeyIds: oldRootKeys, rootThreshold: Math.max(1, Math.ceil(rootKeys.length / 2)) } : {}),
            ...(targetsKeys.length ? { targetsKeys } : {}),
          });
          files.push(await writeCeremony(o.out, 'recover-root.json', rootFile));
          steps.push(`Root: sign ${files.at(-1)} with a threshold of the current root keys${c === 'root' ? ' (those not compromised) and of the new ones' : ''}, then bulwark admin root import (new timestamp and snapshot keys).`);
        }
        if (online || c === 'targets' || c === 'claimed') {
          const claimedKeys = c === 'claimed' || c === 'online-and-claimed' ? await readKeys(o.newKey) : [];
          if ((c === 'claimed' || c === 'online-and-claimed') && claimedKeys.length === 0) throw new CliError(`${c} needs --new-key (the new claimed key holders)`, EXIT.usage, 'USAGE');
          if (c !== 'targets') {
            const targetsFile = await exportTargetsRotation(repo, {
              ...(online ? { rotateOnline: ['recently-claimed', 'unclaimed'] as const } : {}),
              ...(claimedKeys.length ? { claimedKeys, claimedThreshold: 1 } : {}),
            });
            files.push(await writeCeremony(o.out, 'recover-targets.json', targetsFile));
            steps.push(`Targets: sign ${files.at(-1)} with the targets key, then bulwark admin targets import (new recently-claimed/unclaimed${claimedKeys.length ? '/claimed' : ''} keys; every bin re-signed). Discard the new targets key afterwards (PEP 480).`);
          }
        }
        if (c === 'online-and-claimed' || c === 'root') {
          steps.push('Compare the claimed projects\' targets with the last known good archive (bulwark audit compare); developers re-sign what must be restored.');
        }
        steps.push('Publish a security bulletin. The running index publishes each imported ceremony with its next snapshot; clients follow the new root and refuse metadata signed with the old keys.');
      } catch (e) {
        if (e instanceof StateConflictError) throw new CliError(e.message, EXIT.failure, e.code);
        throw e;
      } finally {
        await repo.close();
      }
      output(opts, { case: c, done, files, steps }, [`Recovery: ${c}`, ...steps.map((s, i) => `${i + 1}. ${s}`)].join('\n'));
    });
}
