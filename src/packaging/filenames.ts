// Distribution file names: which uploads we accept, and what project and version a file
// name claims. Wheels follow the binary distribution format spec, sdists PEP 625
// ({name}-{version}.tar.gz, plus legacy .zip).

import { PackagingError, quote } from './errors.js';
import { isValidProjectName, MAX_PROJECT_NAME_LENGTH, normalizeProjectName } from './names.js';
import { isValidVersion, normalizeVersion } from './versions.js';

export type DistributionFilename = {
  filename: string;
  packagetype: 'bdist_wheel' | 'sdist';
  project: string /* normalized */;
  version: string /* as in the file name */;
  pythonTag?: string /* wheels: e.g. 'py3' */;
};

/**
 * A target is stored as `<sha256 hex>.<filename>` (TUF consistent snapshots), and file systems
 * allow 255 bytes a name: 255 − 65. (Found by the cluster benchmark: PyPI has a project whose
 * 188-character name made the stored name too long, and the upload failed with a 500.)
 */
const MAX_FILENAME_LENGTH = 190;
/** A wheel's PEP 658 metadata is stored as `<sha256 hex>.<filename>.metadata`: 9 more. */
const PEP658_SUFFIX = '.metadata';

/** The longest path segment a valid project or file name makes (URL routes must allow it). */
export const MAX_NAME_SEGMENT_LENGTH = Math.max(MAX_PROJECT_NAME_LENGTH, MAX_FILENAME_LENGTH);
// Wheel compatibility tags (py3, cp311, manylinux_2_17_x86_64, py2.py3, ...).
const TAG_RE = /^[A-Za-z0-9_.]+$/;
const BUILD_TAG_RE = /^[0-9]+[A-Za-z0-9_.]*$/;

function unsafe(filename: string, why: string): PackagingError {
  return new PackagingError(
    'UNSAFE_FILENAME',
    `Unsafe file name ${quote(filename)}: ${why}. Upload the file under the plain name the build tool gave it, e.g. example-1.0.tar.gz.`,
  );
}

function invalid(filename: string, why: string): PackagingError {
  return new PackagingError('INVALID_FILENAME', `Invalid file name ${quote(filename)}: ${why}.`);
}

/** Names that could escape a directory, hide, or confuse a shell, URL or log are refused first. */
function assertSafe(filename: string): void {
  if (filename.length === 0) throw invalid(filename, 'it is empty');
  if (filename.length > MAX_FILENAME_LENGTH) throw unsafe(filename, `it is longer than ${MAX_FILENAME_LENGTH} characters`);
  if (filename.includes('/') || filename.includes('\\')) throw unsafe(filename, 'it contains a path separator');
  // Printable ASCII only: rules out NUL, other control characters, DEL and non-ASCII.
  if (!/^[\x20-\x7e]*$/.test(filename)) throw unsafe(filename, 'it contains control or non-ASCII characters');
  if (filename.startsWith('.')) throw unsafe(filename, "it starts with '.'");
  if (filename.includes('..')) throw unsafe(filename, "it contains '..'");
}

// Formats we know of but refuse, with the advice the uploader needs.
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['.egg', 'egg files are no longer accepted; build a wheel (python -m build) and upload that instead'],
  ['.exe', 'Windows installers are not accepted; build a wheel (python -m build) and upload that instead'],
  ['.msi', 'Windows installers are not accepted; build a wheel (python -m build) and upload that instead'],
  ['.tar.bz2', 'source distributions must be .tar.gz files (PEP 625); rebuild with python -m build --sdist'],
  ['.tar.xz', 'source distributions must be .tar.gz files (PEP 625); rebuild with python -m build --sdist'],
  ['.tar.z', 'source distributions must be .tar.gz files (PEP 625); rebuild with python -m build --sdist'],
  ['.tgz', 'source distributions must be named .tar.gz, not .tgz (PEP 625)'],
  ['.tar', 'source distributions must be gzip-compressed .tar.gz files (PEP 625)'],
];

