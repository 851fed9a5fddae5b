// SPDX-License-Identifier: Apache-2.0
// Public keys handed between people as files: the output of `bulwark key show --json`
// ({"keyid", "public": {…}}) or a bare TUF key object.
import { readFile } from 'node:fs/promises';
import { Key } from '../tuf/index.js';
import { CliError, EXIT } from './context.js';

export async function readPublicKeyFiles(files: readonly string[]): Promise<Key[]> {
  const keys: Key[] = [];
  for (const f of files) {
    try {
      const shown = JSON.parse(await readFile(f, 'utf8')) as { public?: unknown };
      keys.push(Key.fromJSON(shown.public ?? shown, f));
    } catch (e) {
      throw new CliError(`${f} is not a public key file (bulwark key show --json): ${(e as Error).message}`, EXIT.usage, 'USAGE');
    }
  }
  return keys;
}
