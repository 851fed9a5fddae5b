// The signed envelope and the role models: interoperability with @tufjs/models in both
// directions and with files python-tuf wrote, unknown fields kept on a round trip, thresholds
// counted per distinct authorized key, and malformed metadata refused as BadMetadataError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalize } from '@tufjs/canonical-json';
import {
  Key as TufKey,
  MetaFile as TufMetaFile,
  Metadata as TufMetadata,
  MetadataKind,
  Root as TufRoot,
  Signature as TufSignature,
  TargetFile as TufTargetFile,
  Targets as TufTargets,
  Timestamp as TufTimestamp,
} from '@tufjs/models';
import { Delegations as TufDelegations } from '@tufjs/models/dist/delegations.js';
import { DelegatedRole as TufDelegatedRole, Role as TufRole, SuccinctRoles as TufSuccinctRoles } from '@tufjs/models/dist/role.js';
import {
  BadMetadataError,
  Ed25519Signer,
  Key,
  encodeCanonical,
  Metadata,
  RepositoryError,
  Root,
  signCanonical,
  Snapshot,
  Targets,
  Timestamp,
  UnsignedMetadataError,
  verifyThreshold,
  type TopLevelRole,
} from '../../src/tuf/index.js';
import { ROOT_1, ROOT_2, SNAPSHOT, TARGETS, TIMESTAMP } from './python-tuf-fixtures.js';
import { RepoBuilder, type Doc } from './repo-builder.js';

const KINDS: Record<TopLevelRole, MetadataKind> = {
  root: MetadataKind.Root,
  timestamp: MetadataKind.Timestamp,
  snapshot: MetadataKind.Snapshot,
  targets: MetadataKind.Targets,
};

function tufParse(kind: MetadataKind, bytes: Buffer) {
  return TufMetadata.fromJSON(kind as MetadataKind.Root, JSON.parse(bytes.toString('utf8')));
}

/** A tuf-js signer callback backed by one of our signers. */
function tufSigner(s: Ed25519Signer): (data: Buffer) => TufSignature {
  return (data) => new TufSignature({ keyID: s.keyId, sig: s.signSync(data).sig });
}

function tufKey(s: Ed25519Signer): TufKey {
  return new TufKey({ keyID: s.keyId, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: s.publicKey.publicValue } });
}

function isBadMetadata(e: unknown): boolean {
  assert.ok(e instanceof BadMetadataError, `expected BadMetadataError, got ${String(e)}`);
  assert.ok(e instanceof RepositoryError);
  assert.equal(e.code, 'BAD_METADATA');
  assert.equal(e.kind, 'repository');
  return true;
}

async function delegatingRepo(): Promise<RepoBuilder> {
  const repo = new RepoBuilder();
  repo.addDelegation('role1', { paths: ['a/*'], terminating: true });
  repo.addTarget('role1', 'a/x.tgz', Buffer.from('x'));
  repo.addTarget('targets', 'top.txt', Buffer.from('top'));
  return repo;
}

