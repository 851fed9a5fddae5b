// PEP 480 Table 1, the rows verified builds add (issue 15 item 6): the build farm's key, and the
// farm's and a rebuilder's keys together, each without and with every online key (timestamp,
// snapshot, recently-claimed, unclaimed). The attacked project is claimed (offline claimed
// role) and opted in: its developers delegate its wheels to `wheels-farmpkg` (farm + rebuilder,
// threshold 2). The attacker signs for real with exactly the keys of the row, serves the result
// from its own mirror, and Bulwark's client (VerifiedIndex, as `bulwark fetch` and the proxy
// use it) decides, for two victims: `synced` (refreshed from the honest mirror and looked up
// the honest wheel before) and `new` (nothing but the pinned root).
//
// The expected cells are written here by hand; the rows in docs/table1.md ("Verified builds")
// are checked against what the client did.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AttestationError, serializeBundle, signEnvelope, statementBytes, wheelProvenanceStatement, wheelsDelegation } from '../../src/attest/index.js';
import { TargetNotFoundError, type VerifiedTarget } from '../../src/client/verified-index.js';
import { DownloadError, Ed25519Signer, expiresIn, Metadata, RepositoryError, TargetFile, Targets, type Signer } from '../../src/tuf/index.js';
import { AttackRepository, Client, DAY, inTheFuture, type Mirror, Published, republish, resign, sha256, signDoc, type Uploaded } from '../attacks/harness.js';
import { repoRoot } from '../helpers/processes.js';

const P = 'farmpkg';
const HONEST = `${P}-1.0-py3-none-any.whl`;
const EVIL = `${P}-1.0-py2.py3-none-any.whl`; // a new name: pip would take it as well
const evilBytes = Buffer.from('a wheel no builder built from the signed sdist\n');
const developer = Ed25519Signer.generate();
const farm = Ed25519Signer.generate();
const rebuilder = Ed25519Signer.generate();
const attackerOwn = Ed25519Signer.generate();
const TOOLS = { python: '3.11.2', setuptools: '66.1.1', wheel: '0.38.4', pip: '23.0.1' };

type Holding = 'farm' | 'rebuilder' | 'online';
type Cell = 'no' | 'YES' | 'YES (new)';
interface Outcome {
  synced: string; // 'accepted (level, verified build?)' or the refusal
  new: string;
  cell: Cell;
}

let fx: AttackRepository;
let sdist: Uploaded;
let honestServed: [string, Buffer][] = [];
let syncedCache: Map<string, Buffer>;

const tf = (path: string, bytes: Buffer) => new TargetFile(path, bytes.length, { sha256: sha256(bytes) });

async function attestation(signers: Signer[], wheel: { name: string; bytes: Buffer }): Promise<Buffer> {
  const envelopes = [];
  for (const s of signers) {
    const statement = wheelProvenanceStatement({ wheel: { name: wheel.name, sha256: sha256(wheel.bytes) }, sdist: { name: sdist.filename, sha256: sdist.sha256 }, builderId: `builder:${s.keyId.slice(0, 8)}`, command: ['pip', 'wheel'], tools: TOOLS });
    envelopes.push(await signEnvelope(statementBytes(statement), [s]));
  }
  return serializeBundle(envelopes);
}

/** The honest state: claimed v2 → project-farmpkg (developer) → wheels-farmpkg v1 (farm + rebuilder). */
async function publishHonest(mirror: Mirror): Promise<void> {
  const wheel = Buffer.from('the wheel both builders built\n');
  const att = await attestation([farm, rebuilder], { name: HONEST, bytes: wheel });
  const projectRole = await Metadata.sign(
    new Targets({ version: 1, expires: expiresIn(new Date(), 90 * 86_400), targets: new Map([[sdist.path, tf(sdist.path, sdist.bytes)]]), delegations: wheelsDelegation(P, [farm.publicKey, rebuilder.publicKey], 2) }),
    [developer]
  );
  const wheels = await Metadata.sign(
    new Targets({ version: 1, expires: expiresIn(new Date(), 7 * 86_400), targets: new Map([[`${P}/${HONEST}`, tf(`${P}/${HONEST}`, wheel)], [`${P}/${HONEST}.intoto.jsonl`, tf(`${P}/${HONEST}.intoto.jsonl`, att)]]), delegations: undefined }),
    [farm, rebuilder]
  );
  mirror.serve(`targets/${P}/${sha256(wheel)}.${HONEST}`, wheel);
  mirror.serve(`targets/${P}/${sha256(att)}.${HONEST}.intoto.jsonl`, att);
  const now = await Published.of(mirror);
  const claimed = await resign(await now.role('claimed'), [fx.keys.claimed], (d) => {
    d['version'] = now.version('claimed') + 1;
    d['delegations'] = { keys: { [developer.keyId]: developer.publicKey.toJSON() }, roles: [{ name: `project-${P}`, keyids: [developer.keyId], threshold: 1, terminating: true, paths: [`${P}/*`] }] };
  });
  await republish(mirror, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { claimed, [`project-${P}`]: projectRole.bytes, [`wheels-${P}`]: wheels.bytes } });
}

