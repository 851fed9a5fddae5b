// SPDX-License-Identifier: Apache-2.0
// The protection level a client can prove for a target from what it verified, never from what
// an index page or API says. Today that is the top-level delegation the target search walked:
// `targets → claimed → …` is claimed, `targets → recently-claimed → …` recently-claimed,
// anything else (the unclaimed role's bins) unclaimed. This is the one place that decides it:
// the signed two-factor field of a project's page target will lift unclaimed to two-factor here.
import { ROLES } from '../repository/layout.js';
import type { ProtectionLevelName } from '../repository/protection-levels.js';
import type { FoundTarget } from './updater.js';

/** What each level means to someone deciding whether to install it. */
export const LEVEL_MEANING: Record<ProtectionLevelName, string> = {
  unclaimed: 'index-signed only',
  'two-factor': 'index-signed, uploaded with a second factor',
  'recently-claimed': 'developer-signed, delegated by an online role',
  claimed: 'developer-signed, delegated by the offline claimed role',
};

export function verifiedLevel(found: Pick<FoundTarget, 'delegationPath'>): ProtectionLevelName {
  const top = found.delegationPath[1];
  if (top === ROLES.claimed) return 'claimed';
  if (top === ROLES.recentlyClaimed) return 'recently-claimed';
  return 'unclaimed';
}
