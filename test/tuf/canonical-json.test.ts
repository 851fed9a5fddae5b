// OLPC canonical JSON as securesystemslib writes it (what every TUF signature covers): keys in
// code-point order, no whitespace, only `"` and `\` escaped, integers only. Expected strings are
// written out by hand from that definition; @tufjs/canonical-json is the independent
// implementation for random input inside the Basic Multilingual Plane, where it is correct.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalize } from '@tufjs/canonical-json';
import { canonicalBytes, CanonicalJsonError, compareCodePoints, encodeCanonical, type JsonValue } from '../../src/tuf/index.js';

/** A small deterministic PRNG (mulberry32), so a failure can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random BMP strings, heavy on the characters canonical JSON treats specially. */
function randomString(rand: () => number): string {
  const special = ['"', '\\', '\n', '\t', '\u0000', '\u001f', '/', 'é', '\u2028', '\uffff', '\ue000', 'a', 'B', '0', ' '];
  let s = '';
  const n = Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    if (rand() < 0.5) s += special[Math.floor(rand() * special.length)];
    else {
      let c = Math.floor(rand() * 0xfffe) + 1;
      if (c >= 0xd800 && c <= 0xdfff) c -= 0x800; // no surrogates: BMP scalar values only
      s += String.fromCharCode(c);
    }
  }
  return s;
}

function randomValue(rand: () => number, depth: number): JsonValue {
  const r = rand();
  if (depth > 3 || r < 0.3) {
    const leaf = Math.floor(rand() * 5);
    if (leaf === 0) return null;
    if (leaf === 1) return rand() < 0.5;
    if (leaf === 2) return Math.floor((rand() - 0.5) * 2 ** 40);
    return randomString(rand);
  }
  if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  const obj: { [k: string]: JsonValue } = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) obj[randomString(rand)] = randomValue(rand, depth + 1);
  return obj;
}

describe('canonical JSON: vectors', () => {
  const vectors: [string, unknown, string][] = [
    ['keys sorted, no whitespace', { b: 1, a: [true, false, null], c: 'x' }, '{"a":[true,false,null],"b":1,"c":"x"}'],
    ['nested objects sorted too', { z: { y: 1, x: 2 }, a: {} }, '{"a":{},"z":{"x":2,"y":1}}'],
    ['arrays keep their order', [3, 1, 2], '[3,1,2]'],
    ['upper case sorts before lower case', { a: 1, B: 2, _: 3 }, '{"B":2,"_":3,"a":1}'],
    ['a prefix sorts first', { ab: 1, a: 2, 'a\u0000': 3 }, '{"a":2,"a\u0000":3,"ab":1}'],
    ['only " and \\ are escaped', 'say "hi" \\o/', '"say \\"hi\\" \\\\o/"'],
    ['control characters stay raw', '\n\t\r\u0000\u001f', '"\n\t\r\u0000\u001f"'],
    ['/ and non-ASCII stay raw', '/é\u2028', '"/é\u2028"'],
    ['escaping applies to keys', { 'k"\\': 'v' }, '{"k\\"\\\\":"v"}'],
    ['integers', [0, -5, 2 ** 53 - 1, -(2 ** 53 - 1)], '[0,-5,9007199254740991,-9007199254740991]'],
    ['negative zero is 0', -0, '0'],
    ['undefined properties are left out', { a: undefined, b: 1 }, '{"b":1}'],
    ['empty containers', { a: [], b: {}, c: '' }, '{"a":[],"b":{},"c":""}'],
  ];
  for (const [name, value, expected] of vectors) {
    it(name, () => assert.equal(encodeCanonical(value), expected));
  }

  for (const [name, value] of [
    ['a float', 1.5],
    ['2^53', 2 ** 53],
    ['-2^53', -(2 ** 53)],
    ['1e300', 1e300],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a nested float', { a: [1, 2.25] }],
    ['a bigint', 1n],
    ['undefined', undefined],
    ['a function', () => 1],
  ] as [string, unknown][]) {
    it(`refuses ${name}`, () => assert.throws(() => encodeCanonical(value), CanonicalJsonError));
  }

  it('refuses lone surrogates, which have no UTF-8 form', () => {
    for (const s of ['\ud800', 'a\udc00', '\ud83d', '\ude00x']) {
      assert.throws(() => encodeCanonical(s), CanonicalJsonError, JSON.stringify(s));
      assert.throws(() => encodeCanonical({ [s]: 1 }), CanonicalJsonError);
    }
    assert.equal(encodeCanonical('\ud83d\ude00'), '"\u{1F600}"'); // a proper pair is fine
  });

  it('canonicalBytes is the UTF-8 of the encoding', () => {
    assert.deepEqual([...canonicalBytes({ é: '\u{1F600}' })], [...Buffer.from('{"é":"\u{1F600}"}', 'utf8')]);
    assert.equal(canonicalBytes({ é: 1 }).toString('hex'), '7b22c3a9223a317d');
  });
});

