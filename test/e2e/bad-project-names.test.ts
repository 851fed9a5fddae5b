// A project name in a URL that is not a valid project name (PEP 508), however it is encoded,
// gets 404 on every route that takes one: never a redirect (which would echo the hostile
// name back as a new address), never a 5xx. Valid but non-normalized names still redirect.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildProxy } from '../../src/client/proxy.js';
import type { VerifiedIndex } from '../../src/client/verified-index.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { sendRaw } from '../helpers/raw-http.js';

// Each is one URL path segment as a client sends it (percent-encoded where needed).
const BAD_NAMES = [
  '..%2f..%2fconfig.json', // ../../config.json
  '..%252f..%252fconfig.json', // double-encoded: decodes once to ..%2f..%2fconfig.json
  '%2e%2e', // ..
  '.hidden',
  'trailing-',
  'a%00b',
  'caf%C3%A9',
  'a%20b',
  'x'.repeat(201), // longer than Fastify's maxParamLength (100): 414 before any route runs
];
const expected = (name: string) => (name.length > 100 ? 414 : 404);

/** The path exactly as given, on a raw socket: fetch() would resolve `%2e%2e` as `..` (WHATWG URL). */
async function send(base: string, method: string, path: string, headers: string[] = [], body = ''): Promise<{ status: number | undefined; location: string | undefined; body: string }> {
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`, ...headers].join('\r\n');
  const r = await sendRaw(base, { head, body: [Buffer.from(body)] });
  return { status: r.status, location: r.headers['location'], body: r.body };
}

describe('routes that take a project name answer 404 for an invalid one', () => {
  let index: IndexUnderTest;
  let token: string;

  before(async () => {
    index = await startIndex();
    token = await index.user('alice');
  });
  after(() => index.close());

  const getRoutes = (name: string) => [
    `/simple/${name}/`,
    `/simple/${name}`,
    `/pypi/${name}/json`,
    `/pypi/${name}/1.0/json`,
    `/project/${name}/`,
    `/project/${name}`,
    `/project/${name}/1.0/`,
  ];

  it('GET: 404, no redirect', async () => {
    for (const name of BAD_NAMES) {
      for (const path of getRoutes(name)) {
        const res = await send(index.url, 'GET', path);
        assert.equal(res.status, expected(name), `${path}: ${res.status} ${res.location ?? ''}`);
      }
    }
  });

  it('POST (yank, claim, signed upload, keys): a 4xx, no redirect, nothing recorded', async () => {
    const before = await index.fingerprint();
    for (const name of BAD_NAMES) {
      for (const action of ['yank', 'claim', 'signed-upload', 'keys']) {
        const res = await send(index.url, 'POST', `/api/v1/projects/${name}/${action}`, [`Authorization: Bearer ${token}`, 'Content-Type: application/json'], '{"version":"1.0"}');
        assert.ok(res.status !== undefined && res.status >= 400 && res.status < 500, `${action} ${name}: ${res.status} ${res.body}`);
      }
    }
    assert.deepEqual(await index.fingerprint(), before);
  });

  it('a valid name that is not normalized still redirects to the normalized one', async () => {
    for (const [path, location] of [
      ['/simple/Some.Name/', '/simple/some-name/'],
      ['/project/Some_Name/', '/project/some-name/'],
    ]) {
      const res = await fetch(`${index.url}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 301, path);
      assert.equal(res.headers.get('location'), location);
    }
  });

  it('the verifying proxy answers 404 too, without asking the index', async () => {
    const asked: string[] = [];
    const index = {
      get: async (path: string) => {
        asked.push(path);
        throw new Error('not reached');
      },
    } as unknown as VerifiedIndex;
    const proxy = buildProxy(index, undefined);
    const url = await proxy.listen({ host: '127.0.0.1', port: 0 });
    try {
      for (const name of BAD_NAMES) {
        for (const path of [`/simple/${name}/`, `/simple/${name}`, `/files/${name}/x-1.0.tar.gz`]) {
          const res = await send(url, 'GET', path);
          assert.equal(res.status, expected(name), `${path}: ${res.status} ${res.location ?? ''}`);
        }
      }
      assert.deepEqual(asked, []);
    } finally {
      await proxy.close();
    }
  });
});