describe('interop: signed by Bulwark, verified by @tufjs/models', () => {
  it('verifies every role of a repository, delegated roles included', async () => {
    const repo = await delegatingRepo();
    const files = await repo.publish();
    const root = tufParse(MetadataKind.Root, files.root);
    root.verifyDelegate('root', root);
    for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
      root.verifyDelegate(role, tufParse(KINDS[role], files.role(role)));
    }
    const targets = tufParse(MetadataKind.Targets, files.targets);
    targets.verifyDelegate('role1', tufParse(MetadataKind.Targets, files.role('role1')));
  });

  it('writes canonical bytes, and tuf-js signs the same bytes (same deterministic signature)', async () => {
    const repo = await delegatingRepo();
    const files = await repo.publish();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
      const bytes = files.role(role);
      assert.equal(bytes.toString('utf8'), canonicalize(JSON.parse(bytes.toString('utf8'))), role);
      const md = tufParse(KINDS[role], bytes);
      const ours = Metadata.parse(bytes, role);
      md.sign(tufSigner(repo.keys(role)[0] as Ed25519Signer), false);
      assert.equal(md.signatures[repo.keys(role)[0]?.keyId as string]?.sig, ours.signatures[0]?.sig, role);
    }
  });

  it('tuf-js refuses what we signed once it is changed', async () => {
    const repo = await delegatingRepo();
    const files = await repo.publish();
    const root = tufParse(MetadataKind.Root, files.root);
    const json = JSON.parse(files.timestamp.toString('utf8'));
    json.signed.version += 1;
    assert.throws(() => root.verifyDelegate('timestamp', TufMetadata.fromJSON(MetadataKind.Timestamp, json)));
    const byAnotherKey = await repo.sign('timestamp', [Ed25519Signer.generate()]);
    assert.throws(() => root.verifyDelegate('timestamp', tufParse(MetadataKind.Timestamp, byAnotherKey)));
  });
});

describe('interop: written by @tufjs/models or python-tuf, verified by Bulwark', () => {
  it('verifies an indented root and timestamp written and signed by tuf-js', () => {
    const rootKey = Ed25519Signer.generate();
    const tsKey = Ed25519Signer.generate();
    const other = Ed25519Signer.generate();
    const root = new TufRoot({
      version: 1,
      specVersion: '1.0.31',
      expires: '2030-01-01T00:00:00Z',
      consistentSnapshot: true,
      keys: { [rootKey.keyId]: tufKey(rootKey), [tsKey.keyId]: tufKey(tsKey), [other.keyId]: tufKey(other) },
      roles: {
        root: new TufRole({ keyIDs: [rootKey.keyId], threshold: 1 }),
        timestamp: new TufRole({ keyIDs: [tsKey.keyId], threshold: 1 }),
        snapshot: new TufRole({ keyIDs: [other.keyId], threshold: 1 }),
        targets: new TufRole({ keyIDs: [other.keyId], threshold: 1 }),
      },
    });
    const rootMd = new TufMetadata(root);
    rootMd.sign(tufSigner(rootKey));
    const ts = new TufMetadata(
      new TufTimestamp({ version: 7, specVersion: '1.0.31', expires: '2030-01-01T00:00:00Z', snapshotMeta: new TufMetaFile({ version: 3, length: 10, hashes: { sha256: 'ab'.repeat(32) } }) })
    );
    ts.sign(tufSigner(tsKey));

    const ourRoot = Metadata.parse(Buffer.from(JSON.stringify(rootMd.toJSON(), null, 2)), 'root');
    const rootRole = ourRoot.signed.roles.get('root');
    assert.ok(rootRole);
    ourRoot.verifyRole('root', rootRole, ourRoot.signed.keys);
    assert.equal(ourRoot.signed.consistentSnapshot, true);
    const ourTs = Metadata.parse(Buffer.from(JSON.stringify(ts.toJSON(), null, 4)), 'timestamp');
    const tsRole = ourRoot.signed.roles.get('timestamp');
    assert.ok(tsRole);
    ourTs.verifyRole('timestamp', tsRole, ourRoot.signed.keys);
    assert.equal(ourTs.signed.snapshotMeta.version, 3);
    // A root-key signature does not make a timestamp.
    assert.throws(() => ourTs.verifyRole('timestamp', { keyids: [rootKey.keyId], threshold: 1 }, ourRoot.signed.keys), UnsignedMetadataError);
  });

  it('verifies targets with delegations (roles and succinct roles) written by tuf-js', () => {
    const key = Ed25519Signer.generate();
    const delegate = Ed25519Signer.generate();
    for (const withSuccinct of [false, true]) {
      const delegations = withSuccinct
        ? new TufDelegations({
            keys: { [delegate.keyId]: tufKey(delegate) },
            succinctRoles: new TufSuccinctRoles({ keyIDs: [delegate.keyId], threshold: 1, bitLength: 4, namePrefix: 'bins' }),
          })
        : new TufDelegations({
            keys: { [delegate.keyId]: tufKey(delegate) },
            roles: { r1: new TufDelegatedRole({ name: 'r1', keyIDs: [delegate.keyId], threshold: 1, terminating: false, paths: ['p/*'] }) },
          });
      const targets = new TufTargets({
        version: 2,
        specVersion: '1.0.31',
        expires: '2030-01-01T00:00:00Z',
        targets: { 'p/f.whl': new TufTargetFile({ path: 'p/f.whl', length: 3, hashes: { sha256: 'cd'.repeat(32) }, unrecognizedFields: { custom: { k: 'v' } } }) },
        delegations,
      });
      const md = new TufMetadata(targets);
      md.sign(tufSigner(key));
      const ours = Metadata.parse(Buffer.from(JSON.stringify(md.toJSON(), null, 1)), 'targets');
      ours.verifyRole('targets', { keyids: [key.keyId], threshold: 1 }, new Map([[key.keyId, key.publicKey]]));
      assert.deepEqual(ours.signed.targets.get('p/f.whl')?.custom, { k: 'v' });
      assert.equal(ours.signed.delegations?.roleKeys(withSuccinct ? 'bins-a' : 'r1')?.keyids[0], delegate.keyId);
      // Our canonical form of the parsed model is what tuf-js signed.
      assert.equal(encodeCanonical(ours.signed.toJSON()), canonicalize(md.signed.toJSON()));
    }
  });

  it('verifies the python-tuf repository: root 1 → 2, then timestamp, snapshot, targets', () => {
    const root1 = Metadata.parse(Buffer.from(ROOT_1), 'root');
    const self = root1.signed.roles.get('root');
    assert.ok(self);
    root1.verifyRole('root', self, root1.signed.keys);
    const root2 = Metadata.parse(Buffer.from(ROOT_2), 'root');
    root2.verifyRole('root', self, root1.signed.keys);
    for (const [text, role] of [
      [TIMESTAMP, 'timestamp'],
      [SNAPSHOT, 'snapshot'],
      [TARGETS, 'targets'],
    ] as const) {
      const md = Metadata.parse(Buffer.from(text), role);
      const keys = root2.signed.roles.get(role);
      assert.ok(keys);
      md.verifyRole(role, keys, root2.signed.keys);
      assert.equal(md.bytes.toString('utf8'), text, 'the exact bytes are kept');
      assert.equal(md.signedBytes.toString('utf8'), canonicalize(JSON.parse(text).signed));
    }
  });
});

