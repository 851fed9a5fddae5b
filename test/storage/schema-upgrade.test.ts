// SPDX-License-Identifier: Apache-2.0
// A state created by an earlier release gets the current indexes when it is opened: the index
// on targets(role, path) became targets_role_covering, which holds each row's entry too, so that
// a publication reads a bin's rows from the index alone; projects got their ultranormalized name
// (unique), with look-alike names that already existed kept working.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PgState } from '../../src/storage/state/pg-state.js';
import { PgWebStore } from '../../src/storage/state/pg-web-store.js';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { SqliteWebStore } from '../../src/storage/state/sqlite-web-store.js';
import type { WebStore } from '../../src/storage/state/web-store.js';
import { tempDir } from '../helpers/processes.js';
import { file, NOW } from '../helpers/state-records.js';
import { StateConflictError, type StateStore } from '../../src/storage/state/types.js';
import { postgresOrSkip } from '../helpers/postgres.js';

const pgInfo = await postgresOrSkip();
const row = { path: 'demo/demo-1.0.tar.gz', role: 'bins-0', project: 'demo', entry: '{"length":1}' };

describe('schema upgrade: targets_role → targets_role_covering', () => {
  it('sqlite: the old index is replaced when the file is opened, and bins are read from the new one', async () => {
    const path = join(await tempDir('upgrade'), 'bulwark.db');
    await new SqliteState(path).close();
    const db = new Database(path);
    db.exec('DROP INDEX targets_role_covering; CREATE INDEX targets_role ON targets(role, path)'); // as an earlier release left it
    db.close();

    const state = new SqliteState(path);
    await state.initRoles([{ name: 'bins-0', version: 1, expires: '2030-01-01T00:00:00Z', length: 1, sha256: 'a'.repeat(64) }], [row]);
    assert.deepEqual(await state.roleTargets(['bins-0']), new Map([['bins-0', [{ path: row.path, entry: row.entry }]]]));
    await state.close();
    const check = new Database(path, { readonly: true });
    try {
      const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'targets' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(indexes, ['targets_project', 'targets_role_covering']);
      const plan = (check.prepare('EXPLAIN QUERY PLAN SELECT path, entry FROM targets WHERE role = ? ORDER BY path').all('bins-0') as { detail: string }[]).map((r) => r.detail).join('; ');
      assert.match(plan, /USING COVERING INDEX targets_role_covering/);
    } finally {
      check.close();
    }
  });

  it('postgresql: the old index is replaced at connect, once, and a fresh database has the new one', { skip: pgInfo.skip ?? false }, async () => {
    const url = await pgInfo.cluster!.createDatabase('upgrade');
    await (await PgState.connect(url)).close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const indexes = async () => (await admin.query("SELECT indexname FROM pg_indexes WHERE tablename = 'targets' ORDER BY indexname")).rows.map((r: { indexname: string }) => r.indexname);
    try {
      assert.deepEqual(await indexes(), ['targets_pkey', 'targets_project', 'targets_role_covering'], 'a new database');
      await admin.query('DROP INDEX targets_role_covering; CREATE INDEX targets_role ON targets(role, path)'); // as an earlier release left it
      const [a, b] = await Promise.all([PgState.connect(url), PgState.connect(url)]); // two processes starting at once
      await b.close();
      await a.initRoles([{ name: 'bins-0', version: 1, expires: '2030-01-01T00:00:00Z', length: 1, sha256: 'a'.repeat(64) }], [row]);
      assert.deepEqual(await a.roleTargets(['bins-0']), new Map([['bins-0', [{ path: row.path, entry: row.entry }]]]));
      await a.close();
      assert.deepEqual(await indexes(), ['targets_pkey', 'targets_project', 'targets_role_covering']);
      const def = (await admin.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'targets_role_covering'")).rows[0] as { indexdef: string };
      assert.match(def.indexdef, /\(role, path\) INCLUDE \(entry\)/);
    } finally {
      await admin.end();
    }
  });
});

/** Two look-alike projects an earlier release let in; after the upgrade, the older holds the name. */
async function checkLookAlikesAfterUpgrade(state: StateStore): Promise<void> {
  const alice = await state.userByName('alice');
  const bob = await state.userByName('bob');
  assert.ok(alice && bob);
  await assert.rejects(state.recordUpload(file('alice-lib', 'alice_lib-1.0.tar.gz', bob.id), 'alice-lib', NOW), (e: unknown) => {
    assert.ok(e instanceof StateConflictError && e.code === 'NAME_TOO_SIMILAR', String(e));
    assert.match(e.message, /existing project 'alicelib'/, 'the oldest look-alike holds the name');
    return true;
  });
  // Both old projects keep taking uploads.
  await state.recordUpload(file('alicelib', 'alicelib-2.0.tar.gz', alice.id, { version: '2.0' }), 'alicelib', NOW);
  await state.recordUpload(file('alice1ib', 'alice1ib-2.0.tar.gz', bob.id, { version: '2.0' }), 'alice1ib', NOW);
  assert.equal((await state.uploadChecks('alice1ib', bob.id, 'alice1ib-3.0.tar.gz')).similarTo, undefined);
}

const OLD_PROJECTS = [
  "INSERT INTO users(id, name, created_at) VALUES (1, 'alice', 'x'), (2, 'bob', 'x')",
  "INSERT INTO projects(name, display_name, created_at) VALUES ('alice1ib', 'alice1ib', '2024-02-01'), ('alicelib', 'alicelib', '2024-01-01')",
  "INSERT INTO project_roles(project, user_id, role) VALUES ('alicelib', 1, 'owner'), ('alice1ib', 2, 'owner')",
];

describe('schema upgrade: projects.ultranormal', () => {
  it('sqlite: added when the file is opened; the oldest of existing look-alikes holds the name', async () => {
    const path = join(await tempDir('upgrade-names'), 'bulwark.db');
    await new SqliteState(path).close();
    const db = new Database(path);
    db.exec('DROP INDEX projects_ultranormal; ALTER TABLE projects DROP COLUMN ultranormal'); // as an earlier release left it
    for (const sql of OLD_PROJECTS) db.exec(sql);
    db.close();
    const state = new SqliteState(path);
    try {
      await checkLookAlikesAfterUpgrade(state);
    } finally {
      await state.close();
    }
  });

  it('postgresql: added at connect, once, by one of two processes starting at once', { skip: pgInfo.skip ?? false }, async () => {
    const url = await pgInfo.cluster!.createDatabase('upgrade-names');
    await (await PgState.connect(url)).close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('DROP INDEX projects_ultranormal; ALTER TABLE projects DROP COLUMN ultranormal'); // as an earlier release left it
      for (const sql of OLD_PROJECTS) await admin.query(sql);
    } finally {
      await admin.end();
    }
    const [a, b] = await Promise.all([PgState.connect(url), PgState.connect(url)]);
    await b.close();
    try {
      await checkLookAlikesAfterUpgrade(a);
    } finally {
      await a.close();
    }
  });
});

