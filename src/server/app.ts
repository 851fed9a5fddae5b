// SPDX-License-Identifier: Apache-2.0
// Builds the HTTP application from an open repository: routes and limits, nothing else.
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { MAX_NAME_SEGMENT_LENGTH } from '../packaging/index.js';
import type { Repository } from '../repository/repository.js';
import { sendProblem } from './http/problem.js';
import { registerApiRoutes } from './routes/api.js';
import { registerWebRoutes } from '../web/routes.js';
import { registerManageRoutes } from './routes/manage.js';
import { registerProjectRoleRoutes } from './routes/project-roles.js';
import { registerSimpleRoutes } from './routes/simple.js';
import { registerStaticTree } from './routes/static-tree.js';
import { registerUploadRoutes } from './routes/upload.js';

export interface ServerOptions {
  /** A pino logger for request and error logs (none by default). */
  logger?: FastifyBaseLogger;
  /** Largest distribution file accepted (bytes; PyPI's default is 100 MiB). */
  maxUploadBytes?: number;
  /** How long an upload waits for its snapshot before answering (ms). */
  waitForPublishMs?: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

export async function buildServer(repo: Repository, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const app = fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    return503OnClosing: true,
    maxParamLength: MAX_NAME_SEGMENT_LENGTH, // every valid project and file name reaches its routes
  });
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: maxUploadBytes,
      files: 2,
      fields: 500,
      fieldSize: 4 * 1024 * 1024, // the long description travels as a field
      parts: 600,
      headerPairs: 200,
    },
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, 'NOT_FOUND', `Not found: ${req.url.slice(0, 200)}`));
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status === 415) return sendProblem(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', `Unsupported content type "${req.headers['content-type'] ?? ''}": uploads are multipart/form-data (use twine).`);
    if (status >= 500) req.log.error({ err }, 'request failed');
    return sendProblem(reply, status, status >= 500 ? 'INTERNAL' : 'BAD_REQUEST', status >= 500 ? 'Internal error; see the server log.' : (err.message ?? 'Bad request'));
  });
  await registerWebRoutes(app, repo);
  registerSimpleRoutes(app, repo);
  const waitForPublishMs = opts.waitForPublishMs ?? 10_000;
  registerUploadRoutes(app, repo, { maxUploadBytes, waitForPublishMs });
  registerManageRoutes(app, repo, { waitForPublishMs });
  registerProjectRoleRoutes(app, repo, { maxUploadBytes, waitForPublishMs });
  registerApiRoutes(app, repo);
  await registerStaticTree(app, repo.dataDir);
  return app;
}
