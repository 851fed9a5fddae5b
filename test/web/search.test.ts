// Search ranking: better matches first; among equal matches, better-protected projects first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchTier, parseQuery, rankProjects } from '../../src/web/search.js';
import { PROTECTION, protectionBadge } from '../../src/web/protection.js';

describe('search', () => {
  it('parses queries: trims, bounds, normalizes the name', () => {
    assert.deepEqual(parseQuery('  Foo_Bar  '), { text: 'Foo_Bar', words: ['Foo_Bar'], normalized: 'foo-bar' });
    assert.deepEqual(parseQuery('foo bar'), { text: 'foo bar', words: ['foo', 'bar'], normalized: 'foo-bar' });
    assert.equal(parseQuery(['array']).text, '');
    assert.equal(parseQuery('x'.repeat(1000)).text.length, 200);
    assert.equal(parseQuery('a\u0000b').text, 'a b');
  });

  it('tiers matches by where the name matches', () => {
    const q = parseQuery('tool');
    assert.deepEqual(['tool', 'toolkit', 'mytool', 'other'].map((name) => matchTier(q, { name })), [0, 1, 2, 3]);
  });

  it('ranks better-protected projects first among equal matches, then by name', () => {
    const q = parseQuery('toolkit');
    const projects = [
      { name: 'a-unclaimed', protection: 'unclaimed' as const },
      { name: 'b-claimed', protection: 'claimed' as const },
      { name: 'c-recent', protection: 'recently-claimed' as const },
      { name: 'd-claimed', protection: 'claimed' as const },
    ];
    assert.deepEqual(rankProjects(q, projects).map((p) => p.name), ['b-claimed', 'd-claimed', 'c-recent', 'a-unclaimed']);
  });

  it('puts a better match before better protection', () => {
    const q = parseQuery('toolkit');
    const ranked = rankProjects(q, [
      { name: 'toolkit-extras', protection: 'claimed' as const },
      { name: 'toolkit', protection: 'unclaimed' as const },
      { name: 'my-toolkit', protection: 'claimed' as const },
    ]);
    assert.deepEqual(ranked.map((p) => p.name), ['toolkit', 'toolkit-extras', 'my-toolkit']);
  });

  it('gives every level a badge with words, linking to its explanation', () => {
    for (const level of ['unclaimed', 'recently-claimed', 'claimed'] as const) {
      const badge = protectionBadge(level).toString();
      assert.match(badge, new RegExp(`href="/help/protection/#${level}"`));
      assert.ok(badge.includes(PROTECTION[level].badge.replace('&', '&amp;')), badge);
      assert.match(badge, /aria-hidden="true"/, 'the icon is decoration; the words carry the meaning');
    }
    assert.equal(PROTECTION.unclaimed.words, 'Signed by the index only.');
  });
});
