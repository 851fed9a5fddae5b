// SPDX-License-Identifier: Apache-2.0
// GET /metadata/*, /targets/* and /files/*: the static tree, served as any web server or CDN would serve
// it. Versioned and hashed names never change, so they are cached for a year; timestamp.json
// is the one mutable file. Clients that accept gzip or brotli get the precompressed copies.
//
// Each tree is our own wildcard route calling @fastify/static's `reply.sendFile`, not the plugin's
// route: the plugin's route checks the path's spelling against a listing of every directory on it,
// on every request (a guard for case-insensitive file systems). At PyPI size public/metadata holds
// tens of thousands of files and that listing made a 2 KB request take about a second. The path
// is checked here instead (servablePath), and sendFile keeps the plugin's own traversal and
// dot-file guards.
//
// timestamp.json, the one file replaced in place (by rename, with every publication), is not
// given to sendFile: it takes the length from a stat of the name and then opens the name again,
// so a publication between the two sent one version's length with another's bytes (a client's
// parse error) or a body shorter than announced (a connection held until it timed out). It is
// read through one open file instead (readFile: open, fstat and read on one descriptor).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PUBLIC_DIR } from '../../repository/paths.js';

const TREES = ['metadata', 'targets', 'files'] as const;
/** The mutable file of the metadata tree (every other name there is versioned or hashed). */
const MUTABLE = 'timestamp.json';

/** Sends one whole version of a file replaced by rename: the bytes of a single open. */
async function sendWhole(req: FastifyRequest, reply: FastifyReply, file: string): Promise<FastifyReply> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    reply.callNotFound();
    return reply;
  }
  const etag = `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
  reply.header('Cache-Control', 'no-cache').header('ETag', etag).type('application/json');
  if (req.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.send(bytes);
}

/**
 * A path inside a tree as our files are named: non-empty segments, none starting with a dot (no
 * `.`/`..`, no temporary file of an atomic write), no backslash or control character.
 */
export function servablePath(path: string): boolean {
  if (path.length === 0 || path.length > 1024) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(path)) return false;
  return path.split('/').every((segment) => segment.length > 0 && !segment.startsWith('.'));
}

export async function registerStaticTree(app: FastifyInstance, dataDir: string): Promise<void> {
  for (const dir of TREES) {
    // Each tree in its own scope: its own root, and its own `sendFile` decoration.
    await app.register(async (scope) => {
      await scope.register(fastifyStatic, {
        root: join(dataDir, PUBLIC_DIR, dir),
        serve: false,
        decorateReply: true,
        index: false,
        list: false,
        dotfiles: 'deny', // temporary files of atomic writes start with a dot
        preCompressed: dir === 'metadata',
        cacheControl: false,
        etag: true,
        lastModified: false,
        setHeaders: (res, path) => {
          res.header('Cache-Control', 'public, max-age=31536000, immutable'); // MUTABLE is sent by sendWhole
          if (path.endsWith('.json')) res.header('Content-Type', 'application/json');
        },
      });
      scope.route({
        method: ['GET', 'HEAD'],
        url: `/${dir}/*`,
        handler: (req, reply: FastifyReply) => {
          const path = (req.params as Record<string, string | undefined>)['*'] ?? '';
          if (!servablePath(path)) return reply.callNotFound();
          if (dir === 'metadata' && path === MUTABLE) return sendWhole(req, reply, join(dataDir, PUBLIC_DIR, dir, MUTABLE));
          return reply.sendFile(path);
        },
      });
    });
  }
}
