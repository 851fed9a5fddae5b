// PEP 691 content negotiation for the simple pages: pick the best representation the
// client's Accept header allows, honouring q-values. JSON only when the client prefers it:
// `*/*`, a browser's header or no header at all get text/html, as on PyPI.

export const SIMPLE_JSON = 'application/vnd.pypi.simple.v1+json';
export const SIMPLE_HTML = 'application/vnd.pypi.simple.v1+html';

export type SimpleContentType = typeof SIMPLE_JSON | typeof SIMPLE_HTML | 'text/html';

// In our order of preference, which breaks ties between equal q-values: Warehouse offers
// text/html first, so `*/*` (curl, a browser) gets HTML and only a client that ranks the JSON
// type above the others (pip >= 22.2) gets JSON.
const OFFERS: readonly SimpleContentType[] = ['text/html', SIMPLE_HTML, SIMPLE_JSON];

// PEP 691: "latest" names whatever the newest API version is, i.e. v1 for us.
const ALIASES: Readonly<Record<string, string>> = {
  'application/vnd.pypi.simple.latest+json': SIMPLE_JSON,
  'application/vnd.pypi.simple.latest+html': SIMPLE_HTML,
};

type MediaRange = { type: string; subtype: string; q: number };

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const QVALUE_RE = /^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/;

/** Parses an Accept header, skipping malformed ranges rather than failing the request. */
function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [mediaType = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const full = ALIASES[mediaType] ?? mediaType;
    const slash = full.indexOf('/');
    const type = full.slice(0, slash);
    const subtype = full.slice(slash + 1);
    if (slash === -1 || !TOKEN_RE.test(type) || !TOKEN_RE.test(subtype) || (type === '*' && subtype !== '*')) continue;
    let q = 1;
    let ok = true;
    for (const param of params) {
      const [key = '', value = ''] = param.split('=').map((s) => s.trim());
      if (key !== 'q') continue;
      if (QVALUE_RE.test(value)) q = Number(value);
      else ok = false;
    }
    if (ok) ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** The q-value of the most specific range that matches the offer (RFC 9110 §12.5.1), or 0. */
function qualityOf(offer: string, ranges: readonly MediaRange[]): number {
  const slash = offer.indexOf('/');
  const type = offer.slice(0, slash);
  const subtype = offer.slice(slash + 1);
  let best = -1;
  let q = 0;
  for (const r of ranges) {
    const specificity =
      r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' ? 0 : -1;
    if (specificity > best) {
      best = specificity;
      q = r.q;
    }
  }
  return q;
}

/**
 * Chooses the content type for a simple page. A missing or unparseable Accept header gets
 * text/html (PEP 691's default for old clients); null means nothing acceptable (send 406).
 */
export function negotiateSimpleContentType(accept: string | undefined): SimpleContentType | null {
  const ranges = accept === undefined ? [] : parseAccept(accept);
  if (ranges.length === 0) return 'text/html';
  let chosen: SimpleContentType | null = null;
  let bestQ = 0;
  for (const offer of OFFERS) {
    const q = qualityOf(offer, ranges);
    if (q > bestQ) {
      bestQ = q;
      chosen = offer;
    }
  }
  return chosen;
}
