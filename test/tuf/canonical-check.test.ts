// checkCanonical says whether text is already canonical JSON, without building values; for
// canonical metadata it also gives the signed part's span, which Metadata.parse slices instead
// of re-encoding. It must agree with encodeCanonical exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCanonical } from '../../src/tuf/canonical-check.js';
import { encodeCanonical } from '../../src/tuf/canonical-json.js';

describe('checkCanonical', () => {
  it('accepts what encodeCanonical writes, for many shapes of value', () => {
    const values: unknown[] = [
      null, true, false, 0, -1, 9007199254740991, '', 'a"b\\c', 'ünï©ødé', '\u{1F600}', [], {}, [1, [2, [3]]],
      { b: 1, a: [true, null, 'x'], '\u{1F600}': 1, '\uFFFF': 2, nested: { z: {}, y: [] } },
      { signatures: [{ keyid: 'ab', sig: 'cd' }], signed: { _type: 'targets', version: 3 } },
    ];
    for (const v of values) {
      const text = encodeCanonical(v);
      assert.equal(checkCanonical(text).canonical, true, text);
    }
  });

  it('refuses anything encodeCanonical would not write', () => {
    for (const text of [
      '{"b":1,"a":2}', // unsorted
      '{"a":1,"a":2}', // duplicate
      '{"a": 1}', // whitespace
      ' {}',
      '{}\n',
      '[1.0]', // float
      '[1e3]',
      '[01]', // leading zero
      '[-0]',
      '[9007199254740993]', // past 2^53
      '["a\\nb"]', // an escape other than \" and \\
      '["\\u0041"]',
      '{"\u{1F600}":1,"\uFFFF":2}', // UTF-16 order, not code point order (U+FFFF < U+1F600)
      '[1,]',
      '{"a":1,}',
      'tru',
      '',
    ]) {
      assert.equal(checkCanonical(text).canonical, false, text);
    }
  });

  it('gives the spans of the top-level members', () => {
    const text = encodeCanonical({ signatures: [{ keyid: 'k', sig: 's' }], signed: { a: [1, 2], b: 'x' } });
    const { members } = checkCanonical(text);
    const span = members.get('signed');
    assert.ok(span);
    assert.equal(text.slice(span[0], span[1]), encodeCanonical({ a: [1, 2], b: 'x' }));
    assert.deepEqual([...members.keys()], ['signatures', 'signed']);
  });
});
