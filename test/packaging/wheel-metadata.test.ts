import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PackagingError, readWheelMetadata } from '../../src/packaging/index.js';
import type { PackagingErrorCode } from '../../src/packaging/index.js';
import { buildZip } from './zip-writer.js';
import type { ZipEntrySpec } from './zip-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-wheel-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function writeWheel(contents: Buffer | readonly ZipEntrySpec[]): string {
  const path = join(dir, `w${counter++}.whl`);
  writeFileSync(path, Buffer.isBuffer(contents) ? contents : buildZip(contents));
  return path;
}

const METADATA = 'Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.0.post1\nSummary: Test package\nRequires-Python: >=3.8\n\nThe description.\n';
const EXPECTED = { project: 'foo-bar', version: '1.0.post1' };

function wheelEntries(metadata: string | Buffer = METADATA, distInfo = 'foo_bar-1.0.post1.dist-info'): ZipEntrySpec[] {
  return [
    { name: 'foo_bar/__init__.py', data: 'x = 1\n' },
    { name: `${distInfo}/WHEEL`, data: 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n' },
    { name: `${distInfo}/METADATA`, data: metadata },
    { name: `${distInfo}/RECORD`, data: '' },
  ];
}

async function rejects(path: string, code: PackagingErrorCode, message: RegExp, limits?: { maxMetadataBytes?: number; maxEntries?: number }): Promise<void> {
  await assert.rejects(readWheelMetadata(path, EXPECTED, limits), (err: unknown) => {
    assert.ok(err instanceof PackagingError, `expected PackagingError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('readWheelMetadata', () => {
  it('returns the exact METADATA bytes and their parsed form (deflated)', async () => {
    const { bytes, metadata } = await readWheelMetadata(writeWheel(wheelEntries()), EXPECTED);
    assert.ok(bytes.equals(Buffer.from(METADATA, 'utf8')));
    assert.equal(metadata.name, 'Foo_Bar');
    assert.equal(metadata.version, '1.0.post1');
    assert.equal(metadata.requiresPython, '>=3.8');
    assert.equal(metadata.description, 'The description.\n');
  });

  it('reads stored entries and compares names and versions normalized', async () => {
    const entries = wheelEntries().map((e) => ({ ...e, method: 'store' as const }));
    const { bytes } = await readWheelMetadata(writeWheel(entries), { project: 'FOO.bar', version: '1.0-1' });
    assert.equal(bytes.toString('utf8'), METADATA);
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  it('reads a wheel written by Python zipfile', { skip: !python && 'python3 not available' }, async () => {
    const path = join(dir, 'py.whl');
    const script = [
      'import sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:',
      '    z.writestr("foo_bar/__init__.py", "")',
      '    z.writestr("foo_bar-1.0.post1.dist-info/METADATA", sys.argv[2])',
      '    z.writestr("foo_bar-1.0.post1.dist-info/RECORD", "")',
    ].join('\n');
    const result = spawnSync('python3', ['-c', script, path, METADATA]);
    assert.equal(result.status, 0, result.stderr.toString());
    const { bytes } = await readWheelMetadata(path, EXPECTED);
    assert.equal(bytes.toString('utf8'), METADATA);
  });

  it('rejects a file that is not a zip', async () => {
    await rejects(writeWheel(Buffer.from('this is not a zip file at all, just text')), 'BAD_ARCHIVE', /not a readable zip archive/);
  });

  it('rejects a truncated zip', async () => {
    const zip = buildZip(wheelEntries());
    await rejects(writeWheel(zip.subarray(0, zip.length - 30)), 'BAD_ARCHIVE', /not a readable zip archive/);
  });

  it('passes file system errors through unchanged', async () => {
    await assert.rejects(readWheelMetadata(join(dir, 'missing.whl'), EXPECTED), (err: unknown) => {
      assert.ok(!(err instanceof PackagingError));
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
  });

  it('rejects a wheel without a .dist-info directory', async () => {
    await rejects(writeWheel([{ name: 'foo_bar/__init__.py', data: '' }]), 'BAD_ARCHIVE', /no top-level \.dist-info/);
  });

  it('ignores .dist-info directories that are not at the top level', async () => {
    const entries = [{ name: 'vendor/foo_bar-1.0.post1.dist-info/METADATA', data: METADATA }];
    await rejects(writeWheel(entries), 'BAD_ARCHIVE', /no top-level \.dist-info/);
  });

  it('rejects a .dist-info directory without METADATA', async () => {
    const entries = wheelEntries().filter((e) => !e.name.endsWith('/METADATA'));
    await rejects(writeWheel(entries), 'BAD_ARCHIVE', /no foo_bar-1\.0\.post1\.dist-info\/METADATA/);
  });

  it('rejects two METADATA entries (same name, or differing only in case)', async () => {
    const dup = [...wheelEntries(), { name: 'foo_bar-1.0.post1.dist-info/METADATA', data: METADATA.replace('Test package', 'evil') }];
    await rejects(writeWheel(dup), 'BAD_ARCHIVE', /2 METADATA entries/);
    const caseDup = [...wheelEntries(), { name: 'foo_bar-1.0.post1.dist-info/metadata', data: METADATA }];
    await rejects(writeWheel(caseDup), 'BAD_ARCHIVE', /2 METADATA entries/);
  });

  it('rejects two .dist-info directories', async () => {
    const entries = [...wheelEntries(), { name: 'other-1.0.dist-info/METADATA', data: METADATA }];
    await rejects(writeWheel(entries), 'BAD_ARCHIVE', /2 \.dist-info directories/);
  });

  it('rejects a .dist-info directory for another project or version', async () => {
    await rejects(writeWheel(wheelEntries(METADATA, 'other-1.0.post1.dist-info')), 'BAD_ARCHIVE', /"other-1\.0\.post1\.dist-info" does not match/);
    await rejects(writeWheel(wheelEntries(METADATA, 'foo_bar-2.0.dist-info')), 'BAD_ARCHIVE', /does not match project "foo-bar" version "1\.0\.post1"/);
  });

  it('rejects METADATA naming another project or version', async () => {
    await rejects(writeWheel(wheelEntries(METADATA.replace('Name: Foo_Bar', 'Name: other'))), 'METADATA_MISMATCH', /Name "other".*"foo-bar"/);
    await rejects(writeWheel(wheelEntries(METADATA.replace('Version: 1.0.post1', 'Version: 1.0'))), 'METADATA_MISMATCH', /Version "1\.0".*"1\.0\.post1"/);
  });

  it('rejects METADATA that is not UTF-8 or not valid metadata', async () => {
    await rejects(writeWheel(wheelEntries(Buffer.from([0x4d, 0x65, 0xff, 0xfe, 0x0a]))), 'INVALID_METADATA', /not valid UTF-8/);
    await rejects(writeWheel(wheelEntries('Name: foo_bar\n')), 'INVALID_METADATA', /Metadata-Version/);
  });

  it('rejects entries with unsafe paths', async () => {
    await rejects(writeWheel([...wheelEntries(), { name: '../evil.py', data: '' }]), 'BAD_ARCHIVE', /not a readable zip archive/);
  });

  it('rejects METADATA larger than the limit', async () => {
    const big = METADATA + 'x'.repeat(5000);
    await rejects(writeWheel(wheelEntries(big)), 'BAD_ARCHIVE', /larger than the limit of 1000 bytes/, { maxMetadataBytes: 1000 });
  });

  it('stops inflating a zip bomb whose header understates its size', async () => {
    const bomb = Buffer.concat([Buffer.from(METADATA), Buffer.alloc(8 * 1024 * 1024, 0x20)]);
    const entries = wheelEntries();
    entries[2] = { name: 'foo_bar-1.0.post1.dist-info/METADATA', data: bomb, declaredSize: 100 };
    const start = performance.now();
    await rejects(writeWheel(entries), 'BAD_ARCHIVE', /METADATA" is corrupt or its size header is wrong/);
    await rejects(writeWheel(entries), 'BAD_ARCHIVE', /METADATA" is corrupt or its size header is wrong/, { maxMetadataBytes: 200 });
    // An honest header above the limit is refused before inflating anything.
    entries[2] = { name: 'foo_bar-1.0.post1.dist-info/METADATA', data: bomb };
    await rejects(writeWheel(entries), 'BAD_ARCHIVE', /larger than the limit of 4194304 bytes/);
    assert.ok(performance.now() - start < 5000);
  });

  it('rejects wheels with more entries than the limit', async () => {
    await rejects(writeWheel(wheelEntries()), 'BAD_ARCHIVE', /4 entries, more than the limit of 3/, { maxEntries: 3 });
  });

  it('rejects an invalid expected version before reading', async () => {
    await assert.rejects(readWheelMetadata(join(dir, 'missing.whl'), { project: 'foo-bar', version: 'latest' }), (err: unknown) => err instanceof PackagingError && err.code === 'INVALID_VERSION');
  });
});
