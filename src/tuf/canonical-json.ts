// SPDX-License-Identifier: Apache-2.0
// OLPC canonical JSON, the encoding TUF signs (securesystemslib `encode_canonical`):
// object keys sorted by Unicode code point, no insignificant whitespace, strings with only
// `"` and `\` escaped, integers only. Hand-written because the encoding must match python-tuf
// byte for byte, and JavaScript's default sort (UTF-16 code units) differs from Python's
// (code points) outside the Basic Multilingual Plane.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

/** Compares strings by Unicode code point (as Python sorts), not by UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800–0xDFFF) stands for a code point above 0xFFFF, so it sorts after
    // every BMP unit above 0xDFFF as well; UTF-16 order gets that wrong.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

// A surrogate half without its partner: not a Unicode scalar value, so it has no UTF-8 form
// (Buffer would write U+FFFD in its place, and "\ud800" and "\ufffd" would then sign alike).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// Anything that needs more than wrapping in quotes: an escape, or a surrogate to check.
const NEEDS_CARE = /["\\\ud800-\udfff]/;
const SURROGATE = /[\ud800-\udfff]/;

/**
 * Quotes a string the canonical way: only `"` and `\` are escaped.
 * @throws CanonicalJsonError on a lone surrogate (python-tuf cannot encode one either).
 */
export function canonicalString(s: string): string {
  if (!NEEDS_CARE.test(s)) return `"${s}"`; // the common case: hex digests, names, ASCII
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError('canonical JSON strings must be valid Unicode (lone surrogate)');
  if (!/["\\]/.test(s)) return `"${s}"`;
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

// Hand-written rather than a library's: the key order must be Python's (code points), and this
// runs over multi-megabyte snapshots, so it builds one string and sorts with the native sort
// whenever no key has a surrogate (then UTF-16 order is code point order).
function encode(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(`canonical JSON allows only safe integers, got ${value}`);
      return String(value);
    case 'string':
      return canonicalString(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + encode(value[i]);
        return `${out}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (keys.some((k) => SURROGATE.test(k))) keys.sort(compareCodePoints);
      else keys.sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const v = obj[key];
        if (v === undefined) continue;
        out += `${first ? '' : ','}${canonicalString(key)}:${encode(v)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new CanonicalJsonError(`cannot encode a ${typeof value} in canonical JSON`);
  }
}

/** Encodes a JSON value canonically. Properties whose value is `undefined` are left out. */
export function encodeCanonical(value: unknown): string {
  return encode(value);
}

/** Canonical JSON as UTF-8 bytes: what signatures are made over. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(encodeCanonical(value), 'utf8');
}

const CONTROL = /[\u0000-\u001f]/;
const CONTROL_ALL = /[\u0000-\u001f]/g;

/**
 * Canonical JSON made fit for a file: the same text, but control characters (the newlines of a
 * PEM public key) written as JSON escapes. Canonical JSON leaves them raw, which no JSON parser
 * accepts (JSON.parse, python's json.loads). Outside strings canonical JSON has no whitespace, so
 * every control character is inside a string. The file parses to the same value, so the
 * signatures, made over the canonical form, still verify: readers rebuild that form.
 */
export function canonicalFileText(canonical: string): string {
  return CONTROL.test(canonical) ? canonical.replace(CONTROL_ALL, (c) => JSON.stringify(c).slice(1, -1)) : canonical;
}
