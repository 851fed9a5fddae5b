// SPDX-License-Identifier: Apache-2.0
// Public surface of src/attest: DSSE envelopes, in-toto statements, SLSA provenance for wheel
// builds, and the checks of a verified build. Pure code: no file system, no network.
export * from './errors.js';
export * from './dsse.js';
export * from './statement.js';
export * from './provenance.js';
export * from './bundle.js';
export * from './verified-build.js';
export * from './wheels-role.js';
export * from './wheels-delegation.js';
export * from './release-attestations.js';
