// PEP 480 Table 1: the attacker's mirror. A node:http server on 127.0.0.1 over the honest
// repository's public/ tree (read-only) with the attacker's files laid over it: what a
// compromised index, CDN or man in the middle would serve. The honest tree is never written.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HonestTree } from './forge.js';

export class AttackerMirror {
  private overrides = new Map<string, Buffer>();
  private down = false;
  requests = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string
  ) {}

  static async start(tree: HonestTree): Promise<AttackerMirror> {
    let mirror: AttackerMirror | undefined;
    const server = createServer((req, res) => {
      const m = mirror as AttackerMirror;
      m.requests++;
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? '/', 'http://mirror').pathname).replace(/^\/+/, '');
      } catch {
        res.writeHead(400).end();
        return;
      }
      const body = req.method === 'GET' && !m.down && !path.split('/').includes('..') ? (m.overrides.get(path) ?? tree.file(path)) : undefined;
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    mirror = new AttackerMirror(server, `http://127.0.0.1:${port}`);
    return mirror;
  }

  /** From now on, serve these files (paths under the static tree) instead of or beside the honest ones. */
  serve(files: ReadonlyMap<string, Buffer>): void {
    this.overrides = new Map(files);
  }

  /** From now on, answer every request with 404, as a mirror that lost its files: no attack can be tested. */
  breakDown(): void {
    this.down = true;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
