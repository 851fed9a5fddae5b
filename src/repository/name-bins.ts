// SPDX-License-Identifier: Apache-2.0
// Name-pattern bins (ADR 0005): `claimed` and `recently-claimed` reach project roles through a
// fixed set of bins, each delegated the project names that match its path patterns. A pattern
// is a literal prefix, optionally followed by one simple character class (`[a-f]`, `[0-9]`,
// `[ab]`) and a `*`, used on the first path segment as `PATTERN/*`: the subset of glob syntax
// on which Python's fnmatch (python-tuf), minimatch (tuf-js) and src/tuf/path-match.ts agree.
// The table (name-bins-table.ts) was split once along PyPI's real names and never changes:
// a bin's patterns are signed into `claimed` by the offline keys.
import { NAME_BIN_PATTERNS } from './name-bins-table.js';

/** Characters of a normalized project name (PEP 503), in code-point order; a name starts with a digit or a letter. */
export const NAME_ALPHABET = ['-', ...'0123456789', ...'abcdefghijklmnopqrstuvwxyz'] as const;
const FIRST_CHARACTERS = NAME_ALPHABET.filter((c) => c !== '-');

/** Bins of the table: the finest split, used at PyPI's size (ADR 0005). */
export const NAME_BIN_COUNT = NAME_BIN_PATTERNS.length;
/** Role name infix of a bin: `claimed-bin-000` … `recently-claimed-bin-3ff`. */
export const NAME_BIN_INFIX = '-bin-';

/**
 * The number of name bins a repository uses by default: one for every 16 hashed bins, from 16
 * to the table's 1,024 (so 1,024 at PEP 458's 16,384 bins). A smaller index needs fewer: every
 * bin is a role each client may fetch and each publication may list, and a test repository
 * with 2,048 empty bins took seconds to create.
 */
export function defaultNameBinCount(hashedBins: number): number {
  return Math.min(NAME_BIN_COUNT, Math.max(16, Math.floor(hashedBins / 16)));
}

/**
 * Checks a repository's bin count: a power of two from 1 to the table's 1,024. Bin j of N is
 * the union of the table's consecutive bins j·(1024/N) … (j+1)·(1024/N) − 1, so every count is
 * a partition of project names too, and the table stays the one source of patterns.
 */
export function checkNameBinCount(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > NAME_BIN_COUNT || (count & (count - 1)) !== 0 || NAME_BIN_COUNT % count !== 0) {
    throw new RangeError(`the number of name bins must be a power of two from 1 to ${NAME_BIN_COUNT}, got ${count}`);
  }
  return count;
}

/** A repository's bin count (config.json `nameBins`; repositories made before it have 1,024). */
export function nameBinCountOf(config: { nameBins?: number | undefined }): number {
  return checkNameBinCount(config.nameBins ?? NAME_BIN_COUNT);
}

export class NameBinTableError extends Error {
  constructor(message: string) {
    super(`the name-bin table is not a partition of project names: ${message}`);
    this.name = 'NameBinTableError';
  }
}

const hexWidth = (count: number) => Math.max(1, (count - 1).toString(16).length);

/** The role name of bin `index` (of `count`) under `parent` (`claimed` or `recently-claimed`). */
export function nameBinRole(parent: string, index: number, count = NAME_BIN_COUNT): string {
  return `${parent}${NAME_BIN_INFIX}${index.toString(16).padStart(hexWidth(count), '0')}`;
}

/** Every bin role of `parent`, in bin order. */
export function nameBinRoles(parent: string, count = NAME_BIN_COUNT): string[] {
  return Array.from({ length: checkNameBinCount(count) }, (_, i) => nameBinRole(parent, i, count));
}

/** True for `claimed-bin-…` or `recently-claimed-bin-…` (given the parent), of any count. */
export function isNameBinRole(parent: string, role: string): boolean {
  const prefix = `${parent}${NAME_BIN_INFIX}`;
  return role.startsWith(prefix) && /^[0-9a-f]{1,3}$/.test(role.slice(prefix.length));
}

/** The delegated `paths` of bin `index` (of `count`): its name patterns, each followed by `/*`. */
export function nameBinPaths(index: number, count = NAME_BIN_COUNT): string[] {
  const per = NAME_BIN_COUNT / checkNameBinCount(count);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`there is no name bin ${index} (0 to ${count - 1})`);
  return NAME_BIN_PATTERNS.slice(index * per, (index + 1) * per).flatMap((line) => line.split(' ').map((p) => `${p}/*`));
}

/**
 * One pattern, taken apart: `exact` is a whole name; otherwise every name starting with one of
 * `prefixes` (a class expands to one prefix per character).
 */
interface ParsedPattern {
  exact?: string;
  prefixes: string[];
}

const LITERAL = /^[a-z0-9-]*$/;

