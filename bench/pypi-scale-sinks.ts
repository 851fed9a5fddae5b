// SPDX-License-Identifier: Apache-2.0
// Bulk writers for bench/pypi-scale-load.ts: rows go straight into the state store's own tables
// (the schema SqliteState and PgState create), in one transaction, much faster than one
// StateStore call per upload could. Benchmark tooling, not product code.
//   PostgreSQL: INSERT … SELECT * FROM unnest($1::text[], …), one statement per table and batch
//               (pg-copy-streams, for COPY, is not a dependency of this project).
//   SQLite:     one prepared INSERT per table, run row by row inside the transaction.
import Database from 'better-sqlite3';
import pg from 'pg';

type PgType = 'text' | 'int' | 'bigint';

/** The columns the loader fills, with their PostgreSQL types (unnest needs typed arrays). */
export const LOADED_TABLES = {
  projects: { name: 'text', display_name: 'text', created_at: 'text' },
  project_roles: { project: 'text', user_id: 'int', role: 'text' },
  journal: { seq: 'int', kind: 'text', project: 'text', state: 'text', created_at: 'text', applied_at: 'text', published_version: 'int' },
  files: {
    project: 'text', version: 'text', filename: 'text', packagetype: 'text', python_version: 'text', size: 'bigint', sha256: 'text',
    metadata_sha256: 'text', metadata_size: 'bigint', upload_time: 'text', uploader_id: 'int', journal_seq: 'int',
  },
  targets: { path: 'text', role: 'text', project: 'text', entry: 'text' },
} as const satisfies Record<string, Record<string, PgType>>;

export type LoadedTable = keyof typeof LOADED_TABLES;
/** One batch of rows for a table: one array per column, all the same length. */
export type Columns<T extends LoadedTable> = { [C in keyof (typeof LOADED_TABLES)[T]]: unknown[] };

/** An empty batch for a table. */
export function emptyBatch<T extends LoadedTable>(table: T): Columns<T> {
  return Object.fromEntries(Object.keys(LOADED_TABLES[table]).map((c) => [c, []])) as unknown as Columns<T>;
}

/** Appends one row, given as column → value, to a batch. */
export function addRow<T extends LoadedTable>(batch: Columns<T>, row: { [C in keyof Columns<T>]: unknown }): void {
  for (const column in row) batch[column].push(row[column]);
}

export interface Sink {
  /** True when the database works while the loader generates the next batch (a server). */
  readonly concurrent: boolean;
  /** The highest journal seq so far (the loader numbers its entries after it). */
  maxJournalSeq(): Promise<number>;
  begin(): Promise<void>;
  insert<T extends LoadedTable>(table: T, columns: Columns<T>): Promise<void>;
  /** Every named role gets one more dirty generation, as applyProjectTransaction would (its own transaction). */
  markDirty(roles: readonly string[]): Promise<void>;
  commit(): Promise<void>;
  /** What an operator runs after a bulk import (PostgreSQL: VACUUM ANALYZE and a checkpoint; SQLite: a WAL checkpoint). */
  settle(): Promise<string>;
  close(): Promise<void>;
}

const columnNames = (table: LoadedTable) => Object.keys(LOADED_TABLES[table]);

export class PgSink implements Sink {
  readonly concurrent = true;
  private constructor(private readonly client: pg.Client) {}

  static async connect(url: string): Promise<PgSink> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return new PgSink(client);
  }

  async maxJournalSeq(): Promise<number> {
    return Number((await this.client.query('SELECT COALESCE(MAX(seq), 0) AS m FROM journal')).rows[0].m);
  }

  async begin(): Promise<void> {
    await this.client.query('BEGIN');
  }

  async insert<T extends LoadedTable>(table: T, columns: Columns<T>): Promise<void> {
    const types = LOADED_TABLES[table] as Record<string, PgType>;
    const names = columnNames(table);
    const arrays = names.map((n) => (columns as Record<string, unknown[]>)[n]);
    const unnest = names.map((n, i) => `$${i + 1}::${types[n]}[]`).join(', ');
    await this.client.query(`INSERT INTO ${table} (${names.join(', ')}) SELECT * FROM unnest(${unnest})`, arrays);
  }

  async markDirty(roles: readonly string[]): Promise<void> {
    await this.client.query('UPDATE roles SET dirty = dirty + 1 WHERE name = ANY($1::text[])', [roles]);
  }

  async commit(): Promise<void> {
    // The journal's identity sequence must move past the seqs given explicitly.
    await this.client.query("SELECT setval(pg_get_serial_sequence('journal', 'seq'), (SELECT MAX(seq) FROM journal))");
    await this.client.query('COMMIT');
  }

  async settle(): Promise<string> {
    // Statistics and visibility map for the new rows, then their pages written out now rather
    // than by a background checkpoint competing with the publications for the disk.
    await this.client.query('VACUUM (ANALYZE)');
    await this.client.query('CHECKPOINT');
    return 'VACUUM (ANALYZE); CHECKPOINT';
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

export class SqliteSink implements Sink {
  readonly concurrent = false;
  private readonly db: Database.Database;
  private readonly statements = new Map<LoadedTable, Database.Statement>();

  constructor(path: string) {
    this.db = new Database(path, { fileMustExist: true });
    // As SqliteState opens it (WAL is a property of the file already), plus a large page cache
    // for the index inserts of one multi-gigabyte transaction.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('cache_size = -1048576'); // KiB: 1 GiB
  }

  maxJournalSeq(): Promise<number> {
    return Promise.resolve(Number((this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS m FROM journal').get() as { m: number }).m));
  }

  begin(): Promise<void> {
    this.db.exec('BEGIN IMMEDIATE');
    return Promise.resolve();
  }

  insert<T extends LoadedTable>(table: T, columns: Columns<T>): Promise<void> {
    const names = columnNames(table);
    let stmt = this.statements.get(table);
    if (!stmt) {
      stmt = this.db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`);
      this.statements.set(table, stmt);
    }
    const arrays = names.map((n) => (columns as Record<string, unknown[]>)[n] as unknown[]);
    const rows = arrays[0]?.length ?? 0;
    const params = new Array<unknown>(names.length);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < arrays.length; c++) params[c] = (arrays[c] as unknown[])[r];
      stmt.run(params);
    }
    return Promise.resolve();
  }

  markDirty(roles: readonly string[]): Promise<void> {
    const stmt = this.db.prepare('UPDATE roles SET dirty = dirty + 1 WHERE name = ?');
    this.db.transaction(() => {
      for (const r of roles) stmt.run(r);
    })();
    return Promise.resolve();
  }

  commit(): Promise<void> {
    this.db.exec('COMMIT');
    return Promise.resolve();
  }

  settle(): Promise<string> {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return Promise.resolve('PRAGMA wal_checkpoint(TRUNCATE)');
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
