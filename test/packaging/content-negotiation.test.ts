import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SIMPLE_HTML, SIMPLE_JSON, negotiateSimpleContentType } from '../../src/packaging/index.js';

describe('negotiateSimpleContentType (PEP 691)', () => {
  const table: Array<[string, string | undefined, string | null]> = [
    ['pip >= 22.2', 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01', SIMPLE_JSON],
    ['pip, without spaces', 'application/vnd.pypi.simple.v1+json,application/vnd.pypi.simple.v1+html;q=0.1,text/html;q=0.01', SIMPLE_JSON],
    ['a browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', 'text/html'],
    ['no Accept header', undefined, 'text/html'],
    ['an empty Accept header', '', 'text/html'],
    ['an unparseable Accept header', 'garbage', 'text/html'],
    ['latest JSON', 'application/vnd.pypi.simple.latest+json', SIMPLE_JSON],
    ['latest HTML', 'application/vnd.pypi.simple.latest+html', SIMPLE_HTML],
    ['v1 HTML only', 'application/vnd.pypi.simple.v1+html', SIMPLE_HTML],
    ['html preferred by q', 'application/vnd.pypi.simple.v1+json;q=0.2, application/vnd.pypi.simple.v1+html;q=0.5', SIMPLE_HTML],
    ['case-insensitive', 'Application/VND.PyPI.Simple.V1+JSON', SIMPLE_JSON],
    ['*/* gets text/html, as on PyPI', '*/*', 'text/html'],
    ['curl and python-requests: */*', '*/*;q=1', 'text/html'],
    ['JSON and HTML equally: text/html', `${SIMPLE_JSON}, text/html`, 'text/html'],
    ['JSON preferred over */*', `${SIMPLE_JSON}, */*;q=0.1`, SIMPLE_JSON],
    ['text/* gives text/html', 'text/*', 'text/html'],
    ['application/* gets the v1 HTML', 'application/*', SIMPLE_HTML],
    ['specific q=0 overrides */*', `${SIMPLE_JSON};q=0, */*;q=0.5`, 'text/html'],
    ['text/html refused, */* gets the v1 HTML', 'text/html;q=0, */*;q=0.5', SIMPLE_HTML],
    ['only text/html', 'text/html', 'text/html'],
    ['nothing acceptable', 'application/json', null],
    ['unknown API version', 'application/vnd.pypi.simple.v2+json', null],
    ['everything refused', `${SIMPLE_JSON};q=0, ${SIMPLE_HTML};q=0, text/html;q=0`, null],
    ['invalid q skips that range', `${SIMPLE_JSON};q=2, text/html;q=0.5`, 'text/html'],
    ['other parameters ignored', `${SIMPLE_JSON};charset=utf-8;q=0.9, text/html;q=0.8`, SIMPLE_JSON],
  ];
  for (const [what, accept, expected] of table) {
    it(`${what} -> ${String(expected)}`, () => assert.equal(negotiateSimpleContentType(accept), expected));
  }
});
