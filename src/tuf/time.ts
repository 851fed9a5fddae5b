// SPDX-License-Identifier: Apache-2.0
// TUF's `expires` is exactly YYYY-MM-DDTHH:MM:SSZ. Anything else is an error, never
// "not expired" (tuf-js treats an unparseable date as not expired: we must not).
import { BadMetadataError } from './errors.js';

const EXPIRES = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

export function parseExpires(value: unknown, role = 'metadata'): Date {
  if (typeof value !== 'string') throw new BadMetadataError(`${role}: expires must be a string`);
  const m = EXPIRES.exec(value);
  if (!m) throw new BadMetadataError(`${role}: expires "${value}" is not YYYY-MM-DDTHH:MM:SSZ`);
  const date = new Date(value);
  // Round-trip to reject impossible dates such as 2026-02-31 that Date would roll over.
  if (Number.isNaN(date.getTime()) || formatExpires(date) !== value) {
    throw new BadMetadataError(`${role}: expires "${value}" is not a valid date`);
  }
  return date;
}

/** Formats a date as TUF wants it, dropping milliseconds. */
export function formatExpires(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `now` plus a number of seconds, truncated to whole seconds. */
export function expiresIn(now: Date, seconds: number): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + seconds * 1000);
}
