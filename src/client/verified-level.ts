// SPDX-License-Identifier: Apache-2.0
// The protection level a client can prove for a target from what it verified, never from what
// an index page or API says. Today that is the top-level delegation the target search walked:
// `targets → claimed → …` is claimed, `targets → recently-claimed → …` recently-claimed,
// anything else (the unclaimed role's bins) unclaimed, unless the project's page target carries
// the two-factor field: `"custom": {"bulwark": {"two_factor": true}}` in its entry, which the
// bin's online key signed (simple-index.ts). The level is then two-factor, labelled
// "online-signed": a mirror cannot add the field without the bin key, and the verified
// delegation still wins over it. This is the one place that decides it.
import { ROLES, SIMPLE_HTML, SIMPLE_JSON, targetPath } from '../repository/layout.js';
import { customSaysTwoFactor } from '../repository/simple-index.js';
import type { ProtectionLevelName } from '../repository/protection-levels.js';
import type { FoundTarget } from './updater.js';

/** What each level means to someone deciding whether to install it. */
export const LEVEL_MEANING: Record<ProtectionLevelName, string> = {
  unclaimed: 'index-signed only',
  'two-factor': 'index-signed, uploaded with a second factor',
  'recently-claimed': 'developer-signed, delegated by an online role',
  claimed: 'developer-signed, delegated by the offline claimed role',
};

/** Where a level comes from: the delegation walked (offline or online roles), or the online-signed bin field. */
export const LEVEL_SOURCE: Record<ProtectionLevelName, string> = {
  unclaimed: 'online-signed',
  'two-factor': 'online-signed',
  'recently-claimed': 'delegation',
  claimed: 'delegation',
};

/**
 * The level of a verified target. `page` is the verified page target of the same project, for
 * a file: its signed two-factor field speaks for the project (a file entry carries none).
 */
/** What a level is read from: the delegation the search walked, and the target entry it found. */
export interface LevelEvidence {
  delegationPath: FoundTarget['delegationPath'];
  target?: { readonly path: string; readonly custom: unknown };
}

export function verifiedLevel(found: LevelEvidence, page?: LevelEvidence): ProtectionLevelName {
  const top = found.delegationPath[1];
  if (top === ROLES.claimed) return 'claimed';
  if (top === ROLES.recentlyClaimed) return 'recently-claimed';
  const signedField = (t: LevelEvidence) => t.delegationPath[1] !== ROLES.claimed && t.delegationPath[1] !== ROLES.recentlyClaimed && customSaysTwoFactor(t.target?.custom);
  if (found.target && isPageTarget(found.target.path) ? signedField(found) : page !== undefined && signedField(page)) return 'two-factor';
  return 'unclaimed';
}

function isPageTarget(path: string): boolean {
  return path.endsWith(`/${SIMPLE_JSON}`) || path.endsWith(`/${SIMPLE_HTML}`);
}

/** The page target whose signed field speaks for the file at `path` (`<project>/<file>`), or undefined for a page. */
export function projectPagePath(path: string): string | undefined {
  const slash = path.indexOf('/');
  if (slash <= 0 || isPageTarget(path)) return undefined;
  return targetPath(path.slice(0, slash), SIMPLE_JSON);
}
