// Public API of the packaging module: Python packaging conventions, no Bulwark dependencies.

export { PackagingError } from './errors.js';
export type { PackagingErrorCode } from './errors.js';
export { isValidProjectName, normalizeProjectName } from './names.js';
export { compareVersions, isValidVersion, normalizeVersion } from './versions.js';
export { checkFilenameMatches, MAX_NAME_SEGMENT_LENGTH, parseDistributionFilename } from './filenames.js';
export type { DistributionFilename } from './filenames.js';
export { parseCoreMetadata } from './core-metadata.js';
export type { CoreMetadata } from './core-metadata.js';
export { readWheelMetadata } from './wheel-metadata.js';
export type { WheelMetadataLimits } from './wheel-metadata.js';
export { readSdistMetadata } from './sdist-metadata.js';
export type { SdistMetadataLimits } from './sdist-metadata.js';
export { isValidSpecifierSet } from './specifiers.js';
export { readDistributionMetadata } from './distribution-metadata.js';
export type { DistributionMetadata } from './distribution-metadata.js';
export {
  renderIndexHtml,
  renderIndexJson,
  renderProjectHtml,
  renderProjectJson,
} from './simple-pages.js';
export type { SimpleFile, SimpleProject } from './simple-pages.js';
export { SIMPLE_HTML, SIMPLE_JSON, negotiateSimpleContentType } from './content-negotiation.js';
export type { SimpleContentType } from './content-negotiation.js';
