// SPDX-License-Identifier: Apache-2.0
// The queries a publication and the transaction worker run on every pass must not scan a table
// that grows with the index (the journal has an entry per upload forever, targets a row per
// file): each is checked with EXPLAIN QUERY PLAN, as SqliteState prepares it. SQLite uses a
// partial index only when the query repeats the index's WHERE term, which is easy to lose.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteState } from '../../src/storage/state/sqlite-state.js';
import { tempDir } from '../helpers/processes.js';

describe('SqliteState query plans on the publication path', () => {
  it('the worker and publication queries search indexes, never scan journal or targets', async () => {
    const state = new SqliteState(join(await tempDir('plans'), 'bulwark.db'));
    const db = (state as unknown as { db: Database.Database }).db;
    const prepared: string[] = [];
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      prepared.push(sql);
      return prepare(sql);
    }) as typeof db.prepare;
    try {
      await state.pendingJournal(10);
      await state.collectPublishInputs([]);
      await state.hasPendingWork();
      await state.roleTargets(['bins-0']);
      await state.roleTargetsCanonical(['bins-0']);
      await state.applyProjectTransaction('demo', [1], [], '2025-01-01T00:00:00.000Z');
      const lease = await state.acquireLeadership('plans-test', 60_000);
      assert.ok(lease);
      await state.commitPublication({ lease, roles: [], clearedDirty: [], publishedSeqs: [1], snapshotVersion: 1, timestampBytes: Buffer.from('t'), now: '2025-01-01T00:00:00.000Z' });
      const checked = prepared.filter((sql) => /\b(FROM|UPDATE|INTO) (journal|targets)\b/.test(sql));
      assert.ok(checked.length >= 7, `the journal and targets queries were seen: ${checked.join(' | ')}`);
      for (const sql of checked) {
        const params = (sql.match(/\?/g) ?? []).map(() => 'x');
        const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
        assert.doesNotMatch(plan, /SCAN (journal|targets)\b/, `${sql}\n  → ${plan}`);
      }
    } finally {
      db.prepare = prepare;
      await state.close();
    }
  });
});
