// SPDX-License-Identifier: Apache-2.0
// Public surface of Bulwark's TUF core: pure code, no file system and no network.
export * from './canonical-json.js';
export * from './errors.js';
export * from './keys.js';
export * from './signer.js';
export * from './strict-json.js';
export * from './time.js';
export * from './path-match.js';
export * from './merkle.js';
export * from './models/delegations.js';
export * from './models/meta-file.js';
export * from './models/roles.js';
export * from './models/metadata.js';
export { isExpired, SPEC_VERSION, type RoleType } from './models/signed.js';
export { TrustedMetadataSet, TrustedSetUsageError } from './trusted-metadata-set.js';
