// SPDX-License-Identifier: Apache-2.0
// The WebStore contract, run against both backends: the embedded SQLite file and PostgreSQL
// (a throwaway cluster from test/helpers/postgres.ts; skipped with a message only when
// PostgreSQL is not installed and CI is not set). The same index state is written through the
// StateStore, and both web stores must give the same answers: the CSRF secret, sessions,
// passwords, and every read of the index's tables with its order. The PostgreSQL database has
// an ICU en-US locale, which sorts and folds case unlike SQLite (É = é, t < T), so a query that
// leaned on the database's locale would fail here. Then, for PostgreSQL only, several pools (as
// several `bulwark serve` processes would have) racing, and openWebStore()'s choice.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStateStore } from '../../src/storage/state/open-state.js';
import { openWebStore } from '../../src/storage/state/open-web-store.js';
import { PgState } from '../../src/storage/state/pg-state.js';
import { PgWebStore } from '../../src/storage/state/pg-web-store.js';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { SqliteWebStore } from '../../src/storage/state/sqlite-web-store.js';
import type { StateStore, UserRecord } from '../../src/storage/state/types.js';
import type { WebStore } from '../../src/storage/state/web-store.js';
import { FailureLimiter, SIGN_IN_POLICY, SignInGuard } from '../../src/web/rate-limit.js';
import { parseQuery } from '../../src/web/search.js';
import { postgresOrSkip, type PgCluster } from '../helpers/postgres.js';
import { tempDir } from '../helpers/processes.js';
import { BASE_ROLES, delegation, file, lead, NOW, role, roleBytes } from '../helpers/state-records.js';

const pgInfo = await postgresOrSkip();
const cluster: PgCluster | undefined = pgInfo.cluster;

interface Stores {
  state: StateStore;
  web: WebStore;
  /** Another web store on the same database (another process's). */
  another(): Promise<WebStore>;
}

interface Backend {
  name: string;
  skip: string | false;
  /** An empty index state and a web store on one fresh database. */
  fresh(): Promise<Stores>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    skip: false,
    async fresh() {
      const path = join(await tempDir('web-store'), 'bulwark.db');
      const state = new SqliteState(path);
      return { state, web: new SqliteWebStore(path), another: async () => new SqliteWebStore(path) };
    },
  },
  {
    name: 'postgresql',
    skip: pgInfo.skip ?? false,
    async fresh() {
      if (!cluster) throw new Error('no cluster');
      const url = await cluster.createDatabase('web', { icuLocale: 'en-US' });
      const state = await PgState.connect(url); // the index's tables first: the web tables refer to users
      return { state, web: await PgWebStore.connect(url), another: () => PgWebStore.connect(url) };
    },
  },
];

const day = (d: number) => `2025-01-${String(d).padStart(2, '0')}T00:00:00.000Z`;

/**
 * An index to read: unclaimed projects with files (uploads on days 1–6), one claimed and one
 * recently-claimed project without files, owners and a maintainer.
 */
