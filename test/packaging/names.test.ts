import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidProjectName, normalizeProjectName } from '../../src/packaging/index.js';

describe('normalizeProjectName (PEP 503)', () => {
  const cases: Array<[string, string]> = [
    ['Django', 'django'],
    ['zope.interface', 'zope-interface'],
    ['Foo__Bar', 'foo-bar'],
    ['foo-_.-bar', 'foo-bar'],
    ['FOO.BAR_baz-Qux', 'foo-bar-baz-qux'],
    ['a', 'a'],
  ];
  for (const [input, expected] of cases) {
    it(`${input} -> ${expected}`, () => assert.equal(normalizeProjectName(input), expected));
  }
});

describe('isValidProjectName', () => {
  for (const name of ['a', 'A1', 'requests', 'zope.interface', 'Foo_Bar-baz', '1', 'x'.repeat(200)]) {
    it(`accepts ${name.slice(0, 20)}`, () => assert.equal(isValidProjectName(name), true));
  }
  const bad = ['', '-foo', 'foo-', '.foo', 'foo_', 'foo bar', 'foo/bar', 'föö', 'foo\n', '../etc', 'x'.repeat(201), 'foo+bar', 'a!'];
  for (const name of bad) {
    it(`rejects ${JSON.stringify(name.slice(0, 20))}`, () => assert.equal(isValidProjectName(name), false));
  }
});
