// SPDX-License-Identifier: Apache-2.0
// `bulwark key new [NAME]` and `bulwark key show [NAME]`: developer keys (PEP 480).
import { access } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_KDF, keyPath, loadKeyFile, newDerivedKey, newRandomKey, publicKeyOf, saveKeyFile } from '../../developer/developer-key.js';
import { signDelegationChange } from '../../repository/delegation-change.js';
import { verifiedProjectDelegation } from '../../developer/release-builder.js';
import { normalizeProjectName } from '../../packaging/index.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { addDeveloperOptions, developerContext, type DeveloperOptions } from '../developer-context.js';
import { PASSPHRASE_OPTION, readPassphrase, type PassphraseOptions } from '../passphrase.js';
import { readPublicKeyFiles } from '../public-keys.js';

export function registerKey(program: Command): void {
  const key = program.command('key').description('developer keys: make one per machine, never copy one');
  key
    .command('new [name]')
    .description('make an Ed25519 key: derived from a passphrase and a label (default), or --random and stored encrypted')
    .option('--label <label>', 'what makes this machine\'s key its own (default user@host)')
    .option('--random', 'a random key, stored encrypted with the passphrase')
    .option('--force', 'replace an existing key file of that name')
    .option(...PASSPHRASE_OPTION)
    .action(async (name: string | undefined, o: PassphraseOptions & { label?: string; random?: boolean; force?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const path = keyPath(name ?? 'default');
      if (!o.force && (await access(path).then(() => true, () => false))) {
        throw new CliError(`${path} exists; pick another name or --force`, EXIT.failure, 'EXISTS');
      }
      const passphrase = await readPassphrase(o, 'Passphrase for the new key: ', true);
      const label = o.label ?? `${userInfo().username}@${hostname()}`;
      const { file } = o.random ? await newRandomKey(passphrase) : await newDerivedKey(label, passphrase);
      await saveKeyFile(path, file);
      output(
        opts,
        { name: name ?? 'default', path, kind: file.kind, keyid: file.keyid, public: file.public, kdf: DEFAULT_KDF },
        `Made ${file.kind} key ${name ?? 'default'} (${path})\n  key id: ${file.keyid}\n  public: ${String((file.public['keyval'] as { public: string }).public)}` +
          (file.kind === 'derived' ? `\n  label:  ${label} (the same passphrase and label give the same key again)` : '')
      );
    });
  key
    .command('show [name]')
    .description('print a key\'s public key and key id')
    .action(async (name: string | undefined, _o: unknown, cmd: Command) => {
      const opts = globalOptions(cmd);
      const file = await loadKeyFile(keyPath(name ?? 'default'));
      const pub = publicKeyOf(file);
      output(opts, { name: name ?? 'default', kind: file.kind, keyid: file.keyid, public: pub.toJSON() }, `key id: ${file.keyid}\npublic: ${pub.publicValue} (${pub.keytype})`);
    });
  addDeveloperOptions(
    key
      .command('add <project>')
      .description("trust another key for a project (a new machine, another maintainer), signed with keys trusted now")
      .option('--public-key <file>', 'the new key: `bulwark key show NAME --json` output from the other machine (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
      .option('--remove <keyid>', 'stop trusting this key (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
      .option('--threshold <t>', 'signatures required from now on (default: unchanged)')
  ).action(async (projectName: string, o: DeveloperOptions & { publicKey: string[]; remove: string[]; threshold?: string }, cmd: Command) => {
    const opts = globalOptions(cmd);
    const project = normalizeProjectName(projectName);
    const ctx = await developerContext(o);
    const updater = await ctx.updater();
    // The keys trusted now, as the verified delegator says (recently-claimed or claimed).
    await updater.findTarget(`${project}/index.json`);
    const verified = verifiedProjectDelegation(updater, project);
    const delegator = verified?.delegations;
    const current = verified?.keys;
    if (!delegator || !current) throw new CliError(`${project} is not claimed (or its claim is not published yet)`, EXIT.failure, 'NOT_CLAIMED');
    const keys = new Map<string, unknown>();
    for (const id of current.keyids) {
      const k = delegator.keys.get(id);
      if (k && !o.remove.includes(id)) keys.set(id, k.toJSON());
    }
    for (const k of await readPublicKeyFiles(o.publicKey)) keys.set(k.keyId, k.toJSON());
    const threshold = o.threshold ? Number(o.threshold) : Math.min(current.threshold, keys.size);
    const doc = await signDelegationChange({ project, previous_keyids: [...current.keyids], keys: Object.fromEntries(keys), threshold }, await ctx.signers());
    const res = await fetch(`${ctx.indexUrl}/api/v1/projects/${encodeURIComponent(project)}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(doc),
    });
    const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string }; status?: string };
    if (!res.ok) throw new CliError(body.error?.message ?? `${res.status} ${res.statusText}`, EXIT.failure, body.error?.code ?? 'HTTP');
    output(opts, { ...body, keyids: [...keys.keys()], threshold }, `${project} now trusts ${keys.size} key(s), threshold ${threshold} (${body.status ?? ''})`);
  });
}
