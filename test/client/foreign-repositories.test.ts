// `bulwark tuf-client` against whole repositories that another tool made: plain JSON signed by
// python3-securesystemslib (test/helpers/foreign-repo.ts), served over HTTP on 127.0.0.1 and
// driven through the conformance CLI protocol, as an outside harness (tuf-conformance) runs it:
//  - ECDSA keys, threshold 3 and custom `x-tuf-on-ci-*` fields, shaped like sigstore's
//    root-signing repository (consistent snapshots, snapshot meta without hashes);
//  - RSA-PSS keys, without consistent snapshots, with lengths and hashes;
//  - mixed Ed25519, ECDSA and RSA keys, with delegations four levels deep whose role names need
//    quoting (`a/b?c`, `#frag`, `../../escape`, `..`).
// Each goes through root rotation, rotation of every top-level role's keys, 3-of-5 thresholds
// raised and lowered, signatures from unused keys, expiry and rollback. Failures are checked by
// their typed reason (the code the CLI prints), not just the exit status.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ForeignRepo, isoSeconds, pyQuote, type Doc, type ForeignRepoOptions } from '../helpers/foreign-repo.js';
import { runBulwark, tempDir } from '../helpers/processes.js';
import { Sslib, type SslibKeyType } from '../helpers/sslib.js';

interface Flavour {
  name: string;
  keyType: (keyName: string) => SslibKeyType;
  options: ForeignRepoOptions;
  /** Delegated roles, in chain order from targets; the target lives in the last one. */
  chain: string[];
}

const TUF_ON_CI: ForeignRepoOptions['extra'] = (where) => {
  if (where === 'key') return { 'x-tuf-on-ci-keyowner': '@keyholder' };
  if (where === 'role') return { 'x-tuf-on-ci-expiry-period': 182, 'x-tuf-on-ci-signing-period': 31 };
  if (where === 'signed') return { 'x-tuf-on-ci-note': { nested: [1, 'two', null, true] } };
  return { [`x-tuf-on-ci-${where.replace(/ /g, '-')}`]: 'kept and signed' };
};

const MIXED_TYPES: SslibKeyType[] = ['ed25519', 'ecdsa', 'rsa'];
const FLAVOURS: Flavour[] = [
  { name: 'sigstore-like (ECDSA, threshold 3, x-tuf-on-ci fields)', keyType: () => 'ecdsa', options: { consistentSnapshot: true, hashes: false, extra: TUF_ON_CI }, chain: [] },
  { name: 'RSA-PSS keys, no consistent snapshots', keyType: () => 'rsa', options: { consistentSnapshot: false, hashes: true }, chain: [] },
  {
    name: 'mixed key types, deep delegations with names that need quoting',
    // Each key name ends in a digit: key types rotate through the three.
    keyType: (n) => MIXED_TYPES[Number(n.replace(/\D/g, '') || 0) % 3] as SslibKeyType,
    options: { consistentSnapshot: true, hashes: true },
    chain: ['a/b?c', '#frag', '../../escape', '..'],
  },
];

