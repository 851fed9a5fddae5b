// SPDX-License-Identifier: Apache-2.0
// What the developer commands (claim, upload) share: which index and token (flags, then
// ~/.pypirc as twine reads it, then the environment), the verified view of the index through
// TUF, and the developer's signing keys.
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { metadataDirFor, seedRoot } from '../client/client-cache.js';
import { Updater } from '../client/updater.js';
import { keyPath, loadKeyFile, unlockKey } from '../developer/developer-key.js';
import { indexBaseUrl, repositoryFromPypirc } from '../developer/pypirc.js';
import { Metadata, type Signer } from '../tuf/index.js';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { CliError, EXIT } from './context.js';
import { PASSPHRASE_OPTION, readPassphrase, type PassphraseOptions } from './passphrase.js';

export interface DeveloperOptions extends PassphraseOptions {
  repository?: string;
  repositoryUrl?: string;
  token?: string;
  root?: string;
  key: string[];
}

export function addDeveloperOptions(cmd: Command): Command {
  return cmd
    .option('-r, --repository <name>', 'the repository section of ~/.pypirc (default: bulwark, then pypi)')
    .option('--repository-url <url>', 'the upload URL, e.g. http://127.0.0.1:8080/legacy/ (overrides ~/.pypirc)')
    .option('--token <token>', 'API token (default: ~/.pypirc password, $BULWARK_TOKEN or $TWINE_PASSWORD)')
    .option('--root <file>', "the index's trusted root.json (default: cached, else fetched once from the index)")
    .option('--key <name>', 'developer key to sign with (repeatable, default "default")', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option(...PASSPHRASE_OPTION);
}

export interface DeveloperContext {
  indexUrl: string;
  token: string;
  updater(): Promise<Updater>;
  signers(): Promise<Signer[]>;
  keyNames: string[];
}

export async function developerContext(o: DeveloperOptions): Promise<DeveloperContext> {
  const fromPypirc = o.repositoryUrl
    ? undefined
    : ((await repositoryFromPypirc(o.repository ?? 'bulwark')) ?? (o.repository ? undefined : await repositoryFromPypirc('pypi')));
  const repositoryUrl = o.repositoryUrl ?? fromPypirc?.repository;
  if (!repositoryUrl) throw new CliError('which index? give --repository-url URL or a [bulwark] section in ~/.pypirc', EXIT.usage, 'USAGE');
  const token = o.token ?? fromPypirc?.password ?? process.env['BULWARK_TOKEN'] ?? process.env['TWINE_PASSWORD'];
  if (!token) throw new CliError('no API token: give --token, a password in ~/.pypirc, or $BULWARK_TOKEN', EXIT.usage, 'USAGE');
  const indexUrl = indexBaseUrl(repositoryUrl);
  const keyNames = o.key.length > 0 ? o.key : ['default'];
  return {
    indexUrl,
    token,
    keyNames,
    async updater() {
      const metadataDir = metadataDirFor(indexUrl);
      const haveRoot = await access(join(metadataDir, 'root.json')).then(() => true, () => false);
      if (!haveRoot && !o.root) {
        // Trust on first use, said out loud: the developer talks to this index anyway; clients pin the root.
        const res = await fetch(`${indexUrl}/metadata/1.root.json`).catch(() => undefined);
        if (!res?.ok) throw new CliError(`cannot fetch ${indexUrl}/metadata/1.root.json; pass --root`, EXIT.failure, 'NO_ROOT');
        const bytes = Buffer.from(await res.arrayBuffer());
        Metadata.parse(bytes, 'root');
        await mkdir(metadataDir, { recursive: true });
        await writeFileAtomic(join(metadataDir, 'root.json'), bytes);
        process.stderr.write(`bulwark: trusting ${indexUrl}'s root metadata on first use (pass --root to pin it instead)\n`);
      } else await seedRoot(metadataDir, o.root);
      const updater = new Updater({ metadataDir, indexUrl });
      await updater.refresh();
      return updater;
    },
    async signers() {
      const out: Signer[] = [];
      for (const name of keyNames) {
        const file = await loadKeyFile(keyPath(name));
        const passphrase = await readPassphrase(o, `Passphrase for key ${name}: `);
        out.push(await unlockKey(file, passphrase));
      }
      return out;
    },
  };
}
