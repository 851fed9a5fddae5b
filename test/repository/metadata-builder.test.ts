// The snapshot process builds bins, snapshot and timestamp from cached fragments for speed;
// these must be byte for byte what the generic canonical encoder makes of the same models.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binCanonical, SnapshotMeta, targetEntry, timestampCanonical } from '../../src/repository/metadata-builder.js';
import { encodeCanonical, MetaFile, Snapshot, TargetFile, Targets, Timestamp } from '../../src/tuf/index.js';

const expires = new Date('2030-01-02T03:04:05Z');

describe('metadata-builder', () => {
  it('binCanonical equals the canonical encoding of the Targets model', () => {
    const rows = [
      { path: 'a-pkg/a_pkg-1.0.tar.gz', sha256: 'ab'.repeat(32), length: 10 },
      { path: 'a-pkg/index.html', sha256: 'cd'.repeat(32), length: 99 },
      { path: 'zz/"quoted\\name".whl', sha256: 'ef'.repeat(32), length: 0 },
    ];
    const fast = binCanonical(7, expires, rows.map((r) => ({ path: r.path, entry: targetEntry(r.sha256, r.length) })));
    const model = new Targets({
      version: 7,
      expires,
      targets: new Map(rows.map((r) => [r.path, new TargetFile(r.path, r.length, { sha256: r.sha256 })])),
      delegations: undefined,
    });
    assert.equal(fast, encodeCanonical(model.toJSON()));
  });

  it('SnapshotMeta equals the canonical encoding of the Snapshot model, in code-point order', () => {
    const meta = new SnapshotMeta();
    const roles = ['unclaimed', 'targets', 'bins-00ff', 'bins-0000', 'recently-claimed', 'claimed', 'bins-z'];
    const file = (i: number) => ({ length: 100 + i, sha256: i.toString(16).padStart(2, '0').repeat(32) });
    roles.forEach((r, i) => meta.set(r, i + 1, file(i)));
    meta.set('bins-0000', 42, file(42)); // an update keeps the order and changes the fragment
    const model = new Snapshot({
      version: 3,
      expires,
      meta: new Map(
        roles.map((r, i) => {
          const n = r === 'bins-0000' ? 42 : i;
          return [`${r}.json`, new MetaFile(r === 'bins-0000' ? 42 : i + 1, file(n).length, { sha256: file(n).sha256 })];
        })
      ),
    });
    assert.equal(meta.canonical(3, expires), encodeCanonical(model.toJSON()));
    const copy = meta.clone();
    copy.set('bins-0000', 43, file(43));
    assert.equal(meta.get('bins-0000'), 42, 'a clone does not change the original');
    assert.notEqual(copy.canonical(3, expires), meta.canonical(3, expires));
  });

  it('SnapshotMeta stages changes over many chunks without changing itself, as clone + set would', () => {
    const meta = new SnapshotMeta();
    const file = (i: number) => ({ length: 1000 + i, sha256: (i % 256).toString(16).padStart(2, '0').repeat(32) });
    const names = Array.from({ length: 1000 }, (_, i) => `bins-${i.toString(16).padStart(3, '0')}`).reverse();
    names.forEach((n, i) => meta.set(n, 1, file(i)));
    const base = meta.canonical(5, expires);
    const reference = (changes: { name: string; version: number; length: number; sha256: string }[]) => {
      const copy = meta.clone();
      for (const c of changes) copy.set(c.name, c.version, c);
      return copy.canonical(6, expires);
    };
    for (const picked of [['bins-000'], ['bins-0ff', 'bins-100', 'bins-3e7'], ['bins-3e7', 'a-new-role', 'bins-001']]) {
      const changes = picked.map((name, i) => ({ name, version: 9 + i, ...file(500 + i) }));
      const staged = meta.canonical(6, expires, changes);
      assert.equal(staged, reference(changes), picked.join(','));
      assert.notEqual(staged, meta.canonical(6, expires));
      assert.equal(meta.canonical(5, expires), base, 'staging leaves the meta as it was');
    }
    // Committed after staging: the cached chunks follow.
    meta.set('bins-200', 3, file(3));
    const model = JSON.parse(meta.canonical(5, expires)) as { meta: Record<string, { version: number; length: number }> };
    assert.deepEqual(model.meta['bins-200.json'], { hashes: { sha256: file(3).sha256 }, length: file(3).length, version: 3 });
    assert.equal(Object.keys(model.meta).length, 1000);
    assert.deepEqual(Object.keys(model.meta), [...Object.keys(model.meta)].sort(), 'in order');
  });

  it('timestampCanonical equals the canonical encoding of the Timestamp model', () => {
    const snap = { version: 9, length: 1234, sha256: '12'.repeat(32) };
    const model = new Timestamp({ version: 5, expires, snapshotMeta: new MetaFile(9, 1234, { sha256: snap.sha256 }) });
    assert.equal(timestampCanonical(5, expires, snap), encodeCanonical(model.toJSON()));
  });
});