/** A mirror with the honest state (the same bytes on every mirror, as the synced client saw them). */
async function honestMirror(): Promise<Mirror> {
  const m = await fx.mirror();
  for (const [path, bytes] of honestServed) m.serve(path, bytes);
  return m;
}

/** Every forgery the row's keys allow, each on its own mirror over the honest state. */
async function forgeries(holding: ReadonlySet<Holding>): Promise<{ strategy: string; mirror: Mirror }[]> {
  const builders = [...(holding.has('farm') ? [farm] : []), ...(holding.has('rebuilder') ? [rebuilder] : [])];
  const online = holding.has('online');
  const out: { strategy: string; mirror: Mirror }[] = [];
  const evilAtt = await attestation(builders, { name: EVIL, bytes: evilBytes });
  const serveEvil = (m: Mirror) => {
    m.serve(`targets/${P}/${sha256(evilBytes)}.${EVIL}`, evilBytes);
    m.serve(`targets/${P}/${sha256(evilAtt)}.${EVIL}.intoto.jsonl`, evilAtt);
  };
  const evilTargets = (doc: Record<string, any>) => {
    doc['targets'][`${P}/${EVIL}`] = { length: evilBytes.length, hashes: { sha256: sha256(evilBytes) } };
    doc['targets'][`${P}/${EVIL}.intoto.jsonl`] = { length: evilAtt.length, hashes: { sha256: sha256(evilAtt) } };
  };
  // 1. wheels-farmpkg re-signed with the builder keys held, listing the malicious wheel and an
  //    attestation they signed: at the same version (no snapshot key), and as a new version.
  for (const bump of [false, true]) {
    if (bump && !online) continue; // a new version needs a new snapshot
    const m = await honestMirror();
    serveEvil(m);
    const now = await Published.of(m);
    const wheels = await resign(await now.role(`wheels-${P}`), builders, (d) => {
      if (bump) d['version'] = (d['version'] as number) + 1;
      evilTargets(d);
    });
    if (bump) await republish(m, { snapshotSigners: [fx.keys.snapshot], timestampSigners: [fx.keys.timestamp], roles: { [`wheels-${P}`]: wheels } });
    else m.serve(now.path(`wheels-${P}`), wheels);
    out.push({ strategy: `wheels-${P} re-signed${bump ? ', next version, new snapshot' : ' at its version'}`, mirror: m });
  }
  if (!online) return out;
  // 2. With the online keys, the paths the search reaches without the developers: the project's
  //    bin, and a delegation of farmpkg/* in recently-claimed to the attacker's own key; each as
  //    it is, and after rolling claimed back to its honest version that does not delegate farmpkg.
  for (const rollback of [false, true]) {
    for (const via of ['bin', 'recently-claimed'] as const) {
      const m = await honestMirror();
      serveEvil(m);
      const now = await Published.of(m);
      const roles: Record<string, Buffer> = {};
      if (via === 'bin') {
        const bin = fx.binFor(`${P}/${EVIL}`);
        roles[bin] = await resign(await now.role(bin), [fx.keys.unclaimed], (d) => {
          d['version'] = now.version(bin) + 1;
          evilTargets(d);
        });
      } else {
        const own: Record<string, any> = { _type: 'targets', spec_version: '1.0.31', version: 1, expires: inTheFuture(30 * DAY), targets: {} };
        evilTargets(own);
        roles[`attacker-${P}`] = await signDoc(own, [attackerOwn]);
        roles['recently-claimed'] = await resign(await now.role('recently-claimed'), [fx.keys['recently-claimed']], (d) => {
          d['version'] = now.version('recently-claimed') + 1;
          d['delegations'] = { keys: { [attackerOwn.keyId]: attackerOwn.publicKey.toJSON() }, roles: [{ name: `attacker-${P}`, keyids: [attackerOwn.keyId], threshold: 1, terminating: true, paths: [`${P}/*`] }] };
        });
      }
      await republish(m, {
        snapshotSigners: [fx.keys.snapshot],
        timestampSigners: [fx.keys.timestamp],
        roles,
        ...(rollback ? { editSnapshot: (d: Record<string, any>) => void (d['meta']['claimed.json'] = { version: 1, length: claimedV1.length, hashes: { sha256: sha256(claimedV1) } }) } : {}),
      });
      out.push({ strategy: `${via}${rollback ? ', claimed rolled back to v1' : ''}`, mirror: m });
    }
  }
  return out;
}
let claimedV1: Buffer;

