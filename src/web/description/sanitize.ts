// SPDX-License-Identifier: Apache-2.0
// The one gate between a description's HTML and the page: sanitize-html with a small
// allow-list, close to PyPI's (readme_renderer `clean.py`). Whatever markdown-it made, and any
// raw HTML the author wrote, comes out as:
//  - only the tags and attributes below (no script, style, iframe, form, event handler or style
//    attribute; the text of script and style is dropped with them);
//  - links and images only to http(s) URLs (links also mailto:); any other URL, relative ones
//    included, is removed, and a link keeps its text. In-page links (`#…`) stay;
//  - every link with rel="nofollow ugc"; images with no referrer and lazy loading, fetched by
//    the reader's browser only (the server never fetches them);
//  - every id prefixed with `readme-` (and `#…` links with it), so that a README's headings can
//    never take the page's own ids (#files, #description).
import sanitizeHtml, { type IOptions } from 'sanitize-html';

export const ID_PREFIX = 'readme-';

/** Deeper elements are dropped (their text stays): bounds the page's depth for the browser. */
const MAX_DEPTH = 96;

const ALIGN = { name: 'align', multiple: false, values: ['left', 'right', 'center'] };
const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const;

/** The URL to keep for an href or src, or undefined to drop it. */
function allowedUrl(value: string | undefined, schemes: readonly string[], fragments: boolean): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (fragments && v.startsWith('#')) return v.length > 1 ? `#${ID_PREFIX}${v.slice(1)}` : v;
  // The WHATWG parser, as the browser will read it: it drops the tabs, newlines and control
  // characters that tricks like "java\tscript:" hide behind. Relative URLs do not parse.
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return undefined;
  }
  return schemes.includes(url.protocol) ? url.href : undefined;
}

/** The attributes with `name` set to `url` (in its place), or without it. */
function withUrl(attribs: sanitizeHtml.Attributes, name: string, url: string | undefined): sanitizeHtml.Attributes {
  const { [name]: _dropped, ...rest } = attribs;
  return url === undefined ? rest : { ...attribs, [name]: url };
}

const OPTIONS: IOptions = {
  allowedTags: [
    'a', 'abbr', 'acronym', 'b', 'blockquote', 'br', 'caption', 'cite', 'code', 'col', 'colgroup', 'dd', 'del', 'details',
    'div', 'dl', 'dt', 'em', ...HEADINGS, 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'ol', 'p', 'pre', 's', 'samp', 'span',
    'strong', 'sub', 'summary', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'tt', 'ul', 'var',
  ],
  allowedAttributes: {
    '*': ['id'],
    a: ['href', 'title', 'rel', 'class', 'aria-label'],
    abbr: ['title'],
    acronym: ['title'],
    img: ['src', 'alt', 'title', 'width', 'height', ALIGN, 'loading', 'referrerpolicy'],
    code: ['class'],
    ol: ['start'],
    details: ['open'],
    ...Object.fromEntries(['th', 'td', 'div', 'p', ...HEADINGS].map((t) => [t, [ALIGN]])),
  },
  allowedClasses: { a: ['anchor'], code: ['language-*'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nestingLimit: MAX_DEPTH,
  transformTags: {
    a: (tagName, attribs) => ({
      tagName,
      attribs: { ...withUrl(attribs, 'href', allowedUrl(attribs['href'], ['http:', 'https:', 'mailto:'], true)), rel: 'nofollow ugc' },
    }),
    img: (tagName, attribs) => ({
      tagName,
      attribs: { ...withUrl(attribs, 'src', allowedUrl(attribs['src'], ['http:', 'https:'], false)), loading: 'lazy', referrerpolicy: 'no-referrer' },
    }),
    '*': (tagName, attribs) => ({
      tagName,
      attribs: attribs['id'] === undefined ? attribs : { ...attribs, id: `${ID_PREFIX}${attribs['id']}` },
    }),
  },
};

/** Cleans a description's HTML: the result is safe to put in a page as it is. */
export function sanitizeDescription(unsafeHtml: string): string {
  return sanitizeHtml(unsafeHtml, OPTIONS);
}
