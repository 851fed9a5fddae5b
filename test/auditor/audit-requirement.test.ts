// Clients with --require-auditor (src/client/audit-requirement.ts): they use the newest timestamp
// an auditor root names vouches for, and refuse, each with its own code, an unaudited tree, a
// stale statement, a statement not signed by the auditor (or embedding a timestamp not signed by
// the timestamp key), and a statement whose root does not match its embedded timestamp. The
// attacker holds the timestamp key and serves what it likes; statements are made with the real
// signing code and served through the same Sources the updater uses.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { signStatement } from '../../src/auditor/statement.js';
import { auditedTimestamp } from '../../src/client/audit-requirement.js';
import { Sources } from '../../src/client/sources.js';
import { Ed25519Signer, encodeCanonical, Metadata, signCanonical, type Signer, type Timestamp } from '../../src/tuf/index.js';
import { BASE, someRoles, TreeDouble } from './tree-double.js';

const NOW = new Date();

async function serveStatement(index: TreeDouble, ts: Metadata<Timestamp>, o: { signer?: Signer; now?: Date; expirySeconds?: number; version?: number } = {}): Promise<Buffer> {
  const bytes = await signStatement({ timestamp: ts, version: o.version ?? ts.signed.version, now: o.now ?? NOW, ...(o.expirySeconds ? { expirySeconds: o.expirySeconds } : {}) }, [o.signer ?? index.auditorKey]);
  index.files.set(`audit/${index.auditorKey.keyId}.json`, bytes);
  return bytes;
}

/** A statement whose `signed` part the test rewrites, then signs with the auditor key. */
async function serveRewritten(index: TreeDouble, ts: Metadata<Timestamp>, rewrite: (signed: Record<string, unknown>) => void): Promise<void> {
  const good = JSON.parse((await serveStatement(index, ts)).toString()) as { signed: Record<string, unknown> };
  rewrite(good.signed);
  index.files.set(`audit/${index.auditorKey.keyId}.json`, (await signCanonical(encodeCanonical(good.signed), [index.auditorKey])).bytes);
}

const refused = (code: string) => (e: unknown) => {
  assert.equal((e as { code?: string }).code, code, (e as Error).message);
  return true;
};

describe('--require-auditor: the timestamp a client uses', () => {
  let index: TreeDouble;
  const audited = (trusted?: Metadata<Timestamp>, now = NOW) =>
    auditedTimestamp(index.root.signed, (path, max, verify) => new Sources([`${BASE}/metadata`], index).fetchVerified(path, max, verify), trusted, now);
  beforeEach(async () => {
    index = await new TreeDouble(16).init();
  });

  it('is the audited one, not a newer timestamp.json no auditor signed yet', async () => {
    const first = await index.publish(someRoles(20));
    await serveStatement(index, first);
    await index.publish({ ...someRoles(20), 'bins-03': 2 }); // timestamp.json moves on, unaudited
    const got = await audited();
    assert.deepEqual(Metadata.parse(got.bytes, 'timestamp').signedBytes, first.signedBytes);
    assert.equal(Metadata.parse(got.bytes, 'timestamp').signed.version, 1);
  });

  it('an unaudited tree: refused with UNAUDITED_TREE when no auditor statement is served', async () => {
    // The attacker (timestamp key) publishes a tree of its own and withholds the statements.
    await index.publish({ ...someRoles(20), 'bins-03': 1 });
    await assert.rejects(audited(), refused('UNAUDITED_TREE'));
  });

  it('an unaudited tree: refused with UNAUDITED_TREE when root names no auditor at all', async () => {
    const ts = await index.publish(someRoles(20));
    await serveStatement(index, ts);
    const { ['x-bulwark-auditors']: _gone, ...rest } = index.root.signed.unrecognized;
    const bare = new (index.root.signed.constructor as typeof import('../../src/tuf/index.js').Root)({ ...index.root.signed, unrecognized: rest });
    await assert.rejects(auditedTimestamp(bare, (p, m, v) => new Sources([`${BASE}/metadata`], index).fetchVerified(p, m, v), undefined, NOW), refused('UNAUDITED_TREE'));
  });

  it('a stale audit statement: refused with STALE_AUDIT once expired', async () => {
    const ts = await index.publish(someRoles(20));
    await serveStatement(index, ts, { now: new Date(NOW.getTime() - 10 * 60_000), expirySeconds: 300 });
    await assert.rejects(audited(), refused('STALE_AUDIT'));
  });

  it('a stale audit statement: refused with STALE_AUDIT when older than the timestamp the client trusts', async () => {
    const first = await index.publish(someRoles(20));
    const firstStatement = await serveStatement(index, first);
    const second = await index.publish({ ...someRoles(20), 'bins-03': 2 });
    await serveStatement(index, second);
    const trusted = Metadata.parse((await audited()).bytes, 'timestamp');
    assert.equal(trusted.signed.version, 2);
    // Replayed, unexpired, well signed: but older than what the client has seen.
    index.files.set(`audit/${index.auditorKey.keyId}.json`, firstStatement);
    await assert.rejects(audited(trusted), refused('STALE_AUDIT'));
  });

  it('a bad signature: a statement signed by a key root does not name as auditor', async () => {
    const ts = await index.publish(someRoles(20));
    await serveStatement(index, ts, { signer: Ed25519Signer.generate() });
    await assert.rejects(audited(), refused('AUDIT_SIGNATURE'));
  });

  it('a bad signature: a statement changed after the auditor signed it', async () => {
    const ts = await index.publish(someRoles(20));
    const bytes = await serveStatement(index, ts);
    const tampered = JSON.parse(bytes.toString()) as { signed: { version: number } };
    tampered.signed.version += 1;
    index.files.set(`audit/${index.auditorKey.keyId}.json`, Buffer.from(JSON.stringify(tampered)));
    await assert.rejects(audited(), refused('AUDIT_SIGNATURE'));
  });

  it('a bad signature: the auditor key vouching for a timestamp the timestamp key never signed', async () => {
    const ts = await index.publish(someRoles(20));
    const forged = await Metadata.sign(ts.signed, [Ed25519Signer.generate()]);
    await serveStatement(index, forged);
    await assert.rejects(audited(), refused('AUDIT_SIGNATURE'));
  });

  it("a statement whose Merkle root is not its embedded timestamp's: AUDIT_MISMATCH", async () => {
    const ts = await index.publish(someRoles(20));
    const other = index.tree({ ...someRoles(20), 'bins-03': 7 });
    await serveRewritten(index, ts, (signed) => (signed['merkle_root'] = other.root));
    await assert.rejects(audited(), refused('AUDIT_MISMATCH'));
    await serveRewritten(index, ts, (signed) => (signed['timestamp_version'] = 5));
    await assert.rejects(audited(), refused('AUDIT_MISMATCH'));
  });

  it('a malformed or oversized statement: AUDIT_MALFORMED, before any parsing of a huge body', async () => {
    const ts = await index.publish(someRoles(20));
    await serveRewritten(index, ts, (signed) => (signed['_type'] = 'timestamp'));
    await assert.rejects(audited(), refused('AUDIT_MALFORMED'));
    index.files.set(`audit/${index.auditorKey.keyId}.json`, Buffer.from('{"signed":'));
    await assert.rejects(audited(), refused('AUDIT_MALFORMED'));
    // Over the limit: the fetch itself stops (a download error, not the auditor's verdict).
    index.files.set(`audit/${index.auditorKey.keyId}.json`, Buffer.alloc(70_000, 0x20));
    await assert.rejects(audited(), (e: unknown) => (e as { code?: string }).code === 'LENGTH_EXCEEDED');
  });
});
