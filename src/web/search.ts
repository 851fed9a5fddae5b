// SPDX-License-Identifier: Apache-2.0
// Search: which projects match a query, and in what order. Better matches first (the exact
// name, then names starting with the query, names containing it, then summaries); among equal
// matches, better-protected projects first (claimed, recently-claimed, unclaimed); then by name.
import type { ProjectListing } from '../storage/state/web-store.js';
import { protectionRank } from './protection.js';

export const MAX_QUERY_LENGTH = 200;
export const MAX_QUERY_WORDS = 8;

export interface ParsedQuery {
  /** The query as typed, trimmed and bounded. */
  text: string;
  words: string[];
  /** The whole query as a normalized project name (PEP 503): "Foo_Bar" → "foo-bar". */
  normalized: string;
}

export function parseQuery(q: unknown): ParsedQuery {
  const text = (typeof q === 'string' ? q : '').replace(/[\x00-\x1f\x7f]/g, ' ').trim().slice(0, MAX_QUERY_LENGTH);
  const words = text.split(/\s+/).filter((w) => w !== '').slice(0, MAX_QUERY_WORDS);
  return { text, words, normalized: words.join('-').toLowerCase().replace(/[-_.]+/g, '-') };
}

/** 0 exact name, 1 name prefix, 2 name contains, 3 anything else that matched. */
export function matchTier(q: ParsedQuery, p: Pick<ProjectListing, 'name'>): number {
  if (q.normalized === '') return 3;
  if (p.name === q.normalized) return 0;
  if (p.name.startsWith(q.normalized)) return 1;
  if (p.name.includes(q.normalized)) return 2;
  return 3;
}

export function rankProjects<T extends Pick<ProjectListing, 'name' | 'protection'>>(q: ParsedQuery, projects: readonly T[]): T[] {
  return projects
    .map((p) => ({ p, tier: matchTier(q, p), rank: protectionRank(p.protection) }))
    .sort((a, b) => a.tier - b.tier || b.rank - a.rank || (a.p.name < b.p.name ? -1 : a.p.name > b.p.name ? 1 : 0))
    .map((x) => x.p);
}
