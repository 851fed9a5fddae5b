// `bulwark project build-farm enable|disable` against a running index: the developers sign, as
// a new version of their project role, a delegation of their wheels to `wheels-<project>` (the
// farm's key and a rebuilder's, threshold ≥ 2); later uploads keep it; the index refuses any
// other delegation, and checks a submitted `wheels-<project>` role (verifyWheelsRole).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serializeBundle, signEnvelope, statementBytes, wheelsRolePaths } from '../../src/attest/index.js';
import { Updater } from '../../src/client/updater.js';
import { loadKeyFile, unlockKey } from '../../src/developer/developer-key.js';
import { sendSignedUpload, IndexApiError } from '../../src/developer/index-api.js';
import { SignedUploadError } from '../../src/repository/project-roles.js';
import { verifyWheelsRole } from '../../src/repository/wheels-role-check.js';
import { DelegatedRole, Delegations, Ed25519Signer, expiresIn, Metadata, TargetFile, Targets, type Signer } from '../../src/tuf/index.js';
import { memorySdist } from '../helpers/memory-dists.js';
import { runBulwark, startBulwark, tempDir, type RunningServer } from '../helpers/processes.js';

const P = 'farmed';

describe('bulwark project build-farm', () => {
  let server: RunningServer;
  let dataDir: string;
  let home: string;
  let env: Record<string, string>;
  let common: string[];
  const farm = Ed25519Signer.generate();
  const rebuilder = Ed25519Signer.generate();
  let farmFile: string;
  let rebuilderFile: string;

  const bulwark = (args: string[]) => runBulwark(args, { env });

  async function sdistFile(version: string): Promise<string> {
    const d = memorySdist({ name: P, version, salt: `${P} ${version}` });
    const path = join(home, d.filename);
    await writeFile(path, d.bytes);
    return path;
  }

  /** The project role as a client verifies it now. */
  async function projectRole(): Promise<Targets> {
    const metadataDir = await tempDir('farm-enable-client');
    await copyFile(join(dataDir, 'root.json'), join(metadataDir, 'root.json'));
    const u = new Updater({ metadataDir, indexUrl: server.url });
    await u.refresh();
    await u.findTarget(`${P}/index.json`);
    const role = u.getVerifiedRole(`project-${P}`);
    assert.ok(role, 'the project is claimed');
    return role.signed;
  }

  before(async () => {
    dataDir = await tempDir('farm-enable-data');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    server = await startBulwark({ dataDir });
    const token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'dev', '--json'])).stdout) as { token: string }).token;
    home = await tempDir('farm-enable-home');
    env = { BULWARK_KEYS_DIR: join(home, 'keys'), BULWARK_CACHE: join(home, 'cache'), BULWARK_PASSPHRASE: 'a long enough passphrase' };
    common = ['--repository-url', `${server.url}/legacy/`, '--token', token, '--root', join(dataDir, 'root.json')];
    assert.equal((await bulwark(['key', 'new', '--label', 'dev@laptop'])).code, 0);
    assert.equal((await bulwark(['claim', P, ...common])).code, 0);
    const up = await bulwark(['upload', await sdistFile('1.0'), ...common]);
    assert.equal(up.code, 0, up.stderr);
    farmFile = join(home, 'farm.json');
    rebuilderFile = join(home, 'rebuilder.json');
    await writeFile(farmFile, JSON.stringify({ keyid: farm.keyId, public: farm.publicKey.toJSON() }));
    await writeFile(rebuilderFile, JSON.stringify({ keyid: rebuilder.keyId, public: rebuilder.publicKey.toJSON() }));
  });
  after(() => server?.stop());

  it('refuses a threshold below 2, or no rebuilder: the farm alone never vouches for a wheel', async () => {
    const low = await bulwark(['project', 'build-farm', 'enable', P, '--farm-key', farmFile, '--rebuilder-key', rebuilderFile, '--threshold', '1', ...common, '--json']);
    assert.equal(low.code, 2, low.stdout);
    const alone = await bulwark(['project', 'build-farm', 'enable', P, '--farm-key', farmFile, ...common]);
    assert.equal(alone.code, 2, alone.stdout);
    assert.equal((await projectRole()).delegations, undefined, 'nothing was signed');
  });

  it('signs the delegation to wheels-<project>, which later uploads keep', async () => {
    const r = await bulwark(['project', 'build-farm', 'enable', P, '--farm-key', farmFile, '--rebuilder-key', rebuilderFile, ...common, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'published');
    const role = await projectRole();
    const d = role.delegations?.roles?.get(`wheels-${P}`);
    assert.ok(d, 'the project role delegates to wheels-farmed');
    assert.deepEqual(d.paths, wheelsRolePaths(P));
    assert.equal(d.terminating, true);
    assert.equal(d.threshold, 2);
    assert.deepEqual([...d.keyids].sort(), [farm.keyId, rebuilder.keyId].sort());
    assert.ok(role.targets.has(`${P}/${P}-1.0.tar.gz`), 'the files are still listed');
    const up = await bulwark(['upload', await sdistFile('1.1'), ...common]);
    assert.equal(up.code, 0, up.stderr);
    assert.ok((await projectRole()).delegations?.roles?.has(`wheels-${P}`), 'an upload keeps the delegation');
  });

  it('the index refuses any other delegation in a project role (WHEELS_DELEGATION)', async () => {
    const developer = await unlockKey(await loadKeyFile(join(home, 'keys', 'default.json')), env['BULWARK_PASSPHRASE'] as string);
    const current = await projectRole();
    const wide = new DelegatedRole(`wheels-${P}`, [farm.keyId, rebuilder.keyId], 2, true, [`${P}/*`]);
    const role = await Metadata.sign(
      new Targets({ version: current.version + 1, expires: expiresIn(new Date(), 30 * 86_400), targets: current.targets, delegations: new Delegations(new Map([[farm.keyId, farm.publicKey], [rebuilder.keyId, rebuilder.publicKey]]), new Map([[wide.name, wide]])) }),
      [developer]
    );
    await assert.rejects(sendSignedUpload(server.url, common[3] as string, P, role.bytes, [], []), (e: unknown) => e instanceof IndexApiError && e.code === 'WHEELS_DELEGATION');
    assert.equal((await projectRole()).version, current.version, 'nothing changed');
  });

  it('verifyWheelsRole: threshold signatures, wheel paths only, whole role refused otherwise', async () => {
    const current = await projectRole();
    const wheel = Buffer.from('wheel');
    const wheelsRole = (paths: string[], signers: Signer[]) =>
      Metadata.sign(new Targets({ version: 1, expires: expiresIn(new Date(), 86_400), targets: new Map(paths.map((p) => [p, new TargetFile(p, wheel.length, { sha256: '0'.repeat(64) })])), delegations: undefined }), signers);
    const code = async (paths: string[], signers: Signer[]) => {
      try {
        verifyWheelsRole(P, (await wheelsRole(paths, signers)).bytes, current, 1, new Date());
        return 'accepted';
      } catch (e) {
        assert.ok(e instanceof SignedUploadError, String(e));
        return e.code;
      }
    };
    const good = [`${P}/${P}-1.0-py3-none-any.whl`, `${P}/${P}-1.0-py3-none-any.whl.metadata`, `${P}/${P}-1.0-py3-none-any.whl.intoto.jsonl`];
    assert.equal(await code(good, [farm, rebuilder]), 'accepted');
    assert.equal(await code(good, [farm]), 'UNSIGNED_METADATA');
    assert.equal(await code([...good, `${P}/${P}-1.0.tar.gz`], [farm, rebuilder]), 'WHEELS_ROLE_PATH');
    assert.equal(await code([...good, `${P}/index.json`], [farm, rebuilder]), 'WHEELS_ROLE_PATH');
    assert.equal(await code([`${P}/${P}-1.0.tar.gz.intoto.jsonl`], [farm, rebuilder]), 'WHEELS_ROLE_PATH');
  });

  it('upload --attestation publishes <file>.intoto.jsonl for a file of the release; fetch lists it', async () => {
    const ci = Ed25519Signer.generate();
    const path = await sdistFile('1.2');
    const bytes = await readFile(path);
    const envelope = await signEnvelope(statementBytes({ subjects: [{ name: basename(path), sha256: createHash('sha256').update(bytes).digest('hex') }], predicateType: 'https://slsa.dev/provenance/v1', predicate: { builder: 'ci' } }), [ci]);
    const file = join(home, 'ci.intoto.json');
    await writeFile(file, `${JSON.stringify(envelope, null, 2)}\n`);
    const r = await bulwark(['upload', path, '--attestation', file, ...common, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const role = await projectRole();
    const listed = role.targets.get(`${P}/${basename(path)}.intoto.jsonl`);
    assert.ok(listed, 'the developer-signed role lists the attestation');
    const fetched = await bulwark(['fetch', P, '--version', '1.2', '--index', server.url, '--root', join(dataDir, 'root.json'), '--dest', await tempDir('farm-enable-dest'), '--cache', await tempDir('farm-enable-cache'), '--json']);
    assert.equal(fetched.code, 0, fetched.stdout + fetched.stderr);
    const files = (JSON.parse(fetched.stdout) as { files: { file: string; verified_build: boolean; attestations: { path: string; sha256: string }[] }[] }).files;
    assert.deepEqual(files.map((f) => [f.file, f.verified_build, f.attestations]), [[basename(path), false, [{ path: listed.path, sha256: listed.hashes['sha256'] }]]]);
  });

  it('refuses an attestation whose subject is not a file of the release, in the CLI and in the index (ATTESTATION_SUBJECT_MISMATCH)', async () => {
    const ci = Ed25519Signer.generate();
    const role = await projectRole();
    const old = role.targets.get(`${P}/${P}-1.0.tar.gz`);
    assert.ok(old);
    const aboutOld = await signEnvelope(statementBytes({ subjects: [{ name: `${P}-1.0.tar.gz`, sha256: old.hashes['sha256'] as string }], predicateType: 'https://example.com/ci', predicate: null }), [ci]);
    const file = join(home, 'old.intoto.jsonl');
    await writeFile(file, serializeBundle([aboutOld]));
    const path = await sdistFile('1.3');
    const r = await bulwark(['upload', path, '--attestation', file, ...common, '--json']);
    assert.equal(r.code, 1, r.stdout);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'ATTESTATION_SUBJECT_MISMATCH');
    // The index checks the same, whatever a modified client signs and sends.
    const developer = await unlockKey(await loadKeyFile(join(home, 'keys', 'default.json')), env['BULWARK_PASSPHRASE'] as string);
    const bundle = serializeBundle([aboutOld]);
    const name = `${P}-1.0.tar.gz.intoto.jsonl`;
    const targets = new Map(role.targets);
    targets.set(`${P}/${name}`, new TargetFile(`${P}/${name}`, bundle.length, { sha256: createHash('sha256').update(bundle).digest('hex') }));
    const signed = await Metadata.sign(new Targets({ version: role.version + 1, expires: expiresIn(new Date(), 30 * 86_400), targets, delegations: role.delegations }), [developer]);
    await assert.rejects(sendSignedUpload(server.url, common[3] as string, P, signed.bytes, [], [], [{ name, bytes: bundle }]), (e: unknown) => e instanceof IndexApiError && e.code === 'ATTESTATION_SUBJECT_MISMATCH');
    assert.equal((await projectRole()).version, role.version, 'nothing changed');
  });

  it('with a threshold of 2, one maintainer signs the change --partial, the other checks it with the same arguments and co-signs', async () => {
    const Q = 'farmed-two';
    assert.equal((await bulwark(['key', 'new', 'second', '--label', 'dev@desktop'])).code, 0);
    const second = join(home, 'second.json');
    await writeFile(second, (await bulwark(['key', 'show', 'second', '--json'])).stdout);
    const claim = await bulwark(['claim', Q, '--public-key', second, '--threshold', '2', '--key', 'default', '--key', 'second', ...common]);
    assert.equal(claim.code, 0, claim.stdout + claim.stderr);
    const change = join(home, 'change.json');
    const args = ['project', 'build-farm', 'enable', Q, '--farm-key', farmFile, '--rebuilder-key', rebuilderFile, ...common, '--json'];
    const first = await bulwark([...args, '--partial', change]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal((JSON.parse(first.stdout) as { signatures: number }).signatures, 1);
    // A co-signer whose arguments make another delegation (one more rebuilder key) refuses to sign.
    const other = await bulwark(['project', 'build-farm', 'enable', Q, '--farm-key', farmFile, '--rebuilder-key', rebuilderFile, '--rebuilder-key', second, ...common, '--json', '--key', 'second', '--cosign', change]);
    assert.equal(other.code, 1, other.stdout);
    assert.equal((JSON.parse(other.stdout) as { error: { code: string } }).error.code, 'BAD_PARTIAL');
    const cosigned = await bulwark([...args, '--key', 'second', '--cosign', change]);
    assert.equal(cosigned.code, 0, cosigned.stdout + cosigned.stderr);
    assert.equal((JSON.parse(cosigned.stdout) as { status: string }).status, 'published');
    const metadataDir = await tempDir('farm-enable-client2');
    await copyFile(join(dataDir, 'root.json'), join(metadataDir, 'root.json'));
    const u = new Updater({ metadataDir, indexUrl: server.url });
    await u.refresh();
    await u.findTarget(`${Q}/index.json`);
    assert.ok(u.getVerifiedRole(`project-${Q}`)?.signed.delegations?.roles?.has(`wheels-${Q}`));
  });

  it('disable signs a version without the delegation', async () => {
    const r = await bulwark(['project', 'build-farm', 'disable', P, ...common, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const role = await projectRole();
    assert.equal(role.delegations, undefined);
    assert.ok(role.targets.has(`${P}/${P}-1.1.tar.gz`));
  });
});
