// The client's HTTP transport (src/client/fetcher.ts) on a real server on 127.0.0.1: redirects
// followed, gzip and br decoded, refusals typed, and the length bound applied to what a
// compressed body inflates to. (Slow and endless answers: test/attacks/endless-data-and-slow-retrieval.)
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { HttpFetcher } from '../../src/client/fetcher.js';
import { DownloadError } from '../../src/tuf/index.js';

const BODY = Buffer.from('{"signed":"metadata"}'.repeat(50));

describe('HttpFetcher', () => {
  let server: Server;
  let base = '';
  let connections = 0;
  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/moved') res.writeHead(302, { location: 'plain', 'content-length': 0 }).end();
      else if (path === '/loop') res.writeHead(307, { location: '/loop', 'content-length': 0 }).end();
      else if (path === '/plain') res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
      else if (path === '/gzip') res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(BODY));
      else if (path === '/br') res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync(BODY));
      else if (path === '/bomb') res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(10_000_000)));
      else if (path === '/cut') {
        res.writeHead(200, { 'content-length': 1000 });
        res.write(BODY.subarray(0, 100));
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (path === '/error') res.writeHead(500, { 'content-length': 0 }).end();
      else if (path === '/chunked-none') res.writeHead(404).end('gone'); // no length: chunked, as node:http's own servers answer
      else if (path === '/chunked-big-none') res.writeHead(404).end(Buffer.alloc(200_000));
      else res.writeHead(404, { 'content-length': 9 }).end('not found');
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const refused = async (path: string, max: number, code: string) => {
    await assert.rejects(new HttpFetcher().fetch(`${base}${path}`, max), (e: unknown) => e instanceof DownloadError && e.code === code);
  };

  it('follows a relative redirect and decodes gzip and br', async () => {
    const f = new HttpFetcher();
    for (const path of ['/plain', '/moved', '/gzip', '/br']) assert.deepEqual(await f.fetch(`${base}${path}`, BODY.length), BODY, path);
  });

  it('refuses a body past the bound, also once inflated, and an endless redirect loop', async () => {
    await refused('/plain', BODY.length - 1, 'LENGTH_EXCEEDED');
    await refused('/bomb', 1_000_000, 'LENGTH_EXCEEDED');
    await refused('/loop', 1000, 'NETWORK');
  });

  it('types refusals and cut connections; a 404 leaves the connection usable', async () => {
    const f = new HttpFetcher();
    for (let i = 0; i < 3; i++) {
      await assert.rejects(f.fetch(`${base}/none`, 1000), (e: unknown) => e instanceof DownloadError && e.code === 'NOT_FOUND');
      assert.deepEqual(await f.fetch(`${base}/plain`, BODY.length), BODY);
    }
    // A refusal without a length (chunked) is read to its end too, so that the next request
    // reuses the connection: a client asks for the next root, absent, on every refresh.
    const before = connections;
    for (let i = 0; i < 3; i++) {
      await assert.rejects(f.fetch(`${base}/chunked-none`, 1000), (e: unknown) => e instanceof DownloadError && e.code === 'NOT_FOUND');
      assert.deepEqual(await f.fetch(`${base}/plain`, BODY.length), BODY);
    }
    assert.ok(connections - before <= 1, `a chunked 404 closed the connection: ${connections - before} new connections for 6 requests`);
    // One past the drain limit is cut rather than read: the next request still succeeds.
    await assert.rejects(f.fetch(`${base}/chunked-big-none`, 1000), (e: unknown) => e instanceof DownloadError && e.code === 'NOT_FOUND');
    assert.deepEqual(await f.fetch(`${base}/plain`, BODY.length), BODY);
    await refused('/error', 1000, 'HTTP');
    await refused('/cut', 1000, 'NETWORK');
    await assert.rejects(f.fetch('ftp://127.0.0.1/x', 1000), (e: unknown) => e instanceof DownloadError && e.code === 'NETWORK');
  });
});
