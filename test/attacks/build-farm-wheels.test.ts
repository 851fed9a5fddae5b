// Verified builds (issue 15, level 4) under attack. A claimed project's developers delegate
// their wheels to `wheels-farmpkg` (the build farm's key and a rebuilder's key, threshold 2).
// Each test publishes, on a mirror, metadata signed for real with the keys of the test (the
// repository's stolen online and offline keys, the farm's, the rebuilder's), and Bulwark's
// client (VerifiedIndex, as `bulwark fetch` and the proxy use it) must refuse each attack with
// its own error, serving nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AttestationError,
  serializeBundle,
  signEnvelope,
  statementBytes,
  wheelProvenanceStatement,
  wheelsDelegation,
  type DsseEnvelope,
} from '../../src/attest/index.js';
import { buildProxy } from '../../src/client/proxy.js';
import { describeFailure } from '../../src/client/verified-index.js';
import { Delegations, Ed25519Signer, Metadata, TargetFile, Targets, TufError, expiresIn, type Signer } from '../../src/tuf/index.js';
import { AttackRepository, bulwarkFetch, Client, type Mirror, Published, republish, resign, sha256, type Uploaded } from './harness.js';

const P = 'farmpkg';
const developer = Ed25519Signer.generate();
const farm = Ed25519Signer.generate();
const rebuilder = Ed25519Signer.generate();
const TOOLS = { python: '3.11.2', setuptools: '66.1.1', wheel: '0.38.4', pip: '23.0.1' };
const WHEEL = `${P}-1.0-py3-none-any.whl`;
const wheelBytes = Buffer.from('a wheel both builders built, byte for byte\n');
const otherWheel = Buffer.from('another wheel\n');

interface Blob {
  name: string;
  bytes: Buffer;
}

const target = (name: string, bytes: Buffer) => new TargetFile(`${P}/${name}`, bytes.length, { sha256: sha256(bytes) });

async function attest(signer: Signer, o: { wheel?: Blob; sdist?: { name: string; sha256: string } } = {}): Promise<DsseEnvelope> {
  const wheel = o.wheel ?? { name: WHEEL, bytes: wheelBytes };
  return signEnvelope(
    statementBytes(
      wheelProvenanceStatement({
        wheel: { name: wheel.name, sha256: sha256(wheel.bytes) },
        sdist: o.sdist ?? { name: sdist.filename, sha256: sdist.sha256 },
        builderId: signer === farm ? 'https://index.example/build-farm' : 'https://rebuilder.example',
        command: ['pip', 'wheel', '--no-deps', '--no-index', '--no-build-isolation', '.'],
        tools: TOOLS,
      })
    ),
    [signer]
  );
}

let fx: AttackRepository;
let sdist: Uploaded;

/**
 * Publishes on `mirror`: claimed (offline key) → project-farmpkg (developer) → wheels-farmpkg
 * (signed by `wheelsSigners`) listing `files`, each blob served under its consistent name.
 */
