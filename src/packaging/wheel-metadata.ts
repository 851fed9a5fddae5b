// Extracts a wheel's .dist-info/METADATA: the exact bytes (served verbatim as PEP 658
// metadata) and their parsed form. Wheels come from untrusted uploaders, so the reader
// caps the entry count and the bytes it inflates, and refuses ambiguous archives.

import type { Entry, ZipFile } from 'yauzl';
import type { CoreMetadata } from './core-metadata.js';
import {
  asBadArchive,
  badArchive as badDistArchive,
  DEFAULT_MAX_ENTRIES,
  DEFAULT_MAX_METADATA_BYTES,
  dirMatches,
  openZip,
  parseDistMetadata,
  readZipEntryCapped,
} from './dist-archive.js';
import { quote } from './errors.js';
import { normalizeVersion } from './versions.js';

export type WheelMetadataLimits = { maxMetadataBytes?: number; maxEntries?: number };

const badArchive = (why: string) => badDistArchive('wheel', why);

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
  if (!dirMatches(dir, '.dist-info', expected)) {
    throw badArchive(`its directory ${quote(dir)} does not match project ${quote(expected.project)} version ${quote(expected.version)}`);
  }
  const [entry, ...extra] = metadataEntries;
  if (!entry) throw badArchive(`it has no ${dir}/METADATA file`);
  if (extra.length > 0) throw badArchive(`it has ${metadataEntries.length} METADATA entries in ${quote(dir)}; a wheel must have exactly one`);
  if (entry.fileName !== `${dir}/METADATA`) throw badArchive(`${quote(entry.fileName)} must be named ${quote(`${dir}/METADATA`)}`);
  return entry;
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
    zip = await openZip(path);
    const entry = await findMetadataEntry(zip, expected, maxEntries);
    bytes = await readZipEntryCapped('wheel', zip, entry, maxBytes);
  } catch (err) {
    throw asBadArchive('wheel', err, 'a readable zip archive');
  } finally {
    zip?.close();
  }
  return { bytes, metadata: parseDistMetadata('wheel', 'METADATA', bytes, expected) };
}
