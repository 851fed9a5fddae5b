// SPDX-License-Identifier: Apache-2.0
// Which renderer a description gets, from its Description-Content-Type, as PyPI decides
// (warehouse `utils/readme.py`): no content type means reStructuredText; text/markdown is
// Markdown, GitHub-flavoured unless `variant=CommonMark`; text/plain, and any type PyPI does not
// render, is plain text. Types and parameter names are case-insensitive (RFC 2045).

export type DescriptionFormat =
  | { kind: 'markdown'; variant: 'GFM' | 'CommonMark' }
  | { kind: 'rst' }
  | { kind: 'plain' };

/** The renderer for a Description-Content-Type header value (absent or empty: reStructuredText). */
export function descriptionFormat(contentType: string | undefined): DescriptionFormat {
  const [type = '', ...params] = (contentType ?? '').split(';').map((s) => s.trim());
  switch (type.toLowerCase()) {
    case '':
    case 'text/x-rst':
      return { kind: 'rst' };
    case 'text/markdown': {
      const variant = params
        .map((p) => /^variant\s*=\s*"?([^";]*)"?$/i.exec(p)?.[1])
        .find((v) => v !== undefined);
      return { kind: 'markdown', variant: variant?.toLowerCase() === 'commonmark' ? 'CommonMark' : 'GFM' };
    }
    default:
      return { kind: 'plain' };
  }
}