for (const flavour of FLAVOURS) {
  describe(`tuf-client on a foreign repository: ${flavour.name}`, () => {
    let sslib: Sslib;
    let repo: ForeignRepo;
    let work: string;
    let metadataDir: string;
    let targetDir: string;
    const target = flavour.chain.length > 0 ? 'deep/file.txt' : 'files/a.txt';

    const cli = (...args: string[]) => runBulwark(['tuf-client', '--metadata-dir', metadataDir, '--metadata-url', `${repo.url}/metadata`, ...args]);
    const refresh = () => cli('refresh');
    const download = () => cli('--target-name', target, '--target-base-url', `${repo.url}/targets`, '--target-dir', targetDir, 'download');
    const ok = async (r: Promise<{ code: number; stderr: string }>) => {
      const res = await r;
      assert.equal(res.code, 0, res.stderr);
    };
    const refused = async (r: Promise<{ code: number; stderr: string }>, code: string, detail?: RegExp) => {
      const res = await r;
      assert.equal(res.code, 1, `expected a refusal (${code})`);
      assert.match(res.stderr, new RegExp(`^tuf-client: ${code}: `, 'm'));
      if (detail) assert.match(res.stderr, detail);
    };
    const version = async (role: string) => (JSON.parse(await readFile(join(metadataDir, `${pyQuote(role)}.json`), 'utf8')) as { signed: { version: number } }).signed.version;
    const keys = async (...names: string[]) => {
      for (const n of names) if (!repo.keyids.has(n)) await repo.key(n, flavour.keyType(n));
    };

    before(async () => {
      sslib = Sslib.start();
      repo = new ForeignRepo(sslib, flavour.options);
      await repo.listen();
      work = await tempDir('foreign-repo');
      metadataDir = join(work, 'metadata');
      targetDir = join(work, 'targets');
      await keys('r1', 'r2', 'r3', 'r4', 'r5', 't1', 's1', 'g1', 'd1', 'd2', 'd3', 'd4', 'x9');
      repo.init({
        root: { names: ['r1', 'r2', 'r3', 'r4', 'r5'], threshold: 3 },
        timestamp: { names: ['t1'], threshold: 1 },
        snapshot: { names: ['s1'], threshold: 1 },
        targets: { names: ['g1'], threshold: 1 },
      });
      let delegator = 'targets';
      for (const [i, role] of flavour.chain.entries()) {
        repo.delegate(delegator, role, [`d${i + 1}`], 1, ['deep/*']);
        delegator = role;
      }
      repo.addTarget(delegator, target, `content of ${target}`);
      await repo.signRoot(['r1', 'r2', 'r3', 'r4', 'r5']);
      await repo.release(['targets', ...flavour.chain]);
      const initial = join(work, 'initial_root.json');
      await writeFile(initial, repo.files.get('metadata/1.root.json') as Buffer);
      const init = await runBulwark(['tuf-client', '--metadata-dir', metadataDir, 'init', initial]);
      assert.equal(init.code, 0, init.stderr);
    });
    after(async () => {
      sslib.close();
      await repo.close();
    });

    it('downloads a target through every delegation, requesting role names quoted as python-tuf does', async () => {
      await ok(download());
      assert.equal(await readFile(join(targetDir, pyQuote(target)), 'utf8'), `content of ${target}`);
      for (const role of ['root', 'timestamp', 'snapshot', 'targets', ...flavour.chain]) assert.equal(await version(role), 1, role);
      for (const role of flavour.chain) {
        const quoted = pyQuote(role);
        assert.ok(repo.requests.includes(`metadata/1.${quoted}.json`), `requested ${quoted}: ${repo.requests.join(' ')}`);
      }
      // Nothing but the quoted names in the metadata directory, nothing written beside it.
      assert.deepEqual((await readdir(metadataDir)).sort(), ['root', 'timestamp', 'snapshot', 'targets', ...flavour.chain].map((r) => `${pyQuote(r)}.json`).sort());
      assert.deepEqual((await readdir(work)).sort(), ['initial_root.json', 'metadata', 'targets']);
    });

    it('follows a root rotation signed by thresholds of the old and the new root keys, not by the new keys alone', async () => {
      await keys('r6', 'r7');
      await repo.publishRoot(['r3', 'r6', 'r7'], () => repo.setRole('root', ['r1', 'r2', 'r3', 'r6', 'r7'], 3));
      await refused(refresh(), 'UNSIGNED_METADATA', /root has 1 valid signature\(s\) of the 3 required/);
      assert.equal(await version('root'), 1);
      // r1, r2, r4 are 3 of the old keys; r1, r2, r6 are 3 of the new; t1 and x9 sign too but
      // are no root keys, so they count for nothing.
      await repo.signRoot(['r1', 'r2', 'r4', 'r6', 't1', 'x9']);
      await ok(refresh());
      assert.equal(await version('root'), 2);
    });

    it('follows a rotation of every top-level role’s keys, and refuses metadata still signed by the old ones', async () => {
      await keys('t2', 's2', 'g2');
      await repo.publishRoot(['r1', 'r2', 'r3'], () => {
        repo.setRole('timestamp', ['t2'], 1);
        repo.setRole('snapshot', ['s2'], 1);
        repo.setRole('targets', ['g2'], 1);
      });
      await repo.release(['targets']); // still signed by t1, s1, g1
      await refused(refresh(), 'UNSIGNED_METADATA', /timestamp has 0 valid signature/);
      repo.signers.set('timestamp', ['t2']);
      await repo.publishTimestamp();
      await refused(refresh(), 'UNSIGNED_METADATA', /snapshot has 0 valid signature/);
      repo.signers.set('snapshot', ['s2']);
      await repo.release(['targets']);
      await refused(refresh(), 'UNSIGNED_METADATA', /targets has 0 valid signature/);
      repo.signers.set('targets', ['g2']);
      await repo.release(['targets']);
      await ok(refresh());
      assert.equal(await version('root'), 3);
      assert.equal(await version('targets'), 4);
    });

    it('applies a raised 3-of-5 snapshot threshold: two signatures plus unused keys’ are not enough', async () => {
      await keys('s3', 's4', 's5', 's6');
      await repo.publishRoot(['r1', 'r2', 'r3'], () => repo.setRole('snapshot', ['s2', 's3', 's4', 's5', 's6'], 3));
      repo.signers.set('snapshot', ['s2', 's3', 't2', 'g2', 'x9']);
      await repo.release();
      await refused(refresh(), 'UNSIGNED_METADATA', /snapshot has 2 valid signature\(s\) of the 3 required/);
      assert.equal(await version('root'), 4);
      repo.signers.set('snapshot', ['s6', 's4', 's2']);
      await repo.release();
      await ok(refresh());
    });

    it('applies lowered thresholds: root 3 → 2, then snapshot 3 → 1', async () => {
      await repo.publishRoot(['r1', 'r2', 'r3'], () => ((repo.root['roles'] as Doc)['root'] as Doc)['threshold'] = 2);
      await repo.publishRoot(['r6', 'r7']); // 2 of the new threshold, and of the trusted one
      await ok(refresh());
      assert.equal(await version('root'), 6);
      await repo.publishRoot(['r7'], () => repo.setRole('snapshot', ['s2', 's3', 's4', 's5', 's6'], 1));
      await refused(refresh(), 'UNSIGNED_METADATA', /root has 1 valid signature\(s\) of the 2 required/);
      assert.equal(await version('root'), 6);
      await repo.signRoot(['r7', 'r3']);
      repo.signers.set('snapshot', ['s5']);
      await repo.release();
      await ok(refresh());
      assert.equal(await version('root'), 7);
    });

    it('refuses an expired timestamp, then takes a fresh one', async () => {
      const ts = repo.docs.get('timestamp') as Doc;
      ts['expires'] = isoSeconds(new Date(Date.now() - 60_000));
      await repo.publishTimestamp();
      await refused(refresh(), 'EXPIRED_METADATA', /timestamp expired/);
      ts['expires'] = repo.expires();
      await repo.publishTimestamp();
      await ok(refresh());
    });

    it('refuses a timestamp rolled back, and a timestamp naming an older snapshot', async () => {
      const old = repo.files.get('metadata/timestamp.json') as Buffer;
      await repo.publishTimestamp();
      await ok(refresh());
      repo.files.set('metadata/timestamp.json', old);
      await refused(refresh(), 'BAD_VERSION', /timestamp version \d+ is not ≥/);
      const snapshotVersion = (repo.docs.get('snapshot') as Doc)['version'] as number;
      await repo.release();
      await ok(refresh());
      // Validly signed, newer timestamp, but it names the snapshot before the trusted one.
      const older = repo.files.get(flavour.options.consistentSnapshot ? `metadata/${snapshotVersion}.snapshot.json` : 'metadata/snapshot.json') as Buffer;
      await repo.publishTimestamp(snapshotVersion, older);
      await refused(refresh(), 'BAD_VERSION', /snapshot \(named by timestamp\)/);
      await repo.release();
      await ok(download());
    });
  });
}
