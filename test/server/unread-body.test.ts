// A body answered early (src/server/http/unread-body.ts): past the discard budget the server stops
// reading rather than resetting the connection, so a client that is slow to read (a loaded
// machine, or one that reads only between writes) still finds the answer in its receive queue.
// With a reset, the kernel drops what the client had not read yet.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { discardUnreadBody } from '../../src/server/http/unread-body.js';

const MiB = 1024 * 1024;

describe('a refused body past the discard budget', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((req, res) => {
      discardUnreadBody(req, { bytes: 1 * MiB, ms: 10_000 });
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('UNAUTHENTICATED');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('leaves the answer readable by a client that reads only after sending far past it', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.pause(); // reads nothing while it sends
    socket.on('error', () => undefined);
    socket.write(`POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
    const chunk = Buffer.alloc(256 * 1024, 'a');
    for (let sent = 0; sent < 8 * MiB && !socket.destroyed; sent += chunk.length) {
      if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(300)]);
    }
    await sleep(300);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.resume();
    await Promise.race([new Promise((r) => socket.once('close', r)), sleep(1000)]);
    socket.destroy();
    assert.match(received, /^HTTP\/1\.1 401/);
    assert.match(received, /UNAUTHENTICATED/);
  });
});
