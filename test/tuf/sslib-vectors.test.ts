// Signature verification against vectors made at test time by an independent implementation,
// Debian's python3-securesystemslib (test/fixtures/sslib_tuf.py): a key of each type and scheme
// of the TUF specification, in exactly the format securesystemslib writes (hex Ed25519, PEM
// ECDSA P-256 with DER signatures, PEM RSA with PSS signatures of any salt length). Each vector
// must verify, and must stop verifying with one byte of the signature or of the data changed.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BadMetadataError, EcdsaP256Signer, Ed25519Signer, Key, Metadata, Root, UnsignedMetadataError, verifyThreshold, type Signature } from '../../src/tuf/index.js';
import { Sslib, type SslibVector } from '../helpers/sslib.js';

function changeByte(hex: string, at: number): string {
  const bytes = Buffer.from(hex, 'hex');
  bytes[at] = (bytes[at] as number) ^ 0x01;
  return bytes.toString('hex');
}

describe('securesystemslib vectors', () => {
  let sslib: Sslib;
  let vectors: SslibVector[];
  before(async () => {
    sslib = Sslib.start();
    vectors = await sslib.vectors();
  });
  after(() => sslib.close());

  it('cover every key type and scheme of the specification', () => {
    const kinds = new Set(vectors.map((v) => `${v.key.keytype}/${v.key.scheme}`));
    for (const k of ['ed25519/ed25519', 'ecdsa/ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256/ecdsa-sha2-nistp256', 'rsa/rsassa-pss-sha256']) assert.ok(kinds.has(k), k);
  });

  it('verify, each with the key id securesystemslib computed', () => {
    for (const v of vectors) {
      const key = Key.fromJSON(v.key, v.name);
      assert.equal(key.keyId, v.keyid, `${v.name}: key id (canonical JSON of a PEM with newlines)`);
      assert.equal(key.isVerifiable, true, v.name);
      assert.equal(key.verify(Buffer.from(v.data, 'hex'), v.sig), true, v.name);
      assert.equal(key.verify(Buffer.from(v.data, 'hex'), v.sig.toUpperCase()), true, `${v.name}: upper-case hex`);
    }
  });

  it('fail with one byte of the signature changed (first, middle, last)', () => {
    for (const v of vectors) {
      const key = Key.fromJSON(v.key, v.name);
      const n = v.sig.length / 2;
      for (const at of [0, Math.floor(n / 2), n - 1]) assert.equal(key.verify(Buffer.from(v.data, 'hex'), changeByte(v.sig, at)), false, `${v.name}, byte ${at}`);
    }
  });

  it('fail with one byte of the signed bytes changed (first, middle, last)', () => {
    for (const v of vectors) {
      const key = Key.fromJSON(v.key, v.name);
      const n = v.data.length / 2;
      for (const at of [0, Math.floor(n / 2), n - 1]) assert.equal(key.verify(Buffer.from(changeByte(v.data, at), 'hex'), v.sig), false, `${v.name}, byte ${at}`);
    }
  });

  it('fail with another vector’s key, and with a signature cut short or extended', () => {
    for (const v of vectors) {
      const others = vectors.filter((o) => o.key.keyval.public !== v.key.keyval.public);
      const other = (others.find((o) => o.key.scheme === v.key.scheme) ?? others[0]) as SslibVector;
      const data = Buffer.from(v.data, 'hex');
      assert.equal(Key.fromJSON(other.key).verify(data, v.sig), false, `${v.name} with ${other.name}'s key`);
      const key = Key.fromJSON(v.key);
      assert.equal(key.verify(data, v.sig.slice(0, -2)), false, `${v.name} cut`);
      assert.equal(key.verify(data, `${v.sig}00`), false, `${v.name} extended`);
      assert.equal(key.verify(data, `${v.sig}0`), false, `${v.name} odd hex`);
    }
  });

  it('count toward a threshold: one signature per key type meets 3, and a mixed 3-of-3 fails with one changed', () => {
    const data = Buffer.from((vectors[0] as SslibVector).data, 'hex');
    const chosen = ['ed25519', 'ecdsa', 'rsa'].map((n) => vectors.find((v) => v.name === n) as SslibVector);
    const keys = new Map(chosen.map((v) => [v.keyid, Key.fromJSON(v.key)]));
    const sigs: Signature[] = chosen.map((v) => ({ keyid: v.keyid, sig: v.sig }));
    const roleKeys = { keyids: chosen.map((v) => v.keyid), threshold: 3 };
    assert.doesNotThrow(() => verifyThreshold('root', roleKeys, keys, data, sigs));
    const broken = sigs.map((s, i) => (i === 1 ? { ...s, sig: changeByte(s.sig, 10) } : s));
    assert.throws(() => verifyThreshold('root', roleKeys, keys, data, broken), (e: unknown) => e instanceof UnsignedMetadataError && e.valid === 2);
     // A key of a type this client does not know, listed and "signing": ignored, not fatal, and
    // no help toward a threshold of 4.
    const unknown = Key.fromJSON({ keytype: 'sigstore-oidc', scheme: 'Fulcio', keyval: { public: '', identity: 'a@b' } });
    keys.set(unknown.keyId, unknown);
    const withUnknown = { keyids: [...roleKeys.keyids, unknown.keyId], threshold: 4 };
    assert.throws(
      () => verifyThreshold('root', withUnknown, keys, data, [...sigs, { keyid: unknown.keyId, sig: 'ab'.repeat(64) }]),
      (e: unknown) => e instanceof UnsignedMetadataError && e.valid === 3
    );
  });

  it('count a public key listed under two key ids once (a second spelling of its type, or an extra field)', () => {
    const v = vectors.find((x) => x.name === 'ecdsa') as SslibVector;
    const data = Buffer.from(v.data, 'hex');
    const twin = Key.fromJSON({ ...v.key, 'x-tuf-on-ci-keyowner': '@twin' });
    const legacy = Key.fromJSON({ ...v.key, keytype: 'ecdsa-sha2-nistp256' });
    const keys = new Map([[v.keyid, Key.fromJSON(v.key)], [twin.keyId, twin], [legacy.keyId, legacy]]);
    assert.equal(keys.size, 3, 'three key ids');
    const sigs = [...keys.keys()].map((keyid) => ({ keyid, sig: v.sig }));
    assert.throws(
      () => verifyThreshold('snapshot', { keyids: [...keys.keys()], threshold: 2 }, keys, data, sigs),
      (e: unknown) => e instanceof UnsignedMetadataError && e.valid === 1
    );
  });
});

