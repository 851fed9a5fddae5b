// Checks that an sdist is the archive its name says and reads its PKG-INFO, as PyPI does
// before accepting one: a `.tar.gz` is gzip whose content is a tar archive, a `.zip` is a zip,
// and either holds `{name}-{version}/PKG-INFO` naming the upload's project and version. Sdists
// come from untrusted uploaders: the bytes inflated, the members and the PKG-INFO size are
// capped, and an archive with two PKG-INFO files (which one would an installer read?) is refused.

import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Entry } from 'yauzl';
import type { CoreMetadata } from './core-metadata.js';
import {
  asBadArchive,
  badArchive,
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_METADATA_BYTES,
  dirMatches,
  openZip,
  parseDistMetadata,
  readZipEntryCapped,
  type Expected,
} from './dist-archive.js';
import { quote } from './errors.js';
import { readTarMembers, TarFormatError } from './tar-reader.js';
import { normalizeVersion } from './versions.js';

export type SdistMetadataLimits = {
  maxMetadataBytes?: number;
  maxEntries?: number;
  /** Most bytes a .tar.gz may inflate to (its tar walked to the end). */
  maxUncompressedBytes?: number;
};

/** 1 GiB: ten times PyPI's default upload limit; inflating it costs about two seconds of one core. */
const DEFAULT_MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024;

/** `dir/PKG-INFO` one level down: the only place an sdist's metadata may be. */
function pkgInfoDir(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length === 2 && parts[1] === 'PKG-INFO' && parts[0] !== '' ? parts[0] : undefined;
}

/** Picks the one PKG-INFO of the project's top directory among those found. */
function theOnePkgInfo<T>(found: readonly { dir: string; item: T }[], expected: Expected): T {
  if (found.length === 0) throw badArchive('sdist', 'it has no PKG-INFO in a top-level {name}-{version}/ directory');
  const [first, ...more] = found;
  if (more.length > 0) throw badArchive('sdist', `it has ${found.length} top-level PKG-INFO files (${found.map((f) => quote(`${f.dir}/PKG-INFO`)).join(', ')}); an sdist must have exactly one`);
  if (!first || !dirMatches(first.dir, '', expected)) {
    throw badArchive('sdist', `its directory ${quote(first?.dir ?? '')} does not match project ${quote(expected.project)} version ${quote(expected.version)}`);
  }
  return first.item;
}

async function tarGzPkgInfo(path: string, expected: Expected, limits: Required<SdistMetadataLimits>): Promise<Buffer> {
  const source = createReadStream(path);
  const gunzip = createGunzip();
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  let members;
  try {
    members = await readTarMembers(gunzip, (m) => pkgInfoDir(m.path) !== undefined, {
      maxBytes: limits.maxUncompressedBytes,
      maxEntries: limits.maxEntries,
      maxMemberBytes: limits.maxMetadataBytes,
    });
  } catch (err) {
    if (err instanceof TarFormatError) throw badArchive('sdist', `the .tar.gz is not a valid tar archive: ${err.message}`, err);
    throw asBadArchive('sdist', err, 'a gzip-compressed tar archive');
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  const found = members.map((m) => ({ dir: pkgInfoDir(m.member.path) ?? '', item: m }));
  const pkgInfo = theOnePkgInfo(found, expected);
  if (pkgInfo.member.type !== '0' && pkgInfo.member.type !== '7') throw badArchive('sdist', `${quote(pkgInfo.member.path)} is not a regular file`);
  return pkgInfo.data;
}

async function zipPkgInfo(path: string, expected: Expected, limits: Required<SdistMetadataLimits>): Promise<Buffer> {
  const zip = await openZip(path).catch((err: unknown) => {
    throw asBadArchive('sdist', err, 'a readable zip archive');
  });
  try {
    if (zip.entryCount > limits.maxEntries) throw badArchive('sdist', `it has ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}`);
    const found: { dir: string; item: Entry }[] = [];
    for await (const entry of zip.eachEntry()) {
      const dir = pkgInfoDir(entry.fileName);
      if (dir !== undefined) found.push({ dir, item: entry });
    }
    return await readZipEntryCapped('sdist', zip, theOnePkgInfo(found, expected), limits.maxMetadataBytes);
  } catch (err) {
    throw asBadArchive('sdist', err, 'a readable zip archive');
  } finally {
    zip.close();
  }
}

/**
 * Reads and checks the PKG-INFO of the sdist at `path` (named `filename`: .tar.gz or .zip),
 * which must belong to `expected` (project and version compared normalized). Throws
 * BAD_ARCHIVE for anything that is not such an archive, INVALID_METADATA / METADATA_MISMATCH
 * for bad or foreign metadata; file system errors are rethrown unchanged.
 */
export async function readSdistMetadata(
  path: string,
  filename: string,
  expected: Expected,
  limits?: SdistMetadataLimits,
): Promise<{ bytes: Buffer; metadata: CoreMetadata }> {
  normalizeVersion(expected.version); // the caller's input: fail before touching the file
  const all: Required<SdistMetadataLimits> = {
    maxMetadataBytes: limits?.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES,
    maxEntries: limits?.maxEntries ?? DEFAULT_MAX_ENTRIES,
    maxUncompressedBytes: limits?.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES,
  };
  let bytes: Buffer;
  if (filename.endsWith('.tar.gz')) bytes = await tarGzPkgInfo(path, expected, all);
  else if (filename.endsWith('.zip')) bytes = await zipPkgInfo(path, expected, all);
  else throw badArchive('sdist', `${quote(filename)} is neither a .tar.gz nor a .zip`);
  return { bytes, metadata: parseDistMetadata('sdist', 'PKG-INFO', bytes, expected) };
}