describe('round trip keeps unknown fields', () => {
  const key = Ed25519Signer.generate();
  const keyJson = { ...key.publicKey.toJSON(), x_key: [1, 2] } as Doc;
  keyJson['keyval'] = { ...keyJson['keyval'], x_keyval: 'k' };
  const common = { spec_version: '1.0.31', version: 4, expires: '2030-01-01T00:00:00Z', x_top: { nested: [null, true] } };
  const docs: [TopLevelRole, Doc, (d: Doc) => { toJSON(): unknown }][] = [
    [
      'root',
      {
        ...common,
        _type: 'root',
        consistent_snapshot: false,
        keys: { [key.keyId]: keyJson },
        roles: {
          root: { keyids: [key.keyId], threshold: 1, x_role: 1 },
          timestamp: { keyids: [key.keyId], threshold: 1 },
          snapshot: { keyids: [key.keyId], threshold: 1 },
          targets: { keyids: [key.keyId], threshold: 1 },
          mirrors: { keyids: [], threshold: 1 },
        },
      },
      (d) => Root.fromJSON(d),
    ],
    ['timestamp', { ...common, _type: 'timestamp', meta: { 'snapshot.json': { version: 2, length: 5, hashes: { sha256: 'ab'.repeat(32) }, x_meta: 'm' } } }, (d) => Timestamp.fromJSON(d)],
    ['snapshot', { ...common, _type: 'snapshot', meta: { 'targets.json': { version: 2, x_meta: 'm' }, '__proto__.json': { version: 1 } } }, (d) => Snapshot.fromJSON(d)],
    [
      'targets',
      {
        ...common,
        _type: 'targets',
        targets: { 'a/b.whl': { length: 1, hashes: { sha256: 'cd'.repeat(32), x_alg: 'ff' }, custom: { yanked: true }, x_target: 2 }, __proto__x: { length: 0, hashes: { sha512: 'ee' } } },
        delegations: {
          keys: { [key.keyId]: keyJson },
          roles: [{ name: 'r', keyids: [key.keyId], threshold: 1, terminating: true, paths: ['a/*'], x_deleg: 'd' }],
          x_delegations: 3,
        },
      },
      (d) => Targets.fromJSON(d),
    ],
    [
      'targets',
      {
        ...common,
        _type: 'targets',
        targets: {},
        delegations: { keys: {}, succinct_roles: { keyids: [], threshold: 1, bit_length: 3, name_prefix: 'bins', x_succinct: 's' } },
      },
      (d) => Targets.fromJSON(d),
    ],
  ];
  for (const [role, doc, fromJSON] of docs) {
    it(`${role}${doc['delegations']?.succinct_roles ? ' (succinct)' : ''}: model → JSON is the input, and re-signing keeps it`, async () => {
      assert.equal(encodeCanonical(fromJSON(doc).toJSON()), encodeCanonical(doc));
      const { bytes } = await signCanonical(encodeCanonical(doc), [key]);
      const md = Metadata.parse(bytes, role);
      assert.equal(encodeCanonical(md.signed.toJSON()), encodeCanonical(doc));
      const again = await Metadata.sign(md.signed, [key]);
      assert.deepEqual(again.bytes, bytes);
    });
  }

  it('keeps a key literally named __proto__', () => {
    const doc = JSON.parse('{"_type":"snapshot","spec_version":"1.0.31","version":1,"expires":"2030-01-01T00:00:00Z","meta":{"targets.json":{"version":1}},"__proto__":{"x":1}}') as Doc;
    assert.equal(encodeCanonical(Snapshot.fromJSON(doc).toJSON()), encodeCanonical(doc));
    assert.match(encodeCanonical(doc), /"__proto__":\{"x":1\}/);
  });
});