async function publish(mirror: Mirror, o: { files: Blob[]; wheelsSigners?: Signer[]; developerFiles?: Blob[]; delegations?: Delegations }): Promise<void> {
  const serve = (b: Blob) => mirror.serve(`targets/${P}/${sha256(b.bytes)}.${b.name}`, b.bytes);
  // The developers' page lists their files only (bulwark fetch reads it, and adds the farm's wheels).
  const page = { name: `${P}/index.json`, bytes: Buffer.from(JSON.stringify({ name: P, versions: ['1.0'], files: [{ filename: sdist.filename, hashes: { sha256: sdist.sha256 } }] })) };
  const devTargets = new Map([
    [sdist.path, target(sdist.filename, sdist.bytes)],
    [page.name, target('index.json', page.bytes)],
  ]);
  serve({ name: 'index.json', bytes: page.bytes });
  for (const b of o.developerFiles ?? []) {
    devTargets.set(`${P}/${b.name}`, target(b.name, b.bytes));
    serve(b);
  }
  const projectRole = await Metadata.sign(
    new Targets({ version: 1, expires: expiresIn(new Date(), 90 * 86_400), targets: devTargets, delegations: o.delegations ?? wheelsDelegation(P, [farm.publicKey, rebuilder.publicKey], 2) }),
    [developer]
  );
  const wheels = await Metadata.sign(
    new Targets({ version: 1, expires: expiresIn(new Date(), 7 * 86_400), targets: new Map(o.files.map((b) => [`${P}/${b.name}`, target(b.name, b.bytes)])), delegations: undefined }),
    o.wheelsSigners ?? [farm, rebuilder]
  );
  for (const b of o.files) serve(b);
  const now = await Published.of(mirror);
  const claimed = await resign(await now.role('claimed'), [fx.keys.claimed], (d) => {
    d['version'] = now.version('claimed') + 1;
    d['delegations'] = {
      keys: { [developer.keyId]: developer.publicKey.toJSON() },
      roles: [{ name: `project-${P}`, keyids: [developer.keyId], threshold: 1, terminating: true, paths: [`${P}/*`] }],
    };
  });
  await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { claimed, [`project-${P}`]: projectRole.bytes, [`wheels-${P}`]: wheels.bytes } });
}

const bundle = (...envelopes: DsseEnvelope[]): Blob => ({ name: `${WHEEL}.intoto.jsonl`, bytes: serializeBundle(envelopes) });
const wheel: Blob = { name: WHEEL, bytes: wheelBytes };

/** The client's answer for `path`: a verified target, or the code it refused with. */
async function clientGets(mirror: Mirror, path = `${P}/${WHEEL}`) {
  const client = await Client.create(fx.rootBytes);
  return client.verifiedIndex({ index: mirror.url }).get(path);
}

