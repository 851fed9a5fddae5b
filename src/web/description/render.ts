// SPDX-License-Identifier: Apache-2.0
// A release's description as the project page shows it, rendered once and stored
// (description-store.ts). By its Description-Content-Type (content-type.ts):
//  - Markdown: markdown-it, then the sanitizer (markdown.ts, sanitize.ts);
//  - reStructuredText: shown as preformatted text with a note saying so. No reStructuredText
//    renderer for Node is both safe and kept up (the npm packages are unmaintained parsers,
//    or pull in a whole site generator), and docutils is Python;
//  - plain text: preformatted.
// Pure: text in, HTML out. The result is safe to send as it is.
import { createRequire } from 'node:module';
import { escapeHtml } from '../html.js';
import { descriptionFormat } from './content-type.js';
import { markdownToUnsafeHtml } from './markdown.js';
import { sanitizeDescription } from './sanitize.js';

/**
 * Descriptions longer than this are cut (with a note): rendering is linear but not cheap, and a
 * real README is rarely over 100 KiB. (Wheel METADATA files may reach 4 MiB:
 * packaging/wheel-metadata.ts.)
 */
export const MAX_DESCRIPTION_CHARS = 1024 * 1024;

/**
 * What rendered a stored description: this module's rules and the libraries' versions. A
 * stored rendering made by anything else is rendered again when next read, so an upgrade
 * (a sanitizer fix above all) reaches every page.
 */
export const DESCRIPTION_RENDERER = (() => {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  return `bulwark-1 markdown-it@${version('markdown-it')} sanitize-html@${version('sanitize-html')}`;
})();

/** Markup, safe to put in a page as it is: only renderDescription() (or its stored copy) makes it. */
export type DescriptionHtml = string & { readonly __descriptionHtml: true };

function preformatted(text: string): string {
  return `<pre class="plain">${escapeHtml(text)}</pre>`;
}

/** Renders a description by its Description-Content-Type. */
export function renderDescription(description: string, contentType: string | undefined): DescriptionHtml {
  const cut = description.length > MAX_DESCRIPTION_CHARS;
  const text = cut ? description.slice(0, MAX_DESCRIPTION_CHARS) : description;
  const format = descriptionFormat(contentType);
  let out: string;
  if (format.kind === 'markdown') out = sanitizeDescription(markdownToUnsafeHtml(text, format.variant));
  else if (format.kind === 'rst') out = `<p class="description-note">This description is reStructuredText, shown here as plain text.</p>${preformatted(text)}`;
  else out = preformatted(text);
  if (cut) out += `<p class="description-note">The description is longer than ${MAX_DESCRIPTION_CHARS} characters: the rest is not shown.</p>`;
  return out as DescriptionHtml;
}