describe('thresholds', () => {
  const [a, b, c] = [Ed25519Signer.generate(), Ed25519Signer.generate(), Ed25519Signer.generate()] as [Ed25519Signer, Ed25519Signer, Ed25519Signer];
  const keys = new Map([a, b, c].map((s) => [s.keyId, s.publicKey]));
  const data = Buffer.from('{"signed":"data"}');
  const sig = (s: Ed25519Signer) => s.signSync(data);
  const forged = (s: Ed25519Signer) => ({ keyid: s.keyId, sig: c.signSync(data).sig }); // right id, wrong key

  const cases: [string, { keyid: string; sig: string }[], number, number | 'ok'][] = [
    ['two distinct keys meet 2', [sig(a), sig(b)], 2, 'ok'],
    ['the same key twice counts once', [sig(a), sig(a)], 2, 1],
    ['the same key three times counts once', [sig(a), sig(a), sig(a)], 2, 1],
    ['an unauthorized key does not count, even if listed in keys', [sig(a), sig(c)], 2, 1],
    ['a signature under an authorized id by another key does not count', [sig(a), forged(b)], 2, 1],
    ['a bad signature then a good one for the same key counts once', [forged(a), sig(a), sig(b)], 2, 'ok'],
    ['no signatures', [], 1, 0],
    ['an id with no key in the key map', [{ keyid: 'ff'.repeat(32), sig: sig(a).sig }], 1, 0],
  ];
  for (const [name, signatures, threshold, expected] of cases) {
    it(name, () => {
      const roleKeys = { keyids: [a.keyId, b.keyId, 'ff'.repeat(32)], threshold };
      const run = () => verifyThreshold('r', roleKeys, keys, data, signatures);
      if (expected === 'ok') assert.doesNotThrow(run);
      else
        assert.throws(run, (e: unknown) => {
          assert.ok(e instanceof UnsignedMetadataError);
          assert.equal(e.code, 'UNSIGNED_METADATA');
          assert.equal(e.valid, expected);
          assert.equal(e.threshold, threshold);
          return true;
        });
    });
  }

  it('through Metadata: a file signed twice by one key of a threshold-2 role does not verify', async () => {
    const repo = new RepoBuilder();
    const md = Metadata.parse(await repo.sign('timestamp', [a, a]), 'timestamp');
    assert.equal(md.signatures.length, 2);
    assert.throws(() => md.verifyRole('timestamp', { keyids: [a.keyId, b.keyId], threshold: 2 }, keys), UnsignedMetadataError);
    const ok = Metadata.parse(await repo.sign('timestamp', [a, b]), 'timestamp');
    ok.verifyRole('timestamp', { keyids: [a.keyId, b.keyId], threshold: 2 }, keys);
  });

  it('one public key listed under two key ids (an extra field changes the id) counts once', () => {
    const twin = Key.fromJSON({ ...a.publicKey.toJSON(), 'x-owner': 'again' });
    assert.notEqual(twin.keyId, a.keyId);
    const twoIds = new Map([...keys, [twin.keyId, twin]]);
    const sigs = [sig(a), { keyid: twin.keyId, sig: sig(a).sig }];
    assert.throws(
      () => verifyThreshold('snapshot', { keyids: [a.keyId, twin.keyId], threshold: 2 }, twoIds, data, sigs),
      (e: unknown) => e instanceof UnsignedMetadataError && e.valid === 1
    );
    verifyThreshold('snapshot', { keyids: [a.keyId, twin.keyId, b.keyId], threshold: 2 }, twoIds, data, [...sigs, sig(b)]);
  });

  it('signatures cover the canonical form, not the layout: re-indenting keeps them valid', async () => {
    const repo = new RepoBuilder();
    const bytes = await repo.sign('timestamp', [a]);
    const pretty = Buffer.from(JSON.stringify(JSON.parse(bytes.toString('utf8')), null, 3));
    Metadata.parse(pretty, 'timestamp').verifyRole('timestamp', { keyids: [a.keyId], threshold: 1 }, keys);
  });
});

