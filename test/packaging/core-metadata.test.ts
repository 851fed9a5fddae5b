import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackagingError, parseCoreMetadata } from '../../src/packaging/index.js';

function invalid(text: string, message: RegExp): void {
  assert.throws(
    () => parseCoreMetadata(text),
    (err: unknown) => err instanceof PackagingError && err.code === 'INVALID_METADATA' && message.test(err.message),
  );
}

describe('parseCoreMetadata', () => {
  it('parses a metadata 2.1 file with the description in the body', () => {
    const text = [
      'Metadata-Version: 2.1',
      'Name: Foo_Bar',
      'Version: 1.0.post1',
      'Summary: A  summary ',
      'Requires-Python: >=3.8',
      'Classifier: Programming Language :: Python :: 3',
      'Classifier: License :: OSI Approved :: MIT License',
      'Requires-Dist: requests (>=2.0)',
      'Description-Content-Type: text/markdown',
      'License: line one',
      '        line two',
      '',
      '# Foo',
      '',
      'Body: not a header.',
      '',
    ].join('\n');
    const m = parseCoreMetadata(text);
    assert.equal(m.metadataVersion, '2.1');
    assert.equal(m.name, 'Foo_Bar');
    assert.equal(m.version, '1.0.post1');
    assert.equal(m.summary, 'A  summary');
    assert.equal(m.requiresPython, '>=3.8');
    assert.equal(m.descriptionContentType, 'text/markdown');
    assert.equal(m.description, '# Foo\n\nBody: not a header.\n');
    assert.deepEqual(m.headers.get('classifier'), ['Programming Language :: Python :: 3', 'License :: OSI Approved :: MIT License']);
    assert.deepEqual(m.headers.get('requires-dist'), ['requests (>=2.0)']);
    assert.deepEqual(m.headers.get('license'), ['line one\n        line two']);
    assert.equal(m.headers.get('body'), undefined);
  });

  it('handles CRLF line endings and a BOM, and leaves optional fields absent', () => {
    const m = parseCoreMetadata('\ufeffMetadata-Version: 1.0\r\nName: x\r\nVersion: 2\r\n');
    assert.deepEqual({ ...m, headers: [...m.headers] }, {
      metadataVersion: '1.0',
      name: 'x',
      version: '2',
      headers: [['metadata-version', ['1.0']], ['name', ['x']], ['version', ['2']]],
    });
    assert.equal('summary' in m, false);
    assert.equal('description' in m, false);
  });

  it('unfolds a legacy Description header (8 spaces, or 7 spaces and |)', () => {
    const text = 'Metadata-Version: 1.1\nName: x\nVersion: 1\nDescription: Title\n        =====\n       |\n       |    indented\n\n';
    assert.equal(parseCoreMetadata(text).description, 'Title\n=====\n\n    indented');
  });

  it('rejects missing required fields', () => {
    invalid('Name: x\nVersion: 1\n', /required Metadata-Version field is missing/);
    invalid('Metadata-Version: 2.1\nVersion: 1\n', /required Name field is missing/);
    invalid('Metadata-Version: 2.1\nName: x\n', /required Version field is missing/);
    invalid('Metadata-Version: 2.1\nName: x\nVersion:\n', /required Version field is missing/);
    // Headers after the blank line are body text, not headers.
    invalid('Metadata-Version: 2.1\nName: x\n\nVersion: 1\n', /required Version field is missing/);
  });

  it('rejects invalid or duplicated identity fields', () => {
    invalid('Metadata-Version: 2.1\nName: x y\nVersion: 1\n', /Name "x y" is not a valid project name/);
    invalid('Metadata-Version: 2.1\nName: x\nVersion: one\n', /Version "one" is not a valid PEP 440 version/);
    invalid('Metadata-Version: two\nName: x\nVersion: 1\n', /Metadata-Version "two"/);
    invalid('Metadata-Version: 2.1\nName: x\nName: y\nVersion: 1\n', /Name field appears 2 times/);
  });

  it('rejects malformed header lines with their line number', () => {
    invalid(' Name: x\n', /line 1 is indented/);
    invalid('Metadata-Version: 2.1\nthis is not a header\n', /line 2 is not a "Name: value" header/);
    invalid('Metadata-Version: 2.1\nBad Name: x\n', /line 2/);
  });

  it('is linear: a large input parses quickly', () => {
    const text = 'Metadata-Version: 2.1\nName: x\nVersion: 1\n' + 'Classifier: a\n'.repeat(200_000) + '\n' + 'y'.repeat(4_000_000);
    const start = performance.now();
    const m = parseCoreMetadata(text);
    assert.equal(m.headers.get('classifier')?.length, 200_000);
    assert.ok(performance.now() - start < 2000);
  });
});
