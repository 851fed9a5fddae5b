// SPDX-License-Identifier: Apache-2.0
// `bulwark admin …`: the offline ceremonies.
//   admin promote export --out FILE   (index machine) what would move recently-claimed → claimed
//   admin sign --in FILE --out FILE --key PEM…   (offline machine) show, confirm, sign
//   admin promote import --in FILE    (index machine) check and record; the index publishes it
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import {
  CeremonyError,
  exportPromotion,
  exportRootRotation,
  exportTargetsRotation,
  importPromotion,
  importRootRotation,
  importTargetsRotation,
  signCeremonyFile,
  type CeremonyFile,
} from '../../repository/ceremony.js';
import { Repository } from '../../repository/repository.js';
import { StateConflictError } from '../../storage/state/types.js';
import { writeFileAtomic } from '../../storage/atomic-write.js';
import { offlineSignerFromPem } from '../../tuf/index.js';
import { readPublicKeyFiles } from '../public-keys.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';

async function readCeremony(path: string): Promise<CeremonyFile> {
  try {
    const file = JSON.parse(await readFile(path, 'utf8')) as CeremonyFile;
    if (!file.metadata || !file.summary) throw new Error('missing metadata or summary');
    return file;
  } catch (e) {
    throw new CliError(`${path} is not a ceremony file: ${(e as Error).message}`, EXIT.usage, 'USAGE');
  }
}

function describe(file: CeremonyFile): string {
  const s = file.summary;
  const init = (s as { init?: { keyids: string[]; threshold: number } }).init;
  if (init) {
    return [
      `Initial ${s.role} role (version ${s.version}, expires ${s.expires}) of a new production index.`,
      `Vouched for by keys ${init.keyids.map((k) => k.slice(0, 12)).join(', ')} (threshold ${init.threshold}).`,
      `Signatures so far: ${file.metadata.signatures.length}`,
    ].join('\n');
  }
  if (s.targets) {
    return [
      `Role targets, version ${s.version}, expires ${s.expires}, ${s.delegations} delegation(s).`,
      ...Object.entries(s.targets.rotated).map(([role, id]) => `New key(s) for ${role}: ${id.slice(0, 40)}`),
      `Signatures so far: ${file.metadata.signatures.length}`,
    ].join('\n');
  }
  if (s.root) {
    const r = s.root;
    return [
      `Role root, version ${s.version}, expires ${s.expires}.`,
      `Root keys: ${r.keyids.map((k) => k.slice(0, 12)).join(', ')} (threshold ${r.threshold}); before: ${r.previousKeyids.map((k) => k.slice(0, 12)).join(', ')} (threshold ${r.previousThreshold}).`,
      ...Object.entries(r.rotated).map(([role, id]) => `New ${role} key: ${id.slice(0, 12)} (the old one is no longer trusted)`),
      ...(r.auditors ? [`Auditor keys: ${r.auditors.map((k) => k.slice(0, 12)).join(', ') || 'none'}`] : []),
      `It needs ${r.previousThreshold} signature(s) from the current root keys and ${r.threshold} from the new ones.`,
      `Signatures so far: ${file.metadata.signatures.length}`,
    ].join('\n');
  }
  return [
    `Role ${s.role}, version ${s.version}, expires ${s.expires}, ${s.delegations} project delegation(s) in all.`,
    `Projects promoted from recently-claimed:`,
    ...s.promote.map((p) => `  ${p.project}  threshold ${p.threshold} of keys ${p.keyids.map((k) => k.slice(0, 12)).join(', ')}`),
    ...(s.keyChanges.length ? ['Key changes of claimed projects:', ...s.keyChanges.map((p) => `  ${p.project}  new keys ${p.keyids.map((k) => k.slice(0, 12)).join(', ')}, threshold ${p.threshold}`)] : []),
    `Signatures so far: ${file.metadata.signatures.length}`,
  ].join('\n');
}

