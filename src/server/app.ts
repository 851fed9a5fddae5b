// SPDX-License-Identifier: Apache-2.0
// Builds the HTTP application from an open repository: routes and limits, nothing else.
import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { MAX_NAME_SEGMENT_LENGTH } from '../packaging/index.js';
import type { Repository } from '../repository/repository.js';
import { DEFAULT_LIMITS, multipartLimits, type RequestLimits } from './http/form-limits.js';
import { answerClientError, sendError } from './http/framework-errors.js';
import { problemFormatFor, sendProblem } from './http/problem.js';
import { discardUnreadBody } from './http/unread-body.js';
import { registerApiRoutes } from './routes/api.js';
import { registerBuildFarmRoutes } from './routes/build-farm.js';
import { registerWebRoutes } from '../web/routes.js';
import { registerManageRoutes } from './routes/manage.js';
import { registerProjectRoleRoutes } from './routes/project-roles.js';
import { registerSimpleRoutes } from './routes/simple.js';
import { registerStaticTree } from './routes/static-tree.js';
import { registerUploadRoutes } from './routes/upload.js';

export interface ServerOptions extends Partial<RequestLimits> {
  /** A pino logger for request and error logs (none by default). */
  logger?: FastifyBaseLogger;
  /** How long an upload waits for its snapshot before answering (ms). */
  waitForPublishMs?: number;
  /** The web pages' clock (sessions, two-factor codes): tests inject one. */
  webClock?: () => Date;
}

/** The largest JSON or form body (API calls, web forms set their own): none needs more. */
const BODY_LIMIT = 1024 * 1024;
/** The longest a refused body is read on (ms), so that the client sees the answer. */
const DISCARD_MAX_MS = 30_000;

export async function buildServer(repo: Repository, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const limits: RequestLimits = {
    maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_LIMITS.maxUploadBytes,
    maxFiles: opts.maxFiles ?? DEFAULT_LIMITS.maxFiles,
    maxFields: opts.maxFields ?? DEFAULT_LIMITS.maxFields,
    maxFieldBytes: opts.maxFieldBytes ?? DEFAULT_LIMITS.maxFieldBytes,
    maxFormBytes: opts.maxFormBytes ?? DEFAULT_LIMITS.maxFormBytes,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_LIMITS.requestTimeoutMs,
  };
  const app = fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: BODY_LIMIT,
    // A request that has not fully arrived by then is answered 408 and its connection closed.
    // Node enforces it only while the headers' timeout (60 s by default) is not longer, and
    // checks at an interval, kept short for short timeouts.
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(limits.requestTimeoutMs / 4))),
    },
    routerOptions: { maxParamLength: MAX_NAME_SEGMENT_LENGTH }, // every valid project and file name reaches its routes
    // Fastify's and Node's own errors get the project's problem format (./http/framework-errors.ts).
    frameworkErrors: sendError,
    clientErrorHandler: answerClientError,
    // Answered below in the problem format instead.
    return503OnClosing: false,
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    return sendProblem(reply, 503, 'SHUTTING_DOWN', 'The server is shutting down: retry in a moment.', problemFormatFor(req.url));
  });
  // The rest of a body answered early (a refusal) is discarded, up to what one upload may send
  // and for no longer than a request may take (a stalled body would otherwise hold it for ever).
  const linger = { bytes: limits.maxUploadBytes + limits.maxFormBytes, ms: Math.min(DISCARD_MAX_MS, limits.requestTimeoutMs) };
  app.addHook('onSend', async (req, _reply, payload) => {
    discardUnreadBody(req.raw, linger);
    return payload;
  });
  // Routes pass their own limits (the number of files differs); these are the strictest.
  await app.register(fastifyMultipart, { limits: multipartLimits(limits, 1) });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, 'NOT_FOUND', `Not found: ${req.url.slice(0, 200)}`, problemFormatFor(req.url)));
  app.setErrorHandler(sendError);
  await registerWebRoutes(app, repo, opts.webClock ? { clock: opts.webClock } : {});
  registerSimpleRoutes(app, repo);
  const waitForPublishMs = opts.waitForPublishMs ?? 10_000;
  registerUploadRoutes(app, repo, { limits, waitForPublishMs });
  registerManageRoutes(app, repo, { waitForPublishMs });
  registerProjectRoleRoutes(app, repo, { limits, waitForPublishMs });
  registerApiRoutes(app, repo);
  registerBuildFarmRoutes(app, repo);
  await registerStaticTree(app, repo.dataDir);
  return app;
}
