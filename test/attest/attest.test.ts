// src/attest: DSSE envelopes, in-toto statements, SLSA provenance and the verified-build check.
// The DSSE encoding and signatures are also checked by an independent implementation:
// test/fixtures/dsse_verify.py on Debian's python3-cryptography.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AttestationError,
  IN_TOTO_PAYLOAD_TYPE,
  MAX_ENVELOPE_BYTES,
  envelopePayload,
  isWheelsRolePath,
  parseBundle,
  parseEnvelope,
  parseFarmKeyResponse,
  parseStatement,
  parseWheelProvenance,
  preAuthEncoding,
  serializeBundle,
  serializeEnvelope,
  signEnvelope,
  statementBytes,
  verifyEnvelope,
  verifyWheelBuild,
  farmKeyResponse,
  farmKeyRotated,
  checkWheelsRoleTargets,
  wheelsDelegation,
  wheelOfPath,
  wheelProvenanceStatement,
  type DsseEnvelope,
  type WheelProvenance,
} from '../../src/attest/index.js';
import { Ed25519Signer, TargetFile, Targets, type Key } from '../../src/tuf/index.js';
import { DEBIAN_PYTHON } from '../helpers/sslib.js';
import { repoRoot } from '../helpers/processes.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const farm = Ed25519Signer.generate();
const rebuilder = Ed25519Signer.generate();
const stranger = Ed25519Signer.generate();
const trusted = new Map<string, Key>([
  [farm.keyId, farm.publicKey],
  [rebuilder.keyId, rebuilder.publicKey],
]);
const WHEEL = { name: 'demo-1.0-py3-none-any.whl', sha256: sha('wheel bytes') };
const SDIST = { name: 'demo-1.0.tar.gz', sha256: sha('sdist bytes') };
const TOOLS = { python: '3.11.2', setuptools: '66.1.1', wheel: '0.38.4', pip: '23.0.1' };

function provenance(over: Partial<WheelProvenance> = {}): WheelProvenance {
  return { wheel: WHEEL, sdist: SDIST, builderId: 'https://index.example/build-farm', command: ['pip', 'wheel', '--no-deps', '--no-index', '--no-build-isolation', '.'], tools: TOOLS, ...over };
}

async function attestation(signer: Ed25519Signer, over: Partial<WheelProvenance> = {}): Promise<DsseEnvelope> {
  return signEnvelope(statementBytes(wheelProvenanceStatement(provenance(over))), [signer]);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AttestationError) return e.code;
    throw e;
  }
  return 'no error';
}

