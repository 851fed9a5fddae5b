// SPDX-License-Identifier: Apache-2.0
// Key sources: where the service finds its online signing keys. A source is a URI-like string,
// `file:<path>` (PKCS#8 PEM, relative to the data directory) or `env:<VAR>` (PEM in the
// environment); KMS or HSM sources can be added here without touching the callers.
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Ed25519Signer, type Signer } from '../tuf/index.js';
import { writeFileAtomic } from '../storage/atomic-write.js';

export class KeySourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeySourceError';
  }
}

export async function loadSigner(source: string, dataDir: string): Promise<Signer> {
  let pem: string;
  if (source.startsWith('file:')) {
    const path = source.slice('file:'.length);
    const full = isAbsolute(path) ? path : join(dataDir, path);
    try {
      pem = await readFile(full, 'utf8');
    } catch (e) {
      throw new KeySourceError(`cannot read key file ${full}: ${(e as Error).message}`);
    }
  } else if (source.startsWith('env:')) {
    const name = source.slice('env:'.length);
    const value = process.env[name];
    if (!value) throw new KeySourceError(`environment variable ${name} (a PEM private key) is not set`);
    pem = value;
  } else {
    throw new KeySourceError(`unknown key source "${source}" (use file:PATH or env:VAR)`);
  }
  try {
    return Ed25519Signer.fromPkcs8Pem(pem);
  } catch (e) {
    // Never echo the key material itself.
    throw new KeySourceError(`key source ${source} does not hold an Ed25519 PKCS#8 private key (${(e as Error).name})`);
  }
}

/** Writes a private key readable by its owner only. */
export async function writeKeyFile(path: string, signer: Ed25519Signer): Promise<void> {
  await writeFileAtomic(path, signer.exportPkcs8Pem(), { mode: 0o600 });
}

/**
 * The online signers whose keys the published metadata trusts. A role may have a second key
 * file, `keys/online/<role>.next.pem`, made for a rotation: whichever file holds a trusted key
 * is used, so a crash anywhere in a rotation ceremony leaves the index able to sign.
 * @throws KeySourceError when no key of a role is trusted
 */
export async function loadTrustedSigners<R extends string>(
  sources: Record<R, string>,
  dataDir: string,
  trusted: Record<R, readonly string[]>
): Promise<Record<R, Signer>> {
  const out = {} as Record<R, Signer>;
  for (const role of Object.keys(sources) as R[]) {
    const candidates = [sources[role], `file:keys/online/${role}.next.pem`];
    let chosen: Signer | undefined;
    for (const c of candidates) {
      const signer = await loadSigner(c, dataDir).catch((e: unknown) => {
        if (c === sources[role]) throw e;
        return undefined; // no rotation in progress
      });
      if (signer && trusted[role].includes(signer.keyId)) {
        chosen = signer;
        break;
      }
    }
    if (!chosen) throw new KeySourceError(`no key for the ${role} role matches the published metadata (${trusted[role].join(', ')})`);
    out[role] = chosen;
  }
  return out;
}
