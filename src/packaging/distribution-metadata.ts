// The core metadata of an uploaded distribution, whichever kind it is: a wheel's METADATA
// (also served as its PEP 658 metadata file) or an sdist's PKG-INFO. Both upload paths, twine's
// and the developer-signed one, read it, so that both record the same Requires-Python and
// Summary whatever the client sent alongside.

import type { CoreMetadata } from './core-metadata.js';
import type { DistributionFilename } from './filenames.js';
import { readSdistMetadata } from './sdist-metadata.js';
import { readWheelMetadata } from './wheel-metadata.js';

export interface DistributionMetadata {
  /** The METADATA or PKG-INFO bytes, as in the archive. */
  bytes: Buffer;
  metadata: CoreMetadata;
  /** Wheels only: `bytes` is served as the file's PEP 658 metadata. */
  servedAsPep658: boolean;
}

/**
 * Checks that the file at `path` is the archive `parsed` says, of `parsed.project` at `version`,
 * and returns its core metadata. Throws PackagingError (BAD_ARCHIVE, INVALID_METADATA,
 * METADATA_MISMATCH) for bad uploads; file system errors are rethrown unchanged.
 */
export async function readDistributionMetadata(path: string, parsed: DistributionFilename, version: string): Promise<DistributionMetadata> {
  const expected = { project: parsed.project, version };
  if (parsed.packagetype === 'bdist_wheel') return { ...(await readWheelMetadata(path, expected)), servedAsPep658: true };
  return { ...(await readSdistMetadata(path, parsed.filename, expected)), servedAsPep658: false };
}
