// SPDX-License-Identifier: Apache-2.0
// The one list of trust levels a project can be at (issue 14, from seed 003's four levels), in
// order from least to best protected. Every output that names a level — `/pypi/<p>/json`'s
// `info.bulwark_protection`, `--min-level`, `--json` outputs, reports, pages — takes its values
// from here. Level 4 (build-farm-verified wheels) is a property of a file, not of a project, so
// it is not in this list.
//   unclaimed         index-signed, password or token authenticated upload (PEP 458)
//   two-factor        index-signed, every maintainer uploads with a second factor
//   recently-claimed  developer-signed, delegated by the online recently-claimed role (PEP 480)
//   claimed           developer-signed, delegated by the offline claimed role (PEP 480)

export const PROTECTION_LEVELS = ['unclaimed', 'two-factor', 'recently-claimed', 'claimed'] as const;

export type ProtectionLevelName = (typeof PROTECTION_LEVELS)[number];

export function isProtectionLevel(value: string): value is ProtectionLevelName {
  return (PROTECTION_LEVELS as readonly string[]).includes(value);
}

/** Position in the order: 0 for unclaimed up to 3 for claimed. */
export function levelOrder(level: ProtectionLevelName): number {
  return PROTECTION_LEVELS.indexOf(level);
}

/** Whether `level` is at least as well protected as `minimum`. */
export function meetsLevel(level: ProtectionLevelName, minimum: ProtectionLevelName): boolean {
  return levelOrder(level) >= levelOrder(minimum);
}

/** A level named on a command line or in a file; the error lists the valid names. */
export function parseProtectionLevel(value: string): ProtectionLevelName {
  const v = value.trim().toLowerCase();
  if (isProtectionLevel(v)) return v;
  throw new RangeError(`unknown protection level "${value}": use one of ${PROTECTION_LEVELS.join(', ')} (least to best protected)`);
}
