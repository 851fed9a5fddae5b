// What the wheel and sdist readers share: the limits that keep an archive bomb from costing
// more than a bounded amount of memory and CPU, reading one zip entry within them, the errors
// an uploader sees, and checking that the core metadata found belongs to the upload.

import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { parseCoreMetadata } from './core-metadata.js';
import type { CoreMetadata } from './core-metadata.js';
import { PackagingError, quote } from './errors.js';
import { normalizeProjectName } from './names.js';
import { isValidSpecifierSet } from './specifiers.js';
import { isValidVersion, normalizeVersion } from './versions.js';

export type DistKind = 'wheel' | 'sdist';

/** Largest METADATA / PKG-INFO read (bytes). */
export const DEFAULT_MAX_METADATA_BYTES = 4 * 1024 * 1024;
/** Most entries an archive may have. */
export const DEFAULT_MAX_ENTRIES = 100_000;

export interface Expected {
  project: string;
  version: string;
}

const ADVICE: Record<DistKind, string> = {
  wheel: 'Invalid wheel: %s. Rebuild the wheel with an up-to-date build tool (python -m build) and upload it again.',
  sdist: 'Invalid source distribution: %s. Rebuild it with an up-to-date build tool (python -m build --sdist) and upload it again.',
};

export function badArchive(kind: DistKind, why: string, cause?: unknown): PackagingError {
  return new PackagingError('BAD_ARCHIVE', ADVICE[kind].replace('%s', why), cause === undefined ? undefined : { cause });
}

/** Errors from the file system (ENOENT, EACCES, ...) are ours, not the uploader's: pass them on. */
function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** Anything a parser throws on hostile bytes becomes BAD_ARCHIVE; our own failures pass through. */
export function asBadArchive(kind: DistKind, err: unknown, what: string): unknown {
  if (err instanceof PackagingError || isSystemError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return badArchive(kind, `the file is not ${what} (${quote(detail)})`, err);
}

/** Opens a zip for entry-by-entry reading, strict about sizes and names. */
export function openZip(path: string): Promise<ZipFile> {
  return yauzl.openPromise(path, {
    lazyEntries: true,
    autoClose: false,
    validateEntrySizes: true,
    strictFileNames: true, // a backslash in an entry name is an error, not a separator
  });
}

/** Inflates one zip entry, stopping as soon as it exceeds maxBytes whatever its header claims. */
export async function readZipEntryCapped(kind: DistKind, zip: ZipFile, entry: Entry, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): PackagingError => badArchive(kind, `${quote(entry.fileName)} is larger than the limit of ${maxBytes} bytes`);
  if (entry.uncompressedSize > maxBytes) throw tooLarge();
  if (entry.isEncrypted()) throw badArchive(kind, `${quote(entry.fileName)} is encrypted`);
  if (!entry.canDecodeFileData()) {
    throw badArchive(kind, `${quote(entry.fileName)} uses zip compression method ${entry.compressionMethod}; only stored and deflated entries are supported`);
  }
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    // yauzl (validateEntrySizes) already fails once the data outgrows the declared size;
    // this cap is a second line of defence against a lying header.
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    stream.destroy(); // stop inflating now
    if (err instanceof PackagingError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw badArchive(kind, `${quote(entry.fileName)} is corrupt or its size header is wrong (${quote(detail)})`, err);
  }
  return Buffer.concat(chunks, total);
}

/** Does a directory name `{name}-{version}` (after removing `suffix`) belong to this project and version? */
export function dirMatches(dir: string, suffix: string, expected: Expected): boolean {
  if (!dir.endsWith(suffix)) return false;
  const stem = dir.slice(0, dir.length - suffix.length);
  const dash = stem.lastIndexOf('-');
  if (dash <= 0) return false;
  const dirVersion = stem.slice(dash + 1);
  return (
    normalizeProjectName(stem.slice(0, dash)) === normalizeProjectName(expected.project) &&
    isValidVersion(dirVersion) &&
    normalizeVersion(dirVersion) === normalizeVersion(expected.version)
  );
}

/** Decodes and parses METADATA / PKG-INFO, and checks that it names the upload's project and version. */
export function parseDistMetadata(kind: DistKind, file: 'METADATA' | 'PKG-INFO', bytes: Buffer, expected: Expected): CoreMetadata {
  const what = kind === 'wheel' ? 'wheel' : 'source distribution';
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PackagingError('INVALID_METADATA', `Invalid package metadata: ${file} is not valid UTF-8. Rebuild the ${what} with an up-to-date build tool (python -m build).`);
  }
  const metadata = parseCoreMetadata(text);
  if (normalizeProjectName(metadata.name) !== normalizeProjectName(expected.project)) {
    throw new PackagingError(
      'METADATA_MISMATCH',
      `The ${what}'s ${file} says Name ${quote(metadata.name)}, but the upload is for project ${quote(expected.project)}. ` +
        `Rebuild the ${what} so that its file name and metadata agree.`,
    );
  }
  if (normalizeVersion(metadata.version) !== normalizeVersion(expected.version)) {
    throw new PackagingError(
      'METADATA_MISMATCH',
      `The ${what}'s ${file} says Version ${quote(metadata.version)}, but the upload is for version ${quote(expected.version)}. ` +
        `Rebuild the ${what} so that its file name and metadata agree.`,
    );
  }
  if (metadata.requiresPython !== undefined && metadata.requiresPython !== '' && !isValidSpecifierSet(metadata.requiresPython)) {
    throw new PackagingError(
      'INVALID_METADATA',
      `Invalid package metadata: Requires-Python ${quote(metadata.requiresPython)} in ${file} is not a PEP 440 version specifier (such as ">=3.8"). Fix it and rebuild the ${what}.`,
    );
  }
  return metadata;
}
