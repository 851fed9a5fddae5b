// The proposal protocol of verified wheels against the real index (in this process, real HTTP):
// a claimed project whose developers delegate `wheels-farmpkg` to the farm's key and a
// rebuilder's key (threshold 2). Builds are stood in for by their results (a wheel built in
// memory), so that the protocol is tested without running pip: isolated-build.test.ts and the
// end-to-end test build for real.
import assert from 'node:assert/strict';
import { mkdir, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { wheelsDelegation, wheelsRoleName } from '../../src/attest/index.js';
import { signedBuildReport } from '../../src/buildfarm/build-report.js';
import { BuildFarm } from '../../src/buildfarm/farm-service.js';
import type { BuildOutcome } from '../../src/buildfarm/isolated-build.js';
import { checkProposal, ProposalError, reportBytes, type OwnBuild } from '../../src/buildfarm/proposals.js';
import { Updater } from '../../src/client/updater.js';
import { VerifiedIndex } from '../../src/client/verified-index.js';
import { mergeVerifiedWheels, verifiedWheelFiles } from '../../src/client/verified-wheels-page.js';
import { sendClaim, sendSignedUpload } from '../../src/developer/index-api.js';
import { currentProjectState, nextRelease } from '../../src/developer/release-builder.js';
import { metadataBlobPath } from '../../src/repository/layout.js';
import { openBuildFarm } from '../../src/server/routes/build-farm.js';
import { Ed25519Signer, expiresIn, Metadata, Targets, type Signer } from '../../src/tuf/index.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { coreMetadata, memorySdist, memoryWheel } from '../helpers/memory-dists.js';
import { tempDir } from '../helpers/processes.js';
import { buildFarmSection } from '../../src/web/build-farm-section.js';

const P = 'farmpkg';
const TOOLS = { python: '3.11.2', setuptools: '66.1.1', wheel: '0.38.4', pip: '23.0.1' };

/** A build result as isolated-build.ts returns it, for a wheel made in memory. */
function outcome(salt: string, version = '1.0'): Extract<BuildOutcome, { ok: true }> {
  const w = memoryWheel({ name: P, version, salt });
  const metadata = Buffer.from(coreMetadata({ name: P, version, salt }));
  return { ok: true, wheel: { filename: w.filename, bytes: w.bytes, sha256: w.sha256 }, metadata, tools: TOOLS, sourceDateEpoch: 315532800, command: ['python3', '-m', 'pip', 'wheel'], log: `built with salt ${salt}\n` };
}

describe('verified wheels: reports, proposals, publication', () => {
  let index: IndexUnderTest;
  let token: string;
  let farm: BuildFarm;
  let farmKey: Signer;
  let metadataDir: string;
  const developer = Ed25519Signer.generate();
  const rebuilder = Ed25519Signer.generate();
  const stranger = Ed25519Signer.generate();
  const sdists = { good: memorySdist({ name: P, version: '1.0' }), drifting: memorySdist({ name: P, version: '2.0' }), later: memorySdist({ name: P, version: '3.0' }) };

  const client = async () => {
    const u = new Updater({ metadataDir, indexUrl: index.url });
    await u.refresh();
    return u;
  };
  const report = async (signer: Signer, sdist: { filename: string; sha256: string }, o: BuildOutcome) => signedBuildReport(P, { filename: sdist.filename, sha256: sdist.sha256 }, o, signer, `test:${signer.keyId.slice(0, 8)}`, new Date(), new Date());
  const postReport = (body: unknown) =>
    fetch(`${index.url}/api/build-farm/reports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  before(async () => {
    index = await startIndex();
    token = await index.user('dev');
    ({ farm, key: farmKey } = await openBuildFarm(index.repo));
    metadataDir = await tempDir('farm-protocol-client');
    await mkdir(metadataDir, { recursive: true });
    await copyFile(join(index.dataDir, 'root.json'), join(metadataDir, 'root.json'));
    // The developers claim farmpkg, then upload two sdists with the signed delegation.
    const empty = await currentProjectState(await client(), P);
    const first = nextRelease(empty, [], { now: new Date() });
    const role1 = await Metadata.sign(new Targets({ version: 1, expires: expiresIn(new Date(), 90 * 86400), targets: first.targets, delegations: undefined }), [developer]);
    await sendClaim(index.url, token, P, { keys: [developer.publicKey.toJSON()], threshold: 1 }, role1.bytes, first.pages);
    await index.repo.settle();
    const files = Object.values(sdists).map((s) => ({ path: '', filename: s.filename, bytes: s.bytes, sha256: s.sha256 }));
    const next = nextRelease(await currentProjectState(await client(), P), files, { now: new Date() });
    const role2 = await Metadata.sign(
      new Targets({ version: 2, expires: expiresIn(new Date(), 90 * 86400), targets: next.targets, delegations: wheelsDelegation(P, [farmKey.publicKey, rebuilder.publicKey], 2) }),
      [developer]
    );
    const dir = await tempDir('farm-protocol-dists');
    const { writeFile } = await import('node:fs/promises');
    for (const s of Object.values(sdists)) await writeFile(join(dir, s.filename), s.bytes);
    await sendSignedUpload(index.url, token, P, role2.bytes, Object.values(sdists).map((s) => ({ path: join(dir, s.filename), filename: s.filename })), next.pages);
    await index.repo.settle();
  });
  after(async () => {
    await index?.close();
  });

  it('lists the signed sdists for each delegated builder, and nothing for other keys', async () => {
    const queue = await (await fetch(`${index.url}/api/build-farm/queue?keyid=${rebuilder.keyId}`)).json() as { sdists: { filename: string }[] };
    assert.deepEqual(queue.sdists.map((s) => s.filename).sort(), Object.values(sdists).map((s) => s.filename).sort());
    assert.deepEqual(await farm.queue(stranger.keyId), []);
    const key = await (await fetch(`${index.url}/api/build-farm/key`)).json() as { keyid: string };
    assert.equal(key.keyid, farmKey.keyId);
  });

  it('refuses reports of keys the delegation does not name, and reports not signed by their key', async () => {
    const byStranger = await report(stranger, sdists.good, outcome('x'));
    const r1 = await postReport({ signed: byStranger.signed, log: byStranger.log });
    assert.equal(r1.status, 403);
    assert.equal(((await r1.json()) as { error: { code: string } }).error.code, 'NOT_DELEGATED');
    const forged = await report(stranger, sdists.good, outcome('x'));
    forged.signed.report.keyid = rebuilder.keyId; // claims to be the rebuilder
    const r2 = await postReport({ signed: forged.signed, log: forged.log });
    assert.equal(r2.status, 403);
    assert.equal(((await r2.json()) as { error: { code: string } }).error.code, 'BAD_SIGNATURE');
    // A delegated builder's report whose attestation is about other bytes than it reports.
    const other = outcome('other');
    const honest = await report(rebuilder, sdists.good, other);
    const lying = await report(rebuilder, sdists.good, outcome('x'));
    lying.signed.report.envelope = honest.signed.report.envelope as NonNullable<typeof honest.signed.report.envelope>;
    lying.signed.signature = await rebuilder.sign(reportBytes(lying.signed.report));
    const r3 = await postReport({ signed: lying.signed, log: lying.log });
    assert.equal(r3.status, 400);
    assert.match(((await r3.json()) as { error: { message: string } }).error.message, /another wheel or sdist/);
    assert.equal((await farm.reports(P, sdists.good.filename)).length, 0);
  });

  it('publishes the wheel only once the farm and the rebuilder both signed the same bytes', async () => {
    const built = outcome('reproducible');
    const byFarm = await report(farmKey, sdists.good, built);
    await farm.recordReport(byFarm.signed, byFarm.log, { bytes: built.wheel.bytes, metadata: built.metadata });
    assert.equal(await index.repo.state.latestSignedRole(wheelsRoleName(P)), undefined, 'one builder is not enough');
    assert.deepEqual(await farm.openProposals(rebuilder.keyId), [], 'no proposal before a second builder agrees');

    const byRebuilder = await report(rebuilder, sdists.good, built);
    assert.equal((await postReport({ signed: byRebuilder.signed, log: byRebuilder.log })).status, 200);
    const [proposal] = await farm.openProposals(rebuilder.keyId);
    assert.ok(proposal, 'the index proposes the role once two builders agree');
    assert.equal(await index.repo.state.latestSignedRole(wheelsRoleName(P)), undefined, 'the farm signed, the threshold is 2');

    // The rebuilder checks the proposal against its own build before it signs.
    const own = new Map<string, OwnBuild>([[built.wheel.filename, { sha256: built.wheel.sha256, length: built.wheel.bytes.length, metadataSha256: byRebuilder.signed.report.metadata?.sha256 ?? '', envelope: byRebuilder.signed.report.envelope as never }]]);
    const bundles = new Map(Object.entries(proposal.bundles).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    checkProposal(P, proposal.signed, own, bundles, new Date());
    assert.throws(() => checkProposal(P, proposal.signed, new Map(), bundles, new Date()), (e: unknown) => e instanceof ProposalError && e.code === 'NOT_MY_BUILD');
    const sig = await rebuilder.sign(Buffer.from(proposal.signed, 'utf8'));
    const res = await fetch(`${index.url}/api/build-farm/proposals/${P}/${proposal.version}/signatures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(sig),
    });
    assert.equal(res.status, 200);
    await index.repo.settle();
    assert.ok(await index.repo.blobs.exists(metadataBlobPath(wheelsRoleName(P), 1)), 'wheels-farmpkg version 1 is published');

    // A client verifies the wheel through TUF: developers' role → wheels-farmpkg (2 of 2) → attestations.
    const verified = new VerifiedIndex({ indexUrl: index.url, metadataDir, maxAgeMs: 0 });
    const t = await verified.get(`${P}/${built.wheel.filename}`);
    assert.ok(t.bytes.equals(built.wheel.bytes));
    assert.deepEqual(t.build?.builders.map((b) => b.keyid).sort(), [farmKey.keyId, rebuilder.keyId].sort());
    assert.deepEqual(t.build?.builtFrom, { filename: sdists.good.filename, sha256: sdists.good.sha256 });
    // … and the proxy's page lists it beside the developers' files.
    const wheels = await verifiedWheelFiles(verified, P, undefined);
    assert.deepEqual(wheels.map((w) => w.filename), [built.wheel.filename]);
    const page = await verified.get(`${P}/index.json`);
    const merged = JSON.parse(mergeVerifiedWheels(page.bytes, true, wheels).toString('utf8')) as { files: { filename: string; hashes: { sha256: string } }[] };
    assert.deepEqual(merged.files.map((f) => f.filename).sort(), [...Object.values(sdists).map((s) => s.filename), built.wheel.filename].sort());
  });

  it('records a mismatch with both hashes and both logs, and never proposes it', async () => {
    const a = outcome('built at 1', '2.0');
    const b = outcome('built at 2', '2.0');
    const byFarm = await report(farmKey, sdists.drifting, a);
    await farm.recordReport(byFarm.signed, byFarm.log, { bytes: a.wheel.bytes, metadata: a.metadata });
    const byRebuilder = await report(rebuilder, sdists.drifting, b);
    assert.equal((await postReport({ signed: byRebuilder.signed, log: byRebuilder.log })).status, 200);
    assert.deepEqual(await farm.openProposals(rebuilder.keyId), []);
    const status = await (await fetch(`${index.url}/api/build-farm/status/${P}`)).json() as { mismatches: { sdist: string; builds: { sha256: string }[]; logs: Record<string, string> }[]; verified: { wheel: string }[] };
    const [m] = status.mismatches;
    assert.equal(m?.sdist, sdists.drifting.filename);
    assert.deepEqual(m?.builds.map((x) => x.sha256).sort(), [a.wheel.sha256, b.wheel.sha256].sort());
    assert.equal(m?.logs[farmKey.keyId], a.log);
    assert.equal(m?.logs[rebuilder.keyId], b.log);
    assert.equal(status.verified.length, 1, 'only the reproducible wheel is verified');
    const published = Metadata.parse((await index.repo.state.latestSignedRole(wheelsRoleName(P)))?.bytes ?? Buffer.alloc(0), 'targets', wheelsRoleName(P));
    assert.equal([...published.signed.targets.keys()].some((p) => p.includes('2.0')), false);
  });

  it('a publication cut short after storing the targets publishes nothing; the next pass finishes it', async () => {
    const built = outcome('three', '3.0');
    const byFarm = await report(farmKey, sdists.later, built);
    await farm.recordReport(byFarm.signed, byFarm.log, { bytes: built.wheel.bytes, metadata: built.metadata });
    const byRebuilder = await report(rebuilder, sdists.later, built);
    const posted = await postReport({ signed: byRebuilder.signed, log: byRebuilder.log });
    assert.equal(posted.status, 200, await posted.text());
    const [proposal] = await farm.openProposals(rebuilder.keyId);
    assert.equal(proposal?.version, 2);
    const state = index.repo.state;
    const record = state.recordBuilderSignedRole.bind(state);
    state.recordBuilderSignedRole = () => Promise.reject(new Error('the index died here'));
    try {
      const sig = await rebuilder.sign(Buffer.from(proposal.signed, 'utf8'));
      const res = await fetch(`${index.url}/api/build-farm/proposals/${P}/2/signatures`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(sig) });
      assert.equal(res.status, 500);
    } finally {
      state.recordBuilderSignedRole = record;
    }
    await index.repo.settle();
    assert.equal((await state.latestSignedRole(wheelsRoleName(P)))?.version, 1, 'the role was not recorded');
    assert.equal(await index.repo.blobs.exists(metadataBlobPath(wheelsRoleName(P), 2)), false, 'nothing new is published');
    const verified = new VerifiedIndex({ indexUrl: index.url, metadataDir, maxAgeMs: 0 });
    await assert.rejects(verified.get(`${P}/${built.wheel.filename}`), 'clients see no 3.0 wheel');

    await farm.advance(P); // the next pass of the farm (or the next report) finishes the publication
    await index.repo.settle();
    const t = await verified.get(`${P}/${built.wheel.filename}`);
    assert.ok(t.bytes.equals(built.wheel.bytes));
  });

  it("tells the developers on the project page when the farm's key no longer matches their delegation", async () => {
    const current = await farm.status(P);
    assert.equal(current?.farmKeyRotated, false, 'the delegation names the farm key');
    assert.doesNotMatch(String(buildFarmSection(P, current)), /key changed/);
    // The farm's key rotated: the developers' delegation still names the old one.
    const rotated = new BuildFarm({ dataDir: index.dataDir, state: index.repo.state, blobs: index.repo.blobs, requestPublication: () => undefined, farmSigner: Ed25519Signer.generate() });
    const status = await rotated.status(P);
    assert.equal(status?.farmKeyRotated, true);
    const page = String(buildFarmSection(P, status));
    assert.match(page, /build farm's key changed/);
    assert.match(page, new RegExp(`bulwark project build-farm enable ${P}`));
  });
});
