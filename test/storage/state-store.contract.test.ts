// The StateStore contract, run against both backends: the embedded SQLite file and PostgreSQL
// (a throwaway cluster from test/helpers/postgres.ts; skipped with a message only when
// PostgreSQL is not installed and CI is not set). Every method's semantics as SqliteState
// defines them: accounts, uploads with their duplicate / owner / claimed checks, journal states,
// dirty generations, publications, PEP 480 claims, signed uploads, promotion, key changes,
// recovery, settings, signed roles. Then, for PostgreSQL only, the guarantees that a single
// synchronous SQLite connection gets for free: separate connection pools (as separate API
// servers and workers would have) racing on the same rows.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { binCanonical, binCanonicalFromBody } from '../../src/repository/metadata-builder.js';
import { PgState } from '../../src/storage/state/pg-state.js';
import { openStateStore, MOVED_TO_SETTING } from '../../src/storage/state/open-state.js';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { NotLeaderError, StateConflictError, type Lease, type StateStore, type UserRecord } from '../../src/storage/state/types.js';
import { tempDir } from '../helpers/processes.js';
import { postgresOrSkip, type PgCluster } from '../helpers/postgres.js';
import { BASE_ROLES, delegation, file, lead, NOW, role, roleBytes } from '../helpers/state-records.js';

interface Backend {
  name: string;
  skip: string | false;
  fresh(): Promise<StateStore>;
}

const pgInfo = await postgresOrSkip();
const cluster: PgCluster | undefined = pgInfo.cluster;

const backends: Backend[] = [
  {
    name: 'sqlite',
    skip: false,
    async fresh() {
      return new SqliteState(join(await tempDir('state'), 'bulwark.db'));
    },
  },
  {
    name: 'postgresql',
    skip: pgInfo.skip ?? false,
    async fresh() {
      if (!cluster) throw new Error('no cluster');
      return PgState.connect(await cluster.createDatabase('contract'));
    },
  },
];