async function seed(s: StateStore): Promise<{ alice: UserRecord; bob: UserRecord }> {
  await s.initRoles(BASE_ROLES.map((n) => role(n)), []);
  const alice = await s.addUser('alice', true, 'hash-alice', NOW);
  const bob = await s.addUser('bob', false, 'hash-bob', NOW);
  const upload = (user: UserRecord, project: string, displayName: string, filename: string, d: number, summary: string | null, version = '1.0') =>
    s.recordUpload(file(project, filename, user.id, { version, uploadTime: day(d), summary }), displayName, day(d));
  await upload(alice, 'requests', 'Requests', 'requests-1.0.tar.gz', 1, 'HTTP for Humans');
  await upload(bob, 'requests-toolbelt', 'requests_toolbelt', 'requests_toolbelt-0.1.tar.gz', 2, 'Utilities for requests');
  await upload(alice, 'requests', 'Requests', 'requests-2.0.tar.gz', 3, 'HTTP for humans, again', '2.0');
  // Same time, later id, but an empty summary: the summary above stays the project's.
  await upload(alice, 'requests', 'Requests', 'requests-2.0-py3-none-any.whl', 3, '', '2.0');
  await upload(alice, 'my-requests', 'My_Requests', 'my_requests-1.0.tar.gz', 4, 'Not related: éclair');
  await upload(bob, 'helper', 'Helper', 'helper-1.0.tar.gz', 5, 'Helps REQUESTS users');
  await upload(alice, 'ordinary', 'Ordinary', 'ordinary-1.0.tar.gz', 6, '100% pure_python');
  await s.recordClaim({ project: 'requestsz', displayName: 'RequestsZ', userId: alice.id, delegation: delegation('project-requestsz'), role: roleBytes('requestsz', 1), now: NOW });
  await s.promoteDelegations(['requestsz'], { version: 2, bytes: Buffer.from('claimed-2') }, NOW);
  await s.recordClaim({ project: 'xrequests', displayName: 'xrequests', userId: bob.id, delegation: delegation('project-xrequests'), role: roleBytes('xrequests', 1), now: NOW });
  await s.addProjectRole('requests', 'bob', 'maintainer');
  return { alice, bob };
}

