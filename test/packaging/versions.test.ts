import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackagingError, compareVersions, isValidVersion, normalizeVersion } from '../../src/packaging/index.js';

// Expected normal forms are what packaging's Version(...).__str__ prints (checked with packaging 26).
const NORMALIZED: Array<[string, string]> = [
  ['1.0', '1.0'],
  ['1.0.0', '1.0.0'],
  ['v1.0', '1.0'],
  ['V1.0RC01', '1.0rc1'],
  ['1.0-1', '1.0.post1'],
  ['1.0_post2', '1.0.post2'],
  ['1.0.post', '1.0.post0'],
  ['1.0-r3', '1.0.post3'],
  ['1.0rev4', '1.0.post4'],
  ['1.0a', '1.0a0'],
  ['1.0alpha2', '1.0a2'],
  ['1.0.beta.3', '1.0b3'],
  ['1.0c1', '1.0rc1'],
  ['1.0pre', '1.0rc0'],
  ['1.0preview5', '1.0rc5'],
  ['1.0-dev7', '1.0.dev7'],
  ['1.0dev', '1.0.dev0'],
  ['1.0a1-dev1', '1.0a1.dev1'],
  ['1.0+ABC.5', '1.0+abc.5'],
  ['1.0+abc-01_x', '1.0+abc.1.x'],
  ['0!1.0', '1.0'],
  ['01!02.03', '1!2.3'],
  ['2024.01.02', '2024.1.2'],
  ['99999999999999999999999.0', '99999999999999999999999.0'],
];

describe('normalizeVersion', () => {
  for (const [input, expected] of NORMALIZED) {
    it(`${input} -> ${expected}`, () => assert.equal(normalizeVersion(input), expected));
  }
  it('throws INVALID_VERSION with advice for a non-PEP 440 version', () => {
    assert.throws(
      () => normalizeVersion('1.0-foo'),
      (err: unknown) =>
        err instanceof PackagingError && err.code === 'INVALID_VERSION' && /"1\.0-foo"/.test(err.message) && /PEP 440/.test(err.message),
    );
  });
});

describe('isValidVersion', () => {
  for (const [v] of NORMALIZED) it(`accepts ${v}`, () => assert.equal(isValidVersion(v), true));
  const bad = ['', 'abc', '1.0+', '1.0..1', '1.0a1a2', '1.0-', '1.0+a..b', '1.0 ', ' 1.0', '1.0\n', 'vv1.0', '1.0-1-1', '1.0+ä', '1,0', '1.0/../x'];
  for (const v of bad) it(`rejects ${JSON.stringify(v)}`, () => assert.equal(isValidVersion(v), false));
});

describe('compareVersions (PEP 440 ordering)', () => {
  it('sorts a release list in PEP 440 order', () => {
    // Each entry is strictly greater than the one before (from the PEP 440 examples).
    const ordered = [
      '1.0.dev456',
      '1.0a1',
      '1.0a2.dev456',
      '1.0a12.dev456',
      '1.0a12',
      '1.0b1.dev456',
      '1.0b2',
      '1.0b2.post345.dev456',
      '1.0b2.post345',
      '1.0rc1.dev456',
      '1.0rc1',
      '1.0',
      '1.0+abc.5',
      '1.0+abc.7',
      '1.0+5',
      '1.0.post456.dev34',
      '1.0.post456',
      '1.0.15',
      '1.1.dev1',
      '2.0',
      '10.0',
      '2024.1',
      '1!0.1',
    ];
    const shuffled = [...ordered].reverse();
    shuffled.push(shuffled.shift() ?? '');
    assert.deepEqual(shuffled.sort(compareVersions), ordered);
    for (let i = 1; i < ordered.length; i++) {
      assert.equal(compareVersions(ordered[i - 1] ?? '', ordered[i] ?? ''), -1, `${ordered[i - 1]} < ${ordered[i]}`);
      assert.equal(compareVersions(ordered[i] ?? '', ordered[i - 1] ?? ''), 1);
    }
  });

  it('treats different spellings and trailing zeros as equal', () => {
    for (const [a, b] of [['1.0', '1.0.0'], ['1', '1.0.0.0'], ['v1.0-1', '1.0.post1'], ['0!1.0', '1.0'], ['1.0RC1', '1.0c1'], ['1.0+01', '1.0+1']]) {
      assert.equal(compareVersions(a ?? '', b ?? ''), 0, `${a} == ${b}`);
    }
  });

  it('compares huge numbers exactly', () => {
    assert.equal(compareVersions('99999999999999999999998', '99999999999999999999999'), -1);
    assert.equal(compareVersions('20240101000000.1', '20240101000000.01'), 0);
  });

  it('orders local versions: strings before numbers, longer wins on a common prefix', () => {
    assert.equal(compareVersions('1.0+a', '1.0+1'), -1);
    assert.equal(compareVersions('1.0+abc', '1.0+abc.1'), -1);
    assert.equal(compareVersions('1.0+9', '1.0+10'), -1);
    assert.equal(compareVersions('1.0', '1.0+a'), -1);
  });

  it('sorts invalid versions first without throwing', () => {
    assert.deepEqual(['2.0', 'not-a-version', '1.0', 'bogus'].sort(compareVersions), ['bogus', 'not-a-version', '1.0', '2.0']);
  });
});