async function withRepo<T>(opts: { data: string; database: string | undefined }, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(opts.data, { databaseUrl: opts.database });
  try {
    return await fn(repo);
  } catch (e) {
    if (e instanceof CeremonyError || e instanceof StateConflictError) throw new CliError(e.message, EXIT.failure, 'CEREMONY');
    throw e;
  } finally {
    await repo.close();
  }
}

export function registerAdmin(program: Command): void {
  const admin = program.command('admin').description('offline ceremonies (the index never holds offline keys)');
  const promote = admin.command('promote').description('move projects from recently-claimed to claimed (PEP 480)');
  promote
    .command('export')
    .description('write the unsigned next claimed role, for signing offline')
    .requiredOption('--out <file>', 'where to write it')
    .action(async (o: { out: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const file = await withRepo(opts, (repo) => exportPromotion(repo));
      await writeFileAtomic(o.out, `${JSON.stringify(file, null, 2)}\n`);
      output(opts, file.summary, `${describe(file)}\nWrote ${o.out}: sign it offline with \`bulwark admin sign\`, then \`bulwark admin promote import\`.`);
    });
  promote
    .command('import')
    .description('check the signed claimed role and record the promotion (the running index publishes it)')
    .requiredOption('--in <file>', 'the signed file')
    .action(async (o: { in: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const file = await readCeremony(o.in);
      const summary = await withRepo(opts, (repo) => importPromotion(repo, file));
      output(opts, summary, `Promoted ${summary.promote.map((p) => p.project).join(', ')} to claimed (version ${summary.version}); the index publishes it with its next snapshot.`);
    });
  const root = admin.command('root').description('rotate root keys and online keys (timestamp, snapshot) with a new root');
  root
    .command('export')
    .description('write the unsigned next root; new online keys are made here and used once it is imported')
    .requiredOption('--out <file>', 'where to write it')
    .option('--rotate <roles>', 'online roles whose keys to replace: timestamp,snapshot', '')
    .option('--add-root-key <file>', 'public key of a new root key holder (bulwark key show --json; repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--remove-root-key <keyid>', 'root key to retire (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--root-threshold <t>', 'root signatures required from now on')
    .option('--auditor-key <file>', 'public key of an auditor (bulwark key show NAME --json; repeatable; replaces the auditors root names)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--auditor-threshold <t>', 'auditors whose statements auditor-requiring clients need', '1')
    .option('--remove-auditors', 'root names no auditor any more')
    .action(async (o: { out: string; rotate: string; addRootKey: string[]; removeRootKey: string[]; rootThreshold?: string; auditorKey: string[]; auditorThreshold: string; removeAuditors?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const rotate = o.rotate.split(',').filter((r) => r !== '');
      for (const r of rotate) if (r !== 'timestamp' && r !== 'snapshot') throw new CliError(`--rotate takes timestamp and/or snapshot, not ${r}`, EXIT.usage, 'USAGE');
      const addRootKeys = await readPublicKeyFiles(o.addRootKey);
      const auditorKeys = await readPublicKeyFiles(o.auditorKey);
      if (o.removeAuditors && auditorKeys.length > 0) throw new CliError('give --auditor-key or --remove-auditors, not both', EXIT.usage, 'USAGE');
      const auditors = o.removeAuditors || auditorKeys.length > 0 ? { keys: auditorKeys, threshold: Number(o.auditorThreshold) } : undefined;
      const file = await withRepo(opts, (repo) =>
        exportRootRotation(repo, {
          rotateOnline: rotate as ('timestamp' | 'snapshot')[],
          addRootKeys,
          removeRootKeyIds: o.removeRootKey,
          ...(o.rootThreshold ? { rootThreshold: Number(o.rootThreshold) } : {}),
          ...(auditors ? { auditors } : {}),
        })
      );
      await writeFileAtomic(o.out, `${JSON.stringify(file, null, 2)}\n`);
      output(opts, file.summary, `${describe(file)}\nWrote ${o.out}: sign it offline with \`bulwark admin sign\` (old and new root keys), then \`bulwark admin root import\`.`);
    });
  root
    .command('import')
    .description('check the signed root (old and new thresholds), publish it and switch to the new online keys')
    .requiredOption('--in <file>', 'the signed file')
    .action(async (o: { in: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const file = await readCeremony(o.in);
      const summary = await withRepo(opts, (repo) => importRootRotation(repo, file));
      output(opts, summary, `Published root version ${summary.version}; the running index now signs with the keys it trusts.`);
    });
  const targets = admin.command('targets').description('rotate the keys of recently-claimed, unclaimed (online) or claimed (offline) with a new targets role');
  targets
    .command('export')
    .description('write the unsigned next targets role; new online keys are made here')
    .requiredOption('--out <file>', 'where to write it')
    .option('--rotate <roles>', 'online roles whose keys to replace: recently-claimed,unclaimed', '')
    .option('--claimed-key <file>', 'public key of a new claimed key holder (repeatable; replaces the current holders)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--claimed-threshold <t>', 'claimed signatures required', '1')
    .action(async (o: { out: string; rotate: string; claimedKey: string[]; claimedThreshold: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const rotate = o.rotate.split(',').filter((r) => r !== '');
      for (const r of rotate) if (r !== 'recently-claimed' && r !== 'unclaimed') throw new CliError(`--rotate takes recently-claimed and/or unclaimed, not ${r}`, EXIT.usage, 'USAGE');
      const claimedKeys = await readPublicKeyFiles(o.claimedKey);
      const file = await withRepo(opts, (repo) =>
        exportTargetsRotation(repo, { rotateOnline: rotate as ('recently-claimed' | 'unclaimed')[], claimedKeys, claimedThreshold: Number(o.claimedThreshold) })
      );
      await writeFileAtomic(o.out, `${JSON.stringify(file, null, 2)}\n`);
      output(opts, file.summary, `Targets version ${file.summary.version}: new keys for ${Object.keys(file.summary.targets?.rotated ?? {}).join(', ') || 'nothing'}.\nWrote ${o.out}: sign it offline with the targets key (bulwark admin sign), then \`bulwark admin targets import\`.`);
    });
  targets
    .command('import')
    .description('check the signed targets role; the index publishes it with everything below re-signed')
    .requiredOption('--in <file>', 'the signed file')
    .action(async (o: { in: string }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const file = await readCeremony(o.in);
      const summary = await withRepo(opts, (repo) => importTargetsRotation(repo, file));
      output(opts, summary, `Imported targets version ${summary.version}; the running index re-signs recently-claimed, unclaimed and every bin with the new keys.`);
    });
  admin
    .command('sign')
    .description('sign a ceremony file with offline keys (run on the offline machine)')
    .requiredOption('--in <file>', 'the exported file')
    .requiredOption('--out <file>', 'where to write the signed file')
    .requiredOption('--key <pem>', 'offline private key file (Ed25519 or ECDSA P-256, unencrypted PEM); repeatable', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--yes', 'do not ask for confirmation')
    .action(async (o: { in: string; out: string; key: string[]; yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const file = await readCeremony(o.in);
      process.stderr.write(`${describe(file)}\n`);
      if (!o.yes) {
        if (!process.stdin.isTTY) throw new CliError('no terminal to confirm on: review the summary and pass --yes', EXIT.usage, 'USAGE');
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question('Sign this? [y/N] ');
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('not signed', EXIT.failure, 'DECLINED');
      }
      const signers = [];
      for (const k of o.key) {
        try {
          signers.push(offlineSignerFromPem(await readFile(k, 'utf8')));
        } catch (e) {
          throw new CliError(`${k}: ${(e as Error).message}`, EXIT.usage, 'KEY');
        }
      }
      const signed = await signCeremonyFile(file, signers);
      await writeFileAtomic(o.out, `${JSON.stringify(signed, null, 2)}\n`);
      output(opts, { out: o.out, signatures: signed.metadata.signatures.map((s) => s.keyid) }, `Signed with ${signers.map((s) => s.keyId.slice(0, 12)).join(', ')}; wrote ${o.out}`);
    });
}
