// SPDX-License-Identifier: Apache-2.0
// Developer keys (PEP 480 §Key Management), made in seconds and never copied between machines.
// Two kinds, both Ed25519:
//  - derived: the private key is derived from a passphrase and a per-key label with scrypt
//    (the idea of miniLock, with memory-hard parameters: N=2^17, r=8, p=1, 128 MiB), so the
//    key file holds only the public key; give each machine its own label and it gets its own key.
//  - random: a random key, stored encrypted (scrypt-derived key, AES-256-GCM).
// Parameters are stored in the key file, so they can be raised later without breaking old keys.
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Ed25519Signer, Key } from '../tuf/index.js';
import { writeFileAtomic } from '../storage/atomic-write.js';

const scrypt = (password: string | Buffer, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
}

/** 128 MiB of memory per derivation: about half a second on a laptop, costly to brute-force. */
export const DEFAULT_KDF: KdfParams = { name: 'scrypt', N: 2 ** 17, r: 8, p: 1 };

interface KeyFileCommon {
  format: 'bulwark-developer-key';
  version: 1;
  keyid: string;
  public: ReturnType<Key['toJSON']>;
  kdf: KdfParams;
  createdAt: string;
}
export type DeveloperKeyFile =
  | (KeyFileCommon & { kind: 'derived'; label: string })
  | (KeyFileCommon & { kind: 'encrypted'; salt: string; nonce: string; ciphertext: string; tag: string });

export class DeveloperKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeveloperKeyError';
  }
}

export function keysDir(): string {
  return process.env['BULWARK_KEYS_DIR'] ?? join(process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'bulwark', 'keys');
}

export function keyPath(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || name.startsWith('.')) throw new DeveloperKeyError(`bad key name ${JSON.stringify(name)}: use letters, digits, . _ -`);
  return join(keysDir(), `${name}.json`);
}

async function kdf(passphrase: string, salt: Buffer, params: KdfParams): Promise<Buffer> {
  if (passphrase.length < 8) throw new DeveloperKeyError('the passphrase must have at least 8 characters');
  return scrypt(passphrase.normalize('NFKC'), salt, 32, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 });
}

const derivedSalt = (label: string) => Buffer.from(`bulwark-developer-key-v1\0${label}`, 'utf8');

export async function newDerivedKey(label: string, passphrase: string, params = DEFAULT_KDF): Promise<{ file: DeveloperKeyFile; signer: Ed25519Signer }> {
  if (label.trim() === '') throw new DeveloperKeyError('a derived key needs a label (for example you@this-machine)');
  const signer = Ed25519Signer.fromSeed(await kdf(passphrase, derivedSalt(label), params));
  const file: DeveloperKeyFile = {
    format: 'bulwark-developer-key',
    version: 1,
    kind: 'derived',
    label,
    keyid: signer.keyId,
    public: signer.publicKey.toJSON(),
    kdf: params,
    createdAt: new Date().toISOString(),
  };
  return { file, signer };
}

export async function newRandomKey(passphrase: string, params = DEFAULT_KDF): Promise<{ file: DeveloperKeyFile; signer: Ed25519Signer }> {
  const seed = randomBytes(32);
  const signer = Ed25519Signer.fromSeed(seed);
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await kdf(passphrase, salt, params), nonce);
  cipher.setAAD(Buffer.from(signer.keyId));
  const ciphertext = Buffer.concat([cipher.update(seed), cipher.final()]);
  const file: DeveloperKeyFile = {
    format: 'bulwark-developer-key',
    version: 1,
    kind: 'encrypted',
    keyid: signer.keyId,
    public: signer.publicKey.toJSON(),
    kdf: params,
    salt: salt.toString('hex'),
    nonce: nonce.toString('hex'),
    ciphertext: ciphertext.toString('hex'),
    tag: cipher.getAuthTag().toString('hex'),
    createdAt: new Date().toISOString(),
  };
  return { file, signer };
}

export async function saveKeyFile(path: string, file: DeveloperKeyFile): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
}

export async function loadKeyFile(path: string): Promise<DeveloperKeyFile> {
  let file: DeveloperKeyFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as DeveloperKeyFile;
  } catch (e) {
    throw new DeveloperKeyError(`cannot read key file ${path}: ${(e as Error).message}. Make one with \`bulwark key new\`.`);
  }
  if (file.format !== 'bulwark-developer-key' || file.version !== 1) throw new DeveloperKeyError(`${path} is not a Bulwark developer key file`);
  return file;
}

export function publicKeyOf(file: DeveloperKeyFile): Key {
  const key = Key.fromJSON(file.public, 'public');
  if (key.keyId !== file.keyid) throw new DeveloperKeyError('the key file is damaged: its key id does not match its public key');
  return key;
}

/** Recovers the signer; a wrong passphrase is detected (the public key would differ). */
export async function unlockKey(file: DeveloperKeyFile, passphrase: string): Promise<Ed25519Signer> {
  let signer: Ed25519Signer;
  if (file.kind === 'derived') {
    signer = Ed25519Signer.fromSeed(await kdf(passphrase, derivedSalt(file.label), file.kdf));
  } else {
    const decipher = createDecipheriv('aes-256-gcm', await kdf(passphrase, Buffer.from(file.salt, 'hex'), file.kdf), Buffer.from(file.nonce, 'hex'));
    decipher.setAAD(Buffer.from(file.keyid));
    decipher.setAuthTag(Buffer.from(file.tag, 'hex'));
    try {
      signer = Ed25519Signer.fromSeed(Buffer.concat([decipher.update(Buffer.from(file.ciphertext, 'hex')), decipher.final()]));
    } catch {
      throw new DeveloperKeyError('wrong passphrase for this key');
    }
  }
  if (signer.keyId !== file.keyid) throw new DeveloperKeyError('wrong passphrase for this key');
  return signer;
}
