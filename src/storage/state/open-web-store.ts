// SPDX-License-Identifier: Apache-2.0
// Chooses the web store the way openStateStore() chooses the state store: PostgreSQL when a
// postgres:// URL is given (--database) or BULWARK_DATABASE_URL is set, otherwise the embedded
// SQLite file in the data directory. Open the repository first: the web tables refer to its
// users, and on PostgreSQL the embedded state is moved in by openStateStore().
import { join } from 'node:path';
import { DATABASE_FILE } from '../../repository/paths.js';
import { databaseUrlFrom, requirePostgresUrl } from './open-state.js';
import { PgWebStore } from './pg-web-store.js';
import { SqliteWebStore } from './sqlite-web-store.js';
import type { WebStore } from './web-store.js';

export async function openWebStore(dataDir: string, databaseUrl?: string): Promise<WebStore> {
  const url = databaseUrlFrom(databaseUrl);
  if (url === undefined) return new SqliteWebStore(join(dataDir, DATABASE_FILE));
  return PgWebStore.connect(requirePostgresUrl(url));
}
