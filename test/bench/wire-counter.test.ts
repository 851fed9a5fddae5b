// The counting intermediary of bench/pypi-claiming-bench.ts counts exactly the bytes the index
// sent for each response (compressed as the client asked), and forwards them unchanged.
import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { WireCounter, wireTotals } from '../../bench/pypi-claiming-wire.js';

describe('bench wire counter', () => {
  const body = Buffer.from('{"signed":{"_type":"timestamp"}}'.repeat(200));
  const gz = gzipSync(body);
  let index: Server;
  let counter: WireCounter;
  /** Bytes the index wrote on each socket, once it closed. */
  const written: number[] = [];

  before(async () => {
    index = createServer((req, res) => {
      const zipped = /gzip/.test(req.headers['accept-encoding'] ?? '');
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': (zipped ? gz : body).length, ...(zipped ? { 'content-encoding': 'gzip' } : {}), connection: 'close' });
      res.end(zipped ? gz : body);
    });
    index.on('connection', (s: Socket) => s.on('close', () => written.push(s.bytesWritten)));
    await new Promise<void>((r) => index.listen(0, '127.0.0.1', r));
    counter = await WireCounter.start(`http://127.0.0.1:${(index.address() as AddressInfo).port}`);
  });
  after(async () => {
    await counter.close();
    await new Promise((r) => index.close(r));
  });

  const fetchRaw = (path: string, encoding: string) =>
    new Promise<{ bytes: Buffer; encoding: string | undefined }>((resolve, reject) => {
      get(`${counter.url}${path}`, { headers: { 'accept-encoding': encoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ bytes: Buffer.concat(chunks), encoding: res.headers['content-encoding'] }));
      }).on('error', reject);
    });

  it('counts each response as the index sent it, compressed as asked, and passes it on unchanged', async () => {
    const zipped = await fetchRaw('/metadata/7.snapshot.json', 'gzip, br');
    assert.deepEqual(zipped.bytes, gz);
    assert.equal(zipped.encoding, 'gzip');
    const plain = await fetchRaw('/targets/a/index.json', 'identity');
    assert.deepEqual(plain.bytes, body);
    await new Promise((r) => setTimeout(r, 50)); // the index's sockets close
    const seen = counter.take();
    assert.deepEqual(
      seen.map((r) => [r.path, r.status, r.encoding]),
      [['/metadata/7.snapshot.json', 200, 'gzip'], ['/targets/a/index.json', 200, undefined]]
    );
    // Exactly what crossed the wire from the index: status line, headers and body.
    assert.deepEqual(seen.map((r) => r.bytes).sort((a, b) => a - b), [...written].sort((a, b) => a - b));
    assert.ok((seen[0]?.bytes ?? 0) < body.length, 'the compressed response is counted compressed');
    const totals = wireTotals(seen);
    assert.equal(totals.metadataBytes, seen[0]?.bytes);
    assert.equal(totals.otherBytes, seen[1]?.bytes);
    assert.equal(totals.metadataRequests, 1);
    assert.deepEqual(counter.take(), [], 'take() forgets what it returned');
  });
});