function parsePattern(pattern: string): ParsedPattern {
  if (!pattern.endsWith('*')) {
    if (pattern === '' || !LITERAL.test(pattern)) throw new NameBinTableError(`"${pattern}" is neither a name nor a prefix pattern`);
    return { exact: pattern, prefixes: [] };
  }
  const body = pattern.slice(0, -1);
  const open = body.indexOf('[');
  if (open < 0) {
    if (!LITERAL.test(body)) throw new NameBinTableError(`"${pattern}" has characters outside a normalized name`);
    return { prefixes: [body] };
  }
  const prefix = body.slice(0, open);
  const cls = body.slice(open + 1, -1);
  if (!body.endsWith(']') || !LITERAL.test(prefix) || !/^([0-9]-[0-9]|[a-z]-[a-z]|[0-9a-z]{2})$/.test(cls)) {
    throw new NameBinTableError(`"${pattern}" is not PREFIX[x-y]* or PREFIX[xy]* with digits or letters`);
  }
  const chars = cls[1] === '-' ? NAME_ALPHABET.filter((c) => c >= (cls[0] as string) && c <= (cls[2] as string)) : [cls[0] as string, cls[1] as string];
  if (chars.length < 2) throw new NameBinTableError(`"${pattern}" has an empty or one-character range`);
  return { prefixes: chars.map((c) => prefix + c) };
}

interface Lookup {
  exact: Map<string, number>;
  prefix: Map<string, number>;
  longestPrefix: number;
}

let lookup: Lookup | undefined;

/** Builds the lookup from the table, checking that no name or prefix is given to two bins. */
function buildLookup(table: readonly string[]): Lookup {
  const l: Lookup = { exact: new Map(), prefix: new Map(), longestPrefix: 0 };
  table.forEach((line, bin) => {
    for (const pattern of line.split(' ')) {
      const parsed = parsePattern(pattern);
      if (parsed.exact !== undefined) {
        if (l.exact.has(parsed.exact)) throw new NameBinTableError(`"${parsed.exact}" is in two bins`);
        l.exact.set(parsed.exact, bin);
      }
      for (const p of parsed.prefixes) {
        if (l.prefix.has(p)) throw new NameBinTableError(`prefix "${p}" is in two bins`);
        l.prefix.set(p, bin);
        l.longestPrefix = Math.max(l.longestPrefix, p.length);
      }
    }
  });
  return l;
}

/**
 * The bin whose patterns match this normalized project name. Looks up the name and its
 * prefixes instead of trying 3,000 globs: the table is a partition, so one of them is there.
 */
export function nameBinOf(project: string, count = NAME_BIN_COUNT): number {
  lookup ??= buildLookup(NAME_BIN_PATTERNS);
  const per = NAME_BIN_COUNT / checkNameBinCount(count);
  const exact = lookup.exact.get(project);
  if (exact !== undefined) return Math.floor(exact / per);
  for (let n = Math.min(project.length, lookup.longestPrefix); n >= 1; n--) {
    const bin = lookup.prefix.get(project.slice(0, n));
    if (bin !== undefined) return Math.floor(bin / per);
  }
  throw new NameBinTableError(`no bin holds "${project}" (not a normalized project name?)`);
}

/**
 * Proves that `table` is a partition of every string over NAME_ALPHABET that starts with a
 * digit or a letter (a superset of the normalized project names), so that every project falls
 * in exactly one bin. The prefix patterns are the leaves of a trie; it holds when
 *  - no prefix leaf is a prefix of another leaf (no name matched twice), and
 *  - every inner node (a proper prefix of some leaf) is a name given to some bin, and each of
 *    its one-character extensions is a leaf or an inner node (no name matched by none).
 * @throws NameBinTableError naming the first gap or overlap
 */
export function checkNameBinPartition(table: readonly string[] = NAME_BIN_PATTERNS): void {
  const l = buildLookup(table);
  const inner = new Set<string>();
  for (const leaf of [...l.prefix.keys(), ...l.exact.keys()]) {
    for (let n = 0; n < leaf.length; n++) {
      const p = leaf.slice(0, n);
      if (l.prefix.has(p) && p !== '') throw new NameBinTableError(`"${leaf}" lies under the prefix pattern "${p}*" of another entry`);
      inner.add(p);
    }
  }
  for (const p of inner) {
    if (p !== '' && !l.exact.has(p)) throw new NameBinTableError(`the name "${p}" is in no bin`);
    for (const c of p === '' ? FIRST_CHARACTERS : NAME_ALPHABET) {
      if (!l.prefix.has(p + c) && !inner.has(p + c)) throw new NameBinTableError(`names starting with "${p + c}" are in no bin`);
    }
  }
  for (const [name] of l.exact) {
    if (!inner.has(name)) throw new NameBinTableError(`"${name}" is given as a whole name but names starting with it are in no bin`);
  }
}
