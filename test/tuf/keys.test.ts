// Keys: the key id is SHA-256 of the canonical JSON of the public key as written (spec §4.2),
// and Ed25519 verification answers true or false, never throws.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalize } from '@tufjs/canonical-json';
import { BadMetadataError, EcdsaP256Signer, Ed25519Signer, isOfflineSigningKey, Key, keysFromJSON, keysToJSON, offlineSignerFromPem, UnsupportedKeyError } from '../../src/tuf/index.js';

// RFC 8032 §7.1, tests 1 and 2.
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

describe('key ids', () => {
  it('are sha256 of the canonical key JSON (computed here with @tufjs/canonical-json)', () => {
    for (let i = 0; i < 5; i++) {
      const signer = Ed25519Signer.generate();
      const json = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: signer.publicKey.publicValue } };
      assert.equal(signer.keyId, sha256Hex(canonicalize(json)));
      assert.equal(signer.publicKey.keyId, signer.keyId);
      assert.equal(Key.fromJSON(json).keyId, signer.keyId);
    }
  });

  it('match a key id securesystemslib computed (python-tuf test repository, with keyid_hash_algorithms)', () => {
    // From tuf-js repository_data/empty_target_repo (written by python-tuf): securesystemslib
    // hashed the key including its legacy keyid_hash_algorithms field.
    const key = Key.fromJSON({
      keytype: 'ed25519',
      scheme: 'ed25519',
      keyid_hash_algorithms: ['sha256', 'sha512'],
      keyval: { public: 'a7aad2445194325175dd4d5b727298788ef33ef87d8c7d7301439bb56cf76404' },
    });
    assert.equal(key.keyId, '2675485630597b75268b74f7d8d015c7d053922750b8dc4d59c65d4a6b56f980');
    // Without the legacy field the id is a different one: the id covers every field.
    assert.equal(Key.ed25519(key.publicValue).keyId, 'ae45961c264501d2e581a044d5101e09f7f164e9c58d614e14491a2028146d4f');
  });

  it('cover unknown fields, which a round trip keeps', () => {
    const json = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'ab'.repeat(32), extra: 'x' }, x_custom: { a: 1 } };
    const key = Key.fromJSON(json);
    assert.deepEqual(key.toJSON(), json);
    assert.equal(key.keyId, sha256Hex(canonicalize(json)));
  });

  it('keysFromJSON / keysToJSON round trip, and malformed keys are BadMetadataError', () => {
    const s = Ed25519Signer.generate();
    const obj = { [s.keyId]: s.publicKey.toJSON() };
    assert.deepEqual(keysToJSON(keysFromJSON(obj, 'keys')), obj);
    for (const bad of [null, [], { id: 'x' }, { id: { keytype: 'ed25519', scheme: 'ed25519' } }, { id: { keytype: 1, scheme: 'ed25519', keyval: { public: 'ab' } } }]) {
      assert.throws(() => keysFromJSON(bad, 'keys'), BadMetadataError);
    }
  });
});

describe('Ed25519', () => {
  for (const [i, v] of RFC8032.entries()) {
    it(`matches RFC 8032 test ${i + 1}`, () => {
      const signer = Ed25519Signer.fromSeed(Buffer.from(v.seed, 'hex'));
      assert.equal(signer.publicKey.publicValue, v.publicKey);
      const message = Buffer.from(v.message, 'hex');
      assert.equal(signer.signSync(message).sig, v.signature);
      assert.equal(Key.ed25519(v.publicKey).verify(message, v.signature), true);
    });
  }

  it('generates many keys while the heap churns without deadlocking (Node 20: export under a lock met a key-generation job in GC)', () => {
    // generateKeyPairSync + export({format:'jwk'}) deadlocked inside Node in about 1 of 30 runs of
    // the trusted-metadata-set tests (CI hung 20 minutes). A deadlock cannot be caught in-process,
    // so a child process generates keys under allocation pressure (a 1 MiB young generation: many
    // collections) and must finish in time; the old code hung here in 5 runs of 5.
    const signerModule = new URL('../../src/tuf/signer.js', import.meta.url).href;
    const script = `
      const { Ed25519Signer } = await import(${JSON.stringify(signerModule)});
      const junk = [];
      for (let i = 0; i < 20000; i++) {
        junk.push(Ed25519Signer.generate().keyId + 'x'.repeat(2000));
        if (junk.length > 500) junk.length = 0;
      }
      console.log('generated');`;
    const child = spawnSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.error, undefined, 'key generation hung (killed after 60 s)');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'generated');
  });

  it('round-trips a signer through PKCS#8 PEM', async () => {
    const signer = Ed25519Signer.generate();
    const again = Ed25519Signer.fromPkcs8Pem(signer.exportPkcs8Pem());
    assert.equal(again.keyId, signer.keyId);
    const sig = await again.sign(Buffer.from('x'));
    assert.equal(signer.publicKey.verify(Buffer.from('x'), sig.sig), true);
  });

  const v = RFC8032[1] as (typeof RFC8032)[number];
  const key = Key.ed25519(v.publicKey);
  const message = Buffer.from(v.message, 'hex');
  const flip = (hex: string, at: number): string => hex.slice(0, at) + ((Number.parseInt(hex[at] as string, 16) ^ 1).toString(16)) + hex.slice(at + 1);
  const falseCases: [string, () => boolean][] = [
    ['another message', () => key.verify(Buffer.from('73', 'hex'), v.signature)],
    ['a flipped bit in R', () => key.verify(message, flip(v.signature, 0))],
    ['a flipped bit in S', () => key.verify(message, flip(v.signature, 100))],
    ['another key', () => Key.ed25519(RFC8032[0]?.publicKey as string).verify(message, v.signature)],
    ['an odd trailing hex digit (Buffer.from would drop it)', () => key.verify(message, `${v.signature}0`)],
    ['an extra byte', () => key.verify(message, `${v.signature}00`)],
    ['a truncated signature', () => key.verify(message, v.signature.slice(0, 126))],
    ['non-hex characters', () => key.verify(message, `${v.signature.slice(0, 126)}zz`)],
    ['an empty signature', () => key.verify(message, '')],
    ['whitespace', () => key.verify(message, ` ${v.signature}`)],
    ['a key of another type', () => new Key('rsa', 'rsassa-pss-sha256', v.publicKey).verify(message, v.signature)],
    ['a mismatched scheme', () => new Key('ed25519', 'ecdsa-sha2-nistp256', v.publicKey).verify(message, v.signature)],
    ['a public key of the wrong length', () => Key.ed25519(v.publicKey.slice(2)).verify(message, v.signature)],
    ['a non-hex public key', () => Key.ed25519(`zz${v.publicKey.slice(2)}`).verify(message, v.signature)],
    ['an all-zero signature', () => key.verify(message, '0'.repeat(128))],
    ['an all-ff signature', () => key.verify(message, 'f'.repeat(128))],
  ];
  for (const [name, run] of falseCases) {
    it(`is false, not a throw, for ${name}`, () => {
      let result: boolean | undefined;
      assert.doesNotThrow(() => {
        result = run();
      });
      assert.equal(result, false);
    });
  }

  it('accepts upper-case hex, as securesystemslib does (bytes.fromhex)', () => {
    assert.equal(key.verify(message, v.signature.toUpperCase()), true);
  });
});

