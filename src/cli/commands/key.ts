// SPDX-License-Identifier: Apache-2.0
// `bulwark key new [NAME]` and `bulwark key show [NAME]`: developer keys (PEP 480).
import { access } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_KDF, keyPath, loadKeyFile, newDerivedKey, newRandomKey, publicKeyOf, saveKeyFile } from '../../developer/developer-key.js';
import { CliError, EXIT, globalOptions, output } from '../context.js';
import { PASSPHRASE_OPTION, readPassphrase, type PassphraseOptions } from '../passphrase.js';

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
}
