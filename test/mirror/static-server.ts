// A tiny static file server (node:http, no framework) for mirror directories: GET and HEAD of
// files under a root, 404 for anything else, dot files never served. It counts requests by path.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface StaticServer {
  url: string;
  /** Every request path, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** `hold(path)` true: the request never gets an answer (to kill a client in the middle of a sync). */
export async function serveStatic(root: string, opts: { hold?: (path: string) => boolean } = {}): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      requests.push(path);
      if (opts.hold?.(path)) return;
      const rel = normalize(path).replace(/^[/\\]+/, '');
      if (rel.startsWith('..') || rel.split(sep).some((s) => s.startsWith('.'))) {
        res.writeHead(404).end();
        return;
      }
      const file = join(root, rel);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': st.size, 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file).pipe(res);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