describe('canonical JSON: key order by code point (Python order)', () => {
  it('sorts keys outside the BMP after every BMP key, as Python does', () => {
    // Code points: 'a' U+0061 < U+D7FF < U+E000 < U+FFFF < U+1F600 < U+1F601.
    // UTF-16 order would put U+1F600 (0xD83D 0xDE00) before U+E000 and U+FFFF.
    const value = { '\u{1F601}': 6, '\uffff': 4, '\u{1F600}': 5, a: 1, '\ue000': 3, '\ud7ff': 2 };
    assert.equal(encodeCanonical(value), '{"a":1,"\ud7ff":2,"\ue000":3,"\uffff":4,"\u{1F600}":5,"\u{1F601}":6}');
  });

  it('differs there from @tufjs/canonical-json, which sorts by UTF-16 code unit', () => {
    const value = { '\u{1F600}': 1, '\uffff': 2 };
    assert.equal(encodeCanonical(value), '{"\uffff":2,"\u{1F600}":1}');
    assert.equal(canonicalize(value), '{"\u{1F600}":1,"\uffff":2}');
  });

  it('compareCodePoints agrees with comparing code point arrays', () => {
    const rand = prng(7);
    const pool = ['', 'a', 'ab', '\uffff', '\ue000', '\ud7ff', '\u{1F600}', '\u{10FFFF}', '\u{1F600}a', 'a\u{1F600}', '\u0000', 'é'];
    const byCodePoints = (x: string, y: string): number => {
      const a = Array.from(x, (c) => c.codePointAt(0) as number);
      const b = Array.from(y, (c) => c.codePointAt(0) as number);
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
      return a.length - b.length;
    };
    for (let i = 0; i < 2000; i++) {
      const x = (pool[Math.floor(rand() * pool.length)] as string) + (pool[Math.floor(rand() * pool.length)] as string);
      const y = (pool[Math.floor(rand() * pool.length)] as string) + (pool[Math.floor(rand() * pool.length)] as string);
      assert.equal(Math.sign(compareCodePoints(x, y)), Math.sign(byCodePoints(x, y)), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
    }
  });
});

describe('canonical JSON: cross-check with @tufjs/canonical-json (BMP only)', () => {
  it('encodes 500 random BMP values exactly as @tufjs/canonical-json does', () => {
    const rand = prng(20260101);
    for (let i = 0; i < 500; i++) {
      const value = randomValue(rand, 0);
      assert.equal(encodeCanonical(value), canonicalize(value), JSON.stringify(value));
    }
  });

  it('agrees on a realistic metadata object', () => {
    const value = {
      signed: {
        _type: 'targets',
        spec_version: '1.0.31',
        version: 3,
        expires: '2030-01-01T00:00:00Z',
        targets: { 'pkg/pkg-1.0.tar.gz': { length: 1234, hashes: { sha256: 'ab'.repeat(32) }, custom: { 'yanked"': true } } },
      },
      signatures: [{ keyid: 'cd'.repeat(32), sig: 'ef'.repeat(64) }],
    };
    assert.equal(encodeCanonical(value), canonicalize(value));
  });
});
