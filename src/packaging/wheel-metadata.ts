// Extracts a wheel's .dist-info/METADATA: the exact bytes (served verbatim as PEP 658
// metadata) and their parsed form. Wheels come from untrusted uploaders, so the reader
// caps the entry count and the bytes it inflates, and refuses ambiguous archives.

import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { parseCoreMetadata } from './core-metadata.js';
import type { CoreMetadata } from './core-metadata.js';
import { PackagingError, quote } from './errors.js';
import { normalizeProjectName } from './names.js';
import { isValidVersion, normalizeVersion } from './versions.js';

export type WheelMetadataLimits = { maxMetadataBytes?: number; maxEntries?: number };

const DEFAULT_MAX_METADATA_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 100_000;

function badArchive(why: string, cause?: unknown): PackagingError {
  return new PackagingError(
    'BAD_ARCHIVE',
    `Invalid wheel: ${why}. Rebuild the wheel with an up-to-date build tool (python -m build) and upload it again.`,
    cause === undefined ? undefined : { cause },
  );
}

/** Errors from the file system (ENOENT, EACCES, ...) are ours, not the uploader's: pass them on. */
function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

function asBadArchive(err: unknown): unknown {
  if (err instanceof PackagingError || isSystemError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return badArchive(`the file is not a readable zip archive (${quote(detail)})`, err);
}

/** Does a .dist-info directory name ({name}-{version}.dist-info) belong to this project and version? */
function distInfoMatches(dir: string, project: string, version: string): boolean {
  const stem = dir.slice(0, -'.dist-info'.length);
  const dash = stem.lastIndexOf('-');
  if (dash <= 0) return false;
  const dirVersion = stem.slice(dash + 1);
  return (
    normalizeProjectName(stem.slice(0, dash)) === normalizeProjectName(project) &&
    isValidVersion(dirVersion) &&
    normalizeVersion(dirVersion) === normalizeVersion(version)
  );
}

/** Walks the central directory once and returns the METADATA entry of the one .dist-info directory. */
async function findMetadataEntry(zip: ZipFile, expected: { project: string; version: string }, maxEntries: number): Promise<Entry> {
  if (zip.entryCount > maxEntries) throw badArchive(`it has ${zip.entryCount} entries, more than the limit of ${maxEntries}`);
  const distInfoDirs = new Set<string>();
  const metadataEntries: Entry[] = [];
  for await (const entry of zip.eachEntry()) {
    const slash = entry.fileName.indexOf('/');
    const top = slash === -1 ? '' : entry.fileName.slice(0, slash);
    if (!top.endsWith('.dist-info')) continue;
    distInfoDirs.add(top);
    // Compare case-insensitively: two entries differing only in case are ambiguous on
    // case-insensitive file systems.
    if (entry.fileName.slice(slash + 1).toLowerCase() === 'metadata') metadataEntries.push(entry);
  }

  // Like pip, insist on a single .dist-info directory; installers would refuse the wheel otherwise.
  const dirs = [...distInfoDirs].sort();
  if (dirs.length === 0) throw badArchive('it has no top-level .dist-info directory');
  if (dirs.length > 1) throw badArchive(`it has ${dirs.length} .dist-info directories (${dirs.map(quote).join(', ')}); a wheel must have exactly one`);
  const dir = dirs[0] ?? '';
  if (!distInfoMatches(dir, expected.project, expected.version)) {
    throw badArchive(`its directory ${quote(dir)} does not match project ${quote(expected.project)} version ${quote(expected.version)}`);
  }
  const [entry, ...extra] = metadataEntries;
  if (!entry) throw badArchive(`it has no ${dir}/METADATA file`);
  if (extra.length > 0) throw badArchive(`it has ${metadataEntries.length} METADATA entries in ${quote(dir)}; a wheel must have exactly one`);
  if (entry.fileName !== `${dir}/METADATA`) throw badArchive(`${quote(entry.fileName)} must be named ${quote(`${dir}/METADATA`)}`);
  return entry;
}

/** Inflates one entry, stopping as soon as it exceeds maxBytes whatever its header claims. */
async function readEntryCapped(zip: ZipFile, entry: Entry, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): PackagingError =>
    badArchive(`${quote(entry.fileName)} is larger than the limit of ${maxBytes} bytes`);
  if (entry.uncompressedSize > maxBytes) throw tooLarge();
  if (entry.isEncrypted()) throw badArchive(`${quote(entry.fileName)} is encrypted`);
  if (!entry.canDecodeFileData()) {
    throw badArchive(`${quote(entry.fileName)} uses zip compression method ${entry.compressionMethod}; only stored and deflated entries are supported`);
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
    throw badArchive(`${quote(entry.fileName)} is corrupt or its size header is wrong (${quote(detail)})`, err);
  }
  return Buffer.concat(chunks, total);
}

function checkMatches(metadata: CoreMetadata, expected: { project: string; version: string }): void {
  if (normalizeProjectName(metadata.name) !== normalizeProjectName(expected.project)) {
    throw new PackagingError(
      'METADATA_MISMATCH',
      `The wheel's METADATA says Name ${quote(metadata.name)}, but the upload is for project ${quote(expected.project)}. ` +
        'Rebuild the wheel so that its file name and metadata agree.',
    );
  }
  if (normalizeVersion(metadata.version) !== normalizeVersion(expected.version)) {
    throw new PackagingError(
      'METADATA_MISMATCH',
      `The wheel's METADATA says Version ${quote(metadata.version)}, but the upload is for version ${quote(expected.version)}. ` +
        'Rebuild the wheel so that its file name and metadata agree.',
    );
  }
}

/**
 * Reads and checks the METADATA of the wheel at `path`, which must belong to `expected`
 * (project and version compared normalized). Throws BAD_ARCHIVE for corrupt or ambiguous
 * wheels, INVALID_METADATA / METADATA_MISMATCH for bad or foreign metadata; file system
 * errors are rethrown unchanged.
 */
export async function readWheelMetadata(
  path: string,
  expected: { project: string; version: string },
  limits?: WheelMetadataLimits,
): Promise<{ bytes: Buffer; metadata: CoreMetadata }> {
  const maxBytes = limits?.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES;
  const maxEntries = limits?.maxEntries ?? DEFAULT_MAX_ENTRIES;
  // Fail on a bad expected version before touching the file; it is the caller's input.
  normalizeVersion(expected.version);

  let zip: ZipFile | undefined;
  let bytes: Buffer;
  try {
    zip = await yauzl.openPromise(path, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
      strictFileNames: true, // a backslash in an entry name is an error, not a separator
    });
    const entry = await findMetadataEntry(zip, expected, maxEntries);
    bytes = await readEntryCapped(zip, entry, maxBytes);
  } catch (err) {
    throw asBadArchive(err);
  } finally {
    zip?.close();
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PackagingError('INVALID_METADATA', 'Invalid package metadata: METADATA is not valid UTF-8. Rebuild the wheel with an up-to-date build tool (python -m build).');
  }
  const metadata = parseCoreMetadata(text);
  checkMatches(metadata, expected);
  return { bytes, metadata };
}