async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof AttestationError || e instanceof TufError, `unexpected ${String((e as Error)?.stack ?? e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(describeFailure(e).status, 502, 'reported as a refusal, not a download problem');
    return true;
  });
}

describe('verified builds: attacks on wheels-<project>', () => {
  before(async () => {
    fx = await AttackRepository.create('build-farm-wheels');
    sdist = await fx.upload(P, '1.0');
  });
  after(() => fx?.close());

  it('control: two builders that agree make a verified build, built from the developer-signed sdist', async () => {
    const mirror = await fx.mirror();
    await publish(mirror, { files: [wheel, bundle(await attest(farm), await attest(rebuilder))] });
    const got = await clientGets(mirror);
    assert.ok(got.bytes.equals(wheelBytes));
    assert.equal(got.role, `wheels-${P}`);
    assert.equal(got.level, 'claimed');
    assert.deepEqual(got.build?.builtFrom, { filename: sdist.filename, sha256: sdist.sha256 });
    assert.deepEqual(got.build?.builders.map((b) => b.keyid).sort(), [farm.keyId, rebuilder.keyId].sort());
    assert.equal(got.build?.attestation, `${P}/${WHEEL}.intoto.jsonl`);
    // What bulwark fetch --json and the proxy's report say of it.
    const verifiedBuild = {
      verified_build: true,
      builders: [
        { keyid: farm.keyId, builder_id: 'https://index.example/build-farm' },
        { keyid: rebuilder.keyId, builder_id: 'https://rebuilder.example' },
      ],
      built_from: { filename: sdist.filename, sha256: sdist.sha256 },
    };
    // bulwark fetch takes the verified wheel with the developers' files, and says what it verified.
    const fetched = await bulwarkFetch({ project: P, index: mirror.url, rootFile: join(fx.dataDir, 'root.json') });
    assert.equal(fetched.code, 0, fetched.stdout + fetched.stderr);
    assert.deepEqual(fetched.files, [sdist.filename, WHEEL].sort());
    const files = (fetched.json?.['files'] as Record<string, unknown>[]).map(({ path: _path, ...f }) => f);
    assert.deepEqual(files.find((f) => f['file'] === WHEEL), {
      file: WHEEL,
      sha256: sha256(wheelBytes),
      size: wheelBytes.length,
      role: `wheels-${P}`,
      level: 'claimed',
      ...verifiedBuild,
      attestations: [{ path: `${P}/${WHEEL}.intoto.jsonl` }],
    });
    assert.equal(files.find((f) => f['file'] === sdist.filename)?.['verified_build'], false);
    // The proxy serves it and its report says what was verified.
    const proxy = buildProxy((await Client.create(fx.rootBytes)).verifiedIndex({ index: mirror.url }), undefined);
    try {
      const res = await proxy.inject({ url: `/files/${P}/${WHEEL}` });
      assert.equal(res.statusCode, 200);
      assert.ok(res.rawPayload.equals(wheelBytes));
      const report = (await proxy.inject({ url: '/-/report' })).json<{ projects: { name: string; files: Record<string, unknown>[] }[] }>();
      assert.deepEqual(report.projects[0]?.files[0], {
        filename: WHEEL,
        sha256: sha256(wheelBytes),
        level: 'claimed',
        ...verifiedBuild,
        attestations: [`${P}/${WHEEL}.intoto.jsonl`],
      });
    } finally {
      await proxy.close();
    }
  });

  it('refuses a tampered attestation (BAD_ATTESTATION_SIGNATURE), and one swapped on the mirror (LENGTH_OR_HASH_MISMATCH)', async () => {
    const good = await attest(rebuilder);
    const payload = Buffer.from(good.payload, 'base64').toString().replace(TOOLS.pip, '99.0');
    const tampered = { ...good, payload: Buffer.from(payload).toString('base64') };
    let mirror = await fx.mirror();
    await publish(mirror, { files: [wheel, bundle(await attest(farm), tampered)] });
    await refusedWith(clientGets(mirror), 'BAD_ATTESTATION_SIGNATURE');
    const proxy = buildProxy((await Client.create(fx.rootBytes)).verifiedIndex({ index: mirror.url }), undefined);
    const res = await proxy.inject({ url: `/files/${P}/${WHEEL}` });
    await proxy.close();
    assert.equal(res.statusCode, 502, 'the proxy refuses it too');
    assert.match(res.body, /BAD_ATTESTATION_SIGNATURE/);

    mirror = await fx.mirror();
    const listed = bundle(await attest(farm), good);
    await publish(mirror, { files: [wheel, listed] });
    mirror.serve(`targets/${P}/${sha256(listed.bytes)}.${listed.name}`, bundle(await attest(farm), tampered).bytes);
    await refusedWith(clientGets(mirror), 'LENGTH_OR_HASH_MISMATCH');
  });

  it('refuses an attestation for another file (ATTESTATION_SUBJECT_MISMATCH)', async () => {
    const mirror = await fx.mirror();
    const other = { name: WHEEL, bytes: otherWheel };
    await publish(mirror, { files: [wheel, bundle(await attest(farm, { wheel: other }), await attest(rebuilder, { wheel: other }))] });
    await refusedWith(clientGets(mirror), 'ATTESTATION_SUBJECT_MISMATCH');
  });

  it('refuses a wheel whose sdist is not the one the developers signed (BUILD_SOURCE_MISMATCH)', async () => {
    const mirror = await fx.mirror();
    const evil = { name: sdist.filename, sha256: sha256(Buffer.from('an sdist the developers never signed')) };
    await publish(mirror, { files: [wheel, bundle(await attest(farm, { sdist: evil }), await attest(rebuilder, { sdist: evil }))] });
    await refusedWith(clientGets(mirror), 'BUILD_SOURCE_MISMATCH');
    // The signed sdist of 1.0, named as the source of a 2.0 wheel: not its source either.
    const m2 = await fx.mirror();
    const v2 = { name: `${P}-2.0-py3-none-any.whl`, bytes: otherWheel };
    await publish(m2, { files: [v2, { name: `${v2.name}.intoto.jsonl`, bytes: serializeBundle([await attest(farm, { wheel: v2 }), await attest(rebuilder, { wheel: v2 })]) }] });
    await refusedWith(clientGets(m2, `${P}/${v2.name}`), 'BUILD_SOURCE_MISMATCH');
  });

  it('refuses a valid farm attestation for a wheel the rebuilder did not build: the threshold is not met', async () => {
    // The farm key (with every online key) signs the role alone: TUF's threshold of 2 refuses it.
    let mirror = await fx.mirror();
    await publish(mirror, { files: [wheel, bundle(await attest(farm))], wheelsSigners: [farm, fx.keys.snapshot, fx.keys.timestamp, fx.keys['recently-claimed']] });
    await refusedWith(clientGets(mirror), 'UNSIGNED_METADATA');
    // The rebuilder signed the role but never attested this wheel: one builder is not two.
    mirror = await fx.mirror();
    await publish(mirror, { files: [wheel, bundle(await attest(farm))] });
    await refusedWith(clientGets(mirror), 'BUILD_THRESHOLD_NOT_MET');
  });

  it('refuses a wheels-<project> role that lists an sdist path (WHEELS_ROLE_PATH), and never serves that sdist', async () => {
    const mirror = await fx.mirror();
    const evilSdist = { name: `${P}-6.6.tar.gz`, bytes: Buffer.from('an sdist the farm made up') };
    await publish(mirror, { files: [wheel, bundle(await attest(farm), await attest(rebuilder)), evilSdist, { name: sdist.filename, bytes: evilSdist.bytes }] });
    await refusedWith(clientGets(mirror), 'WHEELS_ROLE_PATH');
    // The delegation's paths never match an sdist, and the developers' own sdist is theirs.
    await assert.rejects(clientGets(mirror, `${P}/${evilSdist.name}`), /not listed/);
    assert.ok((await clientGets(mirror, sdist.path)).bytes.equals(sdist.bytes));
  });

  it("never shadows the developers' files: their wheel is theirs, and a farm .metadata for it is refused (WHEELS_ROLE_SHADOWS)", async () => {
    const devWheel = { name: `${P}-1.0-cp311-cp311-linux_x86_64.whl`, bytes: Buffer.from('the developers own wheel') };
    const farmCopy = { name: devWheel.name, bytes: Buffer.from('the farm wheel under the same name') };
    let mirror = await fx.mirror();
    await publish(mirror, { developerFiles: [devWheel], files: [farmCopy] });
    const got = await clientGets(mirror, `${P}/${devWheel.name}`);
    assert.equal(got.role, `project-${P}`);
    assert.ok(got.bytes.equals(devWheel.bytes));
    assert.equal(got.build, undefined);

    mirror = await fx.mirror();
    const metadata = { name: `${devWheel.name}.metadata`, bytes: Buffer.from('Metadata-Version: 2.1\nName: farmpkg\nRequires-Dist: evil\n') };
    await publish(mirror, { developerFiles: [devWheel], files: [wheel, bundle(await attest(farm), await attest(rebuilder)), metadata] });
    await refusedWith(clientGets(mirror, `${P}/${metadata.name}`), 'WHEELS_ROLE_SHADOWS');
  });

  it('refuses a delegation to wheels-<project> with a threshold of 1 (WHEELS_DELEGATION)', async () => {
    const mirror = await fx.mirror();
    const weak = wheelsDelegation(P, [farm.publicKey, rebuilder.publicKey], 2);
    const role = [...(weak.roles?.values() ?? [])][0];
    assert.ok(role);
    const one = new Delegations(weak.keys, new Map([[role.name, Object.assign(Object.create(Object.getPrototypeOf(role) as object) as typeof role, { ...role, threshold: 1 })]]));
    await publish(mirror, { files: [wheel, bundle(await attest(farm))], wheelsSigners: [farm], delegations: one });
    await refusedWith(clientGets(mirror), 'WHEELS_DELEGATION');
  });
});
