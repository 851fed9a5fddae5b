// `expires` is exactly YYYY-MM-DDTHH:MM:SSZ (spec §4.2). Anything else is malformed metadata,
// never "not expired".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadMetadataError, expiresIn, formatExpires, isExpired, Metadata, parseExpires } from '../../src/tuf/index.js';
import { RepoBuilder } from './repo-builder.js';

describe('expires', () => {
  const valid: [string, number][] = [
    ['2026-01-01T00:00:00Z', Date.UTC(2026, 0, 1)],
    ['2030-12-31T23:59:59Z', Date.UTC(2030, 11, 31, 23, 59, 59)],
    ['2028-02-29T12:00:00Z', Date.UTC(2028, 1, 29, 12)],
    ['1970-01-01T00:00:00Z', 0],
  ];
  for (const [text, ms] of valid) {
    it(`parses ${text}`, () => {
      assert.equal(parseExpires(text).getTime(), ms);
      assert.equal(formatExpires(new Date(ms)), text);
    });
  }

  const invalid: [string, unknown][] = [
    ['a day that does not exist', '2026-02-31T00:00:00Z'],
    ['29 February of a common year', '2027-02-29T00:00:00Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['milliseconds', '2026-01-01T00:00:00.000Z'],
    ['a space instead of T', '2026-01-01 00:00:00Z'],
    ['a numeric offset', '2026-01-01T00:00:00+00:00'],
    ['no zone', '2026-01-01T00:00:00'],
    ['lower-case z', '2026-01-01T00:00:00z'],
    ['lower-case t', '2026-01-01t00:00:00Z'],
    ['single-digit fields', '2026-1-1T0:0:0Z'],
    ['hour 24', '2026-01-01T24:00:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['a date only', '2026-01-01'],
    ['a trailing newline', '2026-01-01T00:00:00Z\n'],
    ['a leading space', ' 2026-01-01T00:00:00Z'],
    ['an empty string', ''],
    ['a Unix time', 1767225600],
    ['null', null],
    ['a six-digit year', '+020260-01-01T00:00:00Z'],
  ];
  for (const [name, value] of invalid) {
    it(`refuses ${name}`, () => assert.throws(() => parseExpires(value), BadMetadataError));
  }

  it('a role with a malformed expires does not load', async () => {
    const repo = new RepoBuilder();
    repo.role('timestamp')['expires'] = '2026-02-31T00:00:00Z';
    const bytes = await repo.signRaw('timestamp');
    assert.throws(() => Metadata.parse(bytes, 'timestamp'), BadMetadataError);
  });

  it('formatExpires drops milliseconds; expiresIn truncates to whole seconds', () => {
    assert.equal(formatExpires(new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 999))), '2026-01-01T00:00:00Z');
    assert.equal(expiresIn(new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 999)), 60).toISOString(), '2026-01-01T00:01:00.000Z');
  });

  it('is expired from the expiry instant on (python-tuf: reference_time >= expires)', () => {
    const expires = parseExpires('2026-01-01T00:00:00Z');
    const s = { version: 1, expires, specVersion: '1.0.31', unrecognized: {} };
    assert.equal(isExpired(s, new Date(expires.getTime() - 1)), false);
    assert.equal(isExpired(s, expires), true);
    assert.equal(isExpired(s, new Date(expires.getTime() + 1)), true);
  });
});
