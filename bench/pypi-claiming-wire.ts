// SPDX-License-Identifier: Apache-2.0
// A counting HTTP intermediary for bench/pypi-claiming-bench.ts: it sits between `bulwark proxy`
// and the index on 127.0.0.1, forwards every request unchanged (Accept-Encoding included, so the
// index compresses as the client asks) and counts the bytes of each response as they cross the
// wire: the status line and headers as sent, and the body as received (compressed if it was).
// Hand-written: it is twenty lines over node:http, and the count must be of exactly these bytes.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One response as counted. */
export interface WireResponse {
  path: string;
  status: number;
  /** status line + headers + body, as they crossed the wire (chunked framing aside) */
  bytes: number;
  encoding: string | undefined;
}

/** Bytes of the status line and headers of a response, as HTTP/1.1 sends them. */
function headerBytes(res: IncomingMessage): number {
  let n = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`.length + 2;
  for (let i = 0; i < res.rawHeaders.length; i += 2) n += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`.length;
  return n;
}

export class WireCounter {
  private log: WireResponse[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string
  ) {}

  /** Starts forwarding to `target` (http://host:port) on a free port of 127.0.0.1. */
  static async start(target: string): Promise<WireCounter> {
    const upstream = new URL(target);
    let counter: WireCounter | undefined;
    const server = createServer((req, res) => {
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (up) => {
          let bytes = headerBytes(up);
          up.on('data', (chunk: Buffer) => (bytes += chunk.length));
          up.on('end', () => counter?.log.push({ path: req.url ?? '', status: up.statusCode ?? 0, bytes, encoding: up.headers['content-encoding'] }));
          res.writeHead(up.statusCode ?? 502, up.statusMessage, up.rawHeaders);
          up.pipe(res);
        }
      );
      out.on('error', (e) => res.destroy(e));
      req.pipe(out);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    counter = new WireCounter(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return counter;
  }

  /** The responses since the last take(), and forgets them. */
  take(): WireResponse[] {
    const out = this.log;
    this.log = [];
    return out;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Totals of a list of responses: TUF metadata (`/metadata/…`) and everything else. */
export function wireTotals(responses: readonly WireResponse[]): { metadataBytes: number; otherBytes: number; requests: number; metadataRequests: number } {
  let metadataBytes = 0;
  let otherBytes = 0;
  let metadataRequests = 0;
  for (const r of responses) {
    if (r.path.startsWith('/metadata/')) {
      metadataBytes += r.bytes;
      metadataRequests++;
    } else otherBytes += r.bytes;
  }
  return { metadataBytes, otherBytes, requests: responses.length, metadataRequests };
}
