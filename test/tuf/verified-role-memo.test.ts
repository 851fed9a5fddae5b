// Delegated roles verified once per process (src/tuf/verified-role-memo.ts): a later update that
// is given the same bytes under the same keys skips the parse and the signature check, and
// still refuses whatever depends on the update: other keys, expiry, the version named, the name.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import { Key, RepositoryError, TrustedMetadataSet } from '../../src/tuf/index.js';
import { clearVerifiedRoles } from '../../src/tuf/verified-role-memo.js';
import { RepoBuilder, type Files } from './repo-builder.js';

/** Counts signature checks made through Key.verify while `fn` runs. */
function countingVerifies<T>(fn: () => T): { result: T; verifies: number } {
  const original = Key.prototype.verify;
  let verifies = 0;
  Key.prototype.verify = function (this: Key, ...args: Parameters<Key['verify']>) {
    verifies++;
    return original.apply(this, args);
  };
  try {
    return { result: fn(), verifies };
  } finally {
    Key.prototype.verify = original;
  }
}

function loadedSet(repo: RepoBuilder, files: Files, now = repo.now): TrustedMetadataSet {
  const set = new TrustedMetadataSet(files.root, { now });
  set.updateTimestamp(files.timestamp);
  set.updateSnapshot(files.snapshot);
  set.updateTargets(files.targets);
  return set;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RepositoryError, String(e));
    return e.code;
  }
  return 'accepted';
}

describe('verified delegated roles are remembered by bytes and keys', () => {
  beforeEach(() => clearVerifiedRoles());

  it('a second update with the same bytes and keys checks no signature and returns the same role', async () => {
    const repo = new RepoBuilder();
    repo.addDelegation('role1', { paths: ['a/*'] });
    const files = await repo.publish();
    const first = countingVerifies(() => loadedSet(repo, files).updateDelegatedTargets(files.role('role1'), 'role1', 'targets'));
    assert.ok(first.verifies >= 1);
    const set = loadedSet(repo, files);
    const second = countingVerifies(() => set.updateDelegatedTargets(files.role('role1'), 'role1', 'targets'));
    assert.equal(second.verifies, 0);
    assert.equal(second.result, first.result);
    assert.equal(set.getTargets('role1'), first.result);
  });

  it('the same bytes under keys the delegator no longer trusts are refused', async () => {
    const repo = new RepoBuilder();
    repo.addDelegation('role1', { paths: ['a/*'] });
    const files = await repo.publish();
    const role1 = files.role('role1');
    loadedSet(repo, files).updateDelegatedTargets(role1, 'role1', 'targets');
    // targets now delegates role1 to a new key; the snapshot still lists the old role1 file.
    repo.rotate('role1');
    repo.bump('targets');
    const set = await listing(repo, role1, 1);
    assert.equal(code(() => set.updateDelegatedTargets(role1, 'role1', 'targets')), 'UNSIGNED_METADATA');
  });

  it('a remembered role is still refused once expired, or when the snapshot names another version', async () => {
    const repo = new RepoBuilder();
    repo.addDelegation('role1', { paths: ['a/*'] });
    const files = await repo.publish();
    const role1 = files.role('role1');
    loadedSet(repo, files).updateDelegatedTargets(role1, 'role1', 'targets');
    // Two days later role1 (one day) has expired; the rest of the chain is re-signed to last.
    for (const r of ['root', 'timestamp', 'snapshot', 'targets']) repo.expireIn(r, 10 * 86_400);
    const later = new Date(repo.now.getTime() + 2 * 86_400_000);
    const expired = await listing(repo, role1, 1, later);
    assert.equal(code(() => expired.updateDelegatedTargets(role1, 'role1', 'targets')), 'EXPIRED_METADATA');
    // The snapshot names version 2 with the hash of the remembered version-1 bytes.
    const otherVersion = await listing(repo, role1, 2);
    assert.equal(code(() => otherVersion.updateDelegatedTargets(role1, 'role1', 'targets')), 'BAD_VERSION');
  });
});