describe('schema upgrade: the web store gets web_descriptions (issue 17)', () => {
  const described = { html: '<p>x</p>', summary: null, requiresPython: null };
  const check = async (web: WebStore) => {
    await web.storeDescription('a'.repeat(64), 'r1', described);
    assert.deepEqual(await web.storedDescription('a'.repeat(64), 'r1'), described);
    await web.close();
  };

  it('sqlite: a file an earlier release made gets the table when the web store opens it', async () => {
    const path = join(await tempDir('upgrade-web'), 'bulwark.db');
    const state = new SqliteState(path);
    await new SqliteWebStore(path).close();
    const db = new Database(path);
    db.exec('DROP TABLE web_descriptions'); // as an earlier release left it
    db.close();
    await check(new SqliteWebStore(path));
    await state.close();
  });

  it('postgresql: a database an earlier release made gets the table at connect', { skip: pgInfo.skip ?? false }, async () => {
    const url = await pgInfo.cluster!.createDatabase('upgrade_web');
    const state = await PgState.connect(url);
    await (await PgWebStore.connect(url)).close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('DROP TABLE web_descriptions, web_session_factors'); // as an earlier release left it
      const store = await PgWebStore.connect(url);
      assert.equal(await store.sessionUser('x'.repeat(64), new Date()), undefined, 'web_session_factors (two-factor sessions) is there too');
      await check(store);
    } finally {
      await admin.end();
      await state.close();
    }
  });
});
