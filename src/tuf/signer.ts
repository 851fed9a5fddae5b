// SPDX-License-Identifier: Apache-2.0
// The signer port: anything that can sign bytes with one key (a key in memory today; a KMS or
// HSM later). Private key material never leaves the object that holds it. Online roles and
// developer keys are Ed25519; offline roles may also be ECDSA P-256 (hardware tokens).
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { Key } from './keys.js';

export interface Signature {
  keyid: string;
  sig: string; // hex
}

export interface Signer {
  readonly publicKey: Key;
  readonly keyId: string;
  sign(data: Uint8Array): Promise<Signature>;
}

/**
 * Data at least this long is signed on libuv's thread pool (crypto.sign with a callback), not on
 * the event loop: Ed25519 hashes its message twice, ≈ 90 ms for a 30 MB classic snapshot at
 * PyPI's size, which would stall every request meanwhile. Below it the callback costs more
 * than it saves.
 */
const ASYNC_SIGN_BYTES = 1024 * 1024;

/** crypto.sign off the event loop. */
function signOnThreadPool(algorithm: string | null, data: Uint8Array, key: KeyObject | { key: KeyObject; dsaEncoding: 'der' }): Promise<Buffer> {
  return new Promise((resolve, reject) => cryptoSign(algorithm, data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}

// DER prefix of an Ed25519 PKCS#8 private key: what precedes the 32-byte seed.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class Ed25519Signer implements Signer {
  readonly publicKey: Key;
  readonly keyId: string;

  private constructor(private readonly privateKey: KeyObject) {
    const jwk = privateKey.export({ format: 'jwk' });
    if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 private key');
    this.publicKey = Key.ed25519(Buffer.from(jwk.x, 'base64url').toString('hex'));
    this.keyId = this.publicKey.keyId;
  }

  static generate(): Ed25519Signer {
    // Node 20 deadlocks when a KeyObject that generateKeyPairSync returned is exported while the
    // garbage collector finalizes its generation job: the job's destructor waits for the lock the
    // export holds (seen as a test file hanging in about 1 run of 30). So the job returns encoded
    // keys only, and the key object is imported from them, with no job behind it.
    const pair = generateKeyPairSync('ed25519', {
      privateKeyEncoding: { format: 'der', type: 'pkcs8' },
      publicKeyEncoding: { format: 'der', type: 'spki' },
    });
    if (pair.privateKey.length !== 48 || !pair.privateKey.subarray(0, 16).equals(ED25519_PKCS8_PREFIX)) {
      throw new Error('unexpected Ed25519 PKCS#8 encoding from node:crypto');
    }
    const jwk = {
      kty: 'OKP',
      crv: 'Ed25519',
      d: pair.privateKey.subarray(16).toString('base64url'),
      x: pair.publicKey.subarray(-32).toString('base64url'),
    };
    // JWK import: the DER decoder of OpenSSL 3 costs ~0.5 ms a key, this ~0.06 ms.
    return new Ed25519Signer(createPrivateKey({ key: jwk, format: 'jwk' }));
  }

  /** From a 32-byte seed (for instance one derived from a passphrase). */
  static fromSeed(seed: Uint8Array): Ed25519Signer {
    if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
    const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
    return new Ed25519Signer(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  }

  static fromPkcs8Pem(pem: string): Ed25519Signer {
    return new Ed25519Signer(createPrivateKey({ key: pem, format: 'pem' }));
  }

  /** The private key as unencrypted PKCS#8 PEM: for the demo repository's key files only. */
  exportPkcs8Pem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  signSync(data: Uint8Array): Signature {
    return { keyid: this.keyId, sig: cryptoSign(null, data, this.privateKey).toString('hex') };
  }

  async sign(data: Uint8Array): Promise<Signature> {
    if (data.length < ASYNC_SIGN_BYTES) return this.signSync(data);
    return { keyid: this.keyId, sig: (await signOnThreadPool(null, data, this.privateKey)).toString('hex') };
  }
}

/**
 * An ECDSA P-256 key (scheme ecdsa-sha2-nistp256): what most hardware tokens sign with, for the
 * offline roles. Signatures are DER-encoded (r, s), as securesystemslib makes them.
 */
export class EcdsaP256Signer implements Signer {
  readonly publicKey: Key;
  readonly keyId: string;

  private constructor(private readonly privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('not an ECDSA P-256 private key');
    }
    this.publicKey = Key.ecdsaP256(createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString());
    this.keyId = this.publicKey.keyId;
  }

  static generate(): EcdsaP256Signer {
    // Encoded output only, for the reason Ed25519Signer.generate gives.
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { format: 'pem', type: 'pkcs8' }, publicKeyEncoding: { format: 'pem', type: 'spki' } });
    return new EcdsaP256Signer(createPrivateKey(pair.privateKey));
  }

  /** PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY") PEM, unencrypted. */
  static fromPem(pem: string): EcdsaP256Signer {
    return new EcdsaP256Signer(createPrivateKey({ key: pem, format: 'pem' }));
  }

  exportPkcs8Pem(): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  signSync(data: Uint8Array): Signature {
    return { keyid: this.keyId, sig: cryptoSign('sha256', data, { key: this.privateKey, dsaEncoding: 'der' }).toString('hex') };
  }

  async sign(data: Uint8Array): Promise<Signature> {
    if (data.length < ASYNC_SIGN_BYTES) return this.signSync(data);
    const sig = await signOnThreadPool('sha256', data, { key: this.privateKey, dsaEncoding: 'der' });
    return { keyid: this.keyId, sig: sig.toString('hex') };
  }
}

/** A private key file that is neither an Ed25519 nor an ECDSA P-256 key. */
export class UnsupportedKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnsupportedKeyError';
  }
}

/**
 * The signer for an offline key file: Ed25519 or ECDSA P-256, told apart by the key itself.
 * @throws UnsupportedKeyError for anything else, or a file that is no private key
 */
export function offlineSignerFromPem(pem: string): Signer {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new UnsupportedKeyError('not an unencrypted PEM private key', { cause: e });
  }
  if (key.asymmetricKeyType === 'ed25519') return Ed25519Signer.fromPkcs8Pem(pem);
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return EcdsaP256Signer.fromPem(pem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  throw new UnsupportedKeyError(`a ${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''} key: offline roles are signed with Ed25519 or ECDSA P-256 keys`);
}

/** Whether `key` is one Bulwark's offline signers make signatures for: Ed25519 or ECDSA P-256. */
export function isOfflineSigningKey(key: Key): boolean {
  const ed25519 = key.keytype === 'ed25519' && key.scheme === 'ed25519';
  const ecdsa = (key.keytype === 'ecdsa' || key.keytype === 'ecdsa-sha2-nistp256') && key.scheme === 'ecdsa-sha2-nistp256';
  return (ed25519 || ecdsa) && key.isVerifiable;
}