async function conflict(p: Promise<unknown>, code: StateConflictError['code']): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StateConflictError, `a StateConflictError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

async function dirtyOf(s: StateStore): Promise<Map<string, number>> {
  const inputs = await s.collectPublishInputs([]);
  return new Map(inputs.dirtyRoles.map((r) => [r.name, r.generation]));
}

const target = (path: string, r: string) => ({ path, role: r, project: path.split('/')[0]!, entry: '{"length":1}' });

for (const backend of backends) {
  describe(`StateStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    /** A fresh store with the base roles, closed after the test. */
    async function withStore(fn: (s: StateStore) => Promise<void>): Promise<void> {
      const s = await backend.fresh();
      try {
        await s.initRoles(BASE_ROLES.map((n) => role(n)), []);
        await fn(s);
      } finally {
        await s.close();
      }
    }

    it('settings: absent, set, overwritten', () =>
      withStore(async (s) => {
        assert.equal(await s.getSetting('k'), undefined);
        await s.setSetting('k', 'v1');
        assert.equal(await s.getSetting('k'), 'v1');
        await s.setSetting('k', 'v2');
        assert.equal(await s.getSetting('k'), 'v2');
      }));

    it('accounts and tokens', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', true, 'hash-a', NOW);
        assert.deepEqual(alice, { id: alice.id, name: 'alice', isAdmin: true, createdAt: NOW });
        assert.equal(typeof alice.id, 'number');
        const bob = await s.addUser('bob', false, 'hash-b', NOW);
        assert.notEqual(bob.id, alice.id);
        await conflict(s.addUser('alice', false, 'hash-x', NOW), 'USER_EXISTS');
        assert.equal(await s.userByTokenHash('hash-x'), undefined, 'the failed add left no token');
        assert.deepEqual(await s.userByTokenHash('hash-a'), alice);
        await s.addToken(bob.id, 'hash-b2', 'ci', NOW);
        assert.deepEqual(await s.userByTokenHash('hash-b2'), bob);
        assert.deepEqual(await s.userByName('bob'), { id: bob.id, name: 'bob', isAdmin: false, createdAt: NOW });
        assert.equal(await s.userByName('carol'), undefined);
        assert.equal(await s.userByTokenHash('nope'), undefined);
      }));

    it('recordUpload: creates the project with its owner, journals, keeps every field', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        assert.equal(await s.canUpload('demo', alice.id), 'new-project');
        const f = file('demo', 'demo-1.0.tar.gz', alice.id, { requiresPython: '>=3.8', md5: 'c'.repeat(32), summary: 'Démo ✓', size: 3_000_000_000 });
        const { seq, fileId } = await s.recordUpload(f, 'Demo', NOW);
        assert.deepEqual(await s.getProject('demo'), { name: 'demo', displayName: 'Demo', createdAt: NOW, protection: 'unclaimed' });
        assert.deepEqual(await s.projectRoles('demo'), [{ user: 'alice', role: 'owner' }]);
        assert.equal(await s.canUpload('demo', alice.id), 'allowed');
        assert.deepEqual(await s.fileByName('demo-1.0.tar.gz'), { ...f, id: fileId, yanked: false, yankedReason: null, journalSeq: seq });
        const whl = file('demo', 'demo-1.0-py3-none-any.whl', alice.id, { metadataSha256: 'd'.repeat(64), metadataSize: 321 });
        const second = await s.recordUpload(whl, 'ignored', NOW);
        assert.ok(second.seq > seq && second.fileId !== fileId);
        assert.deepEqual(
          (await s.projectFiles('demo')).map((x) => x.filename),
          ['demo-1.0-py3-none-any.whl', 'demo-1.0.tar.gz'],
          'sorted by file name'
        );
        assert.equal((await s.getProject('demo'))?.displayName, 'Demo', 'the first spelling stays');
        assert.deepEqual(await s.journalEntry(seq), { seq, kind: 'upload', project: 'demo', state: 'pending', createdAt: NOW, publishedVersion: null, error: null });
        assert.deepEqual((await s.listProjects()).map((p) => p.name), ['demo']);
        assert.equal(await s.fileByName('missing.tar.gz'), undefined);
      }));

    it('recordUpload: FILE_EXISTS and NOT_OWNER, with nothing left behind', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        await s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'demo', NOW);
        const before = await s.pendingJournal(100);
        await conflict(s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'demo', NOW), 'FILE_EXISTS');
        // The same name under another (new) project: refused, and the project is not created.
        await conflict(s.recordUpload(file('other', 'demo-1.0.tar.gz', bob.id), 'other', NOW), 'FILE_EXISTS');
        assert.equal(await s.getProject('other'), undefined);
        await conflict(s.recordUpload(file('demo', 'demo-2.0.tar.gz', bob.id), 'demo', NOW), 'NOT_OWNER');
        assert.equal(await s.canUpload('demo', bob.id), 'forbidden');
        assert.deepEqual(await s.pendingJournal(100), before, 'no journal entry for refused uploads');
        assert.equal(await s.fileByName('demo-2.0.tar.gz'), undefined);
        // A maintainer may upload.
        await s.addProjectRole('demo', 'bob', 'maintainer');
        await s.recordUpload(file('demo', 'demo-2.0.tar.gz', bob.id), 'demo', NOW);
        assert.deepEqual(await s.projectRoles('demo'), [
          { user: 'alice', role: 'owner' },
          { user: 'bob', role: 'maintainer' },
        ]);
        await s.addProjectRole('demo', 'bob', 'owner');
        assert.deepEqual(await s.projectRoles('demo'), [
          { user: 'alice', role: 'owner' },
          { user: 'bob', role: 'owner' },
        ]);
        await conflict(s.addProjectRole('nope', 'bob', 'owner'), 'NOT_FOUND');
        await conflict(s.addProjectRole('demo', 'carol', 'owner'), 'NOT_FOUND');
      }));

    it('uploadChecks: claimed, permission and a taken file name in one read', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        assert.deepEqual(await s.uploadChecks('demo', alice.id, 'demo-1.0.tar.gz'), { claimed: false, permission: 'new-project', fileExists: false });
        await s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'Demo', NOW);
        assert.deepEqual(await s.uploadChecks('demo', alice.id, 'demo-1.0.tar.gz'), { claimed: false, permission: 'allowed', fileExists: true });
        assert.deepEqual(await s.uploadChecks('demo', bob.id, 'demo-2.0.tar.gz'), { claimed: false, permission: 'forbidden', fileExists: false });
        await s.recordClaim({ project: 'signed', displayName: 'signed', userId: bob.id, delegation: delegation('project-signed'), role: roleBytes('signed', 1), now: NOW });
        assert.deepEqual(await s.uploadChecks('signed', bob.id, 'signed-1.0.tar.gz'), { claimed: true, permission: 'allowed', fileExists: false });
      }));

    it('a new name too similar to an existing project is refused, naming it (PyPI ultranormalized names)', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        await s.recordUpload(file('alicelib', 'alicelib-1.0.tar.gz', alice.id), 'AliceLib', NOW);
        assert.deepEqual(await s.uploadChecks('alice1ib', bob.id, 'alice1ib-1.0.tar.gz'), { claimed: false, permission: 'new-project', fileExists: false, similarTo: 'alicelib' });
        for (const lookAlike of ['alice1ib', 'aiicelib', 'a-l-i-c-e-lib', 'alice-lib']) {
          await assert.rejects(s.recordUpload(file(lookAlike, `${lookAlike}-1.0.tar.gz`, bob.id), lookAlike, NOW), (e: unknown) => {
            assert.ok(e instanceof StateConflictError && e.code === 'NAME_TOO_SIMILAR', String(e));
            assert.match(e.message, new RegExp(`'${lookAlike}' is too similar to the existing project 'alicelib'`));
            return true;
          });
          assert.equal(await s.getProject(lookAlike), undefined);
        }
        await conflict(s.recordClaim({ project: 'al1celib', displayName: 'al1celib', userId: bob.id, delegation: delegation('project-al1celib'), role: roleBytes('al1celib', 1), now: NOW }), 'NAME_TOO_SIMILAR');
        assert.equal(await s.getProject('al1celib'), undefined);
        // Not look-alikes: the project itself, and names that differ in anything but those characters.
        await s.recordUpload(file('alicelib', 'alicelib-2.0.tar.gz', alice.id, { version: '2.0' }), 'alicelib', NOW);
        await s.recordUpload(file('alicelab', 'alicelab-1.0.tar.gz', bob.id), 'alicelab', NOW);
        assert.equal((await s.uploadChecks('alicelib', alice.id, 'alicelib-3.0.tar.gz')).similarTo, undefined);
        assert.equal((await s.pendingJournal(100)).length, 3, 'no journal entry for a refused name');
      }));

    it('setYanked: a release or one file, journaled; NOT_OWNER, NOT_FOUND', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        await s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'demo', NOW);
        await s.recordUpload(file('demo', 'demo-1.0-py3-none-any.whl', alice.id), 'demo', NOW);
        await s.recordUpload(file('demo', 'demo-2.0.tar.gz', alice.id, { version: '2.0' }), 'demo', NOW);
        const r = await s.setYanked('demo', alice.id, { version: '1.0' }, true, 'broken', NOW);
        assert.deepEqual(new Set(r.files), new Set(['demo-1.0.tar.gz', 'demo-1.0-py3-none-any.whl']));
        assert.equal((await s.journalEntry(r.seq))?.kind, 'yank');
        for (const f of await s.projectFiles('demo')) {
          assert.equal(f.yanked, f.version === '1.0');
          assert.equal(f.yankedReason, f.version === '1.0' ? 'broken' : null);
        }
        const un = await s.setYanked('demo', alice.id, { filename: 'demo-1.0.tar.gz' }, false, 'ignored', NOW);
        assert.deepEqual(un.files, ['demo-1.0.tar.gz']);
        const f = await s.fileByName('demo-1.0.tar.gz');
        assert.equal(f?.yanked, false);
        assert.equal(f?.yankedReason, null);
        await conflict(s.setYanked('demo', bob.id, { version: '1.0' }, true, null, NOW), 'NOT_OWNER');
        await conflict(s.setYanked('nope', alice.id, { version: '1.0' }, true, null, NOW), 'NOT_OWNER');
        await conflict(s.setYanked('demo', alice.id, { version: '9.9' }, true, null, NOW), 'NOT_FOUND');
        await conflict(s.setYanked('demo', alice.id, { filename: 'other.tar.gz' }, true, null, NOW), 'NOT_FOUND');
      }));

    it('journal states: pending → applied → published, or failed', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        assert.equal(await s.hasPendingWork(), false);
        const seqs: number[] = [];
        for (let i = 0; i < 5; i++) seqs.push((await s.recordUpload(file(`p${i}`, `p${i}-1.0.tar.gz`, alice.id), `p${i}`, NOW)).seq);
        assert.equal(await s.hasPendingWork(), true);
        assert.deepEqual((await s.pendingJournal(3)).map((e) => e.seq), seqs.slice(0, 3), 'oldest first, limited');
        await s.failJournal([seqs[4]!], 'bad wheel');
        assert.deepEqual(await s.journalEntry(seqs[4]!), { seq: seqs[4], kind: 'upload', project: 'p4', state: 'failed', createdAt: NOW, publishedVersion: null, error: 'bad wheel' });
        await s.applyProjectTransaction('p0', [seqs[0]!, seqs[1]!], [], '2025-01-02T00:00:00.000Z');
        assert.equal((await s.journalEntry(seqs[0]!))?.state, 'applied');
        // Only pending entries become applied (a failed one stays failed).
        await s.applyProjectTransaction('p4', [seqs[4]!], [], NOW);
        assert.equal((await s.journalEntry(seqs[4]!))?.state, 'failed');
        assert.deepEqual((await s.pendingJournal(10)).map((e) => e.seq), [seqs[2], seqs[3]]);
        const inputs = await s.collectPublishInputs([]);
        assert.deepEqual(inputs.appliedSeqs, [seqs[0], seqs[1]]);
        await s.commitPublication({ lease: await lead(s), roles: [], clearedDirty: [], publishedSeqs: inputs.appliedSeqs, snapshotVersion: 7, timestampBytes: Buffer.from('ts7'), now: NOW });
        assert.deepEqual(await s.journalEntry(seqs[1]!), { seq: seqs[1], kind: 'upload', project: 'p1', state: 'published', createdAt: NOW, publishedVersion: 7, error: null });
        assert.equal(await s.journalEntry(999_999), undefined);
        await s.applyProjectTransaction('p2', [seqs[2]!, seqs[3]!], [], NOW);
        const more = await s.collectPublishInputs([]);
        await s.commitPublication({ lease: await lead(s), roles: [], clearedDirty: [], publishedSeqs: more.appliedSeqs, snapshotVersion: 8, timestampBytes: Buffer.from('ts8'), now: NOW });
        assert.equal(await s.hasPendingWork(), false);
      }));

    it('applyProjectTransaction: replaces the project targets and bumps the generation of each touched role', () =>
      withStore(async (s) => {
        const t = (path: string, r: string, entry = '{"length":1}') => ({ path, role: r, project: 'demo', entry });
        await s.applyProjectTransaction('demo', [], [t('demo/a', 'bins-0'), t('demo/b', 'bins-0'), t('demo/c', 'bins-1')], NOW);
        assert.deepEqual(await dirtyOf(s), new Map([['bins-0', 1], ['bins-1', 1]]), 'one generation per transaction, not per target');
        assert.deepEqual(await s.currentTarget('demo/a'), t('demo/a', 'bins-0'));
        // The same targets again: nothing changed, nothing dirty.
        await s.applyProjectTransaction('demo', [], [t('demo/a', 'bins-0'), t('demo/b', 'bins-0'), t('demo/c', 'bins-1')], NOW);
        assert.deepEqual(await dirtyOf(s), new Map([['bins-0', 1], ['bins-1', 1]]));
        // A changed entry dirties its role; a target that moved dirties both; a dropped one its old role.
        await s.applyProjectTransaction('demo', [], [t('demo/a', 'bins-0', '{"length":2}'), t('demo/b', 'bins-0')], NOW, ['unclaimed']);
        assert.deepEqual(await dirtyOf(s), new Map([['bins-0', 2], ['bins-1', 2], ['unclaimed', 1]]));
        assert.equal(await s.currentTarget('demo/c'), undefined);
        await s.applyProjectTransaction('demo', [], [t('demo/a', 'bins-1', '{"length":2}'), t('demo/b', 'bins-0')], NOW);
        assert.deepEqual(await dirtyOf(s), new Map([['bins-0', 3], ['bins-1', 3], ['unclaimed', 1]]));
        assert.deepEqual(
          await s.roleTargets(['bins-0', 'bins-1']),
          new Map([
            ['bins-0', [{ path: 'demo/b', entry: '{"length":1}' }]],
            ['bins-1', [{ path: 'demo/a', entry: '{"length":2}' }]],
          ])
        );
        // Other projects' targets are untouched.
        await s.applyProjectTransaction('other', [], [{ path: 'other/x', role: 'bins-0', project: 'other', entry: '{}' }], NOW);
        await s.applyProjectTransaction('demo', [], [], NOW);
        assert.deepEqual(await s.currentTarget('other/x'), { path: 'other/x', role: 'bins-0', project: 'other', entry: '{}' });
        assert.equal(await s.currentTarget('demo/a'), undefined);
        assert.equal(await s.currentTarget('demo/b'), undefined);
      }));

    it('applyProjectTransaction and markDirty: an unknown role fails the whole transaction', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const { seq } = await s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'demo', NOW);
        await assert.rejects(
          s.applyProjectTransaction('demo', [seq], [{ path: 'demo/a', role: 'bins-0', project: 'demo', entry: '{}' }, { path: 'demo/b', role: 'bins-9', project: 'demo', entry: '{}' }], NOW),
          /unknown role bins-9/
        );
        assert.equal((await s.journalEntry(seq))?.state, 'pending');
        assert.equal(await s.currentTarget('demo/a'), undefined);
        assert.deepEqual(await dirtyOf(s), new Map());
        await assert.rejects(s.markDirty(['bins-0', 'nope']), /unknown role nope/);
        assert.deepEqual(await dirtyOf(s), new Map(), 'rolled back');
        await s.markDirty(['bins-0', 'bins-0', 'snapshot']);
        assert.deepEqual(await dirtyOf(s), new Map([['bins-0', 2], ['snapshot', 1]]));
      }));

    it('collectPublishInputs and commitPublication: generations protect changes made during a publication', () =>
      withStore(async (s) => {
        await s.applyProjectTransaction('demo', [], [{ path: 'demo/a', role: 'bins-0', project: 'demo', entry: '{"a":1}' }], NOW);
        await s.markDirty(['bins-1']);
        const inputs = await s.collectPublishInputs(['bins-1', 'unclaimed']);
        assert.deepEqual(
          [...inputs.dirtyRoles].sort((a, b) => a.name.localeCompare(b.name)),
          [
            { name: 'bins-0', generation: 1 },
            { name: 'bins-1', generation: 1 },
            { name: 'unclaimed', generation: 0 },
          ],
          'dirty roles plus the ones to rebuild (generation 0), each once'
        );
        // bins-1 changes again while the publication is being signed.
        await s.markDirty(['bins-1']);
        await s.commitPublication({ lease: await lead(s),
          roles: [role('bins-0', 2), role('bins-1', 2), role('unclaimed', 2), role('snapshot', 2), role('timestamp', 2), role('new-role', 1)],
          clearedDirty: inputs.dirtyRoles.map((r) => ({ name: r.name, generation: r.generation })),
          publishedSeqs: [],
          snapshotVersion: 2,
          timestampBytes: Buffer.from([0, 1, 2, 255]),
          now: NOW,
        });
        assert.deepEqual(await dirtyOf(s), new Map([['bins-1', 2]]), 'bins-1 stays dirty with its newer generation');
        const states = new Map((await s.roleStates()).map((r) => [r.name, r]));
        assert.deepEqual(states.get('bins-0'), role('bins-0', 2));
        assert.deepEqual(states.get('new-role'), role('new-role', 1));
        assert.deepEqual(states.get('root'), role('root', 1));
        assert.deepEqual(await s.latestTimestamp(), { snapshotVersion: 2, bytes: Buffer.from([0, 1, 2, 255]) });
        await s.commitPublication({ lease: await lead(s), roles: [], clearedDirty: [], publishedSeqs: [], snapshotVersion: 3, timestampBytes: Buffer.from('three'), now: NOW });
        assert.equal((await s.latestTimestamp())?.snapshotVersion, 3);
        await assert.rejects(
          s.commitPublication({ lease: await lead(s), roles: [role('bins-0', 9)], clearedDirty: [], publishedSeqs: [], snapshotVersion: 3, timestampBytes: Buffer.from('dup'), now: NOW }),
          'a snapshot version is committed once'
        );
        assert.equal(states.get('bins-0')?.version, 2);
        assert.equal((await s.roleStates()).find((r) => r.name === 'bins-0')?.version, 2, 'the failed commit changed nothing');
        await s.recordRoleVersion(role('root', 2));
        assert.deepEqual((await s.roleStates()).find((r) => r.name === 'root'), role('root', 2));
      }));

    it('signed roles: stored, the newest returned, bytes intact', () =>
      withStore(async (s) => {
        assert.equal(await s.latestSignedRole('targets'), undefined);
        const bytes = Buffer.from([0, 255, 1, 254, 0x5c, 0x27]);
        await s.storeSignedRole('targets', 2, bytes);
        await s.storeSignedRole('targets', 3, Buffer.from('three'));
        await s.storeSignedRole('root', 5, bytes);
        assert.deepEqual(await s.latestSignedRole('targets'), { version: 3, bytes: Buffer.from('three') });
        assert.deepEqual(await s.latestSignedRole('root'), { version: 5, bytes });
        await assert.rejects(s.storeSignedRole('root', 5, bytes), 'one version once');
      }));

    it('builder-signed roles: a new role is created and marked dirty, each version stored once', () =>
      withStore(async (s) => {
        assert.equal(await s.recordBuilderSignedRole('wheels-demo', 1, Buffer.from('one')), true);
        assert.equal(await s.recordBuilderSignedRole('wheels-demo', 1, Buffer.from('other')), false, 'the first of two publishers wins');
        assert.deepEqual(await s.latestSignedRole('wheels-demo'), { version: 1, bytes: Buffer.from('one') });
        const inputs = await s.collectPublishInputs([]);
        assert.ok(inputs.dirtyRoles.some((r) => r.name === 'wheels-demo'), 'the snapshot process publishes it next');
        assert.equal((await s.roleStates()).find((r) => r.name === 'wheels-demo')?.version, 0, 'not published yet');
      }));

    it('recordClaim: registers the keys and the first project role; ALREADY_CLAIMED, NOT_OWNER', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        await s.recordUpload(file('old', 'old-1.0.tar.gz', alice.id), 'old', NOW);
        await s.addProjectRole('old', 'bob', 'maintainer');
        await conflict(
          s.recordClaim({ project: 'old', displayName: 'old', userId: bob.id, delegation: delegation('project-old'), role: roleBytes('old', 1), now: NOW }),
          'NOT_OWNER'
        );
        const { seq } = await s.recordClaim({ project: 'old', displayName: 'old', userId: alice.id, delegation: delegation('project-old'), role: roleBytes('old', 1), now: NOW });
        assert.equal((await s.journalEntry(seq))?.kind, 'claim');
        assert.equal((await s.getProject('old'))?.protection, 'recently-claimed');
        assert.deepEqual(await s.getDelegation('old'), { project: 'old', parent: 'recently-claimed', ...delegation('project-old'), createdAt: NOW });
        assert.deepEqual(await s.latestProjectRole('old'), roleBytes('old', 1));
        assert.ok((await s.roleStates()).some((r) => r.name === 'project-old' && r.version === 0), 'the project role exists, unpublished');
        assert.equal((await dirtyOf(s)).get('recently-claimed'), 1);
        await conflict(
          s.recordClaim({ project: 'old', displayName: 'old', userId: alice.id, delegation: delegation('project-old', 'k2'), role: roleBytes('old', 1), now: NOW }),
          'ALREADY_CLAIMED'
        );
        // A claimed project takes no unsigned uploads.
        await conflict(s.recordUpload(file('old', 'old-2.0.tar.gz', alice.id), 'old', NOW), 'ALREADY_CLAIMED');
        assert.equal(await s.fileByName('old-2.0.tar.gz'), undefined);
        // A new name: registered with the claimer as owner.
        await s.recordClaim({ project: 'fresh', displayName: 'Fresh', userId: bob.id, delegation: delegation('project-fresh'), role: roleBytes('fresh', 1), now: NOW });
        assert.deepEqual(await s.getProject('fresh'), { name: 'fresh', displayName: 'Fresh', createdAt: NOW, protection: 'recently-claimed' });
        assert.deepEqual(await s.projectRoles('fresh'), [{ user: 'bob', role: 'owner' }]);
        assert.deepEqual((await s.delegations()).map((d) => d.role), ['project-fresh', 'project-old']);
        assert.deepEqual((await s.delegations('claimed')).length, 0);
        assert.equal(await s.getDelegation('nope'), undefined);
        assert.equal(await s.latestProjectRole('nope'), undefined);
      }));

    it('recordSignedUpload: the next project role version with its files; NOT_CLAIMED, VERSION_CONFLICT, FILE_EXISTS, NOT_OWNER', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        await s.recordUpload(file('plain', 'plain-1.0.tar.gz', alice.id), 'plain', NOW);
        await conflict(s.recordSignedUpload({ project: 'plain', userId: alice.id, files: [], role: roleBytes('plain', 1), now: NOW }), 'NOT_CLAIMED');
        await s.recordClaim({ project: 'demo', displayName: 'demo', userId: alice.id, delegation: delegation('project-demo'), role: roleBytes('demo', 1), now: NOW });
        await conflict(s.recordSignedUpload({ project: 'demo', userId: bob.id, files: [], role: roleBytes('demo', 2), now: NOW }), 'NOT_OWNER');
        await conflict(s.recordSignedUpload({ project: 'demo', userId: alice.id, files: [], role: roleBytes('demo', 3), now: NOW }), 'VERSION_CONFLICT');
        await conflict(
          s.recordSignedUpload({ project: 'demo', userId: alice.id, files: [file('demo', 'demo-1.0.tar.gz', alice.id), file('demo', 'plain-1.0.tar.gz', alice.id)], role: roleBytes('demo', 2), now: NOW }),
          'FILE_EXISTS'
        );
        assert.equal(await s.fileByName('demo-1.0.tar.gz'), undefined, 'all or nothing');
        assert.equal((await s.latestProjectRole('demo'))?.version, 1);
        const { seq } = await s.recordSignedUpload({
          project: 'demo',
          userId: alice.id,
          files: [file('demo', 'demo-1.0.tar.gz', alice.id), file('demo', 'demo-1.0-py3-none-any.whl', alice.id)],
          role: roleBytes('demo', 2),
          now: NOW,
        });
        assert.equal((await s.journalEntry(seq))?.kind, 'signed-upload');
        assert.deepEqual((await s.projectFiles('demo')).map((f) => f.journalSeq), [seq, seq]);
        assert.deepEqual(await s.latestProjectRole('demo'), roleBytes('demo', 2));
        // A yank-only change: no files, the next version.
        await s.recordSignedUpload({ project: 'demo', userId: alice.id, files: [], role: roleBytes('demo', 3), now: NOW });
        await conflict(s.recordSignedUpload({ project: 'demo', userId: alice.id, files: [], role: roleBytes('demo', 3), now: NOW }), 'VERSION_CONFLICT');
      }));

    it('key changes, promotion to claimed and the ceremony that applies pending keys', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        await s.recordUpload(file('plain', 'plain-1.0.tar.gz', alice.id), 'plain', NOW);
        for (const p of ['a', 'b']) {
          await s.recordClaim({ project: p, displayName: p, userId: alice.id, delegation: delegation(`project-${p}`), role: roleBytes(p, 1), now: NOW });
        }
        const k2 = delegation('x', 'k2');
        await conflict(s.changeDelegationKeys({ project: 'plain', userId: alice.id, expectKeyids: [], keys: k2.keys, keyids: k2.keyids, threshold: 1, now: NOW }), 'NOT_CLAIMED');
        await conflict(s.changeDelegationKeys({ project: 'a', userId: bob.id, expectKeyids: ['k1'], keys: k2.keys, keyids: k2.keyids, threshold: 1, now: NOW }), 'NOT_OWNER');
        await conflict(s.changeDelegationKeys({ project: 'a', userId: alice.id, expectKeyids: ['k9'], keys: k2.keys, keyids: k2.keyids, threshold: 1, now: NOW }), 'VERSION_CONFLICT');
        const before = (await dirtyOf(s)).get('recently-claimed') ?? 0;
        const changed = await s.changeDelegationKeys({ project: 'a', userId: alice.id, expectKeyids: ['k1'], keys: k2.keys, keyids: k2.keyids, threshold: 1, now: NOW });
        assert.equal(changed.pendingCeremony, false);
        assert.equal((await s.journalEntry(changed.seq))?.kind, 'key-change');
        assert.deepEqual((await s.getDelegation('a'))?.keyids, ['k2']);
        assert.equal((await dirtyOf(s)).get('recently-claimed'), before + 1);

        // Promotion: all named projects or none.
        await conflict(s.promoteDelegations(['a', 'plain'], { version: 2, bytes: Buffer.from('claimed-2') }, NOW), 'NOT_FOUND');
        assert.equal((await s.getDelegation('a'))?.parent, 'recently-claimed');
        assert.equal(await s.latestSignedRole('claimed'), undefined);
        await s.promoteDelegations(['a'], { version: 2, bytes: Buffer.from('claimed-2') }, NOW);
        assert.equal((await s.getDelegation('a'))?.parent, 'claimed');
        assert.equal((await s.getProject('a'))?.protection, 'claimed');
        assert.deepEqual(await s.latestSignedRole('claimed'), { version: 2, bytes: Buffer.from('claimed-2') });
        assert.deepEqual((await s.delegations('claimed')).map((d) => d.project), ['a']);
        assert.deepEqual((await s.delegations('recently-claimed')).map((d) => d.project), ['b']);
        const dirty = await dirtyOf(s);
        assert.ok((dirty.get('claimed') ?? 0) > 0 && (dirty.get('recently-claimed') ?? 0) > 0);

        // A claimed project's key change waits for the next ceremony.
        const k3 = delegation('x', 'k3');
        const pending = await s.changeDelegationKeys({ project: 'a', userId: alice.id, expectKeyids: ['k2'], keys: k3.keys, keyids: k3.keyids, threshold: 1, now: NOW });
        assert.equal(pending.pendingCeremony, true);
        const d = await s.getDelegation('a');
        assert.deepEqual(d?.keyids, ['k2']);
        assert.deepEqual(d?.pending, { keys: k3.keys, keyids: ['k3'], threshold: 1 });
        await s.promoteDelegations(['b'], { version: 3, bytes: Buffer.from('claimed-3') }, NOW);
        const applied = await s.getDelegation('a');
        assert.deepEqual(applied?.keyids, ['k3']);
        assert.equal(applied?.pending, undefined);

        // The operator's replacement needs no owner and no expected keys.
        await conflict(s.replaceDelegationKeys({ project: 'plain', keys: k2.keys, keyids: ['k2'], threshold: 1, now: NOW }), 'NOT_CLAIMED');
        const k4 = delegation('x', 'k4');
        const replaced = await s.replaceDelegationKeys({ project: 'b', keys: k4.keys, keyids: ['k4'], threshold: 1, now: NOW });
        assert.equal(replaced.pendingCeremony, true);
        assert.deepEqual((await s.getDelegation('b'))?.pending?.keyids, ['k4']);
      }));

    it('recoverOnlineCompromise: recently-claimed back to unclaimed, recent unclaimed files discarded', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const early = '2025-01-01T00:00:00.000Z';
        const late = '2025-02-01T00:00:00.000Z';
        await s.recordUpload(file('u', 'u-1.0.tar.gz', alice.id, { uploadTime: early }), 'u', early);
        await s.recordUpload(file('u', 'u-2.0.tar.gz', alice.id, { uploadTime: late }), 'u', late);
        await s.recordUpload(file('rc', 'rc-1.0.tar.gz', alice.id, { uploadTime: late }), 'rc', late);
        await s.recordClaim({ project: 'rc', displayName: 'rc', userId: alice.id, delegation: delegation('project-rc'), role: roleBytes('rc', 1), now: late });
        await s.recordClaim({ project: 'cl', displayName: 'cl', userId: alice.id, delegation: delegation('project-cl'), role: roleBytes('cl', 1), now: early });
        await s.recordSignedUpload({ project: 'cl', userId: alice.id, files: [file('cl', 'cl-1.0.tar.gz', alice.id, { uploadTime: late })], role: roleBytes('cl', 2), now: late });
        await s.promoteDelegations(['cl'], { version: 2, bytes: Buffer.from('c2') }, early);
        const journalBefore = (await s.pendingJournal(1000)).length;

        const nothing = await s.recoverOnlineCompromise({ since: null, now: late });
        assert.deepEqual(nothing, { unclaimedAgain: ['rc'], discarded: [] });
        assert.equal(await s.getDelegation('rc'), undefined);
        assert.equal((await s.getProject('rc'))?.protection, 'unclaimed');
        const recovered = (await s.pendingJournal(1000)).slice(journalBefore);
        assert.deepEqual(recovered.map((e) => [e.kind, e.project]), [['recover', 'rc']]);

        const r = await s.recoverOnlineCompromise({ since: late, now: late });
        assert.deepEqual(r.unclaimedAgain, []);
        assert.deepEqual(new Set(r.discarded.map((d) => `${d.project}/${d.filename}`)), new Set(['u/u-2.0.tar.gz', 'rc/rc-1.0.tar.gz']));
        assert.equal(await s.fileByName('u-2.0.tar.gz'), undefined);
        assert.ok(await s.fileByName('u-1.0.tar.gz'), 'older files stay');
        assert.ok(await s.fileByName('cl-1.0.tar.gz'), 'claimed projects keep theirs');
        assert.deepEqual(new Set((await s.pendingJournal(1000)).slice(journalBefore + 1).map((e) => `${e.kind}:${e.project}`)), new Set(['recover:u', 'recover:rc']));
      }));

    it('roleTargets: each named role, its rows in byte order of path, empty when it lists nothing', () =>
      withStore(async (s) => {
        // Byte order, not a locale's: '-' < 'B' < 'Z' < 'a' < 'z' < '~' < 'é' (UTF-8 0xc3 0xa9).
        const paths = ['demo/z', 'demo/é', 'demo/B', 'demo/a', 'demo/~', 'demo/Z', 'demo/-x'];
        const inByteOrder = (list: string[]) => [...list].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        await s.applyProjectTransaction('demo', [], paths.map((path, i) => ({ path, role: 'bins-0', project: 'demo', entry: `{"length":${i}}` })), NOW);
        await s.applyProjectTransaction('other', [], [{ path: 'other/x', role: 'bins-1', project: 'other', entry: '{"length":9}' }, { path: 'other/a', role: 'bins-0', project: 'other', entry: '{"length":8}' }], NOW);
        const dirtyBefore = await dirtyOf(s);
        const got = await s.roleTargets(['bins-1', 'bins-0', 'unclaimed', 'no-such-role']);
        assert.deepEqual([...got.keys()].sort(), ['bins-0', 'bins-1', 'no-such-role', 'unclaimed'], 'one entry per name asked, no other');
        assert.deepEqual(got.get('bins-0')?.map((t) => t.path), inByteOrder([...paths, 'other/a']), 'every project, by path in byte order');
        assert.deepEqual(inByteOrder(paths), ['demo/-x', 'demo/B', 'demo/Z', 'demo/a', 'demo/z', 'demo/~', 'demo/é'], 'the order the test means');
        assert.deepEqual(got.get('bins-0')?.find((t) => t.path === 'demo/é'), { path: 'demo/é', entry: '{"length":1}' });
        assert.deepEqual(got.get('bins-1'), [{ path: 'other/x', entry: '{"length":9}' }]);
        assert.deepEqual(got.get('unclaimed'), []);
        assert.deepEqual(got.get('no-such-role'), []);
        assert.deepEqual(await s.roleTargets([]), new Map());
        assert.deepEqual(await dirtyOf(s), dirtyBefore, 'a read: generations unchanged');
      }));

    it('roleTargetsCanonical: the body binCanonical builds from roleTargets, escapes and byte order included', () =>
      withStore(async (s) => {
        // Canonical JSON escapes only " and \ ; é stays as it is. Byte order as above.
        const paths = ['demo/z', 'demo/é', 'demo/B', 'demo/q"uote', 'demo/back\\slash', 'demo/~', 'demo/-x'];
        await s.applyProjectTransaction('demo', [], paths.map((path, i) => ({ path, role: 'bins-0', project: 'demo', entry: `{"hashes":{"sha256":"${String(i).repeat(64)}"},"length":${i}}` })), NOW);
        await s.applyProjectTransaction('other', [], [{ path: 'other/x', role: 'bins-1', project: 'other', entry: '{"length":9}' }], NOW);
        const names = ['bins-1', 'bins-0', 'unclaimed', 'no-such-role'];
        const rows = await s.roleTargets(names);
        const bodies = await s.roleTargetsCanonical(names);
        assert.deepEqual([...bodies.keys()].sort(), [...names].sort(), 'one entry per name asked, no other');
        const expires = new Date('2030-01-01T00:00:00Z');
        for (const name of names) {
          const body = bodies.get(name) as string;
          assert.equal(binCanonicalFromBody(3, expires, body), binCanonical(3, expires, rows.get(name) ?? []), name);
        }
        assert.equal(bodies.get('bins-1'), '"other/x":{"length":9}');
        assert.match(bodies.get('bins-0') as string, /"demo\/q\\"uote":\{/);
        assert.match(bodies.get('bins-0') as string, /"demo\/back\\\\slash":\{/);
        assert.equal(bodies.get('unclaimed'), '');
        assert.equal(bodies.get('no-such-role'), '');
        // What a client parses is what was stored.
        const parsed = JSON.parse(binCanonicalFromBody(3, expires, bodies.get('bins-0') as string)) as { targets: Record<string, { length: number }> };
        assert.deepEqual(Object.keys(parsed.targets).sort(), [...paths].sort());
        assert.equal(parsed.targets['demo/q"uote']?.length, 3);
        assert.deepEqual(await s.roleTargetsCanonical([]), new Map());
      }));

    it('initRoles stores roles and targets; currentTarget reads them', () =>
      withStore(async (s) => {
        const other = await backend.fresh();
        try {
          await other.initRoles([role('root'), role('bins-0')], [{ path: 'x/y', role: 'bins-0', project: 'x', entry: '{"length":3}' }]);
          assert.deepEqual(await other.currentTarget('x/y'), { path: 'x/y', role: 'bins-0', project: 'x', entry: '{"length":3}' });
          assert.deepEqual(new Set((await other.roleStates()).map((r) => r.name)), new Set(['root', 'bins-0']));
          assert.deepEqual((await other.collectPublishInputs(['bins-0'])).dirtyRoles, [{ name: 'bins-0', generation: 0 }]);
          assert.deepEqual(await other.roleTargets(['bins-0']), new Map([['bins-0', [{ path: 'x/y', entry: '{"length":3}' }]]]));
        } finally {
          await other.close();
        }
        assert.equal(await s.currentTarget('x/y'), undefined);
      }));

    it('snapshot leadership: one holder at a time, renewal, expiry, takeover of a dead holder, release', () =>
      withStore(async (s) => {
        const a = await s.acquireLeadership('host-a/1/x', 60_000);
        assert.deepEqual(a, { holder: 'host-a/1/x', epoch: 1 });
        assert.equal(await s.acquireLeadership('host-b/2/y', 60_000), undefined, 'a live lease is not taken');
        assert.deepEqual(await s.acquireLeadership('host-a/1/x', 60_000), a, 'the holder renews, same epoch');
        assert.equal(await s.renewLeadership(a!, 60_000), true);
        const info = await s.leader();
        assert.equal(info?.holder, 'host-a/1/x');
        assert.equal(info?.expired, false);
        assert.ok(Date.parse(info!.expiresAt) > Date.now() + 30_000);
        // Naming the live lease exactly (its holder is known dead) takes it over: a new epoch.
        assert.equal(await s.acquireLeadership('host-b/2/y', 60_000, { holder: 'host-a/1/x', epoch: 7 }), undefined, 'a wrong epoch is not enough');
        const b = await s.acquireLeadership('host-b/2/y', 60_000, a);
        assert.deepEqual(b, { holder: 'host-b/2/y', epoch: 2 });
        assert.equal(await s.renewLeadership(a!, 60_000), false, 'the old holder cannot renew');
        // Release: another takes it at once. Expiry: likewise.
        await s.releaseLeadership(b!);
        assert.equal((await s.leader())?.expired, true);
        const c = await s.acquireLeadership('host-c/3/z', 150);
        assert.deepEqual(c, { holder: 'host-c/3/z', epoch: 3 });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await s.renewLeadership(c!, 60_000), false, 'an expired lease is not renewed');
        assert.deepEqual(await s.acquireLeadership('host-a/1/x', 60_000), { holder: 'host-a/1/x', epoch: 4 });
      }));

    it('fencing: a deposed leader can neither record intents nor commit; intents clear with the commit', () =>
      withStore(async (s) => {
        const old = (await s.acquireLeadership('old/1/x', 60_000))!;
        await s.recordPublicationIntent(old, ['metadata/2.bins-0.json', 'metadata/2.snapshot.json']);
        await s.recordPublicationIntent(old, ['metadata/2.snapshot.json']);
        assert.deepEqual(await s.publicationIntents(), ['metadata/2.bins-0.json', 'metadata/2.snapshot.json']);
        const fresh = (await s.acquireLeadership('new/2/y', 60_000, old))!;
        const commit = (lease: Lease, v: number) =>
          s.commitPublication({ lease, roles: [], clearedDirty: [], publishedSeqs: [], snapshotVersion: v, timestampBytes: Buffer.from(`ts${v}`), now: NOW });
        await assert.rejects(commit(old, 2), NotLeaderError);
        await assert.rejects(s.recordPublicationIntent(old, ['metadata/3.snapshot.json']), NotLeaderError);
        await assert.rejects(s.clearPublicationIntents(old), NotLeaderError);
        assert.equal(await s.latestTimestamp(), undefined, 'nothing committed');
        assert.deepEqual(await s.publicationIntents(), ['metadata/2.bins-0.json', 'metadata/2.snapshot.json'], 'left for the new leader to remove');
        await s.clearPublicationIntents(fresh);
        await s.recordPublicationIntent(fresh, ['metadata/2.snapshot.json']);
        await commit(fresh, 2);
        assert.deepEqual(await s.publicationIntents(), []);
        assert.equal((await s.latestTimestamp())?.snapshotVersion, 2);
      }));

    it('withProjectTransaction: the project is held (busy for others), role locks wait, all or nothing', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const up = await s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'demo', NOW);
        await s.recordUpload(file('other', 'other-1.0.tar.gz', alice.id), 'other', NOW);
        const events: string[] = [];
        let releaseFirst!: () => void;
        const firstMayFinish = new Promise<void>((r) => (releaseFirst = r));
        const first = s.withProjectTransaction('demo', async (tx) => {
          assert.deepEqual(await tx.pending(), [{ seq: up.seq, kind: 'upload' }]);
          assert.deepEqual((await tx.files()).map((f) => f.filename), ['demo-1.0.tar.gz']);
          assert.equal(await tx.delegation(), undefined);
          await tx.lock(['bins-0']);
          events.push('first locked bins-0');
          await firstMayFinish;
          await tx.apply([up.seq], [target('demo/demo-1.0.tar.gz', 'bins-0')], NOW);
          events.push('first applied');
          return 'first';
        });
        await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(await s.withProjectTransaction('demo', () => Promise.resolve('never')), { busy: true });
        // Another project sharing the bin waits for it.
        const second = s.withProjectTransaction('other', async (tx) => {
          await tx.lock(['bins-0']);
          events.push('second locked bins-0');
          assert.deepEqual(await tx.currentRoles(), []);
          return 'second';
        });
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(events, ['first locked bins-0']);
        releaseFirst();
        assert.deepEqual(await first, { busy: false, value: 'first' });
        assert.deepEqual(await second, { busy: false, value: 'second' });
        assert.deepEqual(events, ['first locked bins-0', 'first applied', 'second locked bins-0']);
        assert.equal((await s.journalEntry(up.seq))?.state, 'applied');
        assert.deepEqual(
          await s.withProjectTransaction('demo', async (tx) => {
            assert.deepEqual(await tx.pending(), []);
            return tx.currentRoles();
          }),
          { busy: false, value: ['bins-0'] }
        );
        // A failure inside the transaction leaves nothing behind and frees the project.
        const other = (await s.pendingJournal(10)).find((e) => e.project === 'other')!;
        await assert.rejects(
          s.withProjectTransaction('other', async (tx) => {
            await tx.lock(['bins-1']);
            await tx.apply([other.seq], [target('other/other-1.0.tar.gz', 'bins-1')], NOW);
            throw new Error('boom after apply');
          }),
          /boom after apply/
        );
        assert.equal((await s.journalEntry(other.seq))?.state, 'pending');
        assert.equal(await s.currentTarget('other/other-1.0.tar.gz'), undefined);
        assert.equal((await s.withProjectTransaction('other', () => Promise.resolve(1))).busy, false);
      }));

    it('publishedVersions: the snapshot version of each published entry, nothing for the others', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const a = await s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'demo', NOW);
        const b = await s.recordUpload(file('demo', 'demo-1.1.tar.gz', alice.id), 'demo', NOW);
        await s.applyProjectTransaction('demo', [a.seq], [], NOW);
        await s.commitPublication({ lease: await lead(s), roles: [], clearedDirty: [], publishedSeqs: [a.seq], snapshotVersion: 5, timestampBytes: Buffer.from('5'), now: NOW });
        assert.deepEqual(await s.publishedVersions([a.seq, b.seq, 999_999]), new Map([[a.seq, 5]]));
      }));

    it('two-factor: enrol once, steps used once, recovery codes once, tokens and projects, journaled re-publications', () =>
      withStore(async (s) => {
        const alice = await s.addUser('alice', false, 'ha', NOW);
        const bob = await s.addUser('bob', false, 'hb', NOW);
        await s.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id), 'demo', NOW);
        await s.addProjectRole('demo', 'bob', 'maintainer');
        const pendingTwoFactor = async () => (await s.pendingJournal(100)).filter((e) => e.kind === 'two-factor').map((e) => e.project);
        const atTwoFactor = async () => {
          const r = await s.withProjectTransaction('demo', (tx) => tx.twoFactor());
          return !r.busy && r.value;
        };
        assert.equal(await s.twoFactor(alice.id), undefined);
        await conflict(s.setProjectTwoFactor('demo', bob.id, true, NOW), 'NOT_OWNER');
        await conflict(s.setProjectTwoFactor('nope', alice.id, true, NOW), 'NOT_FOUND');
        assert.deepEqual(await s.projectTwoFactor('demo'), { required: false, membersWithout: ['alice', 'bob'] });
        await s.setProjectTwoFactor('demo', alice.id, true, NOW);
        assert.deepEqual(await pendingTwoFactor(), ['demo']);
        assert.equal(await atTwoFactor(), false);

        const { seqs } = await s.enableTwoFactor(alice.id, 'S'.repeat(32), 100, ['r1', 'r2'], NOW);
        assert.equal(seqs.length, 1, 'a member of a project that requires it: its pages are re-published');
        assert.deepEqual(await s.twoFactor(alice.id), { secret: 'S'.repeat(32), lastStep: 100, enabledAt: NOW, recoveryLeft: 2 });
        await conflict(s.enableTwoFactor(alice.id, 'T'.repeat(32), 200, [], NOW), 'TWO_FACTOR_ON');
        assert.equal((await s.twoFactor(alice.id))?.secret, 'S'.repeat(32), 'the refused enrolment changed nothing');
        assert.equal(await s.useTotpStep(alice.id, 100), false, 'the enrolment step is used');
        assert.equal(await s.useTotpStep(alice.id, 101), true);
        assert.equal(await s.useTotpStep(alice.id, 101), false, 'replay');
        assert.equal(await s.useTotpStep(alice.id, 99), false, 'an older step');
        assert.equal(await s.useRecoveryCode(alice.id, 'r1', NOW), true);
        assert.equal(await s.useRecoveryCode(alice.id, 'r1', NOW), false);
        assert.equal(await s.useRecoveryCode(bob.id, 'r2', NOW), false, "another user's code");
        assert.equal((await s.twoFactor(alice.id))?.recoveryLeft, 1);

        await s.addToken(alice.id, 'tok-2fa', 'ci', NOW, true);
        await s.addToken(alice.id, 'tok-plain', 'laptop', NOW);
        assert.equal(await s.tokenTwoFactor('tok-2fa'), true);
        assert.equal(await s.tokenTwoFactor('tok-plain'), false);

        assert.deepEqual((await s.projectTwoFactor('demo')).membersWithout, ['bob']);
        await s.enableTwoFactor(bob.id, 'B'.repeat(32), 1, [], NOW);
        assert.equal(await atTwoFactor(), true);
        const carol = await s.addUser('carol', false, 'hc', NOW);
        const before = (await pendingTwoFactor()).length;
        await s.addProjectRole('demo', 'carol', 'maintainer');
        assert.equal((await pendingTwoFactor()).length, before + 1, 'a new member re-publishes the pages');
        assert.equal(await atTwoFactor(), false);
        await s.enableTwoFactor(carol.id, 'C'.repeat(32), 1, [], NOW);
        assert.equal(await atTwoFactor(), true);
        await s.disableTwoFactor(bob.id, NOW);
        assert.equal(await s.twoFactor(bob.id), undefined);
        assert.equal(await atTwoFactor(), false);
      }));
  });
}

