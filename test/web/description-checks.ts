// Checks on rendered description HTML, by string, shared by the renderer's tests and the page
// tests. The sanitizer's output is well-formed (every attribute double-quoted, every element
// closed), which is what lets these regular expressions read it.
import assert from 'node:assert/strict';

const FORBIDDEN_ELEMENTS = /<(script|iframe|frame|style|object|embed|form|input|button|textarea|select|meta|base|link|svg|math|noscript|body|html|head|template|xmp)\b/i;

/** The attributes of every start tag: [tag, name, value]. */
export function attributes(markup: string): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const tag of markup.matchAll(/<([a-z0-9]+)((?:\s+[^\s"'=<>/]+(?:="[^"]*")?)*)\s*\/?>/gi)) {
    for (const a of (tag[2] ?? '').matchAll(/\s+([^\s"'=<>/]+)(?:="([^"]*)")?/g)) out.push([(tag[1] ?? '').toLowerCase(), (a[1] ?? '').toLowerCase(), a[2] ?? '']);
  }
  return out;
}

/** How deep elements nest (void elements do not count). */
export function maxDepth(markup: string): number {
  let depth = 0;
  let max = 0;
  for (const t of markup.matchAll(/<(\/?)([a-z0-9]+)[^>]*>/gi)) {
    if (/^(img|br|hr|col|wbr)$/i.test(t[2] ?? '')) continue;
    depth += t[1] ? -1 : 1;
    max = Math.max(max, depth);
  }
  return max;
}

/** Nothing in the markup can run, load a frame or a style, or leave by another URL scheme. */
export function assertSafeDescription(markup: string): void {
  assert.doesNotMatch(markup, FORBIDDEN_ELEMENTS);
  for (const [tag, name, value] of attributes(markup)) {
    const where = `<${tag} ${name}="${value}">`;
    assert.ok(!/^on/.test(name), `no event handler: ${where}`);
    assert.ok(!['style', 'srcdoc', 'target', 'formaction', 'action', 'name', 'srcset', 'xlink:href'].includes(name), `no ${name} attribute: ${where}`);
    if (name === 'href') assert.match(value, /^(https?:\/\/|mailto:|#readme-)/, `a kept link is http(s), mailto or in-page: ${where}`);
    if (name === 'src') assert.match(value, /^https?:\/\//, `a kept image is http(s): ${where}`);
    if (name === 'id') assert.match(value, /^readme-/, `ids are prefixed: ${where}`);
  }
  for (const a of markup.matchAll(/<a\b[^>]*>/g)) assert.match(a[0], /\srel="nofollow ugc"/, `every link is nofollow ugc: ${a[0]}`);
}
