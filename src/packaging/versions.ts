// PEP 440 versions: validation, normalization and ordering. Numbers are kept as digit
// strings so that huge release segments (e.g. dates like 20240101123000) never lose precision.

import { PackagingError, quote } from './errors.js';

// The canonical regex from PEP 440 Appendix B, anchored and without the surrounding
// whitespace it tolerates (file names and metadata values have none).
const VERSION_RE = new RegExp(
  '^v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$',
  'i',
);

type PreLabel = 'a' | 'b' | 'rc';

interface ParsedVersion {
  epoch: string;
  release: string[];
  pre?: { label: PreLabel; n: string };
  post?: string;
  dev?: string;
  local?: string[];
}

/** Strips leading zeros: '007' -> '7', '000' -> '0'. */
function num(digits: string): string {
  const s = digits.replace(/^0+/, '');
  return s === '' ? '0' : s;
}

function preLabel(spelling: string): PreLabel {
  switch (spelling.toLowerCase()) {
    case 'a':
    case 'alpha':
      return 'a';
    case 'b':
    case 'beta':
      return 'b';
    default: // c, rc, pre, preview
      return 'rc';
  }
}

function parse(v: string): ParsedVersion | null {
  const g = VERSION_RE.exec(v)?.groups;
  if (!g) return null;
  const parsed: ParsedVersion = {
    epoch: num(g['epoch'] ?? '0'),
    release: (g['release'] ?? '0').split('.').map(num),
  };
  if (g['pre_l'] !== undefined) parsed.pre = { label: preLabel(g['pre_l']), n: num(g['pre_n'] ?? '0') };
  if (g['post'] !== undefined) parsed.post = num(g['post_n1'] ?? g['post_n2'] ?? '0');
  if (g['dev'] !== undefined) parsed.dev = num(g['dev_n'] ?? '0');
  if (g['local'] !== undefined) {
    // Numeric local segments are integers in PEP 440, so '+01' is the same as '+1'.
    parsed.local = g['local'].toLowerCase().split(/[-_.]/).map((s) => (/^[0-9]+$/.test(s) ? num(s) : s));
  }
  return parsed;
}

export function isValidVersion(v: string): boolean {
  return VERSION_RE.test(v);
}

function parseOrThrow(v: string): ParsedVersion {
  const parsed = parse(v);
  if (!parsed) {
    throw new PackagingError(
      'INVALID_VERSION',
      `Invalid version ${quote(v)}: it is not a PEP 440 version. Use a version such as 1.0, 2.1.3rc1 or 1.0.post2.`,
    );
  }
  return parsed;
}

/**
 * The PEP 440 normal form (as packaging's Version.__str__ prints it): '1.0-1' -> '1.0.post1',
 * 'V1.0RC01' -> '1.0rc1', '0!1.0' -> '1.0'. Trailing zeros are kept ('1.0' stays '1.0').
 * Throws INVALID_VERSION for strings that are not PEP 440 versions.
 */
export function normalizeVersion(v: string): string {
  const p = parseOrThrow(v);
  let out = p.epoch === '0' ? '' : `${p.epoch}!`;
  out += p.release.join('.');
  if (p.pre) out += p.pre.label + p.pre.n;
  if (p.post !== undefined) out += `.post${p.post}`;
  if (p.dev !== undefined) out += `.dev${p.dev}`;
  if (p.local) out += '+' + p.local.join('.');
  return out;
}

// --- ordering ---------------------------------------------------------------------------

/** Compares two leading-zero-free digit strings numerically. */
function cmpNum(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpRelease(a: readonly string[], b: readonly string[]): number {
  // Missing segments count as zero, so 1.0 == 1.0.0.
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = cmpNum(a[i] ?? '0', b[i] ?? '0');
    if (c !== 0) return c;
  }
  return 0;
}

const PRE_RANK: Record<PreLabel, number> = { a: 0, b: 1, rc: 2 };

// Where a version without an explicit pre-release sorts in the pre-release slot:
// 1.0.dev0 < 1.0a1 < 1.0 (a dev-only release sorts before every pre-release of that release).
function preKey(p: ParsedVersion): number {
  if (p.pre) return 0;
  if (p.post === undefined && p.dev !== undefined) return -1;
  return 1;
}

function cmpPre(a: ParsedVersion, b: ParsedVersion): number {
  const ka = preKey(a);
  const kb = preKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (a.pre && b.pre) {
    const r = PRE_RANK[a.pre.label] - PRE_RANK[b.pre.label];
    return r !== 0 ? Math.sign(r) : cmpNum(a.pre.n, b.pre.n);
  }
  return 0;
}

// Absent post sorts first (1.0 < 1.0.post0); absent dev sorts last (1.0.dev1 < 1.0).
function cmpOptional(a: string | undefined, b: string | undefined, absentFirst: boolean): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return absentFirst ? -1 : 1;
  if (b === undefined) return absentFirst ? 1 : -1;
  return cmpNum(a, b);
}

// PEP 440 local ordering: segment by segment, numbers compare numerically and sort after
// strings; a version with more segments wins when the shorter is a prefix.
function cmpLocal(a: readonly string[] | undefined, b: readonly string[] | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    const xNum = /^[0-9]+$/.test(x);
    const yNum = /^[0-9]+$/.test(y);
    const c = xNum && yNum ? cmpNum(x, y) : xNum !== yNum ? (xNum ? 1 : -1) : cmpStr(x, y);
    if (c !== 0) return c;
  }
  return Math.sign(a.length - b.length);
}

/**
 * PEP 440 ordering; returns -1, 0 or 1 for use with Array.prototype.sort. It never throws,
 * so one bad stored version cannot break a page: strings that are not PEP 440 versions sort
 * before all valid ones, and among themselves by code unit order.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : cmpStr(a, b);
  return (
    cmpNum(pa.epoch, pb.epoch) ||
    cmpRelease(pa.release, pb.release) ||
    cmpPre(pa, pb) ||
    cmpOptional(pa.post, pb.post, true) ||
    cmpOptional(pa.dev, pb.dev, false) ||
    cmpLocal(pa.local, pb.local)
  );
}
