// SPDX-License-Identifier: Apache-2.0
// Delegation path patterns (TUF spec §5.6.7.2 / python-tuf 5): a pattern matches a target
// path segment by segment, and `*` never crosses `/`. Within a segment the pattern means what
// Python's fnmatch means (python-tuf and pip decide delegations that way, so we must agree):
// `*`, `?`, `[abc]`, `[a-z]`, `[!abc]`; `^` is a literal inside brackets, a `]` right after
// `[` or `[!` is a literal, an unclosed `[` is a literal, and an empty range such as `[z-a]`
// matches nothing (it must not throw).
import { createHash } from 'node:crypto';

const cache = new Map<string, RegExp>();
const NEVER = /(?!)/;

// Characters with a meaning in a `u`-mode regular expression, outside and inside a class.
const ESCAPE_OUTSIDE = /[\\^$.*+?()[\]{}|/]/;
const ESCAPE_INSIDE = /[\\\]\[^-]/;

function codePoint(c: string | undefined): number {
  return c === undefined ? -1 : (c.codePointAt(0) as number);
}

function escapeChar(c: string, special: RegExp): string {
  return special.test(c) ? `\\${c}` : c;
}

/**
 * Splits a bracket body (between `[` and `]`, leading `!` included) into range chunks the way
 * fnmatch.translate does: chunks joined by `-` form ranges, and a range whose start is after
 * its end is removed. Works on code points, as Python does.
 */
function bracketChunks(body: string[]): string[][] {
  if (!body.includes('-')) return [body];
  const chunks: string[][] = [];
  let start = 0;
  let k = body[0] === '!' ? 2 : 1;
  for (;;) {
    k = body.indexOf('-', k);
    if (k < 0) break;
    chunks.push(body.slice(start, k));
    start = k + 1;
    k += 3;
  }
  const last = body.slice(start);
  if (last.length > 0) chunks.push(last);
  else (chunks[chunks.length - 1] as string[]).push('-');
  for (let i = chunks.length - 1; i > 0; i--) {
    const prev = chunks[i - 1] as string[];
    const next = chunks[i] as string[];
    if (codePoint(prev[prev.length - 1]) > codePoint(next[0])) {
      chunks[i - 1] = [...prev.slice(0, -1), ...next.slice(1)];
      chunks.splice(i, 1);
    }
  }
  return chunks;
}

/** Regular-expression source for one bracket body, or undefined for "never matches". */
function bracketSource(body: string[]): string | undefined {
  const chunks = bracketChunks(body);
  const flat = chunks.flat();
  if (flat.length === 0) return undefined; // empty range: never matches
  const first = chunks[0] as string[];
  const negate = first[0] === '!';
  if (negate && flat.length === 1) return '.'; // `[!]`-like leftovers: any character
  if (negate) chunks[0] = first.slice(1);
  const inner = chunks.map((chunk) => chunk.map((c) => escapeChar(c, ESCAPE_INSIDE)).join('')).join('-');
  return `[${negate ? '^' : ''}${inner}]`;
}

/** Regular-expression source for one path segment pattern (fnmatch.translate, ported). */
function translateSegment(segment: string): string | undefined {
  const pat = Array.from(segment); // code points
  const n = pat.length;
  const out: string[] = [];
  let lastWasStar = false;
  let i = 0;
  while (i < n) {
    const c = pat[i++] as string;
    if (c === '*') {
      if (!lastWasStar) out.push('.*'); // consecutive stars are one star
      lastWasStar = true;
      continue;
    }
    lastWasStar = false;
    if (c === '?') {
      out.push('.');
    } else if (c === '[') {
      let j = i;
      if (j < n && pat[j] === '!') j++;
      if (j < n && pat[j] === ']') j++;
      while (j < n && pat[j] !== ']') j++;
      if (j >= n) {
        out.push('\\['); // unclosed: a literal bracket
      } else {
        const source = bracketSource(pat.slice(i, j));
        if (source === undefined) return undefined;
        out.push(source);
        i = j + 1;
      }
    } else {
      out.push(escapeChar(c, ESCAPE_OUTSIDE));
    }
  }
  return out.join('');
}

function segmentRegExp(segment: string): RegExp {
  let re = cache.get(segment);
  if (re) return re;
  const source = translateSegment(segment);
  try {
    re = source === undefined ? NEVER : new RegExp(`^(?:${source})$`, 'su');
  } catch {
    re = NEVER; // cannot happen for translated input; fail closed (not delegated) if it does
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(segment, re);
  return re;
}

/**
 * A pattern taken apart once: its segments' expressions, and the literal text before its first
 * `*`, `?` or `[`, which every matching path starts with (fnmatch has no escapes, and `/` is
 * literal too). A delegator with 1,024 name bins has ~3,000 patterns, and one lookup tests them
 * all: the prefix settles almost every one with a startsWith, no split and no expression.
 */
interface CompiledPattern {
  prefix: string;
  /** Compiled on the first path that has the prefix: most patterns of a big delegator never need it. */
  segments: RegExp[] | undefined;
}

const compiled = new Map<string, CompiledPattern>();
/** Patterns kept compiled (a long-lived client meets name bins and many project delegations). */
const MAX_COMPILED = 100_000;

/** The literal text before a pattern's first `*`, `?` or `[`: every path it matches starts with it. */
export function literalPrefix(pattern: string): string {
  const special = pattern.search(/[*?[]/);
  return special < 0 ? pattern : pattern.slice(0, special);
}

function compile(pattern: string): CompiledPattern {
  let c = compiled.get(pattern);
  if (c) return c;
  c = { prefix: literalPrefix(pattern), segments: undefined };
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(pattern, c);
  return c;
}

export function isTargetInPathPattern(targetPath: string, pattern: string): boolean {
  const c = compile(pattern);
  if (!targetPath.startsWith(c.prefix)) return false;
  const segments = (c.segments ??= pattern.split('/').map(segmentRegExp));
  const targetParts = targetPath.split('/');
  if (targetParts.length !== segments.length) return false;
  for (let i = 0; i < segments.length; i++) {
    if (!(segments[i] as RegExp).test(targetParts[i] as string)) return false;
  }
  return true;
}

/** Hex SHA-256 of the target path (UTF-8), as path_hash_prefixes and succinct roles use. */
export function targetPathHash(targetPath: string): string {
  return createHash('sha256').update(targetPath, 'utf8').digest('hex');
}