function pythonCheck(envelope: DsseEnvelope, keys: Ed25519Signer[]): { pae: string; verified: string[]; subject: unknown } {
  const request = { envelope, keys: Object.fromEntries(keys.map((k) => [k.keyId, k.publicKey.publicValue])) };
  const run = spawnSync(DEBIAN_PYTHON, [join(repoRoot, 'test', 'fixtures', 'dsse_verify.py')], { input: JSON.stringify(request), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { pae: string; verified: string[]; subject: unknown };
}

describe('DSSE', () => {
  it('computes the PAE of the specification', () => {
    // The DSSE protocol's own example: PAE("http://example.com/HelloWorld", "hello world").
    assert.equal(preAuthEncoding('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('signs envelopes that python3-cryptography verifies over a PAE it computes itself', async () => {
    const envelope = await signEnvelope(statementBytes(wheelProvenanceStatement(provenance())), [farm, rebuilder]);
    const parsed = parseEnvelope(serializeEnvelope(envelope));
    const py = pythonCheck(parsed, [farm, rebuilder]);
    assert.equal(py.pae, preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, envelopePayload(parsed)).toString('hex'));
    assert.deepEqual(py.verified.sort(), [farm.keyId, rebuilder.keyId].sort());
    assert.deepEqual(py.subject, [{ name: WHEEL.name, digest: { sha256: WHEEL.sha256 } }]);
    assert.deepEqual(verifyEnvelope(parsed, trusted).sort(), [farm.keyId, rebuilder.keyId].sort());
  });

  it('refuses a tampered payload, and python3-cryptography agrees', async () => {
    const envelope = await attestation(farm);
    const payload = envelopePayload(envelope).toString().replace(WHEEL.sha256, sha('evil'));
    const tampered = { ...envelope, payload: Buffer.from(payload).toString('base64') };
    assert.deepEqual(pythonCheck(tampered, [farm]).verified, []);
    assert.equal(code(() => verifyEnvelope(tampered, trusted)), 'BAD_ATTESTATION_SIGNATURE');
    assert.equal(code(() => verifyEnvelope({ ...envelope, payloadType: 'text/plain' }, trusted)), 'BAD_ENVELOPE');
    const foreign = await attestation(stranger);
    assert.equal(code(() => verifyEnvelope(foreign, trusted)), 'BAD_ATTESTATION_SIGNATURE');
  });

  it('parses strictly: duplicate keys, unknown fields, non-canonical base64, oversize', async () => {
    const line = serializeEnvelope(await attestation(farm));
    const bad = [
      line.replace('{"payloadType"', '{"payloadType":"x","payloadType"'),
      line.replace('{"payloadType"', '{"extra":1,"payloadType"'),
      line.replace('"payload":"', '"payload":" '),
      line.replace(/"sig":"[^"]*"/, '"sig":"@@"'),
      line.replace(/"signatures":\[.*\]/, '"signatures":[]'),
      '[]',
      'x'.repeat(MAX_ENVELOPE_BYTES + 1),
    ];
    for (const text of bad) assert.equal(code(() => parseEnvelope(text)), 'BAD_ENVELOPE', text.slice(0, 80));
  });

  it('reads and writes .intoto.jsonl bundles, one envelope a line', async () => {
    const bundle = serializeBundle([await attestation(farm), await attestation(rebuilder)]);
    assert.equal(parseBundle(bundle).length, 2);
    assert.equal(code(() => parseBundle(Buffer.from(`${bundle.toString()}\n`))), 'BAD_ENVELOPE');
    assert.equal(code(() => parseBundle(Buffer.alloc(0))), 'BAD_ENVELOPE');
  });
});

describe('in-toto statements and SLSA provenance', () => {
  it('round-trips a wheel provenance', () => {
    const p = provenance({ startedOn: '2026-12-03T10:00:00Z', finishedOn: '2026-12-03T10:00:05Z' });
    assert.deepEqual(parseWheelProvenance(parseStatement(statementBytes(wheelProvenanceStatement(p)))), p);
  });

  it('refuses statements of another type, with two subjects, or two sources', () => {
    const good = JSON.parse(statementBytes(wheelProvenanceStatement(provenance())).toString()) as Record<string, any>;
    const variants: [string, (s: Record<string, any>) => void][] = [
      ['_type', (s) => (s['_type'] = 'https://in-toto.io/Statement/v0.1')],
      ['unknown field', (s) => (s['extra'] = 1)],
      ['uppercase digest', (s) => (s['subject'][0].digest.sha256 = WHEEL.sha256.toUpperCase())],
      ['two subjects', (s) => s['subject'].push({ name: 'other.whl', digest: { sha256: SDIST.sha256 } })],
      ['two sources', (s) => s['predicate'].buildDefinition.resolvedDependencies.push({ name: 'x.tar.gz', digest: { sha256: SDIST.sha256 } })],
      ['missing tool', (s) => delete s['predicate'].buildDefinition.internalParameters.tools.pip],
      ['predicate type', (s) => (s['predicateType'] = 'https://slsa.dev/provenance/v0.2')],
    ];
    for (const [name, change] of variants) {
      const s = structuredClone(good);
      change(s);
      assert.equal(code(() => parseWheelProvenance(parseStatement(JSON.stringify(s)))), 'BAD_STATEMENT', name);
    }
  });
});

describe('verifyWheelBuild', () => {
  const signedSdist = (name: string): string | undefined => (name === SDIST.name ? SDIST.sha256 : undefined);
  const check = (envelopes: DsseEnvelope[], wheel = WHEEL, threshold = 2) =>
    verifyWheelBuild({ attestations: serializeBundle(envelopes), wheel, keys: trusted, threshold, signedSdist });

  it('accepts two builders that agree, and names them and the sdist', async () => {
    const result = check([await attestation(farm), await attestation(rebuilder, { builderId: 'https://rebuilder.example' })]);
    assert.deepEqual(result.builtFrom, { filename: SDIST.name, sha256: SDIST.sha256 });
    assert.deepEqual(result.builders.map((b) => b.builderId), ['https://index.example/build-farm', 'https://rebuilder.example']);
  });

  it('refuses each attack with its own error', async () => {
    const f = await attestation(farm);
    const r = await attestation(rebuilder);
    const tampered = { ...r, payload: Buffer.from(envelopePayload(r).toString().replace('3.11.2', '3.11.3')).toString('base64') };
    assert.equal(code(() => check([f, tampered])), 'BAD_ATTESTATION_SIGNATURE');
    assert.equal(code(() => check([f, r], { name: WHEEL.name, sha256: sha('other') })), 'ATTESTATION_SUBJECT_MISMATCH');
    assert.equal(code(() => check([f, r], { name: 'other-1.0-py3-none-any.whl', sha256: WHEEL.sha256 })), 'ATTESTATION_SUBJECT_MISMATCH');
    const evilSdist = { name: SDIST.name, sha256: sha('evil sdist') };
    const [fEvil, rEvil, s] = [await attestation(farm, { sdist: evilSdist }), await attestation(rebuilder, { sdist: evilSdist }), await attestation(stranger)];
    assert.equal(code(() => check([fEvil, rEvil])), 'BUILD_SOURCE_MISMATCH');
    assert.equal(code(() => check([f, rEvil])), 'BUILD_SOURCES_DISAGREE');
    assert.equal(code(() => check([f])), 'BUILD_THRESHOLD_NOT_MET');
    assert.equal(code(() => check([f, f])), 'BUILD_THRESHOLD_NOT_MET'); // one builder twice counts once
    assert.equal(code(() => check([f, s])), 'BAD_ATTESTATION_SIGNATURE');
  });
});

describe('wheels-<project> names', () => {
  it('allows only the project wheels, their metadata and attestations', () => {
    for (const p of ['demo/demo-1.0-py3-none-any.whl', 'demo/demo-1.0-py3-none-any.whl.metadata', 'demo/demo-1.0-py3-none-any.whl.intoto.jsonl']) assert.equal(isWheelsRolePath('demo', p), true, p);
    for (const p of ['demo/demo-1.0.tar.gz', 'demo/index.json', 'demo/index.html', 'other/x.whl', 'demo/.whl', 'demo/a/b.whl', 'demo/demo-1.0.tar.gz.intoto.jsonl', 'demox/x.whl']) {
      assert.equal(isWheelsRolePath('demo', p), false, p);
    }
    assert.equal(wheelOfPath('a.whl.intoto.jsonl'), 'a.whl');
    assert.equal(wheelOfPath('a.whl.metadata'), 'a.whl');
  });

  it('wheels-<project> may list only wheels of the project the developers do not list', () => {
    const t = (...paths: string[]) => new Map(paths.map((p) => [p, new TargetFile(p, 1, { sha256: sha('x') })]));
    const code2 = (wheels: Map<string, TargetFile>, dev = t('demo/demo-1.0.tar.gz', 'demo/demo-1.0-cp311-cp311-linux_x86_64.whl')) => code(() => checkWheelsRoleTargets('demo', wheels, dev));
    assert.equal(code2(t('demo/demo-1.0-py3-none-any.whl', 'demo/demo-1.0-py3-none-any.whl.intoto.jsonl')), 'no error');
    assert.equal(code2(t('demo/other-1.0-py3-none-any.whl')), 'WHEELS_ROLE_PATH');
    assert.equal(code2(t('demo/demo-1.0.tar.gz')), 'WHEELS_ROLE_PATH');
    assert.equal(code2(t('demo/demo-1.0-cp311-cp311-linux_x86_64.whl.metadata')), 'WHEELS_ROLE_SHADOWS');
    assert.equal(code2(t('demo/demo-1.0-cp311-cp311-linux_x86_64.whl')), 'WHEELS_ROLE_SHADOWS');
  });

  it('tells when the wheels delegation no longer names the farm key', () => {
    const role = (keys: Key[]) => new Targets({ version: 1, expires: new Date(Date.now() + 86_400_000), targets: new Map(), delegations: wheelsDelegation('demo', keys, 2) });
    assert.equal(farmKeyRotated('demo', role([farm.publicKey, rebuilder.publicKey]), farm.publicKey), false);
    assert.equal(farmKeyRotated('demo', role([stranger.publicKey, rebuilder.publicKey]), farm.publicKey), true);
    assert.equal(farmKeyRotated('demo', new Targets({ version: 1, expires: new Date(), targets: new Map(), delegations: undefined }), farm.publicKey), false);
  });

  it('reads the farm key answer and checks its key id', () => {
    const answer = farmKeyResponse(farm.publicKey);
    assert.equal(parseFarmKeyResponse(JSON.stringify(answer)).keyId, farm.keyId);
    assert.throws(() => parseFarmKeyResponse(JSON.stringify({ ...answer, keyid: rebuilder.keyId })), /not the key's id/);
  });
});
