// SPDX-License-Identifier: Apache-2.0
// The setting is wrong, not the code and not the data: a database URL that is not PostgreSQL or
// cannot be opened, a data directory whose state moved to PostgreSQL opened without one, a
// config.json this version cannot read. The CLI exits 78 (EX_CONFIG) with the message alone.
export class ConfigurationError extends Error {
  readonly code = 'CONFIGURATION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}