describe('malformed metadata is BadMetadataError', () => {
  async function signedWith(change: (doc: Doc) => void, role: TopLevelRole = 'timestamp'): Promise<Buffer> {
    const repo = new RepoBuilder();
    change(repo.role(role));
    return repo.signRaw(role);
  }

  const cases: [string, (doc: Doc) => void][] = [
    ['another _type', (d) => (d['_type'] = 'snapshot')],
    ['a capitalised _type', (d) => (d['_type'] = 'Timestamp')],
    ['no _type', (d) => delete d['_type']],
    ['no version', (d) => delete d['version']],
    ['version 0', (d) => (d['version'] = 0)],
    ['a negative version', (d) => (d['version'] = -1)],
    ['a string version', (d) => (d['version'] = '1')],
    ['no expires', (d) => delete d['expires']],
    ['no spec_version', (d) => delete d['spec_version']],
    ['spec_version 2.0', (d) => (d['spec_version'] = '2.0')],
    ['spec_version 2.0.0', (d) => (d['spec_version'] = '2.0.0')],
    ['spec_version 1', (d) => (d['spec_version'] = '1')],
    ['spec_version 1.0.0.0', (d) => (d['spec_version'] = '1.0.0.0')],
    ['spec_version v1.0', (d) => (d['spec_version'] = 'v1.0')],
    ['no meta', (d) => delete d['meta']],
    ['meta without snapshot.json', (d) => (d['meta'] = { 'targets.json': { version: 1 } })],
    ['a snapshot meta version 0', (d) => (d['meta'] = { 'snapshot.json': { version: 0 } })],
    ['a negative length', (d) => (d['meta'] = { 'snapshot.json': { version: 1, length: -1 } })],
    ['empty hashes', (d) => (d['meta'] = { 'snapshot.json': { version: 1, hashes: {} } })],
    ['a non-hex hash', (d) => (d['meta'] = { 'snapshot.json': { version: 1, hashes: { sha256: 'xyz' } } })],
    ['a lone surrogate in a field', (d) => (d['x'] = '\ud800')],
  ];
  for (const [name, change] of cases) {
    it(`timestamp with ${name}`, async () => {
      let bytes: Buffer;
      try {
        bytes = await signedWith(change);
      } catch {
        // The canonical encoder itself refuses (lone surrogate): write the JSON by hand.
        const doc = new RepoBuilder().role('timestamp');
        change(doc);
        bytes = Buffer.from(JSON.stringify({ signatures: [], signed: doc }));
      }
      assert.throws(() => Metadata.parse(bytes, 'timestamp'), isBadMetadata);
    });
  }

  const rootCases: [string, (doc: Doc) => void][] = [
    ['a missing role', (d) => delete d['roles']['snapshot']],
    ['a role naming an unknown key', (d) => d['roles']['targets']['keyids'].push('ab'.repeat(32))],
    ['threshold 0', (d) => (d['roles']['root']['threshold'] = 0)],
    ['duplicate key ids in a role', (d) => d['roles']['root']['keyids'].push(d['roles']['root']['keyids'][0])],
    ['consistent_snapshot not a boolean', (d) => (d['consistent_snapshot'] = 'yes')],
    ['keys not an object', (d) => (d['keys'] = [])],
  ];
  for (const [name, change] of rootCases) {
    it(`root with ${name}`, async () => {
      const bytes = await signedWith(change, 'root');
      assert.throws(() => Metadata.parse(bytes, 'root'), isBadMetadata);
    });
  }

  const envelopeCases: [string, string][] = [
    ['no signed', '{"signatures":[]}'],
    ['no signatures', '{"signed":{}}'],
    ['signatures not a list', '{"signatures":{},"signed":{}}'],
    ['a signature without sig', '{"signatures":[{"keyid":"ab"}],"signed":{}}'],
    ['a signature with a numeric sig', '{"signatures":[{"keyid":"ab","sig":1}],"signed":{}}'],
    ['a list', '[]'],
    ['not JSON', 'timestamp'],
  ];
  for (const [name, text] of envelopeCases) {
    it(`envelope with ${name}`, () => assert.throws(() => Metadata.parse(Buffer.from(text), 'timestamp'), isBadMetadata));
  }

  it('targets with a delegation that is neither paths nor path_hash_prefixes, or both', async () => {
    for (const extra of [{}, { paths: ['a'], path_hash_prefixes: ['ab'] }]) {
      const bytes = await signedWith((d) => {
        d['delegations'] = { keys: {}, roles: [{ name: 'r', keyids: [], threshold: 1, terminating: false, ...extra }] };
      }, 'targets');
      assert.throws(() => Metadata.parse(bytes, 'targets'), isBadMetadata);
    }
  });

  it('keeps the exact bytes it parsed', async () => {
    const repo = new RepoBuilder();
    const pretty = Buffer.from(JSON.stringify(JSON.parse((await repo.sign('snapshot')).toString('utf8')), null, 2) + '\n');
    assert.deepEqual(Metadata.parse(pretty, 'snapshot').bytes, pretty);
  });
});