describe('a remembered role is recalled by the hash its listing names, without its bytes', () => {
  beforeEach(() => clearVerifiedRoles());

  it('recalls the role verified before under the same hash and keys, and nothing before that', async () => {
    const repo = new RepoBuilder();
    repo.addDelegation('role1', { paths: ['a/*'] });
    const files = await repo.publish();
    const role1 = files.role('role1');
    const fresh = await listing(repo, role1, 1);
    assert.equal(fresh.recallDelegatedTargets('role1', 'targets'), undefined);
    const verified = fresh.updateDelegatedTargets(role1, 'role1', 'targets');
    const set = await listing(repo, role1, 1);
    const recalled = countingVerifies(() => set.recallDelegatedTargets('role1', 'targets'));
    assert.equal(recalled.verifies, 0);
    assert.equal(recalled.result, verified);
    assert.equal(set.getTargets('role1'), verified);
  });

  it('recalls nothing when the listing names other bytes, or a snapshot lists no hash', async () => {
    const repo = new RepoBuilder();
    repo.addDelegation('role1', { paths: ['a/*'] });
    const files = await repo.publish();
    const role1 = files.role('role1');
    (await listing(repo, role1, 1)).updateDelegatedTargets(role1, 'role1', 'targets');
    const changed = Buffer.concat([role1, Buffer.from(' ')]);
    assert.equal((await listing(repo, changed, 1)).recallDelegatedTargets('role1', 'targets'), undefined);
    // A snapshot listing versions only: no hash, nothing to recall by.
    assert.equal(loadedSet(repo, await repo.publish({ hashes: false })).recallDelegatedTargets('role1', 'targets'), undefined);
  });

  it('recalls nothing under keys the delegator no longer trusts; refuses an expired or other-version role as a load would', async () => {
    const repo = new RepoBuilder();
    repo.addDelegation('role1', { paths: ['a/*'] });
    const files = await repo.publish();
    const role1 = files.role('role1');
    (await listing(repo, role1, 1)).updateDelegatedTargets(role1, 'role1', 'targets');
    for (const r of ['root', 'timestamp', 'snapshot', 'targets']) repo.expireIn(r, 10 * 86_400);
    const later = new Date(repo.now.getTime() + 2 * 86_400_000);
    const expired = await listing(repo, role1, 1, later);
    assert.equal(code(() => expired.recallDelegatedTargets('role1', 'targets')), 'EXPIRED_METADATA');
    assert.equal(expired.getTargets('role1'), undefined);
    const otherVersion = await listing(repo, role1, 2);
    assert.equal(code(() => otherVersion.recallDelegatedTargets('role1', 'targets')), 'BAD_VERSION');
    repo.rotate('role1');
    repo.bump('targets');
    assert.equal((await listing(repo, role1, 1)).recallDelegatedTargets('role1', 'targets'), undefined);
  });
});

/**
 * A trusted set whose snapshot lists `bytes` for role1 at `version` (length and sha256), with
 * the repository's current root and targets, loaded up to targets at `now`.
 */
async function listing(repo: RepoBuilder, bytes: Buffer, version: number, now = repo.now): Promise<TrustedMetadataSet> {
  const files = await repo.publish();
  repo.role('snapshot')['meta']['role1.json'] = { version, length: bytes.length, hashes: { sha256: createHash('sha256').update(bytes).digest('hex') } };
  repo.bump('snapshot');
  const snapshot = await repo.sign('snapshot');
  repo.role('timestamp')['meta'] = { 'snapshot.json': { version: repo.role('snapshot')['version'] } };
  repo.bump('timestamp');
  const timestamp = await repo.sign('timestamp');
  const set = new TrustedMetadataSet(files.root, { now });
  set.updateTimestamp(timestamp);
  set.updateSnapshot(snapshot);
  set.updateTargets(files.targets);
  return set;
}

describe('the root and timestamp every update starts with are remembered by bytes and keys', () => {
  beforeEach(() => clearVerifiedRoles());

  it('the same root and timestamp bytes are not checked again; changed bytes are', async () => {
    const repo = new RepoBuilder();
    const files = await repo.publish();
    const first = countingVerifies(() => new TrustedMetadataSet(files.root, { now: repo.now }).updateTimestamp(files.timestamp));
    assert.ok(first.verifies >= 2);
    const second = countingVerifies(() => new TrustedMetadataSet(files.root, { now: repo.now }).updateTimestamp(files.timestamp));
    assert.equal(second.verifies, 0);
    assert.equal(second.result, first.result);
    // A root whose signature is damaged is refused, though its signed part was remembered.
    const doc = JSON.parse(files.root.toString('utf8')) as { signatures: { sig: string }[] };
    const sig = (doc.signatures[0] as { sig: string }).sig;
    (doc.signatures[0] as { sig: string }).sig = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
    assert.equal(code(() => new TrustedMetadataSet(Buffer.from(JSON.stringify(doc)), { now: repo.now })), 'UNSIGNED_METADATA');
  });

  it('a remembered timestamp is refused under a root that rotated its key, and once expired', async () => {
    const repo = new RepoBuilder();
    repo.expireIn('root', 10 * 86_400); // the timestamp (one day) expires first
    const files = await repo.publish();
    new TrustedMetadataSet(files.root, { now: repo.now }).updateTimestamp(files.timestamp);
    const later = new Date(repo.now.getTime() + 2 * 86_400_000);
    assert.throws(() => new TrustedMetadataSet(files.root, { now: later }).updateTimestamp(files.timestamp), (e: Error) => e instanceof RepositoryError && e.code === 'EXPIRED_METADATA' && /timestamp/.test(e.message));
    repo.rotate('timestamp');
    repo.bump('root');
    const rotated = await repo.publish();
    const set = new TrustedMetadataSet(files.root, { now: repo.now });
    set.updateRoot(rotated.root);
    assert.equal(code(() => set.updateTimestamp(files.timestamp)), 'UNSIGNED_METADATA');
  });
});
