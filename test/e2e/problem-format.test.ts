// Every error the server sends, Fastify's and Node's own included (a malformed URL, a body
// shorter than its Content-Length, a bad Content-Length, a malformed request, a truncated
// multipart body, a body too large, bad JSON), comes in the project's problem format: a code
// and a message, as JSON under /api/ and as one line of text elsewhere, never the framework's
// `{"error":"Bad Request","message":"Client Error","statusCode":400}`.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { sendRaw, type RawResponse } from '../helpers/raw-http.js';

describe('errors come in the problem format', () => {
  let index: IndexUnderTest;
  let token: string;

  before(async () => {
    index = await startIndex();
    token = await index.user('alice');
  });
  after(() => index.close());

  /** `head` is the request line, then headers (Host is added); `end` half-closes after the body. */
  const raw = ([line, ...headers]: string[], body?: string, end = false) =>
    sendRaw(index.url, { head: [line, 'Host: 127.0.0.1', ...headers].join('\r\n'), body: body === undefined ? [] : [Buffer.from(body)], endAfterBody: end });

  const assertProblem = (r: RawResponse, status: number, code: string, format: 'text' | 'json') => {
    const shown = `${r.status ?? 'no answer'} ${JSON.stringify(r.headers)} ${r.body}`;
    assert.equal(r.status, status, shown);
    assert.doesNotMatch(r.body, /"statusCode"/, `Fastify's own error format leaked: ${shown}`);
    if (format === 'json') {
      assert.match(r.headers['content-type'] ?? '', /^application\/json/, shown);
      const body = JSON.parse(r.body) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code, shown);
      assert.ok(body.error.message.length > 10, shown);
    } else {
      assert.match(r.headers['content-type'] ?? '', /^text\/plain/, shown);
      assert.match(r.body, new RegExp(`^${status} ${code}: .{10,}`), shown);
    }
  };

  it('a malformed URL encoding: 400 BAD_URL', async () => {
    assertProblem(await raw(['GET /simple/%ZZ/ HTTP/1.1']), 400, 'BAD_URL', 'text');
    assertProblem(await raw(['GET /api/v1/transactions/%ZZ HTTP/1.1']), 400, 'BAD_URL', 'json');
  });

  it('an unknown address: 404 NOT_FOUND', async () => {
    assertProblem(await raw(['GET /nowhere HTTP/1.1']), 404, 'NOT_FOUND', 'text');
    assertProblem(await raw(['GET /api/v1/nowhere HTTP/1.1']), 404, 'NOT_FOUND', 'json');
  });

  it('a body shorter than its Content-Length: 400 INCOMPLETE_REQUEST', async () => {
    const head = ['POST /api/v1/projects/x/yank HTTP/1.1', `Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Content-Length: 100'];
    assertProblem(await raw(head, '{"version":"1.0"}', true), 400, 'INCOMPLETE_REQUEST', 'json');
  });

  it('a truncated multipart body: 400 INCOMPLETE_REQUEST, or BAD_FORM when the bytes are all there', async () => {
    const part = '--xyz\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload';
    const head = ['POST /legacy/ HTTP/1.1', `Authorization: ${basicAuth(token)}`, 'Content-Type: multipart/form-data; boundary=xyz'];
    assertProblem(await raw([...head, 'Content-Length: 1000'], part, true), 400, 'INCOMPLETE_REQUEST', 'text');
    assertProblem(await raw([...head, `Content-Length: ${part.length}`], part, true), 400, 'BAD_FORM', 'text');
  });

  it('a malformed Content-Length or header: 400 BAD_CONTENT_LENGTH, BAD_HTTP_REQUEST', async () => {
    assertProblem(await raw(['POST /legacy/ HTTP/1.1', 'Content-Length: abc']), 400, 'BAD_CONTENT_LENGTH', 'text');
    assertProblem(await raw(['GET /simple/ HTTP/1.1', 'a header without colon']), 400, 'BAD_HTTP_REQUEST', 'text');
  });

  it('headers too large: 431 HEADERS_TOO_LARGE', async () => {
    assertProblem(await raw(['GET /simple/ HTTP/1.1', `X-Big: ${'a'.repeat(20_000)}`]), 431, 'HEADERS_TOO_LARGE', 'text');
  });

  it('a JSON body too large, empty or malformed: 413 BODY_TOO_LARGE, 400 BAD_JSON', async () => {
    const head = ['POST /api/v1/projects/x/yank HTTP/1.1', `Authorization: Bearer ${token}`, 'Content-Type: application/json'];
    const big = JSON.stringify({ reason: 'a'.repeat(2 * 1024 * 1024) });
    assertProblem(await raw([...head, `Content-Length: ${big.length}`], big), 413, 'BODY_TOO_LARGE', 'json');
    assertProblem(await raw([...head, 'Content-Length: 5'], '{bad!'), 400, 'BAD_JSON', 'json');
    assertProblem(await raw([...head, 'Content-Length: 0'], ''), 400, 'BAD_JSON', 'json');
  });

  it('an upload that is not multipart: 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    assertProblem(await raw(['POST /legacy/ HTTP/1.1', `Authorization: ${basicAuth(token)}`, 'Content-Type: application/octet-stream', 'Content-Length: 3'], 'abc'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'text');
  });

  it('the server still answers after all of that', async () => {
    assert.equal((await fetch(`${index.url}/health`)).status, 200);
  });
});

describe('a request that comes while the server shuts down', () => {
  it('gets 503 SHUTTING_DOWN in the problem format, not Fastify\'s own', async () => {
    const index = await startIndex();
    const token = await index.user('alice');
    const socket = connect(Number(new URL(index.url).port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    await new Promise((resolve) => socket.once('connect', resolve));
    // A request in flight keeps its connection open while the server closes; the next
    // request on that connection arrives during the shutdown.
    const body = '{"version":"1.0"}';
    socket.write(`POST /api/v1/projects/x/yank HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await sleep(200);
    const closed = index.app.close();
    await sleep(100);
    socket.write(`${body.slice(5)}GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
    for (let i = 0; i < 100 && !/\r\n\r\n503 /.test(received) && !received.includes('"statusCode":503'); i++) await sleep(50);
    socket.destroy();
    await closed;
    await index.close();
    assert.match(received, /HTTP\/1\.1 503 [^]*\r\n\r\n503 SHUTTING_DOWN: /, received);
    assert.doesNotMatch(received, /"statusCode"/);
  });
});
