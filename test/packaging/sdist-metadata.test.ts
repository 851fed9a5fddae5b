// An sdist must be the archive its name says, with its PKG-INFO where installers look for it
// (issue 13, finding 6): hostile and mislabelled archives are refused with BAD_ARCHIVE, and a
// compression bomb costs no more than the limits.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PackagingError, readSdistMetadata, type PackagingErrorCode, type SdistMetadataLimits } from '../../src/packaging/index.js';
import { buildDist } from '../helpers/dists.js';
import { buildTar, coreMetadata, memorySdist, memoryWheel, type TarMember } from '../helpers/memory-dists.js';
import { buildZip } from './zip-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-sdist-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const EXPECTED = { project: 'demo', version: '1.0' };
const PKG_INFO = coreMetadata({ name: 'demo', version: '1.0', requiresPython: '>=3.8', summary: 'A demo' });

let counter = 0;
function write(bytes: Buffer): string {
  const path = join(dir, `s${counter++}`);
  writeFileSync(path, bytes);
  return path;
}
const tarGz = (members: TarMember[]) => write(gzipSync(buildTar(members)));

async function rejects(path: string, filename: string, code: PackagingErrorCode, message: RegExp, limits?: SdistMetadataLimits): Promise<void> {
  await assert.rejects(readSdistMetadata(path, filename, EXPECTED, limits), (err: unknown) => {
    assert.ok(err instanceof PackagingError, `expected PackagingError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('readSdistMetadata', () => {
  it('reads PKG-INFO from a .tar.gz', async () => {
    const { bytes, metadata } = await readSdistMetadata(tarGz([{ name: 'demo-1.0/', type: '5' }, { name: 'demo-1.0/PKG-INFO', data: PKG_INFO }]), 'demo-1.0.tar.gz', EXPECTED);
    assert.equal(bytes.toString('utf8'), PKG_INFO);
    assert.equal(metadata.requiresPython, '>=3.8');
    assert.equal(metadata.summary, 'A demo');
  });

  it('reads the sdists Python writes (make_dist.py: tarfile, PAX format), and a pax path', async () => {
    const [sdist] = await buildDist({ name: 'Demo_Pkg', version: '2.0', kind: 'sdist', requiresPython: '>=3.9', outDir: dir });
    const { metadata } = await readSdistMetadata(sdist as string, 'demo_pkg-2.0.tar.gz', { project: 'demo-pkg', version: '2.0' });
    assert.equal(metadata.requiresPython, '>=3.9');
    const pax = `26 path=demo-1.0/PKG-INFO\n`; // the length counts its own two digits
    const viaPax = await readSdistMetadata(tarGz([{ name: 'PaxHeader', type: 'x', data: pax }, { name: 'something-else', data: PKG_INFO }]), 'demo-1.0.tar.gz', EXPECTED);
    assert.equal(viaPax.metadata.name, 'demo');
  });

  it('reads PKG-INFO from a .zip sdist', async () => {
    const { metadata } = await readSdistMetadata(write(buildZip([{ name: 'demo-1.0/PKG-INFO', data: PKG_INFO }])), 'demo-1.0.zip', EXPECTED);
    assert.equal(metadata.version, '1.0');
  });

  const refusals: { name: string; bytes: () => Buffer; filename?: string; code?: PackagingErrorCode; message: RegExp; limits?: SdistMetadataLimits }[] = [
    { name: 'an empty file', bytes: () => Buffer.alloc(0), message: /not a gzip-compressed tar archive/ },
    { name: 'zip bytes named .tar.gz', bytes: () => memoryWheel({ name: 'demo', version: '1.0' }).bytes, message: /not a gzip-compressed tar archive/ },
    { name: 'gzip of something that is not a tar', bytes: () => gzipSync(Buffer.from('just text, no tar header here '.repeat(40))), message: /not a valid tar archive: .*checksum/ },
    { name: 'a tar.gz without PKG-INFO', bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/setup.py', data: '' }])), message: /no PKG-INFO/ },
    { name: 'PKG-INFO deeper down only', bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/sub/PKG-INFO', data: PKG_INFO }])), message: /no PKG-INFO/ },
    { name: 'PKG-INFO under another release', bytes: () => gzipSync(buildTar([{ name: 'demo-2.0/PKG-INFO', data: PKG_INFO }])), message: /directory "demo-2\.0" does not match/ },
    {
      name: 'two PKG-INFO files',
      bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/PKG-INFO', data: PKG_INFO }, { name: 'demo-1.0/PKG-INFO', data: PKG_INFO.replace('A demo', 'Other') }])),
      message: /2 top-level PKG-INFO/,
    },
    { name: 'PKG-INFO as a symlink', bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/PKG-INFO', type: '2' }])), message: /not a regular file/ },
    { name: 'a truncated archive', bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/PKG-INFO', data: 'x'.repeat(3000) }]).subarray(0, 1536)), message: /truncated/ },
    {
      name: 'a gzip bomb (inflates past the limit)',
      bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/big', data: Buffer.alloc(8 * 1024 * 1024) }, { name: 'demo-1.0/PKG-INFO', data: PKG_INFO }])),
      limits: { maxUncompressedBytes: 1024 * 1024 },
      message: /larger than the limit of 1048576 bytes uncompressed/,
    },
    { name: 'too many members', bytes: () => gzipSync(buildTar(Array.from({ length: 20 }, (_, i) => ({ name: `demo-1.0/f${i}`, data: '' })))), limits: { maxEntries: 10 }, message: /more than 10 members/ },
    { name: 'a huge PKG-INFO', bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/PKG-INFO', data: PKG_INFO + 'x'.repeat(5000) }])), limits: { maxMetadataBytes: 4096 }, message: /larger than the limit of 4096/ },
    { name: 'gzip bytes named .zip', bytes: () => memorySdist({ name: 'demo', version: '1.0' }).bytes, filename: 'demo-1.0.zip', message: /not a readable zip archive/ },
    { name: 'PKG-INFO of another project', bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/PKG-INFO', data: PKG_INFO.replace('Name: demo', 'Name: other') }])), code: 'METADATA_MISMATCH', message: /says Name "other"/ },
    {
      name: 'a Requires-Python that is not a specifier',
      bytes: () => gzipSync(buildTar([{ name: 'demo-1.0/PKG-INFO', data: PKG_INFO.replace('>=3.8', 'python 3 please') }])),
      code: 'INVALID_METADATA',
      message: /Requires-Python "python 3 please"/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}`, async () => {
      await rejects(write(r.bytes()), r.filename ?? 'demo-1.0.tar.gz', r.code ?? 'BAD_ARCHIVE', r.message, r.limits);
    });
  }
});