function parseWheel(filename: string): DistributionFilename {
  if (filename.length + PEP658_SUFFIX.length > MAX_FILENAME_LENGTH) {
    throw unsafe(filename, `a wheel's name may be at most ${MAX_FILENAME_LENGTH - PEP658_SUFFIX.length} characters (its metadata file adds "${PEP658_SUFFIX}")`);
  }
  const parts = filename.slice(0, -'.whl'.length).split('-');
  if (parts.length !== 5 && parts.length !== 6) {
    throw invalid(
      filename,
      "a wheel name must be {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl, with '_' instead of '-' inside the project name",
    );
  }
  const [name = '', version = ''] = parts;
  const [pythonTag = '', abiTag = '', platformTag = ''] = parts.slice(-3);
  if (!isValidProjectName(name)) throw invalid(filename, `${quote(name)} is not a valid project name`);
  if (!isValidVersion(version)) {
    throw invalid(filename, `${quote(version)} is not a valid PEP 440 version (a '-' inside the project name must be written '_')`);
  }
  if (parts.length === 6 && !BUILD_TAG_RE.test(parts[2] ?? '')) {
    throw invalid(filename, `the build tag ${quote(parts[2] ?? '')} must start with a digit`);
  }
  for (const tag of [pythonTag, abiTag, platformTag]) {
    if (!TAG_RE.test(tag)) throw invalid(filename, `${quote(tag)} is not a valid wheel compatibility tag`);
  }
  return { filename, packagetype: 'bdist_wheel', project: normalizeProjectName(name), version, pythonTag };
}

function parseSdist(filename: string, ext: string): DistributionFilename {
  const stem = filename.slice(0, -ext.length);
  // Project names may contain '-' in legacy sdists, so take the last '-' that leaves a valid
  // version on its right and a valid name on its left.
  for (let i = stem.lastIndexOf('-'); i > 0; i = stem.lastIndexOf('-', i - 1)) {
    const name = stem.slice(0, i);
    const version = stem.slice(i + 1);
    if (isValidVersion(version) && isValidProjectName(name)) {
      return { filename, packagetype: 'sdist', project: normalizeProjectName(name), version };
    }
  }
  throw invalid(filename, `a source distribution must be named {name}-{version}${ext} with a PEP 440 version`);
}

/**
 * Checks that an uploaded file name is safe and well-formed, and says which project and
 * version it claims. Throws UNSAFE_FILENAME or INVALID_FILENAME.
 */
export function parseDistributionFilename(filename: string): DistributionFilename {
  assertSafe(filename);
  if (filename.endsWith('.whl')) return parseWheel(filename);
  if (filename.endsWith('.tar.gz')) return parseSdist(filename, '.tar.gz');
  if (filename.endsWith('.zip')) return parseSdist(filename, '.zip');

  const lower = filename.toLowerCase();
  if (lower.endsWith('.whl') || lower.endsWith('.tar.gz') || lower.endsWith('.zip')) {
    throw invalid(filename, 'the extension must be lower case (.whl, .tar.gz or .zip)');
  }
  const refused = REFUSED.find(([ext]) => lower.endsWith(ext));
  throw invalid(
    filename,
    refused ? refused[1] : 'only wheels (.whl) and source distributions (.tar.gz) can be uploaded',
  );
}

/**
 * PyPI's check that an uploaded file belongs to the release named in the upload form:
 * project names compare PEP 503-normalized, versions PEP 440-normalized.
 */
export function checkFilenameMatches(parsed: DistributionFilename, projectName: string, version: string): void {
  if (parsed.project !== normalizeProjectName(projectName)) {
    throw new PackagingError(
      'FILENAME_PROJECT_MISMATCH',
      `File ${quote(parsed.filename)} is for project ${quote(parsed.project)}, but this upload is for project ${quote(projectName)}. ` +
        'Upload files only to the project they were built for.',
    );
  }
  const expected = normalizeVersion(version);
  if (normalizeVersion(parsed.version) !== expected) {
    throw new PackagingError(
      'FILENAME_VERSION_MISMATCH',
      `File ${quote(parsed.filename)} is for version ${quote(parsed.version)}, but this upload is for version ${quote(expected)}. ` +
        'Rebuild the distribution so that its file name and metadata agree on the version.',
    );
  }
}
