import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackagingError, checkFilenameMatches, parseDistributionFilename } from '../../src/packaging/index.js';
import type { DistributionFilename, PackagingErrorCode } from '../../src/packaging/index.js';

function throwsCode(fn: () => unknown, code: PackagingErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PackagingError, `expected PackagingError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('parseDistributionFilename: wheels', () => {
  const cases: Array<[string, DistributionFilename]> = [
    ['foo-1.0-py3-none-any.whl', { filename: 'foo-1.0-py3-none-any.whl', packagetype: 'bdist_wheel', project: 'foo', version: '1.0', pythonTag: 'py3' }],
    [
      'Foo_Bar-2.0.post1-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
      {
        filename: 'Foo_Bar-2.0.post1-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
        packagetype: 'bdist_wheel',
        project: 'foo-bar',
        version: '2.0.post1',
        pythonTag: 'cp311',
      },
    ],
    ['zope.interface-6.0-py2.py3-none-any.whl', { filename: 'zope.interface-6.0-py2.py3-none-any.whl', packagetype: 'bdist_wheel', project: 'zope-interface', version: '6.0', pythonTag: 'py2.py3' }],
    ['torch-2.0.0+cpu-cp310-cp310-win_amd64.whl', { filename: 'torch-2.0.0+cpu-cp310-cp310-win_amd64.whl', packagetype: 'bdist_wheel', project: 'torch', version: '2.0.0+cpu', pythonTag: 'cp310' }],
  ];
  for (const [name, expected] of cases) {
    it(`parses ${name}`, () => assert.deepEqual(parseDistributionFilename(name), expected));
  }

  const bad: Array<[string, RegExp]> = [
    ['foo-bar-1.0-py3-none-any.whl', /"bar" is not a valid PEP 440 version.*'_'/],
    ['foo-1.0-py3-none.whl', /\{name\}-\{version\}/],
    ['foo-1.0-x1-py3-none-any.whl', /build tag "x1"/],
    ['foo-1.0-a-b-c-py3-none-any.whl', /\{name\}-\{version\}/],
    ['foo-1.0-py3-none-any$.whl', /"any\$" is not a valid wheel compatibility tag/],
    ['foo-1.0-py3--any.whl', /"" is not a valid wheel compatibility tag/],
    ['foo_-1.0-py3-none-any.whl', /"foo_" is not a valid project name/],
    ['foo-1.0-py3-none-any.WHL', /lower case/],
  ];
  for (const [name, message] of bad) {
    it(`rejects ${name}`, () => throwsCode(() => parseDistributionFilename(name), 'INVALID_FILENAME', message));
  }
});

describe('parseDistributionFilename: sdists', () => {
  const cases: Array<[string, string, string]> = [
    ['foo-1.0.tar.gz', 'foo', '1.0'],
    ['foo_bar-1.0.tar.gz', 'foo-bar', '1.0'],
    ['foo-bar-1.0.tar.gz', 'foo-bar', '1.0'],
    ['Foo.Bar-1.0rc1.tar.gz', 'foo-bar', '1.0rc1'],
    ['legacy-2.3.zip', 'legacy', '2.3'],
    // The last '-' that leaves a valid version wins, as in packaging.utils.parse_sdist_filename.
    ['foo-1.0-1.tar.gz', 'foo-1-0', '1'],
    // ... falling back to an earlier '-' when the rest is not a version.
    ['foo-1.0-beta.tar.gz', 'foo', '1.0-beta'],
  ];
  for (const [name, project, version] of cases) {
    it(`parses ${name}`, () => assert.deepEqual(parseDistributionFilename(name), { filename: name, packagetype: 'sdist', project, version }));
  }
  for (const name of ['foo.tar.gz', 'foo-.tar.gz', 'foo-bar.tar.gz', '-1.0.tar.gz', 'foo_-1.0.tar.gz', 'foo 1.0.tar.gz']) {
    it(`rejects ${name}`, () => throwsCode(() => parseDistributionFilename(name), 'INVALID_FILENAME', /\{name\}-\{version\}\.tar\.gz/));
  }
  const refused: Array<[string, RegExp]> = [
    ['foo-1.0.tar.bz2', /must be \.tar\.gz/],
    ['foo-1.0.tgz', /not \.tgz/],
    ['foo-1.0-py3.7.egg', /egg files are no longer accepted.*wheel/],
    ['foo-1.0.win32.exe', /Windows installers/],
    ['foo-1.0.rpm', /only wheels \(\.whl\) and source distributions \(\.tar\.gz\)/],
    ['foo-1.0.TAR.GZ', /lower case/],
  ];
  for (const [name, message] of refused) {
    it(`refuses ${name} with advice`, () => throwsCode(() => parseDistributionFilename(name), 'INVALID_FILENAME', message));
  }
});

describe('parseDistributionFilename: unsafe names', () => {
  const unsafe: Array<[string, RegExp]> = [
    ['../foo-1.0.tar.gz', /path separator/],
    ['dir/foo-1.0.tar.gz', /path separator/],
    ['dir\\foo-1.0.tar.gz', /path separator/],
    ['foo-1.0\0.tar.gz', /control or non-ASCII/],
    ['foo-1.0\n.tar.gz', /control or non-ASCII/],
    ['foo-1.0\x7f.tar.gz', /control or non-ASCII/],
    ['föo-1.0.tar.gz', /control or non-ASCII/],
    ['.foo-1.0.tar.gz', /starts with '\.'/],
    ['foo-1.0..tar.gz', /contains '\.\.'/],
    [`${'a'.repeat(250)}-1.0.tar.gz`, /longer than 190/],
    [`${'z'.repeat(188)}-1.0.tar.gz`, /longer than 190/], // a real PyPI name: hash-named, too long to store
  ];
  for (const [name, message] of unsafe) {
    it(`rejects ${JSON.stringify(name.slice(0, 30))}`, () => throwsCode(() => parseDistributionFilename(name), 'UNSAFE_FILENAME', message));
  }
  it('does not echo control characters back in the message', () => {
    assert.throws(
      () => parseDistributionFilename('foo\r\n-1.0.tar.gz'),
      (err: unknown) => err instanceof PackagingError && !/[\r\n]/.test(err.message) && err.message.includes('foo\\x0d\\x0a-1.0'),
    );
  });
  it('rejects the empty name', () => throwsCode(() => parseDistributionFilename(''), 'INVALID_FILENAME'));
});

describe('checkFilenameMatches', () => {
  const wheel = parseDistributionFilename('Foo_Bar-1.0.post1-py3-none-any.whl');
  it('accepts the same project and version in other spellings', () => {
    checkFilenameMatches(wheel, 'foo.bar', '1.0-1');
    checkFilenameMatches(wheel, 'FOO-BAR', 'v1.0.POST1');
  });
  it('rejects another project', () =>
    throwsCode(() => checkFilenameMatches(wheel, 'foobar', '1.0.post1'), 'FILENAME_PROJECT_MISMATCH', /"foo-bar".*"foobar"/));
  it('rejects another version', () =>
    throwsCode(() => checkFilenameMatches(wheel, 'foo-bar', '1.0'), 'FILENAME_VERSION_MISMATCH', /"1\.0\.post1".*"1\.0"/));
  it('rejects an invalid form version', () => throwsCode(() => checkFilenameMatches(wheel, 'foo-bar', 'latest'), 'INVALID_VERSION'));
  it('works for sdists', () => {
    const sdist = parseDistributionFilename('foo-bar-2.0.tar.gz');
    checkFilenameMatches(sdist, 'Foo_Bar', '2.0');
    throwsCode(() => checkFilenameMatches(sdist, 'foo-bar', '2.0.1'), 'FILENAME_VERSION_MISMATCH');
  });
});