describe('Bulwark-signed metadata read by securesystemslib', () => {
  let sslib: Sslib;
  before(() => {
    sslib = Sslib.start();
  });
  after(() => sslib.close());

  it('a root with ECDSA P-256 and Ed25519 keys, signed by both: json.loads reads the file, securesystemslib verifies both signatures', async () => {
    const ecdsa = EcdsaP256Signer.generate();
    const ed = Ed25519Signer.generate();
    const ids = [ecdsa.keyId, ed.keyId];
    const roles = new Map((['root', 'timestamp', 'snapshot', 'targets'] as const).map((r) => [r, { keyids: ids, threshold: 2 }]));
    const root = new Root({ version: 1, expires: new Date('2031-01-01T00:00:00Z'), keys: new Map([[ecdsa.keyId, ecdsa.publicKey], [ed.keyId, ed.publicKey]]), roles, consistentSnapshot: true });
    const md = await Metadata.sign(root, [ecdsa, ed]);
    const text = md.bytes.toString('utf8');
    assert.doesNotThrow(() => JSON.parse(text), 'the file is JSON (the PEM newlines escaped)');
    const keys = Object.fromEntries([ecdsa, ed].map((s) => [s.keyId, s.publicKey.toJSON()]));
    assert.deepEqual((await sslib.verifyFile(text, keys)).sort(), [...ids].sort());
    // And back through Bulwark's parser: the signatures cover the canonical form it rebuilds.
    const again = Metadata.parse(md.bytes, 'root');
    again.verifyRole('root', { keyids: ids, threshold: 2 }, again.signed.keys);
    assert.deepEqual(again.signedBytes, md.signedBytes);
  });
});

describe('keys this client cannot use', () => {
  const ecPem = (curve: string) => generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const p256 = ecPem('P-256');

  it('of unknown types or schemes are kept, never verify, and are not an error', () => {
    for (const [keytype, scheme, pub] of [
      ['sigstore-oidc', 'Fulcio', '{"identity":"a@b","issuer":"https://x"}'],
      ['ecdsa', 'ecdsa-sha2-nistp521', p256],
      ['rsa', 'rsa-pkcs1v15-sha256', rsaPem],
      ['ed25519', 'rsassa-pss-sha256', rsaPem], // a known scheme under the wrong key type
      ['x-unknown', 'ed25519', 'ab'.repeat(32)],
    ] as const) {
      const key = Key.fromJSON({ keytype, scheme, keyval: { public: pub } });
      assert.equal(key.isVerifiable, false, `${keytype}/${scheme}`);
      assert.equal(key.verify(Buffer.from('x'), 'ab'.repeat(64)), false);
      assert.deepEqual(key.toJSON(), { keytype, scheme, keyval: { public: pub } });
    }
  });

  it('of a known scheme with malformed material are a BadMetadataError naming the key', () => {
    const privatePem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const bodyOf = (pem: string) => pem.split('\n').slice(1, -2).join('\n');
    const cases: [string, string, string, RegExp][] = [
      ['ecdsa', 'ecdsa-sha2-nistp256', 'not a pem', /PUBLIC KEY/],
      ['ecdsa', 'ecdsa-sha2-nistp256', rsaPem, /P-256/],
      ['ecdsa', 'ecdsa-sha2-nistp256', ecPem('P-384'), /P-256/],
      ['ecdsa', 'ecdsa-sha2-nistp256', privatePem, /PUBLIC KEY/],
      ['ecdsa', 'ecdsa-sha2-nistp256', `junk\n${p256}`, /PUBLIC KEY/],
      ['ecdsa', 'ecdsa-sha2-nistp256', p256.replace(bodyOf(p256), `${bodyOf(p256)}AAAA`), /bytes after|base64|malformed/],
      ['ecdsa', 'ecdsa-sha2-nistp256', p256.replace(bodyOf(p256), bodyOf(p256).replace(/[A-Z]/, '*')), /PUBLIC KEY|base64/],
      ['rsa', 'rsassa-pss-sha256', p256, /RSA/],
      ['rsa', 'rsassa-pss-sha256', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', /malformed/],
      ['ed25519', 'ed25519', 'ab'.repeat(31), /64 hex/],
      ['ed25519', 'ed25519', p256, /64 hex/],
    ];
    for (const [keytype, scheme, pub, reason] of cases) {
      assert.throws(
        () => Key.fromJSON({ keytype, scheme, keyval: { public: pub } }, 'root.keys.abc'),
        (e: unknown) => e instanceof BadMetadataError && e.code === 'BAD_METADATA' && /root\.keys\.abc: malformed/.test(e.message) && reason.test(e.message),
        `${keytype}/${scheme}: ${pub.slice(0, 40)}`
      );
    }
  });
});
