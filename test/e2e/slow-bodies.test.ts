// A body that comes slowly, or stops coming, holds a connection only for a bounded time: the
// whole request (headers and body) must arrive within the server's request timeout, and the
// rest of a refused body is discarded only for a bounded time too. Before this, Fastify's
// request timeout was off (0) and a refused body was read for as long as it kept coming, so a
// client without credentials could hold any number of connections open forever by sending a
// few bytes of a large upload and then nothing.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';

/** How long the test waits for the server to hang up before it calls the connection held. */
const GIVE_UP_MS = 20_000;

interface Outcome {
  /** The first response line, if the server answered. */
  statusLine: string | undefined;
  /** Whether the server closed the connection before GIVE_UP_MS. */
  closedByServer: boolean;
}

/** Sends the headers of a 64 MiB upload and 100 bytes of its body, then nothing more. */
function stall(base: string, authorization: string | undefined): Promise<Outcome> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(port), hostname);
    let received = '';
    const finish = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ statusLine: received.split('\r\n')[0] || undefined, closedByServer });
    };
    const timer = setTimeout(() => finish(false), GIVE_UP_MS);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      const head = [
        'POST /legacy/ HTTP/1.1',
        `Host: ${hostname}:${port}`,
        'Content-Type: multipart/form-data; boundary=stall',
        `Content-Length: ${64 * 1024 * 1024}`,
        ...(authorization ? [`Authorization: ${authorization}`] : []),
      ];
      socket.write(`${head.join('\r\n')}\r\n\r\n--stall\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n--stall\r\n` + 'x'.repeat(20));
    });
  });
}

describe('a stalled request body holds a connection for a bounded time', () => {
  let index: IndexUnderTest;
  let token: string;

  before(async () => {
    index = await startIndex({ server: { requestTimeoutMs: 1_000 } });
    token = await index.user('alice');
  });
  after(() => index.close());

  it('without credentials: answered 401 at once, then cut instead of waiting for the rest', async () => {
    const r = await stall(index.url, undefined);
    assert.match(r.statusLine ?? '', /^HTTP\/1\.1 401 /);
    assert.ok(r.closedByServer, `the server kept the connection for ${GIVE_UP_MS} ms waiting for a refused body`);
  });

  it('signed in: cut once the request timeout has passed', async () => {
    const r = await stall(index.url, basicAuth(token));
    assert.ok(r.closedByServer, `the server kept the connection for ${GIVE_UP_MS} ms waiting for a stalled upload`);
  });

  it('still answers afterwards', async () => {
    const res = await fetch(`${index.url}/simple/`);
    assert.equal(res.status, 200);
  });
});
