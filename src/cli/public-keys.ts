// SPDX-License-Identifier: Apache-2.0
// Public keys of offline key holders handed between people as files: the output of
// `bulwark key show --json` ({"keyid", "public": {…}}), a bare TUF key object, or a PEM public
// key (`openssl pkey -pubout`, or what a hardware token exports). Ed25519 or ECDSA P-256.
import { readFile } from 'node:fs/promises';
import { isOfflineSigningKey, Key } from '../tuf/index.js';
import { CliError, EXIT } from './context.js';

function parsePublicKey(text: string, file: string): Key {
  if (text.trimStart().startsWith('-----BEGIN')) return Key.fromPublicKeyPem(text);
  const shown = JSON.parse(text) as { public?: unknown };
  return Key.fromJSON(shown.public ?? shown, file);
}

export async function readPublicKeyFiles(files: readonly string[]): Promise<Key[]> {
  const keys: Key[] = [];
  for (const f of files) {
    let key: Key;
    try {
      key = parsePublicKey(await readFile(f, 'utf8'), f);
    } catch (e) {
      throw new CliError(`${f} is not a public key file (bulwark key show --json, or a PEM public key): ${(e as Error).message}`, EXIT.usage, 'USAGE');
    }
    if (!isOfflineSigningKey(key)) {
      throw new CliError(`${f}: a ${key.keytype}/${key.scheme} key; offline roles are signed with Ed25519 or ECDSA P-256 (ecdsa-sha2-nistp256) keys`, EXIT.usage, 'USAGE');
    }
    keys.push(key);
  }
  return keys;
}