/** What a victim did with the malicious wheel: accepted (how), or the refusal. */
async function victim(kind: 'synced' | 'new', mirror: Mirror): Promise<{ accepted: boolean; how: string }> {
  const client = await Client.create(fx.rootBytes, `farm-${kind}`);
  if (kind === 'synced') for (const [file, bytes] of syncedCache) await writeFile(join(client.metadataDir, file), bytes);
  let got: VerifiedTarget;
  try {
    got = await client.verifiedIndex({ index: mirror.url }).get(`${P}/${EVIL}`);
  } catch (e) {
    if (e instanceof AttestationError || e instanceof RepositoryError) return { accepted: false, how: e.code };
    if (e instanceof TargetNotFoundError) return { accepted: false, how: 'not found' };
    // More bytes than the snapshot lists for a role is a refusal of that forgery (as describeFailure
    // says); any other download error is no refusal: the attack was not tested.
    if (e instanceof DownloadError && e.code === 'LENGTH_EXCEEDED') return { accepted: false, how: e.code };
    throw e;
  }
  assert.ok(got.bytes.equals(evilBytes));
  return { accepted: true, how: `accepted from ${got.role} at level ${got.level}${got.build ? ', as a verified build' : ''}` };
}

async function row(holding: Holding[]): Promise<Outcome & { verifiedBuild: boolean }> {
  const results = { synced: [] as string[], new: [] as string[] };
  let synced = false;
  let fresh = false;
  let verifiedBuild = false;
  for (const { strategy, mirror } of await forgeries(new Set(holding))) {
    for (const kind of ['synced', 'new'] as const) {
      const r = await victim(kind, mirror);
      results[kind].push(`${strategy}: ${r.how}`);
      if (r.accepted && kind === 'synced') synced = true;
      if (r.accepted && kind === 'new') fresh = true;
      if (r.accepted && r.how.includes('verified build')) verifiedBuild = true;
    }
  }
  const cell: Cell = synced ? 'YES' : fresh ? 'YES (new)' : 'no';
  return { synced: results.synced.join('; '), new: results.new.join('; '), cell, verifiedBuild };
}

// The cells, by hand: the farm key, alone or with every online key, never gives a verified
// build; with the online keys a new client can be sent down the claimed-rollback gap that the
// online rows already have (docs/table1.md, Refinements), where the wheel is served at level
// unclaimed and not as a verified build. The farm and a rebuilder together with the online keys
// can publish any wheel: the threshold is the guarantee, as PEP 480's project row.
const EXPECTED: { holding: Holding[]; label: string; cell: Cell; verifiedBuild: boolean }[] = [
  { holding: ['farm'], label: 'farm', cell: 'no', verifiedBuild: false },
  { holding: ['farm', 'online'], label: 'farm + online keys', cell: 'YES (new)', verifiedBuild: false },
  { holding: ['online'], label: 'online keys (no farm key)', cell: 'YES (new)', verifiedBuild: false },
  { holding: ['farm', 'rebuilder'], label: 'farm + rebuilder', cell: 'no', verifiedBuild: false },
  { holding: ['farm', 'rebuilder', 'online'], label: 'farm + rebuilder + online keys', cell: 'YES', verifiedBuild: true },
];

describe('Table 1: the build farm rows (malicious wheel of an opted-in claimed project)', () => {
  const observed = new Map<string, { cell: Cell; verifiedBuild: boolean }>();

  before(async () => {
    fx = await AttackRepository.create('table1-farm');
    sdist = await fx.upload(P, '1.0');
    claimedV1 = await fx.metadata('claimed', 1);
    const m = await fx.mirror();
    const serve = m.serve.bind(m);
    honestServed = [];
    m.serve = (path: string, bytes: Buffer) => {
      honestServed.push([path, bytes]);
      serve(path, bytes);
    };
    await publishHonest(m);
    // The synced victim: refreshed from the honest state and looked the honest wheel up.
    const client = await Client.create(fx.rootBytes, 'farm-sync');
    const honest = await client.verifiedIndex({ index: m.url }).get(`${P}/${HONEST}`);
    assert.ok(honest.build, 'control: the honest wheel is a verified build');
    syncedCache = await client.cache();
  });
  after(() => fx?.close());

  for (const e of EXPECTED) {
    it(`${e.label}: ${e.cell}${e.verifiedBuild ? ', as a verified build' : ', never as a verified build'}`, async () => {
      const r = await row(e.holding);
      observed.set(e.label, { cell: r.cell, verifiedBuild: r.verifiedBuild });
      assert.equal(r.cell, e.cell, `synced: ${r.synced}\nnew: ${r.new}`);
      assert.equal(r.verifiedBuild, e.verifiedBuild, `synced: ${r.synced}\nnew: ${r.new}`);
    });
  }

  it('docs/table1.md lists these rows as observed', async () => {
    const doc = await readFile(join(repoRoot, 'docs', 'table1.md'), 'utf8');
    for (const e of EXPECTED) {
      const seen = observed.get(e.label);
      assert.ok(seen, `${e.label} was run`);
      const line = doc.split('\n').find((l) => l.startsWith(`| ${e.label} |`));
      assert.ok(line, `docs/table1.md has the row "${e.label}"`);
      const cells = line.split('|').map((c) => c.trim());
      assert.equal(cells[2], seen.cell, line);
      assert.equal(cells[3], seen.verifiedBuild ? 'yes' : 'no', line);
    }
  });
});
