// The client's trusted-metadata state machine (spec §5.2–5.6), table-driven after python-tuf's
// tests/test_trusted_metadata_set.py: each case builds a small repository in memory, breaks
// one thing, and expects one error code; a failed update must leave the trusted set as it was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BadMetadataError,
  BadVersionError,
  Ed25519Signer,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  RepositoryError,
  TrustedMetadataSet,
  TrustedSetUsageError,
  UnsignedMetadataError,
  type RepositoryErrorCode,
} from '../../src/tuf/index.js';
import { PYTHON_TUF_NOW, ROOT_1, ROOT_2, SNAPSHOT, TARGETS, TIMESTAMP } from './python-tuf-fixtures.js';
import { Files, RepoBuilder } from './repo-builder.js';

type ErrorClass = abstract new (...args: never[]) => Error;

function rejects(fn: () => unknown, code: RepositoryErrorCode, type?: ErrorClass): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RepositoryError, `expected a RepositoryError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (type) assert.ok(e instanceof type, `expected ${type.name}, got ${e.name}`);
    return true;
  });
}

function misuse(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TrustedSetUsageError, `expected TrustedSetUsageError, got ${String(e)}`);
    assert.ok(!(e instanceof RepositoryError));
    return true;
  });
}

async function start(repo = new RepoBuilder()): Promise<{ repo: RepoBuilder; files: Files; set: TrustedMetadataSet }> {
  const files = await repo.publish();
  return { repo, files, set: new TrustedMetadataSet(files.root, { now: repo.now }) };
}

/** A set with root, timestamp, snapshot and top-level targets loaded. */
async function loaded(repo = new RepoBuilder()): Promise<{ repo: RepoBuilder; files: Files; set: TrustedMetadataSet }> {
  const started = await start(repo);
  started.set.updateTimestamp(started.files.timestamp);
  started.set.updateSnapshot(started.files.snapshot);
  started.set.updateTargets(started.files.targets);
  return started;
}

describe('TrustedMetadataSet: the whole chain', () => {
  it('loads root, timestamp, snapshot, targets and delegated targets, nested included', async () => {
    const repo = new RepoBuilder();
    repo.addDelegation('role1', { paths: ['a/*'] });
    repo.addDelegation('role2', { paths: ['a/b*'], delegator: 'role1' });
    repo.addTarget('role2', 'a/bc', Buffer.from('bc'));
    const { files, set } = await loaded(repo);
    set.updateDelegatedTargets(files.role('role1'), 'role1', 'targets');
    const role2 = set.updateDelegatedTargets(files.role('role2'), 'role2', 'role1');
    assert.equal(set.root.signed.version, 1);
    assert.equal(set.timestamp?.signed.version, 1);
    assert.equal(set.snapshot?.signed.version, 1);
    assert.equal(set.getTargets('targets')?.signed.version, 1);
    assert.equal(set.getTargets('role2'), role2);
    assert.equal(role2.signed.targets.get('a/bc')?.length, 2);
    assert.equal(set.getTargets('nope'), undefined);
    assert.equal(set.fastForwardRecovery, false);
  });

  it('loads succinct hashed bins', async () => {
    const repo = new RepoBuilder();
    const bins = repo.addSuccinctRoles(2, 'bins');
    assert.deepEqual(bins, ['bins-0', 'bins-1', 'bins-2', 'bins-3']);
    const { files, set } = await loaded(repo);
    for (const bin of bins) assert.equal(set.updateDelegatedTargets(files.role(bin), bin, 'targets').signed.version, 1);
  });

  it('loads a repository written by python-tuf (root 1 → 2, timestamp, snapshot, targets)', () => {
    const set = new TrustedMetadataSet(Buffer.from(ROOT_1), { now: PYTHON_TUF_NOW });
    assert.equal(set.root.signed.consistentSnapshot, true);
    set.updateRoot(Buffer.from(ROOT_2));
    assert.equal(set.root.signed.consistentSnapshot, false);
    set.updateTimestamp(Buffer.from(TIMESTAMP));
    set.updateSnapshot(Buffer.from(SNAPSHOT));
    assert.equal(set.updateTargets(Buffer.from(TARGETS)).signed.targets.size, 0);
  });

  it('refuses that repository once its final root expired (§5.3.10)', () => {
    const set = new TrustedMetadataSet(Buffer.from(ROOT_1), { now: new Date('2024-01-01T00:00:00Z') });
    set.updateRoot(Buffer.from(ROOT_2)); // an expired intermediate root is fine
    rejects(() => set.updateTimestamp(Buffer.from(TIMESTAMP)), 'EXPIRED_METADATA', ExpiredMetadataError);
    assert.equal(set.timestamp, undefined);
  });
});

describe('TrustedMetadataSet: the trusted root (§5.2)', () => {
  const cases: [string, (repo: RepoBuilder) => Promise<Buffer>, RepositoryErrorCode | 'ok'][] = [
    ['a self-signed root', (r) => r.sign('root'), 'ok'],
    ['an expired root (expiry is checked on the final root only)', (r) => (r.expireIn('root', -10), r.sign('root')), 'ok'],
    ['a root signed by a key it does not list', (r) => r.sign('root', [Ed25519Signer.generate()]), 'UNSIGNED_METADATA'],
    ['a root with no signature', (r) => r.sign('root', []), 'UNSIGNED_METADATA'],
    ['timestamp metadata', (r) => r.sign('timestamp'), 'BAD_METADATA'],
    ['not JSON', async () => Buffer.from('root'), 'BAD_METADATA'],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`${expected === 'ok' ? 'loads' : 'refuses'} ${name}`, async () => {
      const repo = new RepoBuilder();
      const b = await bytes(repo);
      if (expected === 'ok') assert.equal(new TrustedMetadataSet(b, { now: repo.now }).root.signed.version, 1);
      else rejects(() => new TrustedMetadataSet(b, { now: repo.now }), expected);
    });
  }
});

describe('TrustedMetadataSet: root rotation (§5.3)', () => {
  interface RootCase {
    name: string;
    /** Changes the initial root before it is published (version 1). */
    initial?: (repo: RepoBuilder) => void;
    /** Makes the candidate new root from the repository at version 1. */
    next: (repo: RepoBuilder) => Promise<Buffer>;
    expect: RepositoryErrorCode | 'ok';
  }
  const cases: RootCase[] = [
    { name: 'N+1 signed by the unchanged root key', next: (r) => (r.bump('root'), r.sign('root')), expect: 'ok' },
    { name: 'N+2', next: (r) => (r.bump('root', 2), r.sign('root')), expect: 'BAD_VERSION' },
    { name: 'N again', next: (r) => r.sign('root'), expect: 'EQUAL_VERSION' },
    {
      name: 'N+1 with a new root key, signed by the old and the new key',
      next: (r) => {
        const old = r.rotate('root');
        r.bump('root');
        return r.sign('root', [...old, ...r.keys('root')]);
      },
      expect: 'ok',
    },
    {
      name: 'N+1 with a new root key, signed by the new key only (not the old threshold)',
      next: (r) => (r.rotate('root'), r.bump('root'), r.sign('root')),
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'N+1 with a new root key, signed by the old key only (not the new threshold)',
      next: (r) => {
        const old = r.rotate('root');
        r.bump('root');
        return r.sign('root', old);
      },
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'N+1 raising the threshold to 2, signed by one key',
      next: (r) => {
        const old = r.keys('root');
        r.setKeys('root', [...old, Ed25519Signer.generate()], 2);
        r.bump('root');
        return r.sign('root', old);
      },
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'N+1 signed by one key of an old threshold of 2',
      initial: (r) => r.setKeys('root', [Ed25519Signer.generate(), Ed25519Signer.generate()], 2),
      next: (r) => {
        const first = r.keys('root')[0] as Ed25519Signer;
        r.setKeys('root', [first], 1); // the new root would need only this key…
        r.bump('root');
        return r.sign('root', [first]); // …but the old one needs two
      },
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'N+1 signed twice by one key of an old threshold of 2',
      initial: (r) => r.setKeys('root', [Ed25519Signer.generate(), Ed25519Signer.generate()], 2),
      next: (r) => {
        const first = r.keys('root')[0] as Ed25519Signer;
        r.bump('root');
        return r.sign('root', [first, first]);
      },
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'N+1 signed by a threshold of 2 of 3 old keys',
      initial: (r) => r.setKeys('root', [Ed25519Signer.generate(), Ed25519Signer.generate(), Ed25519Signer.generate()], 2),
      next: (r) => (r.bump('root'), r.sign('root', r.keys('root').slice(1))),
      expect: 'ok',
    },
    { name: 'N+1 that is expired (an intermediate root may be)', next: (r) => (r.bump('root'), r.expireIn('root', -1), r.sign('root')), expect: 'ok' },
    { name: 'timestamp metadata in place of a root', next: (r) => r.sign('timestamp'), expect: 'BAD_METADATA' },
    { name: 'a root with spec_version 2.0', next: (r) => (r.bump('root'), (r.role('root')['spec_version'] = '2.0.0'), r.signRaw('root')), expect: 'BAD_METADATA' },
  ];
  for (const c of cases) {
    it(`${c.expect === 'ok' ? 'accepts' : 'refuses'} ${c.name}`, async () => {
      const repo = new RepoBuilder();
      c.initial?.(repo);
      const { set } = await start(repo);
      const before = set.root;
      const bytes = await c.next(repo);
      if (c.expect === 'ok') {
        assert.equal(set.updateRoot(bytes).signed.version, 2);
        assert.equal(set.root.signed.version, 2);
      } else {
        rejects(() => set.updateRoot(bytes), c.expect);
        assert.equal(set.root, before, 'a refused root changes nothing');
      }
    });
  }

  it('follows a chain 1 → 2 → 3 → 4 that rotates the root key every time', async () => {
    const repo = new RepoBuilder();
    const { files, set } = await start(repo);
    const roots: Buffer[] = [];
    const everyRootKey = [...repo.keys('root')];
    let skipping: Buffer | undefined; // version 3 signed by the keys of versions 1, 2 and 3
    for (let v = 2; v <= 4; v++) {
      const old = repo.rotate('root');
      everyRootKey.push(...repo.keys('root'));
      repo.bump('root');
      roots.push(await repo.sign('root', [...old, ...repo.keys('root')]));
      if (v === 3) skipping = await repo.sign('root', everyRootKey);
    }
    for (const bytes of roots) set.updateRoot(bytes);
    assert.equal(set.root.signed.version, 4);
    // The newest keys are the only root keys now.
    assert.deepEqual(set.root.signed.roles.get('root')?.keyids, [repo.keys('root')[0]?.keyId]);
    // A client at version 1 cannot skip version 2: not to version 3 as published (its own key
    // did not sign it), nor to a version 3 that every root key ever used signed.
    const fresh = new TrustedMetadataSet(files.root, { now: repo.now });
    rejects(() => fresh.updateRoot(roots[1] as Buffer), 'UNSIGNED_METADATA');
    rejects(() => fresh.updateRoot(skipping as Buffer), 'BAD_VERSION');
    fresh.updateRoot(roots[0] as Buffer);
    fresh.updateRoot(roots[1] as Buffer);
  });

  it('verifies the next root against the newest trusted one, not the first', async () => {
    const repo = new RepoBuilder();
    const { set } = await start(repo);
    const first = repo.keys('root');
    repo.rotate('root');
    repo.bump('root');
    set.updateRoot(await repo.sign('root', [...first, ...repo.keys('root')]));
    repo.bump('root');
    const signedByFirst = await repo.sign('root', first);
    rejects(() => set.updateRoot(signedByFirst), 'UNSIGNED_METADATA', UnsignedMetadataError);
  });

  it('uses the final root for the timestamp and refuses it expired (§5.3.10)', async () => {
    const repo = new RepoBuilder();
    const { set } = await start(repo);
    repo.rotate('timestamp');
    repo.bump('root');
    repo.expireIn('root', -1);
    const files = await repo.publish();
    set.updateRoot(files.root);
    rejects(() => set.updateTimestamp(files.timestamp), 'EXPIRED_METADATA', ExpiredMetadataError);
    repo.expireIn('root', 3600);
    repo.bump('root');
    const files3 = await repo.publish();
    set.updateRoot(files3.root);
    assert.equal(set.updateTimestamp(files3.timestamp).signed.version, 1);
  });
});

describe('TrustedMetadataSet: timestamp (§5.4)', () => {
  const firstLoad: [string, (r: RepoBuilder) => Promise<Buffer>, RepositoryErrorCode, ErrorClass][] = [
    ['signed by an unknown key', (r) => r.sign('timestamp', [Ed25519Signer.generate()]), 'UNSIGNED_METADATA', UnsignedMetadataError],
    ['signed by the snapshot key (not authorized for timestamp)', (r) => r.sign('timestamp', r.keys('snapshot')), 'UNSIGNED_METADATA', UnsignedMetadataError],
    ['signed by the root key', (r) => r.sign('timestamp', r.keys('root')), 'UNSIGNED_METADATA', UnsignedMetadataError],
    ['snapshot metadata in place of a timestamp', (r) => r.sign('snapshot', r.keys('timestamp')), 'BAD_METADATA', BadMetadataError],
  ];
  for (const [name, bytes, code, type] of firstLoad) {
    it(`refuses a timestamp ${name}`, async () => {
      const { repo, set } = await start();
      const b = await bytes(repo);
      rejects(() => set.updateTimestamp(b), code, type);
      assert.equal(set.timestamp, undefined);
    });
  }

  it('stores an expired timestamp as a rollback baseline only, and refuses it as final (§5.4.4)', async () => {
    const repo = new RepoBuilder();
    repo.expireIn('timestamp', -1);
    const { files, set } = await start(repo);
    rejects(() => set.updateTimestamp(files.timestamp), 'EXPIRED_METADATA', ExpiredMetadataError);
    assert.equal(set.timestamp?.signed.version, 1, 'kept as the baseline');
    rejects(() => set.updateSnapshot(files.snapshot), 'EXPIRED_METADATA', ExpiredMetadataError);
    // A newer, current timestamp replaces it; an older one would be a rollback even so.
    repo.expireIn('timestamp', 3600);
    repo.bump('timestamp');
    const newer = await repo.publish();
    set.updateTimestamp(newer.timestamp);
    set.updateSnapshot(newer.snapshot);
  });

  it('an expired trusted timestamp still refuses a rollback', async () => {
    const repo = new RepoBuilder();
    repo.bump('timestamp', 4);
    repo.expireIn('timestamp', -1);
    const { files, set } = await start(repo);
    rejects(() => set.updateTimestamp(files.timestamp), 'EXPIRED_METADATA');
    repo.role('timestamp')['version'] = 3;
    repo.expireIn('timestamp', 3600);
    const older = await repo.sign('timestamp');
    rejects(() => set.updateTimestamp(older), 'BAD_VERSION', BadVersionError);
  });

  interface RollbackCase {
    name: string;
    version: number;
    snapshotVersion: number;
    expect: RepositoryErrorCode | 'ok';
  }
  // The trusted timestamp is version 5 and names snapshot version 5.
  const rollback: RollbackCase[] = [
    { name: 'an older timestamp (§5.4.3.1)', version: 4, snapshotVersion: 5, expect: 'BAD_VERSION' },
    { name: 'the same timestamp version (nothing new)', version: 5, snapshotVersion: 5, expect: 'EQUAL_VERSION' },
    { name: 'the same version naming another snapshot', version: 5, snapshotVersion: 6, expect: 'EQUAL_VERSION' },
    { name: 'a newer timestamp naming an older snapshot (§5.4.3.2)', version: 6, snapshotVersion: 4, expect: 'BAD_VERSION' },
    { name: 'a newer timestamp naming the same snapshot', version: 6, snapshotVersion: 5, expect: 'ok' },
    { name: 'a newer timestamp naming a newer snapshot', version: 9, snapshotVersion: 7, expect: 'ok' },
  ];
  for (const c of rollback) {
    it(`${c.expect === 'ok' ? 'accepts' : 'refuses'} ${c.name}`, async () => {
      const repo = new RepoBuilder();
      const { set } = await start(repo);
      const setTs = (version: number, snapshotVersion: number) => {
        repo.role('timestamp')['version'] = version;
        repo.role('timestamp')['meta'] = { 'snapshot.json': { version: snapshotVersion } };
        return repo.sign('timestamp');
      };
      const trusted = set.updateTimestamp(await setTs(5, 5));
      const next = await setTs(c.version, c.snapshotVersion);
      if (c.expect === 'ok') {
        assert.equal(set.updateTimestamp(next).signed.version, c.version);
      } else {
        rejects(() => set.updateTimestamp(next), c.expect, BadVersionError);
        assert.equal(set.timestamp, trusted, 'the trusted timestamp stays');
      }
    });
  }
});

describe('TrustedMetadataSet: snapshot (§5.5)', () => {
  interface SnapshotCase {
    name: string;
    /** Breaks the repository after a consistent publish; returns the snapshot bytes to load. */
    change: (repo: RepoBuilder, files: Files) => Promise<{ timestamp?: Buffer; snapshot: Buffer }>;
    trusted?: boolean;
    expect: RepositoryErrorCode | 'ok';
    /** Whether the snapshot stays stored (python-tuf's intermediate snapshot). */
    stored?: boolean;
  }
  const tsMeta = (repo: RepoBuilder) => repo.role('timestamp')['meta']['snapshot.json'];
  const cases: SnapshotCase[] = [
    { name: 'the snapshot the timestamp names', change: async (_r, f) => ({ snapshot: f.snapshot }), expect: 'ok' },
    {
      name: 'a snapshot whose hash differs from the timestamp’s (§5.5.2)',
      change: async (r, f) => {
        tsMeta(r)['hashes'] = { sha256: 'ab'.repeat(32) };
        return { timestamp: await r.sign('timestamp'), snapshot: f.snapshot };
      },
      expect: 'LENGTH_OR_HASH_MISMATCH',
    },
    {
      name: 'a snapshot whose length differs from the timestamp’s',
      change: async (r, f) => {
        tsMeta(r)['length'] += 1;
        return { timestamp: await r.sign('timestamp'), snapshot: f.snapshot };
      },
      expect: 'LENGTH_OR_HASH_MISMATCH',
    },
    {
      name: 'a snapshot changed after the timestamp was made (same version)',
      change: async (r) => {
        r.role('snapshot')['x_changed'] = true;
        return { snapshot: await r.sign('snapshot') };
      },
      expect: 'LENGTH_OR_HASH_MISMATCH',
    },
    {
      name: 'a timestamp that lists only a hash algorithm we do not compute (fail closed)',
      change: async (r, f) => {
        tsMeta(r)['hashes'] = { md5: 'ab'.repeat(16) };
        return { timestamp: await r.sign('timestamp'), snapshot: f.snapshot };
      },
      expect: 'LENGTH_OR_HASH_MISMATCH',
    },
    {
      name: 'a mismatching local copy loaded as trusted (hashes not checked)',
      change: async (r, f) => {
        tsMeta(r)['hashes'] = { sha256: 'ab'.repeat(32) };
        return { timestamp: await r.sign('timestamp'), snapshot: f.snapshot };
      },
      trusted: true,
      expect: 'ok',
    },
    {
      name: 'a snapshot when the timestamp lists no length or hashes',
      change: async (r) => {
        const f = await r.publish({ hashes: false });
        return { timestamp: f.timestamp, snapshot: f.snapshot };
      },
      expect: 'ok',
    },
    {
      name: 'a snapshot signed by the timestamp key (§5.5.3)',
      change: async (r) => {
        const snapshot = await r.sign('snapshot', r.keys('timestamp'));
        delete tsMeta(r)['hashes'];
        delete tsMeta(r)['length'];
        return { timestamp: await r.sign('timestamp'), snapshot };
      },
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'a snapshot of another version than the timestamp names (§5.5.4)',
      change: async (r) => {
        r.bump('snapshot');
        const f = await r.publish();
        tsMeta(r)['version'] = 1;
        return { timestamp: await r.sign('timestamp'), snapshot: f.snapshot };
      },
      expect: 'BAD_VERSION',
      stored: true,
    },
    {
      name: 'an expired snapshot (§5.5.6)',
      change: async (r) => {
        r.expireIn('snapshot', -1);
        const f = await r.publish();
        return { timestamp: f.timestamp, snapshot: f.snapshot };
      },
      expect: 'EXPIRED_METADATA',
      stored: true,
    },
    {
      name: 'timestamp metadata in place of a snapshot',
      change: async (r) => {
        const f = await r.publish({ hashes: false });
        return { timestamp: f.timestamp, snapshot: await r.sign('timestamp', r.keys('snapshot')) };
      },
      expect: 'BAD_METADATA',
    },
  ];
  for (const c of cases) {
    it(`${c.expect === 'ok' ? 'accepts' : 'refuses'} ${c.name}`, async () => {
      const { repo, files, set } = await start();
      const { timestamp, snapshot } = await c.change(repo, files);
      set.updateTimestamp(timestamp ?? files.timestamp);
      const load = () => set.updateSnapshot(snapshot, c.trusted ? { trusted: true } : {});
      if (c.expect === 'ok') {
        load();
        assert.ok(set.snapshot);
        return;
      }
      rejects(load, c.expect);
      if (c.stored) {
        assert.ok(set.snapshot, 'kept as a rollback baseline');
        // …but nothing loads on top of it.
        rejects(() => set.updateTargets(files.targets), c.expect);
      } else {
        assert.equal(set.snapshot, undefined);
      }
    });
  }

  it('refuses a snapshot while the trusted timestamp is expired', async () => {
    const repo = new RepoBuilder();
    repo.expireIn('timestamp', -1);
    const { files, set } = await start(repo);
    rejects(() => set.updateTimestamp(files.timestamp), 'EXPIRED_METADATA');
    rejects(() => set.updateSnapshot(files.snapshot, { trusted: true }), 'EXPIRED_METADATA');
  });

  interface RollbackCase {
    name: string;
    change: (repo: RepoBuilder) => void;
    /** A role the new snapshot leaves out (publish() would list it again). */
    unlist?: string;
    expect: RepositoryErrorCode | 'ok';
  }
  // The trusted snapshot (a local copy, version 1) lists targets.json and role1.json at version 2.
  const rollback: RollbackCase[] = [
    { name: 'a snapshot that keeps every role at its version or later', change: (r) => r.bump('role1'), expect: 'ok' },
    { name: 'a snapshot that adds a role', change: (r) => void r.addDelegation('role2'), expect: 'ok' },
    { name: 'a snapshot that drops a role the trusted one listed (§5.5.5)', change: () => undefined, unlist: 'role1', expect: 'BAD_VERSION' },
    { name: 'a snapshot that rolls a delegated role back', change: (r) => (r.role('role1')['version'] = 1), expect: 'BAD_VERSION' },
    { name: 'a snapshot that rolls targets back', change: (r) => (r.role('targets')['version'] = 1), expect: 'BAD_VERSION' },
  ];
  for (const c of rollback) {
    it(`${c.expect === 'ok' ? 'accepts' : 'refuses'} ${c.name}`, async () => {
      const repo = new RepoBuilder();
      repo.addDelegation('role1');
      repo.bump('targets');
      repo.bump('role1');
      const old = await repo.publish();
      repo.bump('snapshot');
      repo.bump('timestamp');
      c.change(repo);
      let { snapshot, timestamp } = await repo.publish();
      if (c.unlist) {
        delete repo.role('snapshot')['meta'][`${c.unlist}.json`];
        snapshot = await repo.sign('snapshot');
        repo.role('timestamp')['meta'] = { 'snapshot.json': { version: 2 } };
        timestamp = await repo.sign('timestamp');
      }
      // The client has snapshot 1 on disk; the new timestamp names snapshot 2.
      const set = new TrustedMetadataSet(old.root, { now: repo.now });
      set.updateTimestamp(old.timestamp);
      set.updateTimestamp(timestamp);
      rejects(() => set.updateSnapshot(old.snapshot, { trusted: true }), 'BAD_VERSION'); // not final, but the baseline
      assert.equal(set.snapshot?.signed.version, 1);
      if (c.expect === 'ok') {
        assert.equal(set.updateSnapshot(snapshot).signed.version, 2);
      } else {
        rejects(() => set.updateSnapshot(snapshot), c.expect);
        assert.equal(set.snapshot?.signed.version, 1, 'the trusted snapshot stays');
      }
    });
  }
});

describe('TrustedMetadataSet: targets and delegated targets (§5.6)', () => {
  interface TargetsCase {
    name: string;
    setup?: (repo: RepoBuilder) => void;
    /** Returns [bytes, role, delegator] to load once snapshot (and targets, for a delegated role) are loaded. */
    load: (repo: RepoBuilder, files: Files) => Promise<[Buffer, string, string]>;
    expect: RepositoryErrorCode | 'ok';
    /** The snapshot lists lengths and hashes (off by default, so later checks are reached). */
    hashes?: boolean;
    /** A role the snapshot leaves out. */
    unlist?: string;
    /** Load role1 (delegated by targets) first. */
    loadRole1?: boolean;
  }
  const withRole1 = (r: RepoBuilder) => void r.addDelegation('role1', { paths: ['a/*'] });
  const cases: TargetsCase[] = [
    { name: 'targets', load: async (_r, f) => [f.targets, 'targets', 'root'], expect: 'ok' },
    { name: 'targets matching the snapshot’s hashes', hashes: true, load: async (_r, f) => [f.targets, 'targets', 'root'], expect: 'ok' },
    {
      name: 'targets whose hash differs from the snapshot’s (§5.6.2)',
      hashes: true,
      load: async (r) => {
        r.role('targets')['x'] = 1;
        return [await r.sign('targets'), 'targets', 'root'];
      },
      expect: 'LENGTH_OR_HASH_MISMATCH',
    },
    { name: 'targets signed by the snapshot key (§5.6.3)', load: async (r) => [await r.sign('targets', r.keys('snapshot')), 'targets', 'root'], expect: 'UNSIGNED_METADATA' },
    {
      name: 'targets of another version than the snapshot names (§5.6.4)',
      load: async (r) => (r.bump('targets'), [await r.sign('targets'), 'targets', 'root']),
      expect: 'BAD_VERSION',
    },
    { name: 'expired targets (§5.6.5)', load: async (r) => (r.expireIn('targets', -1), [await r.sign('targets'), 'targets', 'root']), expect: 'EXPIRED_METADATA' },
    { name: 'a delegated role', setup: withRole1, load: async (_r, f) => [f.role('role1'), 'role1', 'targets'], expect: 'ok' },
    { name: 'a delegated role matching the snapshot’s hashes', setup: withRole1, hashes: true, load: async (_r, f) => [f.role('role1'), 'role1', 'targets'], expect: 'ok' },
    { name: 'a delegated role the snapshot does not list', setup: withRole1, unlist: 'role1', load: async (_r, f) => [f.role('role1'), 'role1', 'targets'], expect: 'UNKNOWN_ROLE' },
    { name: 'a role its delegator does not delegate to', setup: withRole1, load: async (r) => [await r.sign('role1'), 'role9', 'targets'], expect: 'UNKNOWN_ROLE' },
    {
      name: 'a delegated role signed by the top-level targets key',
      setup: withRole1,
      load: async (r) => [await r.sign('role1', r.keys('targets')), 'role1', 'targets'],
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'a delegated role with one signature of a threshold of 2',
      setup: (r) => void r.addDelegation('role1', { keys: 2, threshold: 2 }),
      load: async (r) => [await r.sign('role1', r.keys('role1').slice(0, 1)), 'role1', 'targets'],
      expect: 'UNSIGNED_METADATA',
    },
    {
      name: 'a delegated role with two signatures of a threshold of 2',
      setup: (r) => void r.addDelegation('role1', { keys: 2, threshold: 2 }),
      load: async (_r, f) => [f.role('role1'), 'role1', 'targets'],
      expect: 'ok',
    },
    {
      name: 'a delegated role of another version than the snapshot names',
      setup: withRole1,
      load: async (r) => (r.bump('role1'), [await r.sign('role1'), 'role1', 'targets']),
      expect: 'BAD_VERSION',
    },
    { name: 'an expired delegated role', setup: withRole1, load: async (r) => (r.expireIn('role1', 0), [await r.sign('role1'), 'role1', 'targets']), expect: 'EXPIRED_METADATA' },
    {
      name: 'a role delegated by a delegated role',
      setup: (r) => (withRole1(r), void r.addDelegation('role2', { delegator: 'role1' })),
      loadRole1: true,
      load: async (_r, f) => [f.role('role2'), 'role2', 'role1'],
      expect: 'ok',
    },
    {
      name: 'a role delegated by a delegated role, signed by its delegator’s key',
      setup: (r) => (withRole1(r), void r.addDelegation('role2', { delegator: 'role1' })),
      loadRole1: true,
      load: async (r) => [await r.sign('role2', r.keys('role1')), 'role2', 'role1'],
      expect: 'UNSIGNED_METADATA',
    },
    { name: 'a succinct bin', setup: (r) => void r.addSuccinctRoles(3, 'bins'), load: async (_r, f) => [f.role('bins-5'), 'bins-5', 'targets'], expect: 'ok' },
    {
      name: 'a succinct bin signed by the wrong key',
      setup: (r) => void r.addSuccinctRoles(3, 'bins'),
      load: async (r) => [await r.sign('bins-5', r.keys('targets')), 'bins-5', 'targets'],
      expect: 'UNSIGNED_METADATA',
    },
    { name: 'a name that is not one of the succinct bins', setup: (r) => void r.addSuccinctRoles(3, 'bins'), load: async (r) => [await r.sign('bins-5'), 'bins-8', 'targets'], expect: 'UNKNOWN_ROLE' },
  ];
  for (const c of cases) {
    it(`${c.expect === 'ok' ? 'accepts' : 'refuses'} ${c.name}`, async () => {
      const repo = new RepoBuilder();
      c.setup?.(repo);
      const files = await repo.publish({ hashes: c.hashes ?? false });
      let snapshot = files.snapshot;
      if (c.unlist) {
        delete repo.role('snapshot')['meta'][`${c.unlist}.json`];
        snapshot = await repo.sign('snapshot');
      }
      const set = new TrustedMetadataSet(files.root, { now: repo.now });
      set.updateTimestamp(files.timestamp);
      set.updateSnapshot(snapshot);
      const [bytes, role, delegator] = await c.load(repo, files);
      if (role !== 'targets') set.updateTargets(files.targets);
      if (c.loadRole1) set.updateDelegatedTargets(files.role('role1'), 'role1', 'targets');
      const load = () => (role === 'targets' ? set.updateTargets(bytes) : set.updateDelegatedTargets(bytes, role, delegator));
      if (c.expect === 'ok') {
        assert.equal(load().signed.version, 1);
        assert.ok(set.getTargets(role));
      } else {
        rejects(load, c.expect);
        assert.equal(set.getTargets(role), undefined, 'nothing stored');
      }
    });
  }
});

describe('TrustedMetadataSet: fast-forward attack recovery (§5.3.11)', () => {
  it('after the timestamp key rotates, a fast-forwarded timestamp stops being the baseline', async () => {
    const repo = new RepoBuilder();
    const v1 = await repo.publish();
    // An attacker with the timestamp key fast-forwards the client to version 1000.
    repo.role('timestamp')['version'] = 1000;
    const forwarded = await repo.sign('timestamp');
    const victim = new TrustedMetadataSet(v1.root, { now: repo.now });
    victim.updateTimestamp(forwarded);
    // The repository recovers: new timestamp key in root 2, timestamp back to version 2.
    repo.rotate('timestamp');
    repo.bump('root');
    repo.role('timestamp')['version'] = 2;
    const recovered = await repo.publish();

    const set = new TrustedMetadataSet(v1.root, { now: repo.now });
    set.updateRoot(recovered.root);
    assert.equal(set.fastForwardRecovery, true);
    rejects(() => set.updateTimestamp(forwarded), 'UNSIGNED_METADATA'); // the cached copy no longer verifies
    set.updateTimestamp(recovered.timestamp);
    set.updateSnapshot(recovered.snapshot);
    set.updateTargets(recovered.targets);
  });

  it('without a rotation, the fast-forwarded timestamp stays the baseline (control)', async () => {
    const repo = new RepoBuilder();
    const v1 = await repo.publish();
    repo.role('timestamp')['version'] = 1000;
    const forwarded = await repo.sign('timestamp');
    repo.bump('root');
    repo.role('timestamp')['version'] = 2;
    const next = await repo.publish();
    const set = new TrustedMetadataSet(v1.root, { now: repo.now });
    set.updateRoot(next.root);
    assert.equal(set.fastForwardRecovery, false);
    set.updateTimestamp(forwarded);
    rejects(() => set.updateTimestamp(next.timestamp), 'BAD_VERSION');
  });

  async function snapshotForwarded(rotate: boolean) {
    // An attacker with only the snapshot key gets snapshot 1000 published, and the online
    // timestamp service (its key not compromised) names it.
    const repo = new RepoBuilder();
    const v1 = await repo.publish();
    repo.role('snapshot')['version'] = 1000;
    repo.role('timestamp')['version'] = 5;
    const forwarded = await repo.publish();
    // Recovery: (maybe) a new snapshot key in root 2, snapshot back to 1, timestamp 6.
    if (rotate) repo.rotate('snapshot');
    repo.bump('root');
    repo.role('snapshot')['version'] = 1;
    repo.role('timestamp')['version'] = 6;
    const recovered = await repo.publish();
    const set = new TrustedMetadataSet(v1.root, { now: repo.now });
    set.updateRoot(recovered.root);
    set.updateTimestamp(forwarded.timestamp); // the cached timestamp: still verifies
    return { set, forwarded, recovered };
  }

  it('after only the snapshot key rotates, the cached timestamp naming snapshot 1000 is dropped', async () => {
    const { set, forwarded, recovered } = await snapshotForwarded(true);
    assert.equal(set.fastForwardRecovery, true);
    set.updateTimestamp(recovered.timestamp); // names snapshot 1 < 1000: allowed in recovery
    rejects(() => set.updateSnapshot(forwarded.snapshot, { trusted: true }), 'UNSIGNED_METADATA');
    assert.equal(set.updateSnapshot(recovered.snapshot).signed.version, 1);
    set.updateTargets(recovered.targets);
  });

  it('without the rotation, the snapshot version named by the cached timestamp holds (control)', async () => {
    const { set, recovered } = await snapshotForwarded(false);
    assert.equal(set.fastForwardRecovery, false);
    rejects(() => set.updateTimestamp(recovered.timestamp), 'BAD_VERSION');
  });

  it('adding a timestamp key (removing none) is not a rotation', async () => {
    const repo = new RepoBuilder();
    const v1 = await repo.publish();
    repo.setKeys('timestamp', [...repo.keys('timestamp'), Ed25519Signer.generate()]);
    repo.bump('root');
    const set = new TrustedMetadataSet(v1.root, { now: repo.now });
    set.updateRoot(await repo.sign('root'));
    assert.equal(set.fastForwardRecovery, false);
  });
});

describe('TrustedMetadataSet: update order misuse is a programming error', () => {
  const cases: [string, (set: TrustedMetadataSet, files: Files) => void][] = [
    ['snapshot before timestamp', (s, f) => s.updateSnapshot(f.snapshot)],
    ['targets before snapshot', (s, f) => (s.updateTimestamp(f.timestamp), s.updateTargets(f.targets))],
    ['delegated targets before snapshot', (s, f) => s.updateDelegatedTargets(f.role('role1'), 'role1', 'targets')],
    ['root after timestamp', (s, f) => (s.updateTimestamp(f.timestamp), s.updateRoot(f.root))],
    ['timestamp after snapshot', (s, f) => (s.updateTimestamp(f.timestamp), s.updateSnapshot(f.snapshot), s.updateTimestamp(f.timestamp))],
    ['snapshot after targets', (s, f) => (s.updateTimestamp(f.timestamp), s.updateSnapshot(f.snapshot), s.updateTargets(f.targets), s.updateSnapshot(f.snapshot))],
    ['a delegated role before its delegator', (s, f) => (s.updateTimestamp(f.timestamp), s.updateSnapshot(f.snapshot), s.updateDelegatedTargets(f.role('role1'), 'role1', 'targets'))],
    ['targets from a delegated role', (s, f) => (s.updateTimestamp(f.timestamp), s.updateSnapshot(f.snapshot), s.updateTargets(f.targets), s.updateDelegatedTargets(f.targets, 'targets', 'role1'))],
    ['a delegated role from root', (s, f) => (s.updateTimestamp(f.timestamp), s.updateSnapshot(f.snapshot), s.updateDelegatedTargets(f.role('role1'), 'role1', 'root'))],
  ];
  for (const [name, run] of cases) {
    it(name, async () => {
      const repo = new RepoBuilder();
      repo.addDelegation('role1');
      const files = await repo.publish();
      const set = new TrustedMetadataSet(files.root, { now: repo.now });
      misuse(() => run(set, files));
    });
  }
});

describe('TrustedMetadataSet: reference time', () => {
  it('is fixed at construction: changing the caller’s Date afterwards changes nothing', async () => {
    const repo = new RepoBuilder();
    const files = await repo.publish();
    const now = new Date(repo.now.getTime());
    const set = new TrustedMetadataSet(files.root, { now });
    now.setTime(now.getTime() + 10 * 86_400_000);
    set.updateTimestamp(files.timestamp);
    assert.equal(set.now.getTime(), repo.now.getTime());
  });

  it('metadata expiring exactly at the reference time is expired', async () => {
    const repo = new RepoBuilder();
    repo.expireIn('timestamp', 0);
    const { files, set } = await start(repo);
    rejects(() => set.updateTimestamp(files.timestamp), 'EXPIRED_METADATA');
  });

  it('defaults to the current time', async () => {
    const repo = new RepoBuilder({ now: new Date() });
    const files = await repo.publish();
    const set = new TrustedMetadataSet(files.root);
    assert.ok(Math.abs(set.now.getTime() - Date.now()) < 60_000);
    set.updateTimestamp(files.timestamp);
  });
});

// Error classes are what the updater and the CLI branch on.
describe('TrustedMetadataSet: error types', () => {
  it('hash mismatches are LengthOrHashMismatchError, rollbacks BadVersionError', async () => {
    const { repo, files, set } = await start();
    repo.role('timestamp')['meta']['snapshot.json']['length'] += 1;
    set.updateTimestamp(await repo.sign('timestamp'));
    rejects(() => set.updateSnapshot(files.snapshot), 'LENGTH_OR_HASH_MISMATCH', LengthOrHashMismatchError);
  });
});
