// SPDX-License-Identifier: Apache-2.0
// Role names and target names come from metadata, so they can hold `/`, `../`, `?`, `#` or
// anything else. They are percent-encoded exactly as python-tuf does it (ngclient requests
// `urllib.parse.quote(rolename, "")`), so that a repository serves the same file to every
// client, and so that a name is one path segment in a URL and in the client's cache, never a path.
// Hand-written because no JavaScript built-in matches: encodeURIComponent leaves `!'()*` alone.
import { createHash } from 'node:crypto';
import { BadMetadataError } from '../tuf/index.js';

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Longer file names than this (in bytes; most file systems allow 255) are named by their hash.
const MAX_FILE_NAME = 240;

/**
 * Every byte of the UTF-8 encoding except the unreserved characters `A-Z a-z 0-9 - . _ ~` as
 * `%XX` (upper-case hex): python's `urllib.parse.quote(name, safe="")`.
 * @throws BadMetadataError for a name that is not well-formed Unicode (a lone surrogate has no
 *   UTF-8 encoding: two such names would quote alike)
 */
export function quoteName(name: string): string {
  if (LONE_SURROGATE.test(name)) throw new BadMetadataError(`name ${JSON.stringify(name)} is not well-formed Unicode`);
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A file name for `name` (plus `suffix`) inside one directory: its quoted form, one path segment
 * (no `/`, no `\`), as python-tuf names its cache files; a bare `.` or `..` spelled `%2E`, and
 * an empty name or one too long for a file system replaced by its hash. Quoting never writes `%2E` or `%#`,
 * so no two names share a file.
 */
export function localFileName(name: string, suffix = ''): string {
  let file = `${quoteName(name)}${suffix}`;
  if (file === '.' || file === '..') file = file.replace(/\./g, '%2E');
  if (file !== '' && Buffer.byteLength(file) <= MAX_FILE_NAME) return file;
  return `%#${createHash('sha256').update(name, 'utf8').digest('hex')}${suffix}`;
}