describe('offline signers', () => {
  const pem = (type: 'ec' | 'ed25519' | 'rsa', curve?: string, format: 'pkcs8' | 'sec1' = 'pkcs8') =>
    generateKeyPairSync(type as 'ec', { namedCurve: curve ?? 'P-256', modulusLength: 2048 } as { namedCurve: string }).privateKey.export({ format: 'pem', type: format }).toString();

  it('sign with ECDSA P-256 (PKCS#8 or SEC 1 PEM) and Ed25519 keys; the signatures verify as TUF keys', async () => {
    for (const key of [pem('ec'), pem('ec', 'P-256', 'sec1'), pem('ed25519')]) {
      const signer = offlineSignerFromPem(key);
      assert.ok(isOfflineSigningKey(signer.publicKey));
      const again = Key.fromJSON(signer.publicKey.toJSON());
      assert.equal(again.keyId, signer.keyId);
      const sig = await signer.sign(Buffer.from('data'));
      assert.equal(sig.keyid, signer.keyId);
      assert.equal(again.verify(Buffer.from('data'), sig.sig), true);
      assert.equal(again.verify(Buffer.from('datb'), sig.sig), false);
    }
    const ecdsa = offlineSignerFromPem(pem('ec'));
    assert.ok(ecdsa instanceof EcdsaP256Signer);
    assert.deepEqual([ecdsa.publicKey.keytype, ecdsa.publicKey.scheme], ['ecdsa', 'ecdsa-sha2-nistp256']);
    assert.match(ecdsa.publicKey.publicValue, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
  });

  it('refuse other keys and non-keys with an UnsupportedKeyError that names the key type', () => {
    const cases: [string, RegExp][] = [
      [pem('rsa'), /a rsa key: offline roles are signed with Ed25519 or ECDSA P-256/],
      [pem('ec', 'P-384'), /secp384r1/],
      ['not a key', /not an unencrypted PEM private key/],
      [generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(), /not an unencrypted PEM private key/],
    ];
    for (const [text, reason] of cases) assert.throws(() => offlineSignerFromPem(text), (e: unknown) => e instanceof UnsupportedKeyError && reason.test(e.message));
  });

  it('public keys from PEM: Ed25519 and ECDSA P-256 become TUF keys, anything else is refused', () => {
    const ed = Ed25519Signer.generate();
    const edPem = createPublicKey(createPrivateKey(ed.exportPkcs8Pem())).export({ format: 'pem', type: 'spki' }).toString();
    assert.equal(Key.fromPublicKeyPem(edPem).keyId, ed.keyId);
    const ec = EcdsaP256Signer.generate();
    assert.equal(Key.fromPublicKeyPem(ec.publicKey.publicValue).keyId, ec.keyId);
    const rsaPub = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assert.throws(() => Key.fromPublicKeyPem(rsaPub), /a rsa key/);
    assert.equal(isOfflineSigningKey(Key.ed25519('zz')), false);
  });
});

describe('signing large data off the event loop', () => {
  it('Ed25519 and ECDSA P-256 signatures of 2 MiB (made on the thread pool) verify, and equal the synchronous ones where deterministic', async () => {
    const data = Buffer.alloc(2 * 1024 * 1024, 'snapshot ');
    const ed = Ed25519Signer.generate();
    const edSig = await ed.sign(data);
    assert.ok(ed.publicKey.verify(data, edSig.sig), 'Ed25519 verifies');
    assert.equal(edSig.sig, ed.signSync(data).sig, 'Ed25519 is deterministic: the same signature');
    assert.ok(!ed.publicKey.verify(Buffer.concat([data, Buffer.from('x')]), edSig.sig), 'and only for these bytes');
    const ec = EcdsaP256Signer.generate();
    const ecSig = await ec.sign(data);
    assert.equal(ecSig.keyid, ec.keyId);
    assert.ok(ec.publicKey.verify(data, ecSig.sig), 'ECDSA verifies');
  });
});
