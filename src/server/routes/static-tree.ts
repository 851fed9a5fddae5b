// SPDX-License-Identifier: Apache-2.0
// GET /metadata/*, /targets/* and /files/*: the static tree, served as any web server or CDN would serve
// it. Versioned and hashed names never change, so they are cached for a year; timestamp.json
// is the one mutable file. Clients that accept gzip or brotli get the precompressed copies.
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { PUBLIC_DIR } from '../../repository/paths.js';

export async function registerStaticTree(app: FastifyInstance, dataDir: string): Promise<void> {
  for (const dir of ['metadata', 'targets', 'files']) {
    await app.register(fastifyStatic, {
      root: join(dataDir, PUBLIC_DIR, dir),
      prefix: `/${dir}/`,
      decorateReply: false,
      index: false,
      list: false,
      dotfiles: 'deny', // temporary files of atomic writes start with a dot
      preCompressed: dir === 'metadata',
      cacheControl: false,
      etag: true,
      lastModified: false,
      setHeaders: (res, path) => {
        const mutable = path.endsWith('/timestamp.json');
        res.header('Cache-Control', mutable ? 'no-cache' : 'public, max-age=31536000, immutable');
        if (path.endsWith('.json')) res.header('Content-Type', 'application/json');
      },
    });
  }
}
