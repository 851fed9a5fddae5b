// HTTP requests written byte by byte on a plain TCP socket, for tests that send what no HTTP
// client library would: bodies shorter than their Content-Length, malformed headers, and
// endless attack bodies produced lazily, where the test must see when the server answers (or
// hangs up) while the body is still being sent.
import { connect } from 'node:net';

export interface RawResponse {
  /** The status code of the first response line (undefined: the server sent no response). */
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** Body bytes written to the socket before the response came or the socket closed. */
  sentBytes: number;
  /** True when the whole body was sent, i.e. the server did not refuse it early. */
  sentAll: boolean;
}

export interface RawRequest {
  /** The request line and headers, without the blank line that ends them. */
  head: string;
  /** Body chunks, produced lazily: the sender stops pulling once the server has answered. */
  body?: Iterable<Buffer>;
  /** Half-close the socket after the body (a short body then ends the request for the server). */
  endAfterBody?: boolean;
  /** Go on sending after the answer, as clients that read it only at the end do (default: stop). */
  ignoreAnswer?: boolean;
  /** Stop sending after this many body bytes (default: no limit). */
  maxSendBytes?: number;
  /** How long to wait for an answer once the body is sent (default 10 s). */
  answerTimeoutMs?: number;
}

function parseResponse(raw: string): Pick<RawResponse, 'status' | 'headers' | 'body'> {
  const end = raw.indexOf('\r\n\r\n');
  const headText = end < 0 ? raw : raw.slice(0, end);
  const [statusLine, ...lines] = headText.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: m ? Number(m[1]) : undefined, headers, body: end < 0 ? '' : raw.slice(end + 4) };
}

/** Sends one raw request to base (http://host:port) and reads the answer until the server closes or stops. */
export async function sendRaw(base: string, req: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  const timeoutMs = req.answerTimeoutMs ?? 10_000;
  let received = '';
  let closed = false;
  let wake: (() => void) | undefined;
  const signal = () => wake?.();
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
    signal();
  });
  socket.on('drain', signal);
  socket.on('error', signal); // a reset while we are still sending is the expected refusal
  socket.on('close', () => {
    closed = true;
    signal();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const answered = () => received.includes('\r\n\r\n') || closed || socket.destroyed;
  /** Waits until `done()` or timeoutMs without any event; false on the timeout. */
  const waitUntil = async (done: () => boolean): Promise<boolean> => {
    while (!done()) {
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      wake = undefined;
      if (!woke) return done();
    }
    return true;
  };

  const stopSending = () => (req.ignoreAnswer ? closed || socket.destroyed : answered());
  socket.write(`${req.head}\r\n\r\n`);
  let sentBytes = 0;
  let sentAll = true;
  for (const chunk of req.body ?? []) {
    if (stopSending() || sentBytes >= (req.maxSendBytes ?? Infinity)) {
      sentAll = false;
      break;
    }
    sentBytes += chunk.length;
    if (!socket.write(chunk) && !(await waitUntil(() => stopSending() || !socket.writableNeedDrain))) {
      sentAll = false; // the server stopped reading without answering
      break;
    }
  }
  if (req.endAfterBody && !socket.destroyed) socket.end();
  await waitUntil(answered);
  // The rest of a response on its way (its body may follow its head in another packet).
  await waitUntil(() => closed || (received.includes('\r\n\r\n') && bodyComplete(received)));
  socket.destroy();
  return { ...parseResponse(received), sentBytes, sentAll };
}

function bodyComplete(raw: string): boolean {
  const { headers, body } = parseResponse(raw);
  const length = Number(headers['content-length'] ?? NaN);
  return Number.isFinite(length) && Buffer.byteLength(body, 'latin1') >= length;
}

/** One multipart/form-data part's head (the boundary line and its headers). */
export function partHead(boundary: string, name: string, filename?: string): Buffer {
  const disposition = `form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}`;
  const type = filename === undefined ? '' : '\r\nContent-Type: application/octet-stream';
  return Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}${type}\r\n\r\n`);
}

/**
 * A multipart body of `count` parts named `name`, each `partBytes` long, produced lazily in
 * 1 MiB chunks (so that a test can offer gigabytes and send only what the server reads).
 */
export function* multipartFlood(boundary: string, opts: { name: string; filename?: string; count: number; partBytes: number }): Generator<Buffer> {
  const mib = Buffer.alloc(1024 * 1024, 'a');
  for (let i = 0; i < opts.count; i++) {
    yield partHead(boundary, opts.name, opts.filename === undefined ? undefined : `${i}-${opts.filename}`);
    let left = opts.partBytes;
    while (left > 0) {
      const n = Math.min(left, mib.length);
      yield n === mib.length ? mib : mib.subarray(0, n);
      left -= n;
    }
    yield Buffer.from('\r\n');
  }
  yield Buffer.from(`--${boundary}--\r\n`);
}

/** The total length of what multipartFlood() yields, for the Content-Length header. */
export function multipartFloodLength(boundary: string, opts: { name: string; filename?: string; count: number; partBytes: number }): number {
  let total = Buffer.byteLength(`--${boundary}--\r\n`);
  for (let i = 0; i < opts.count; i++) {
    total += partHead(boundary, opts.name, opts.filename === undefined ? undefined : `${i}-${opts.filename}`).length + opts.partBytes + 2;
  }
  return total;
}
