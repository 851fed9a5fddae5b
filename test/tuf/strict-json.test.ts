// Strict JSON: the one place metadata bytes become values. It must refuse what JSON.parse takes
// silently and other TUF implementations read differently (duplicate keys, floats, numbers past
// 2^53, invalid UTF-8), and accept any valid JSON layout, such as python-tuf's indented files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadMetadataError, parseStrictJson, RepositoryError } from '../../src/tuf/index.js';

function refuses(input: Uint8Array | string, pattern?: RegExp): void {
  assert.throws(
    () => parseStrictJson(input),
    (e: unknown) => {
      assert.ok(e instanceof BadMetadataError, `expected BadMetadataError, got ${String(e)}`);
      assert.ok(e instanceof RepositoryError);
      assert.equal(e.code, 'BAD_METADATA');
      if (pattern) assert.match(e.message, pattern);
      return true;
    }
  );
}

describe('strict JSON: duplicate keys', () => {
  const cases: [string, string][] = [
    ['top level', '{"a":1,"a":2}'],
    ['top level, same value', '{"a":1,"a":1}'],
    ['nested object', '{"x":{"b":1,"c":2,"b":3}}'],
    ['object inside an array', '{"x":[1,{"k":true,"k":false}]}'],
    ['deep', '{"a":{"b":{"c":{"d":1,"d":2}}}}'],
    ['after a nested object closes', '{"a":{"x":1},"b":2,"a":3}'],
    ['same key spelled with an escape', '{"a":1,"\\u0061":2}'],
    ['pretty-printed', '{\n  "signed": {\n    "version": 1,\n    "version": 2\n  }\n}'],
    ['with an empty object before', '{"e":{},"k":1,"k":2}'],
  ];
  for (const [name, text] of cases) it(`refuses a duplicate key: ${name}`, () => refuses(text, /duplicate key/));

  it('accepts the same key in sibling and nested objects', () => {
    assert.deepEqual(parseStrictJson('{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":{"b":{"a":4}}}'), {
      a: { a: 1 },
      b: [{ a: 2 }, { a: 3 }],
      c: { b: { a: 4 } },
    });
  });

  it('accepts a string value equal to a key, and keys that look like values', () => {
    assert.deepEqual(parseStrictJson('{"a":"a","b":["a","a"],"1":1}'), { a: 'a', b: ['a', 'a'], '1': 1 });
  });
});

describe('strict JSON: numbers', () => {
  for (const literal of ['1.0', '1.5', '-0.5', '1e3', '1E3', '2e0', '1e-2', '0.0', '9007199254740992', '-9007199254740992', '1e400', '123456789012345678901234567890']) {
    it(`refuses ${literal}`, () => {
      refuses(`{"n":${literal}}`, /safe integer/);
      refuses(`[${literal}]`);
      refuses(`{\n  "n": ${literal}\n}`);
    });
  }

  it('accepts safe integers at the limits', () => {
    assert.deepEqual(parseStrictJson('[0,-1,9007199254740991,-9007199254740991]'), [0, -1, 2 ** 53 - 1, -(2 ** 53 - 1)]);
  });

  it('does not mistake numbers inside strings for numbers', () => {
    assert.deepEqual(parseStrictJson('{"v":"1.5e3","1.5":"-0.0"}'), { v: '1.5e3', '1.5': '-0.0' });
  });
});

describe('strict JSON: encoding and syntax', () => {
  const invalidUtf8: [string, number[]][] = [
    ['a stray continuation byte', [0x22, 0x80, 0x22]],
    ['0xff', [0x22, 0xff, 0x22]],
    ['an overlong "/"', [0x22, 0xc0, 0xaf, 0x22]],
    ['a UTF-8 encoded surrogate (CESU-8)', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82, 0x22]],
    ['a code point past U+10FFFF', [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]],
  ];
  for (const [name, bytes] of invalidUtf8) {
    it(`refuses invalid UTF-8: ${name}`, () => refuses(Uint8Array.from([0x7b, 0x22, 0x6b, 0x22, 0x3a, ...bytes, 0x7d]), /UTF-8/));
  }

  it('refuses a byte order mark, as python-tuf does', () => refuses(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d])));

  it('accepts valid multi-byte UTF-8', () => {
    assert.deepEqual(parseStrictJson(Buffer.from('{"é":"\u{1F600}"}', 'utf8')), { é: '\u{1F600}' });
  });

  for (const [name, text] of [
    ['a trailing comma', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
    ['a comment', '{"a":1 /* c */}'],
    ['NaN', '{"a":NaN}'],
    ['two documents', '{} {}'],
    ['nothing', ''],
    ['a raw control character in a string', '{"a":"\u0001"}'],
  ] as [string, string][]) {
    it(`refuses invalid JSON: ${name}`, () => refuses(text));
  }

  it('accepts pretty-printed JSON with escapes (python-tuf writes indented files)', () => {
    const text = '{\n "signatures": [\n  {\n   "keyid": "ab",\n   "sig": "cd"\n  }\n ],\n "signed": {\n  "_type": "root",\n  "name": "caf\\u00e9 \\"q\\" \\\\ \\n",\n  "version": 1\n }\n}\n';
    assert.deepEqual(parseStrictJson(Buffer.from(text, 'utf8')), {
      signatures: [{ keyid: 'ab', sig: 'cd' }],
      signed: { _type: 'root', name: 'café "q" \\ \n', version: 1 },
    });
  });

  it('accepts canonical JSON (the fast path)', () => {
    assert.deepEqual(parseStrictJson('{"a":[1,2,{"b":null}],"c":true}'), { a: [1, 2, { b: null }], c: true });
  });

  it('names what it was parsing in the error', () => {
    assert.throws(() => parseStrictJson('{"a":1,"a":2}', 'snapshot'), /snapshot has a duplicate key "a"/);
  });
});
