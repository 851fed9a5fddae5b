// SPDX-License-Identifier: Apache-2.0
// Markdown to (unsanitized) HTML with markdown-it, as PyPI renders it with cmarkgfm:
// CommonMark, plus GFM tables, strikethrough and bare-URL links unless the description asks for
// `variant=CommonMark`. Raw HTML is parsed, as on PyPI, because READMEs use it (centred logos,
// <details>); everything this module makes goes through sanitizeDescription() before it is
// stored. Added here, because markdown-it does not do them:
//  - headings get an id from their text (GitHub's slug rules) and a "#" link to it; written by
//    hand because it is a dozen lines, and markdown-it-anchor's types still target markdown-it 14;
//  - table cells get `align` instead of markdown-it's `style="text-align:…"`, which the page's
//    Content-Security-Policy (no inline style) would ignore;
//  - bounded depth. The HTML parser under the sanitizer (htmlparser2) takes time quadratic in
//    the depth of open elements, so a hostile README must not reach it with 100,000 levels:
//    blocks nest at most MAX_NESTING deep (markdown-it's own limit, which also bounds its
//    recursion; it drops what is nested deeper, and the rest of that top-level block), emphasis and links at most MAX_INLINE_NESTING (deeper markers stay as text),
//    and a description with more than MAX_RAW_HTML_TAGS raw HTML tags is rendered with raw
//    HTML shown as text.
import MarkdownItCallable, { type MarkdownIt, type StateCore, type Token } from 'markdown-it';

/**
 * Block nesting deeper than this (lists in lists, quotes in quotes) is not parsed further:
 * markdown-it parses nested blocks recursively, so this bounds its stack and time. No README
 * needs 32 levels.
 */
const MAX_NESTING = 32;
/** Emphasis, strikethrough and links inside each other: deeper markers are shown as text. */
const MAX_INLINE_NESTING = 16;
/** More raw HTML tags than any README has: past this, raw HTML is shown as text. */
const MAX_RAW_HTML_TAGS = 10_000;

/** GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(text: string): string {
  const slug = text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
  return slug === '' ? 'section' : slug;
}

function inlineText(inline: Token | undefined): string {
  return (inline?.children ?? []).map((t) => (t.type === 'text' || t.type === 'code_inline' ? t.content : '')).join('');
}

/** Turns emphasis and link markers nested deeper than MAX_INLINE_NESTING into their text. */
function flattenDeepInline(children: Token[]): void {
  const dropped: boolean[] = [];
  for (const t of children) {
    if (t.nesting === 0) continue;
    const drop = t.nesting === 1 ? dropped.length >= MAX_INLINE_NESTING : dropped.pop() === true;
    if (t.nesting === 1) dropped.push(drop);
    if (drop) Object.assign(t, { type: 'text', tag: '', nesting: 0, attrs: null, content: t.markup });
  }
}

/** Core rule: ids and self-links on headings, `align` on table cells, bounded inline depth. */
function headingAnchorsAndAlign(state: StateCore): void {
  const used = new Map<string, number>();
  const tokens = state.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.type === 'inline' && token.children) flattenDeepInline(token.children);
    if (token.type === 'th_open' || token.type === 'td_open') {
      const align = /^text-align:(left|right|center)$/.exec(String(token.attrGet('style') ?? ''))?.[1];
      token.attrs = align ? [['align', align]] : null;
    } else if (token.type === 'heading_open') {
      const inline = tokens[i + 1];
      const base = headingSlug(inlineText(inline));
      const n = used.get(base) ?? 0;
      used.set(base, n + 1);
      const slug = n === 0 ? base : `${base}-${n}`;
      token.attrSet('id', slug);
      if (inline?.children) {
        const open = new state.Token('link_open', 'a', 1);
        open.attrs = [
          ['class', 'anchor'],
          ['href', `#${slug}`],
          ['aria-label', `Link to this section: ${inlineText(inline).trim()}`],
        ];
        const mark = new state.Token('text', '', 0);
        mark.content = '#';
        inline.children.push(Object.assign(new state.Token('text', '', 0), { content: ' ' }), open, mark, new state.Token('link_close', 'a', -1));
      }
    }
  }
}

function markdownIt(variant: 'GFM' | 'CommonMark', html: boolean): MarkdownIt {
  const md = new MarkdownItCallable('default', { html, linkify: variant === 'GFM', typographer: false, maxNesting: MAX_NESTING });
  if (variant === 'CommonMark') md.disable(['table', 'strikethrough']);
  md.core.ruler.push('heading_anchors_and_align', headingAnchorsAndAlign);
  return md;
}

const renderers = {
  GFM: { html: markdownIt('GFM', true), text: markdownIt('GFM', false) },
  CommonMark: { html: markdownIt('CommonMark', true), text: markdownIt('CommonMark', false) },
};

function tooMuchRawHtml(text: string): boolean {
  let tags = 0;
  for (const _ of text.matchAll(/<[A-Za-z/!?]/g)) if (++tags > MAX_RAW_HTML_TAGS) return true;
  return false;
}

/** The description as HTML: NOT safe to send until sanitizeDescription() has cleaned it. */
export function markdownToUnsafeHtml(text: string, variant: 'GFM' | 'CommonMark'): string {
  const { html, text: noHtml } = renderers[variant];
  return (tooMuchRawHtml(text) ? noHtml : html).render(text);
}
