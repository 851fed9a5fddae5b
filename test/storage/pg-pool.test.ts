// SPDX-License-Identifier: Apache-2.0
// Schema creation between processes (pg-pool.ts connectPool): a process that waited for the
// schema lock while another created the tables must see them and create nothing. A deadlock
// between two processes moving an embedded state in at once came from the second one creating
// the schema again. Skipped (with a message) only when PostgreSQL is not installed and CI is
// not set.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { connectPool, SCHEMA_LOCK } from '../../src/storage/state/pg-pool.js';
import { postgresOrSkip } from '../helpers/postgres.js';

const pgInfo = await postgresOrSkip();

describe('connectPool', { skip: pgInfo.skip ?? false }, () => {
  it('creates nothing when another process created the tables while it waited for the lock', async () => {
    const url = await pgInfo.cluster!.createDatabase('pool');
    // Without IF NOT EXISTS: running it a second time fails.
    const schema = { what: 'test store', sql: 'CREATE TABLE pool_first (i int); CREATE TABLE pool_last (i int);', lastTable: 'pool_last' };
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      const connecting = connectPool(url, 2, schema);
      connecting.catch(() => {}); // awaited below
      // Wait until it found no tables and queued for the lock…
      for (let i = 0; ; i++) {
        const waiting = await other.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        if (waiting.rowCount) break;
        assert.ok(i < 500, 'connectPool waits for the schema lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      // …then the other process creates the tables and commits.
      await other.query(schema.sql);
      await other.query('COMMIT');
      const pool = await connecting;
      await pool.end();
    } finally {
      await other.end();
    }
  });
});
