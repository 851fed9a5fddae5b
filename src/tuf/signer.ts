// SPDX-License-Identifier: Apache-2.0
// The signer port: anything that can sign bytes with one key (a key in memory today; a KMS or
// HSM later). Private key material never leaves the object that holds it.
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
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

  sign(data: Uint8Array): Promise<Signature> {
    return Promise.resolve(this.signSync(data));
  }
}