for (const backend of backends) {
  describe(`WebStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    /** Fresh stores, all closed after the test. */
    async function withStores(fn: (s: Stores) => Promise<void>): Promise<void> {
      const s = await backend.fresh();
      const opened: WebStore[] = [s.web];
      try {
        await fn({
          ...s,
          another: async () => {
            const w = await s.another();
            opened.push(w);
            return w;
          },
        });
      } finally {
        for (const w of opened) await w.close();
        await s.state.close();
      }
    }

    it('secret: made once, then the same for every connection', () =>
      withStores(async ({ web, another }) => {
        const first = await web.secret('csrf-v1', () => Buffer.from('first'));
        assert.deepEqual(first, Buffer.from('first'));
        const other = await another();
        assert.deepEqual(await other.secret('csrf-v1', () => assert.fail('not made again')), first);
        assert.deepEqual(await web.secret('other-v1', () => Buffer.from([0, 255, 1])), Buffer.from([0, 255, 1]), 'any bytes, kept apart by name');
        const racers = await Promise.all([web, other, await another()].map((w, i) => w.secret('raced', () => Buffer.from(`candidate ${i}`))));
        assert.equal(new Set(racers.map((b) => b.toString())).size, 1, 'connections asking at once get one secret');
      }));

    it('sessions: live, expired, unknown, deleted; expired ones go at the next sign-in', () =>
      withStores(async ({ state, web }) => {
        const { alice, bob } = await seed(state);
        const now = new Date('2030-01-01T00:00:00.000Z');
        await web.createSession('s1', alice.id, now, 60_000);
        assert.deepEqual(await web.sessionUser('s1', now), { user: alice, expiresAt: '2030-01-01T00:01:00.000Z', twoFactor: false });
        assert.equal(await web.sessionUser('s1', new Date(now.getTime() + 60_000)), undefined, 'expired');
        assert.equal(await web.sessionUser('nope', now), undefined);
        await web.deleteSession('s1');
        assert.equal(await web.sessionUser('s1', now), undefined, 'deleted');
        await web.createSession('old', bob.id, now, 1_000);
        await web.createSession('b2', bob.id, new Date(now.getTime() + 5_000), 60_000);
        assert.equal(await web.deleteUserSessions(bob.id), 1, 'the expired session was deleted when b2 was made');
        assert.equal(await web.deleteUserSessions(bob.id), 0);
      }));

    it('sessions that passed the second factor: at sign-in, or by enrolling (which ends the other sessions)', () =>
      withStores(async ({ state, web }) => {
        const { alice, bob } = await seed(state);
        const now = new Date('2030-01-01T00:00:00.000Z');
        await web.createSession('code', alice.id, now, 60_000, true);
        assert.equal((await web.sessionUser('code', now))?.twoFactor, true);
        await web.createSession('a1', alice.id, now, 60_000);
        await web.createSession('a2', alice.id, now, 60_000);
        await web.createSession('b1', bob.id, now, 60_000);
        await web.secondFactorPassed('a1', alice.id, now);
        assert.equal((await web.sessionUser('a1', now))?.twoFactor, true);
        for (const gone of ['code', 'a2']) assert.equal(await web.sessionUser(gone, now), undefined, gone);
        assert.equal((await web.sessionUser('b1', now))?.twoFactor, false, "another user's session stays as it was");
        await web.deleteSession('a1');
        await web.createSession('a1', alice.id, now, 60_000);
        assert.equal((await web.sessionUser('a1', now))?.twoFactor, false, 'a deleted session takes its second factor with it');
      }));

    it('failed sign-ins: counted across connections within the window, forgotten after it or on success', () =>
      withStores(async ({ web, another }) => {
        const other = await another(); // another process serving the pages
        const t = Date.parse('2030-01-01T00:00:00.000Z');
        const window = 60_000;
        const [here, there] = [new FailureLimiter(web, 3, window), new FailureLimiter(other, 3, window)];
        await here.fail('user:alice', t);
        await there.fail('user:alice', t + 1_000);
        assert.equal(await here.retryAfter('user:alice', t + 2_000), 0, 'two failures: a third try is allowed');
        await there.fail('user:alice', t + 2_000);
        assert.equal(await here.retryAfter('user:alice', t + 2_000), 58, 'three, from two processes: wait until the first leaves the window');
        assert.equal(await there.retryAfter('user:alice', t + 2_000), 58, 'the other process sees the same');
        assert.equal(await here.retryAfter('user:bob', t + 2_000), 0, 'keys are counted apart');
        assert.equal(await here.retryAfter('user:alice', t + window), 0, 'the first failure left the window');
        assert.deepEqual(await web.signInFailures('user:alice', t - 1), [t, t + 1_000, t + 2_000], 'oldest first, and kept until a later failure sweeps them');
        await here.fail('user:bob', t + window + 1_500);
        assert.deepEqual(await web.signInFailures('user:alice', 0), [t + 2_000], 'recording a failure drops those older than the window, any key');
        await there.reset('user:alice');
        assert.deepEqual(await web.signInFailures('user:alice', 0), [], 'a successful sign-in forgets the account’s failures');
        assert.deepEqual(await web.signInFailures('user:bob', 0), [t + window + 1_500]);
      }));

    it('sign-in guard: an attacker failing 50 times from one address locks that pair, never the owner elsewhere', () =>
      withStores(async ({ web, another }) => {
        const [here, there] = [new SignInGuard(web), new SignInGuard(await another())];
        const t = Date.parse('2030-01-01T00:00:00.000Z');
        let refused = 0;
        for (let i = 0; i < 50; i++) {
          const guard = i % 2 ? here : there; // spread over two processes
          const v = await guard.check('Alice', '192.0.2.1', t + i);
          if (v.retryAfter > 0) refused++;
          else await guard.failed('Alice', '192.0.2.1', t + i);
        }
        assert.equal(refused, 50 - SIGN_IN_POLICY.perPair, 'the pair is refused after its limit, whichever process it reaches');
        assert.ok((await here.check('alice', '192.0.2.1', t + 60)).retryAfter > 0, 'the attacker waits, even with the right password (case folded)');
        const owner = await there.check('alice', '198.51.100.7', t + 60);
        assert.equal(owner.retryAfter, 0, 'the owner at another address is not refused');
        assert.ok('delayMs' in owner && owner.delayMs > 0 && owner.delayMs <= SIGN_IN_POLICY.slowMaxMs, 'only slowed down, within the bound');
        assert.deepEqual(await here.check('bob', '198.51.100.7', t + 60), { retryAfter: 0, delayMs: 0 }, 'other accounts are untouched');
        // Many attacker addresses: the account's count grows, the owner's wait stays bounded.
        for (let a = 2; a < 12; a++) for (let i = 0; i < SIGN_IN_POLICY.perPair; i++) await here.failed('alice', `192.0.2.${a}`, t + 100 + i);
        const later = await here.check('alice', '198.51.100.7', t + 200);
        assert.deepEqual(later, { retryAfter: 0, delayMs: SIGN_IN_POLICY.slowMaxMs });
        // The owner's own failures at their address are forgiven when they sign in.
        await here.failed('alice', '198.51.100.7', t + 300);
        await here.succeeded('alice', '198.51.100.7');
        assert.deepEqual(await web.signInFailures(`pair:${JSON.stringify(['alice', '198.51.100.7'])}`, 0), []);
      }));

    it('passwords: set, rehashed, dated; setting one ends the other sessions but the kept one', () =>
      withStores(async ({ state, web }) => {
        const { alice, bob } = await seed(state);
        const now = new Date('2030-01-01T00:00:00.000Z');
        assert.equal(await web.passwordHash(alice.id), undefined);
        for (const id of ['a1', 'a2']) await web.createSession(id, alice.id, now, 60_000);
        await web.createSession('b1', bob.id, now, 60_000);
        await web.setPassword(alice.id, 'scrypt$one', '2030-01-01T00:00:00.000Z', 'a2');
        assert.equal(await web.sessionUser('a1', now), undefined);
        assert.equal((await web.sessionUser('a2', now))?.user.name, 'alice', 'the session that changed it stays');
        assert.equal((await web.sessionUser('b1', now))?.user.name, 'bob', "another user's session stays");
        assert.equal(await web.passwordHash(alice.id), 'scrypt$one');
        assert.equal(await web.passwordUpdatedAt(alice.id), '2030-01-01T00:00:00.000Z');
        await web.rehashPassword(alice.id, 'scrypt$stronger');
        assert.equal(await web.passwordHash(alice.id), 'scrypt$stronger');
        assert.equal(await web.passwordUpdatedAt(alice.id), '2030-01-01T00:00:00.000Z', 'a rehash is not a change');
        assert.ok(await web.sessionUser('a2', now), 'a rehash ends no session');
        await web.setPassword(alice.id, 'scrypt$two', '2030-01-02T00:00:00.000Z');
        assert.equal(await web.sessionUser('a2', now), undefined, 'without a kept session, all end');
        assert.equal(await web.passwordHash(bob.id), undefined);
        await assert.rejects(web.setPassword(9999, 'scrypt$x', '2030-01-01T00:00:00.000Z'), 'only for a user that exists');
      }));

    it('users and their tokens: newest token first, never its hash', () =>
      withStores(async ({ state, web }) => {
        const { alice } = await seed(state);
        assert.deepEqual(await web.userById(alice.id), alice);
        assert.equal(await web.userById(9999), undefined);
        await state.addToken(alice.id, 'hash-ci', 'ci', day(2));
        await state.addToken(alice.id, 'hash-laptop', 'laptop', day(2));
        await state.addToken(alice.id, 'hash-old', 'old', '2024-12-31T00:00:00.000Z');
        const tokens = await web.tokens(alice.id);
        assert.deepEqual(
          tokens.map((t) => [t.description, t.createdAt]),
          [
            ['laptop', day(2)],
            ['ci', day(2)],
            ['initial token', NOW],
            ['old', '2024-12-31T00:00:00.000Z'],
          ]
        );
        assert.equal(JSON.stringify(tokens).includes('hash-'), false);
      }));

    it("a user's projects: by name, with their role, file count and last upload", () =>
      withStores(async ({ state, web }) => {
        const { alice, bob } = await seed(state);
        assert.deepEqual(await web.userProjects(bob.id), [
          { name: 'helper', displayName: 'Helper', protection: 'unclaimed', role: 'owner', files: 1, lastUpload: day(5) },
          { name: 'requests', displayName: 'Requests', protection: 'unclaimed', role: 'maintainer', files: 3, lastUpload: day(3) },
          { name: 'requests-toolbelt', displayName: 'requests_toolbelt', protection: 'unclaimed', role: 'owner', files: 1, lastUpload: day(2) },
          { name: 'xrequests', displayName: 'xrequests', protection: 'recently-claimed', role: 'owner', files: 0, lastUpload: null },
        ]);
        assert.deepEqual(
          (await web.userProjects(alice.id)).map((p) => p.name),
          ['my-requests', 'ordinary', 'requests', 'requestsz']
        );
      }));

    it('search: best match first, better protected first, then by name; the limit drops the weakest', () =>
      withStores(async ({ state, web }) => {
        await seed(state);
        const search = async (q: string, limit = 100) => {
          const p = parseQuery(q);
          return (await web.searchProjects(p.words, p.normalized, limit)).map((l) => l.name);
        };
        // exact name; prefix (claimed before unclaimed); contains (recently-claimed first); summary
        assert.deepEqual(await search('Requests'), ['requests', 'requestsz', 'requests-toolbelt', 'xrequests', 'my-requests', 'helper']);
        assert.deepEqual(await search('requests', 3), ['requests', 'requestsz', 'requests-toolbelt']);
        assert.deepEqual(await search('REQUESTS toolbelt'), ['requests-toolbelt'], 'every word must match');
        assert.deepEqual(await search('requests_toolbelt'), ['requests-toolbelt'], 'names match normalized');
        assert.deepEqual(await search('http HUMANS'), ['requests']);
        assert.deepEqual(await search(''), ['requestsz', 'xrequests', 'helper', 'my-requests', 'ordinary', 'requests', 'requests-toolbelt']);
        assert.deepEqual((await web.searchProjects(['Requests'], 'requests', 1))[0], {
          name: 'requests',
          displayName: 'Requests',
          protection: 'unclaimed',
          createdAt: day(1),
          summary: 'HTTP for humans, again',
          lastUpload: day(3),
        });
      }));

    it('search: case is ignored for ASCII letters only, as SQLite does; wildcards are plain characters', () =>
      withStores(async ({ state, web }) => {
        await seed(state);
        const search = async (q: string) => {
          const p = parseQuery(q);
          return (await web.searchProjects(p.words, p.normalized, 100)).map((l) => l.name);
        };
        assert.deepEqual(await search('éCLAIR'), ['my-requests']);
        assert.deepEqual(await search('Éclair'), [], 'É is not é');
        assert.deepEqual(await search('100%'), ['ordinary']);
        assert.deepEqual(await search('pure_python'), ['ordinary']);
        assert.deepEqual(await search('pure%python'), []);
        assert.deepEqual(await search('1_0'), [], '_ matches itself only');
        assert.deepEqual(await search('\\'), []);
      }));

    it('descriptions: stored per METADATA file and renderer, replaced by a newer renderer, one row when written at once', () =>
      withStores(async ({ web, another }) => {
        const sha = 'a'.repeat(64);
        const d = { html: '<p>Hello <em>there</em> — ünïcode</p>', summary: 'A summary', requiresPython: '>=3.9' };
        assert.equal(await web.storedDescription(sha, 'r1'), undefined);
        await web.storeDescription(sha, 'r1', d);
        assert.deepEqual(await web.storedDescription(sha, 'r1'), d);
        assert.equal(await web.storedDescription(sha, 'r2'), undefined, 'another renderer made nothing yet');
        assert.equal(await web.storedDescription('b'.repeat(64), 'r1'), undefined);
        const none = { html: null, summary: null, requiresPython: null };
        await web.storeDescription(sha, 'r2', none);
        assert.deepEqual(await web.storedDescription(sha, 'r2'), none);
        assert.equal(await web.storedDescription(sha, 'r1'), undefined, 'replaced, not kept beside');
        const other = await another();
        await Promise.all([web, other, web, other].map((w, i) => w.storeDescription('c'.repeat(64), 'r1', { ...d, summary: `writer ${i % 2}` })));
        assert.match((await other.storedDescription('c'.repeat(64), 'r1'))?.summary ?? '', /^writer [01]$/);
      }));

    it('recent projects: latest upload first, projects without files last, then by name', () =>
      withStores(async ({ state, web }) => {
        await seed(state);
        assert.deepEqual(
          (await web.recentProjects(10)).map((p) => [p.name, p.lastUpload, p.summary]),
          [
            ['ordinary', day(6), '100% pure_python'],
            ['helper', day(5), 'Helps REQUESTS users'],
            ['my-requests', day(4), 'Not related: éclair'],
            ['requests', day(3), 'HTTP for humans, again'],
            ['requests-toolbelt', day(2), 'Utilities for requests'],
            ['requestsz', null, null],
            ['xrequests', null, null],
          ]
        );
        assert.deepEqual((await web.recentProjects(2)).map((p) => p.name), ['ordinary', 'helper']);
      }));

    it('text is ordered by its bytes, as SQLite orders it, whatever the database locale', () =>
      withStores(async ({ state, web }) => {
        const { alice } = await seed(state);
        // RFC 3339 allows a lower-case t; by bytes "T" < "t", in en-US "t" < "T".
        const upper = '2030-01-01T00:00:00.000Z';
        const lower = '2030-01-01t00:00:00.000Z';
        // z-both's latest upload is its lower-t file (by bytes), so it comes first, with that file's summary.
        await state.recordUpload(file('a-upper', 'a_upper-1.0.tar.gz', alice.id, { uploadTime: upper }), 'a-upper', upper);
        await state.recordUpload(file('z-both', 'z_both-1.0.tar.gz', alice.id, { uploadTime: upper, summary: 'upper' }), 'z-both', upper);
        await state.recordUpload(file('z-both', 'z_both-1.0-py3-none-any.whl', alice.id, { uploadTime: lower, summary: 'lower' }), 'z-both', upper);
        assert.deepEqual(
          (await web.recentProjects(2)).map((p) => [p.name, p.lastUpload, p.summary]),
          [
            ['z-both', lower, 'lower'],
            ['a-upper', upper, null],
          ]
        );
        assert.equal((await web.userProjects(alice.id)).find((p) => p.name === 'z-both')?.lastUpload, lower);
        await state.addToken(alice.id, 'hash-upper', 'upper', upper);
        await state.addToken(alice.id, 'hash-lower', 'lower', lower);
        assert.deepEqual((await web.tokens(alice.id)).slice(0, 2).map((t) => t.description), ['lower', 'upper']);
      }));

    it('counts: projects by protection, users, admins and passwords', () =>
      withStores(async ({ state, web }) => {
        assert.deepEqual(await web.protectionCounts(), { unclaimed: 0, 'two-factor': 0, 'recently-claimed': 0, claimed: 0 });
        assert.deepEqual(await web.userCounts(), { users: 0, admins: 0, withPassword: 0 });
        const { alice } = await seed(state);
        assert.deepEqual(await web.protectionCounts(), { unclaimed: 5, 'two-factor': 0, 'recently-claimed': 1, claimed: 1 });
        // helper (bob's alone) at two-factor: required, and its only member has it.
        const bob = (await state.userByName('bob')) as UserRecord;
        await state.setProjectTwoFactor('helper', bob.id, true, NOW);
        await state.enableTwoFactor(bob.id, 'B'.repeat(32), 1, [], NOW);
        assert.deepEqual(await web.protectionCounts(), { unclaimed: 4, 'two-factor': 1, 'recently-claimed': 1, claimed: 1 });
        assert.equal((await web.userProjects(bob.id)).find((p) => p.name === 'helper')?.protection, 'two-factor');
        assert.equal((await web.recentProjects(10)).find((p) => p.name === 'helper')?.protection, 'two-factor');
        await web.setPassword(alice.id, 'scrypt$x', NOW);
        assert.deepEqual(await web.userCounts(), { users: 2, admins: 1, withPassword: 1 });
      }));

    it('journal summary: entries by state, the latest failures, the last publication', () =>
      withStores(async ({ state, web }) => {
        await state.initRoles(BASE_ROLES.map((n) => role(n)), []);
        assert.deepEqual(await web.journalSummary(10), { counts: { pending: 0, applied: 0, published: 0, failed: 0 }, failed: [], lastPublication: undefined });
        const alice = await state.addUser('alice', false, 'ha', NOW);
        const seqs: number[] = [];
        for (let i = 0; i < 5; i++) seqs.push((await state.recordUpload(file(`p${i}`, `p${i}-1.0.tar.gz`, alice.id), `p${i}`, day(i + 1))).seq);
        await state.failJournal([seqs[2]!], 'bad wheel');
        await state.failJournal([seqs[3]!], 'worse wheel');
        await state.applyProjectTransaction('p0', [seqs[0]!], [], NOW);
        await state.commitPublication({ lease: await lead(state), roles: [], clearedDirty: [], publishedSeqs: [seqs[0]!], snapshotVersion: 7, timestampBytes: Buffer.from('ts7'), now: day(9) });
        await state.applyProjectTransaction('p1', [seqs[1]!], [], NOW);
        assert.deepEqual(await web.journalSummary(1), {
          counts: { pending: 1, applied: 1, published: 1, failed: 2 },
          failed: [{ seq: seqs[3], kind: 'upload', project: 'p3', createdAt: day(4), error: 'worse wheel' }],
          lastPublication: { snapshotVersion: 7, createdAt: day(9) },
        });
        assert.deepEqual((await web.journalSummary(10)).failed.map((f) => f.error), ['worse wheel', 'bad wheel']);
      }));
  });
}

describe('WebStore on PostgreSQL: several processes at once', { skip: pgInfo.skip ?? false }, () => {
  const open: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const s of open.reverse()) await s.close();
  });

  it('processes starting together create the tables once and sign with one CSRF secret', async () => {
    const url = await cluster!.createDatabase('web_race');
    open.push(await PgState.connect(url));
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgWebStore.connect(url)));
    open.push(...stores);
    const secrets = await Promise.all(stores.map((w, i) => w.secret('csrf-v1', () => Buffer.alloc(32, i))));
    assert.equal(new Set(secrets.map((s) => s.toString('hex'))).size, 1);
  });

  it('sign-ins through several pools at once all land, sweeping the expired sessions', async () => {
    const url = await cluster!.createDatabase('web_sessions');
    const state = await PgState.connect(url);
    open.push(state);
    const [a, b] = [await PgWebStore.connect(url), await PgWebStore.connect(url)];
    open.push(a, b);
    const alice = await state.addUser('alice', false, 'ha', NOW);
    const now = new Date('2030-01-01T00:00:00.000Z');
    await a.createSession('expired', alice.id, new Date(now.getTime() - 120_000), 60_000);
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    await Promise.all(ids.map((id, i) => (i % 2 ? a : b).createSession(id, alice.id, now, 60_000)));
    for (const id of ids) assert.equal((await b.sessionUser(id, now))?.user.name, 'alice', id);
    assert.equal(await a.deleteUserSessions(alice.id), ids.length, 'every new session; the expired one was swept');
  });

  it('names the database without its password when it cannot connect', async () => {
    await assert.rejects(PgWebStore.connect('postgres://bulwark:s3cret-pw@127.0.0.1:1/nodb'), (e: Error) => {
      assert.match(e.message, /cannot open the PostgreSQL web store at postgres:\/\/bulwark:\*\*\*@127\.0\.0\.1:1\/nodb/);
      assert.equal(e.message.includes('s3cret-pw'), false);
      return true;
    });
  });
});

describe('openWebStore', () => {
  const withoutEnv = async <T>(fn: () => Promise<T>): Promise<T> => {
    const saved = process.env['BULWARK_DATABASE_URL'];
    delete process.env['BULWARK_DATABASE_URL'];
    try {
      return await fn();
    } finally {
      if (saved !== undefined) process.env['BULWARK_DATABASE_URL'] = saved;
    }
  };

  it('opens the embedded file without a URL, and refuses another kind of URL without showing its password', async () => {
    const dir = await tempDir('open-web-store');
    const state = new SqliteState(join(dir, 'bulwark.db'));
    try {
      const web = await withoutEnv(() => openWebStore(dir));
      assert.ok(web instanceof SqliteWebStore);
      await web.close();
      await assert.rejects(openWebStore(dir, 'mysql://u:s3cret-pw@db/x'), (e: Error) => /unsupported database URL/.test(e.message) && !e.message.includes('s3cret-pw'));
    } finally {
      await state.close();
    }
  });

  it('opens PostgreSQL for a postgres:// URL, given or from $BULWARK_DATABASE_URL', { skip: pgInfo.skip ?? false }, async () => {
    const url = await cluster!.createDatabase('web_open');
    const state = await PgState.connect(url);
    const dir = await tempDir('open-web-store-pg');
    try {
      const given = await openWebStore(dir, url);
      assert.ok(given instanceof PgWebStore);
      await given.close();
      const saved = process.env['BULWARK_DATABASE_URL'];
      process.env['BULWARK_DATABASE_URL'] = url;
      try {
        const fromEnv = await openWebStore(dir);
        assert.ok(fromEnv instanceof PgWebStore);
        await fromEnv.close();
      } finally {
        if (saved === undefined) delete process.env['BULWARK_DATABASE_URL'];
        else process.env['BULWARK_DATABASE_URL'] = saved;
      }
    } finally {
      await state.close();
    }
  });

  it('brings the web passwords of an embedded state that moves to PostgreSQL, once', { skip: pgInfo.skip ?? false }, async () => {
    const dir = await tempDir('web-move');
    const embedded = new SqliteState(join(dir, 'bulwark.db'));
    await embedded.initRoles(BASE_ROLES.map((n) => role(n)), []);
    const alice = await embedded.addUser('alice', false, 'ha', NOW);
    const bob = await embedded.addUser('bob', false, 'hb', NOW);
    const before = new SqliteWebStore(join(dir, 'bulwark.db'));
    await before.setPassword(alice.id, 'scrypt$embedded', NOW);
    await before.close();
    await embedded.close();

    const url = await cluster!.createDatabase('web_move');
    const state = await openStateStore(dir, url); // moves the embedded state in
    try {
      const [one, two] = await Promise.all([openWebStore(dir, url), openWebStore(dir, url)]);
      assert.equal(await one!.passwordHash(alice.id), 'scrypt$embedded');
      assert.equal(await two!.passwordHash(bob.id), undefined);
      assert.deepEqual(await one!.userCounts(), { users: 2, admins: 0, withPassword: 1 });
      await one!.setPassword(alice.id, 'scrypt$new', '2030-01-01T00:00:00.000Z');
      await Promise.all([one!.close(), two!.close()]);
      const again = await openWebStore(dir, url);
      assert.equal(await again.passwordHash(alice.id), 'scrypt$new', 'copied once, never over a newer password');
      await again.close();
    } finally {
      await state.close();
    }
  });
});