// ---- PostgreSQL only: separate pools racing, as separate API servers and workers would -------

describe('PostgreSQL state store under concurrency', { skip: pgInfo.skip ?? false }, () => {
  const opened: PgState[] = [];
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });
  /** `n` stores on one fresh database, each with its own pool (one connection each). */
  async function pools(n: number): Promise<{ url: string; stores: PgState[] }> {
    const url = await cluster!.createDatabase('race');
    const stores = await Promise.all(Array.from({ length: n }, () => PgState.connect(url, { maxConnections: 2 })));
    opened.push(...stores);
    await stores[0]!.initRoles(BASE_ROLES.map((r) => role(r)), []);
    return { url, stores };
  }

  it('one TOTP step used from 10 pools at once: exactly one succeeds (a replayed code is refused)', async () => {
    const { stores } = await pools(10);
    const alice = await stores[0]!.addUser('alice', false, 'ha', NOW);
    await stores[0]!.enableTwoFactor(alice.id, 'S'.repeat(32), 10, ['r'], NOW);
    const steps = await Promise.all(stores.map((s) => s.useTotpStep(alice.id, 11)));
    assert.equal(steps.filter(Boolean).length, 1);
    const codes = await Promise.all(stores.map((s) => s.useRecoveryCode(alice.id, 'r', NOW)));
    assert.equal(codes.filter(Boolean).length, 1);
  });

  it('20 concurrent recordUpload of the same file name: exactly one succeeds, the rest FILE_EXISTS', async () => {
    const { stores } = await pools(20);
    const users: UserRecord[] = [];
    for (let i = 0; i < 20; i++) users.push(await stores[0]!.addUser(`u${i}`, false, `h${i}`, NOW));
    // Every uploader is an owner (or creator) of the project, so only the duplicate check can refuse.
    await stores[0]!.recordUpload(file('race', 'race-0.1.tar.gz', users[0]!.id), 'race', NOW);
    for (let i = 1; i < 20; i++) await stores[0]!.addProjectRole('race', `u${i}`, 'maintainer');
    const results = await Promise.allSettled(stores.map((s, i) => s.recordUpload(file('race', 'race-1.0.tar.gz', users[i]!.id), 'race', NOW)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1, `exactly one succeeds: ${refused.map((r) => String(r.reason)).join('; ')}`);
    for (const r of refused) assert.ok(r.reason instanceof StateConflictError && r.reason.code === 'FILE_EXISTS', String(r.reason));
    assert.equal((await stores[0]!.projectFiles('race')).length, 2);
    assert.equal((await stores[0]!.pendingJournal(100)).length, 2, 'no journal entry for a refused upload');
  });

  it('20 concurrent first uploads to the same new project: one project, one owner, every distinct file recorded', async () => {
    const { stores } = await pools(20);
    const alice = await stores[0]!.addUser('alice', false, 'ha', NOW);
    const results = await Promise.allSettled(stores.map((s, i) => s.recordUpload(file('fresh', `fresh-1.${i}.tar.gz`, alice.id), 'Fresh', NOW)));
    assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), []);
    assert.equal((await stores[0]!.projectFiles('fresh')).length, 20);
    assert.deepEqual(await stores[0]!.projectRoles('fresh'), [{ user: 'alice', role: 'owner' }]);
    const seqs = results.map((r) => (r as PromiseFulfilledResult<{ seq: number }>).value.seq);
    assert.equal(new Set(seqs).size, 20);
  });

  it('look-alike new names uploaded at once: one project is created, the others are NAME_TOO_SIMILAR', async () => {
    const { stores } = await pools(8);
    const alice = await stores[0]!.addUser('alice', false, 'ha', NOW);
    const names = ['racelib', 'race1ib', 'raceiib', 'race-lib', 'racel1b', 'r-acelib', 'ra-celib', 'rac-elib'];
    const results = await Promise.allSettled(stores.map((s, i) => s.recordUpload(file(names[i]!, `${names[i]!}-1.0.tar.gz`, alice.id), names[i]!, NOW)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join('; '));
    const winner = names[results.findIndex((r) => r.status === 'fulfilled')]!;
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.ok(r.reason instanceof StateConflictError && r.reason.code === 'NAME_TOO_SIMILAR', String(r.reason));
        assert.match(r.reason.message, new RegExp(`existing project '${winner}'`));
      }
    }
    assert.deepEqual((await stores[0]!.listProjects()).map((p) => p.name), [winner]);
  });

  it('a new name claimed by two users at once: one owner, one delegation', async () => {
    const { stores } = await pools(8);
    const users: UserRecord[] = [];
    for (let i = 0; i < 8; i++) users.push(await stores[0]!.addUser(`u${i}`, false, `h${i}`, NOW));
    const results = await Promise.allSettled(
      stores.map((s, i) => s.recordClaim({ project: 'name', displayName: 'name', userId: users[i]!.id, delegation: delegation('project-name', `k${i}`), role: roleBytes('name', 1), now: NOW }))
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StateConflictError && ['NOT_OWNER', 'ALREADY_CLAIMED'].includes(r.reason.code), String(r.reason));
    assert.equal((await stores[0]!.projectRoles('name')).length, 1);
    assert.equal((await stores[0]!.delegations()).length, 1);
  });

  it('first uploads of 20 different new projects at once: each recorded at the first attempt', async () => {
    // Recording runs at READ COMMITTED under a per-project lock: SERIALIZABLE reported
    // neighbouring new names as conflicts and retried (2.7 attempts per upload in the cluster bench).
    const { stores } = await pools(20);
    const alice = await stores[0]!.addUser('alice', false, 'ha', NOW);
    const retriesBefore = stores.reduce((n, s) => n + s.retries, 0);
    const results = await Promise.allSettled(stores.map((s, i) => s.recordUpload(file(`new${i}`, `new${i}-1.0.tar.gz`, alice.id), `New${i}`, NOW)));
    assert.deepEqual(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), []);
    assert.equal(stores.reduce((n, s) => n + s.retries, 0) - retriesBefore, 0, 'no transaction ran twice');
    for (let i = 0; i < 20; i++) assert.deepEqual(await stores[0]!.projectRoles(`new${i}`), [{ user: 'alice', role: 'owner' }]);
  });

  it('a new name uploaded to and claimed at once: one owner, and no unsigned upload recorded after the claim', async () => {
    for (let round = 0; round < 3; round++) {
      const { stores } = await pools(10);
      const users: UserRecord[] = [];
      for (let i = 0; i < 10; i++) users.push(await stores[0]!.addUser(`u${i}`, false, `h${i}`, NOW));
      const name = `mixed${round}`;
      const results = await Promise.allSettled(
        stores.map((s, i) =>
          i % 2 === 0
            ? s.recordUpload(file(name, `${name}-1.${i}.tar.gz`, users[i]!.id), name, NOW)
            : s.recordClaim({ project: name, displayName: name, userId: users[i]!.id, delegation: delegation(`project-${name}`, `k${i}`), role: roleBytes(name, 1), now: NOW })
        )
      );
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof StateConflictError && ['NOT_OWNER', 'ALREADY_CLAIMED'].includes(r.reason.code), String(r.reason));
      }
      assert.equal((await stores[0]!.projectRoles(name)).length, 1, 'one owner');
      assert.ok((await stores[0]!.delegations()).length <= 1, 'at most one delegation');
      const journal = await stores[0]!.pendingJournal(100);
      const claim = journal.find((e) => e.kind === 'claim');
      const uploads = journal.filter((e) => e.kind === 'upload');
      assert.equal(uploads.length + (claim ? 1 : 0), results.filter((r) => r.status === 'fulfilled').length, 'a journal entry for each success');
      if (claim) for (const u of uploads) assert.ok(u.seq < claim.seq, `unsigned upload ${u.seq} journaled after the claim ${claim.seq}`);
    }
  });

  it('a recovery racing with uploads is a clean cut: each upload is discarded by it or journaled after it', async () => {
    for (let round = 0; round < 3; round++) {
      const { stores } = await pools(12);
      const alice = await stores[0]!.addUser('alice', false, 'ha', NOW);
      const since = '2000-01-01T00:00:00.000Z';
      // An upload the recovery will discard, so that it journals a 'recover' entry.
      await stores[0]!.recordUpload(file('seed', 'seed-1.0.tar.gz', alice.id), 'seed', NOW);
      const uploads = stores.slice(1).map((s, i) => s.recordUpload(file(`race${i}`, `race${i}-1.0.tar.gz`, alice.id), `race${i}`, NOW));
      const recovery = stores[0]!.recoverOnlineCompromise({ since, now: NOW });
      const results = await Promise.all(uploads);
      const discarded = new Set((await recovery).discarded.map((d) => d.filename));
      assert.ok(discarded.has('seed-1.0.tar.gz'));
      const cut = Math.max(...(await stores[0]!.pendingJournal(1000)).filter((e) => e.kind === 'recover').map((e) => e.seq));
      for (const [i, result] of results.entries()) {
        const name = `race${i}-1.0.tar.gz`;
        if (await stores[0]!.fileByName(name)) assert.ok(result.seq > cut, `${name} kept, but journaled (${result.seq}) before the recovery (${cut})`);
        else assert.ok(discarded.has(name), `${name} gone but not reported as discarded`);
      }
    }
  });

  it('concurrent signed uploads of the same project role version: one wins, the rest VERSION_CONFLICT', async () => {
    const { stores } = await pools(10);
    const alice = await stores[0]!.addUser('alice', false, 'ha', NOW);
    await stores[0]!.recordClaim({ project: 'p', displayName: 'p', userId: alice.id, delegation: delegation('project-p'), role: roleBytes('p', 1), now: NOW });
    const results = await Promise.allSettled(
      stores.map((s, i) => s.recordSignedUpload({ project: 'p', userId: alice.id, files: [file('p', `p-${i}.tar.gz`, alice.id)], role: roleBytes('p', 2), now: NOW }))
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof StateConflictError && r.reason.code === 'VERSION_CONFLICT', String(r.reason));
    assert.equal((await stores[0]!.projectFiles('p')).length, 1, 'the losers recorded no file');
  });

  it('dirty generations: concurrent transactions and a publication lose no change', async () => {
    const { stores } = await pools(10);
    const rounds = 10;
    // Workers apply project transactions touching bins-0 while a publisher commits repeatedly.
    let done = false;
    let published = 0;
    let lastRead = -1; // bins-0 targets read by the last publication that had bins-0 dirty
    const workers = stores.slice(1).map(async (s, w) => {
      // Each transaction lists all of the project's targets: one more each time.
      const targets = [];
      for (let i = 0; i < rounds; i++) {
        targets.push({ path: `p${w}/f${i}`, role: 'bins-0', project: `p${w}`, entry: `{"i":${i}}` });
        await s.applyProjectTransaction(`p${w}`, [], [...targets], NOW);
      }
    });
    const publisher = (async () => {
      for (let v = 2; ; v++) {
        const finished = done; // one more publication after the workers are done
        const inputs = await stores[0]!.collectPublishInputs([]);
        // Targets are read after the generations, as SnapshotProcess.publish() reads them.
        if (inputs.dirtyRoles.some((r) => r.name === 'bins-0')) lastRead = (await stores[0]!.roleTargets(['bins-0'])).get('bins-0')?.length ?? -1;
        await stores[0]!.commitPublication({ lease: await lead(stores[0]!),
          roles: [],
          clearedDirty: inputs.dirtyRoles.map((r) => ({ name: r.name, generation: r.generation })),
          publishedSeqs: [],
          snapshotVersion: v,
          timestampBytes: Buffer.from(String(v)),
          now: NOW,
        });
        published++;
        if (finished) return;
      }
    })();
    await Promise.all(workers);
    done = true;
    await publisher;
    assert.ok(published >= 2);
    // A generation is cleared only by the publication that read it: if bins-0 is clean now, the
    // last publication that saw it dirty read every target; no change fell between the two.
    const dirtyNow = (await dirtyOf(stores[0]!)).get('bins-0');
    assert.ok(dirtyNow !== undefined || lastRead === 9 * rounds, `clean bins-0 published with ${lastRead} of ${9 * rounds} targets`);
    assert.equal(dirtyNow, undefined, 'the final publication cleared it');
    // Now a counter check without a publisher: 9 pools × 10 markDirty = 90 generations.
    const url = await cluster!.createDatabase('counter');
    const counters = await Promise.all(Array.from({ length: 9 }, () => PgState.connect(url, { maxConnections: 1 })));
    opened.push(...counters);
    await counters[0]!.initRoles([role('bins-0')], []);
    await Promise.all(counters.map(async (s) => { for (let i = 0; i < 10; i++) await s.markDirty(['bins-0']); }));
    assert.equal((await dirtyOf(counters[0]!)).get('bins-0'), 90);
  });

  it('openStateStore moves an initialized embedded state into an empty database once, then the embedded file refuses', async () => {
    const dir = await tempDir('move');
    const sqlite = new SqliteState(join(dir, 'bulwark.db'));
    await sqlite.initRoles(BASE_ROLES.map((r) => role(r)), [{ path: 'a/b', role: 'bins-0', project: 'a', entry: '{}' }]);
    const alice = await sqlite.addUser('alice', true, 'ha', NOW);
    const up = await sqlite.recordUpload(file('demo', 'demo-1.0.tar.gz', alice.id, { summary: 's' }), 'Demo', NOW);
    await sqlite.setYanked('demo', alice.id, { version: '1.0' }, true, 'why', NOW);
    await sqlite.commitPublication({ lease: await lead(sqlite), roles: [], clearedDirty: [], publishedSeqs: [], snapshotVersion: 1, timestampBytes: Buffer.from([1, 2, 3]), now: NOW });
    await sqlite.storeSignedRole('targets', 2, Buffer.from([0, 9]));
    await sqlite.close();

    const url = await cluster!.createDatabase('move');
    // Two processes opening at once: one copies, the other sees the copy.
    const [a, b] = await Promise.all([openStateStore(dir, url), openStateStore(dir, url)]);
    await b!.close();
    try {
      assert.deepEqual(await a!.userByTokenHash('ha'), alice);
      const f = await a!.fileByName('demo-1.0.tar.gz');
      assert.equal(f?.id, up.fileId);
      assert.equal(f?.yanked, true);
      assert.equal(f?.yankedReason, 'why');
      assert.deepEqual(await a!.currentTarget('a/b'), { path: 'a/b', role: 'bins-0', project: 'a', entry: '{}' });
      assert.deepEqual(await a!.latestTimestamp(), { snapshotVersion: 1, bytes: Buffer.from([1, 2, 3]) });
      assert.deepEqual(await a!.latestSignedRole('targets'), { version: 2, bytes: Buffer.from([0, 9]) });
      assert.equal((await a!.pendingJournal(10)).length, 2);
      // Identity sequences continue after the copied rows.
      const bob = await a!.addUser('bob', false, 'hb', NOW);
      assert.ok(bob.id > alice.id);
      const next = await a!.recordUpload(file('demo', 'demo-2.0.tar.gz', alice.id), 'Demo', NOW);
      assert.ok(next.seq > up.seq && next.fileId > up.fileId);
    } finally {
      await a!.close();
    }
    const reopened = await openStateStore(dir, url);
    assert.equal((await reopened.pendingJournal(10)).length, 3, 'not copied twice');
    await reopened.close();
    await assert.rejects(openStateStore(dir), /moved to PostgreSQL/);
    const raw = new SqliteState(join(dir, 'bulwark.db'));
    assert.match((await raw.getSetting(MOVED_TO_SETTING)) ?? '', /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/move_/);
    await raw.close();
    await assert.rejects(openStateStore(dir, 'mysql://x/y'), /unsupported database URL/);
  });
});
