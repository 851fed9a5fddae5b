// SPDX-License-Identifier: Apache-2.0
// Delegation path patterns (TUF spec §5.6.7.2 / python-tuf 5): a pattern matches a target
// path segment by segment, and `*` never crosses `/`. `?` and `[...]` follow fnmatch.
import { createHash } from 'node:crypto';

const cache = new Map<string, RegExp>();

function segmentRegExp(segment: string): RegExp {
  let re = cache.get(segment);
  if (re) return re;
  let src = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end === -1) src += '\\[';
      else {
        let body = segment.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        src += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else src += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  re = new RegExp(`^${src}$`, 's');
  if (cache.size > 10_000) cache.clear();
  cache.set(segment, re);
  return re;
}

export function isTargetInPathPattern(targetPath: string, pattern: string): boolean {
  const targetParts = targetPath.split('/');
  const patternParts = pattern.split('/');
  if (targetParts.length !== patternParts.length) return false;
  for (let i = 0; i < patternParts.length; i++) {
    if (!segmentRegExp(patternParts[i] as string).test(targetParts[i] as string)) return false;
  }
  return true;
}

/** Hex SHA-256 of the target path (UTF-8), as path_hash_prefixes and succinct roles use. */
export function targetPathHash(targetPath: string): string {
  return createHash('sha256').update(targetPath, 'utf8').digest('hex');
}
