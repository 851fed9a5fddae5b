// SPDX-License-Identifier: Apache-2.0
// The protection levels (the one list, repository/protection-levels.ts) in words people can act
// on, with the badge every project page, search result and listing shows. The wording follows
// PEP 480's key compromise analysis: who signs a project's files, and whose keys an attacker
// needs to change them; two-factor adds who may upload them.
import { levelOrder, PROTECTION_LEVELS, type ProtectionLevelName } from '../repository/protection-levels.js';
import { html, type Html } from './html.js';

export type Protection = ProtectionLevelName;

export interface ProtectionLevel {
  level: Protection;
  /** The badge's text. */
  badge: string;
  /** One sentence: who signs. */
  words: string;
  /** What it protects against, and what it does not. */
  protects: string;
  exposed: string;
}

export const PROTECTION: Record<Protection, ProtectionLevel> = {
  claimed: {
    level: 'claimed',
    badge: 'Developer-signed · offline delegation',
    words: 'Signed by its developers, with an offline delegation.',
    protects:
      "Its files are signed with its developers' own keys, and the index's offline claimed key says which keys those are. Someone who takes over the index server, with every key on it, cannot add, replace or remove a file of this project for a client that has checked the metadata since the project was promoted.",
    exposed:
      "Only the developers' keys (a threshold of them), or the index's offline keys (claimed, targets, root), can change what is trusted. Stolen online keys can hold back new releases until the metadata expires, and can mislead a client that has never checked the metadata since the promotion, until the claimed metadata from before it expires.",
  },
  'recently-claimed': {
    level: 'recently-claimed',
    badge: 'Developer-signed · waiting for promotion',
    words: 'Signed by its developers, waiting for promotion to an offline delegation.',
    protects:
      "Its files are signed with its developers' own keys. Stolen timestamp, snapshot or unclaimed keys cannot change them for a client that has checked the metadata since the claim.",
    exposed:
      "Which keys are the developers' is vouched for by the online recently-claimed key until the next offline ceremony: an attacker who also holds that key, which is on the index server, can delegate the project to keys of their own.",
  },
  'two-factor': {
    level: 'two-factor',
    badge: 'Index-signed · two-factor uploads',
    words: 'Signed by the index; every maintainer uploads with a second factor.',
    protects:
      "Its owners require two-factor authentication, and every owner and maintainer has it on: a stolen password or an API token made without the second factor cannot upload, yank or claim. The index signs this level into its TUF metadata (online bin key), so a mirror cannot claim it for a project that is not.",
    exposed:
      "Its files are still signed by the index with online keys: someone who takes over the index's online keys can change them. Its developers can claim it with their own keys (bulwark claim) to protect it from that.",
  },
  unclaimed: {
    level: 'unclaimed',
    badge: 'Index-signed only',
    words: 'Signed by the index only.',
    protects:
      'Its files are signed by the index with online keys (TUF hashed bins, PEP 458): mirrors, caches and the network cannot change them or roll them back unnoticed.',
    exposed: "Someone who takes over the index's online keys can change its files. Its developers can claim it with their own keys (bulwark claim) to protect it from that.",
  },
};

/** Best protected first, in the order of the one list of levels (repository/protection-levels.ts). */
export const PROTECTION_ORDER: readonly Protection[] = [...PROTECTION_LEVELS].reverse().filter((l): l is Protection => l in PROTECTION);

export function protectionRank(p: Protection): number {
  return levelOrder(p);
}

/** A shield: empty (index-signed), with a key-hole (two-factor), half (waiting for promotion), full with a tick (claimed). */
function shield(level: Protection): Html {
  const outline = 'M8 1 2 3.5V8c0 3.5 2.6 6.3 6 7 3.4-.7 6-3.5 6-7V3.5z';
  const fill =
    level === 'claimed'
      ? html`<path d="${outline}" fill="currentColor"/><path d="m5 8.2 2 2 4-4.2" fill="none" stroke="#fff" stroke-width="1.6"/>`
      : level === 'recently-claimed'
        ? html`<path d="${outline}" fill="none" stroke="currentColor" stroke-width="1.4"/><path d="M8 1v14c-3.4-.7-6-3.5-6-7V3.5z" fill="currentColor"/>`
        : level === 'two-factor'
          ? html`<path d="${outline}" fill="none" stroke="currentColor" stroke-width="1.4"/><circle cx="8" cy="6.6" r="1.6" fill="currentColor"/><path d="M7.2 7.6h1.6l.5 3.6H6.7z" fill="currentColor"/>`
          : html`<path d="${outline}" fill="none" stroke="currentColor" stroke-width="1.4"/>`;
  return html`<svg class="shield" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">${fill}</svg>`;
}

/** The badge: icon and text, linking to the explanation of the level. */
export function protectionBadge(level: Protection, opts: { link?: boolean } = {}): Html {
  const p = PROTECTION[level];
  const inner = html`${shield(level)}<span class="badge-text">${p.badge}</span>`;
  return opts.link === false
    ? html`<span class="badge badge-${level}" data-protection="${level}">${inner}</span>`
    : html`<a class="badge badge-${level}" data-protection="${level}" href="/help/protection/#${level}" title="${p.words} What this means">${inner}</a>`;
}
