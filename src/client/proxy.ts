// SPDX-License-Identifier: Apache-2.0
// `bulwark proxy`: a PEP 503/691 index on 127.0.0.1 for pip, serving only verified bytes. A
// project page is the TUF target `<project>/index.json` (or `.html`), and every file it links
// to (`../../files/<project>/<name>`) is the target `<project>/<name>`, each fetched from the
// index or a mirror and checked against the TUF metadata before a byte reaches pip.
import fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { isValidProjectName, MAX_NAME_SEGMENT_LENGTH, negotiateSimpleContentType, normalizeProjectName, SIMPLE_JSON } from '../packaging/index.js';
import { describeFailure, type VerifiedIndex } from './verified-index.js';

function reasonPhrase(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/**
 * pip logs a failed project-page fetch only with -v, then says just "No matching
 * distribution". It does warn, always, about a page with an unsupported Content-Type and
 * prints that type: so pip gets its refusal in the Content-Type of a 200 response without a
 * single link, and the user sees why. Other clients get the honest 502.
 */
function refusalForPip(reply: FastifyReply, message: string): FastifyReply {
  const quoted = reasonPhrase(message).replace(/["\\]/g, "'");
  return reply.code(200).header('content-type', `text/x.bulwark-refused; reason="${quoted}"`).send(`${message}\n`);
}

/** A URL segment that is no valid project name (e.g. `..%2f`): 404, never a redirect. */
function notAProject(reply: FastifyReply): FastifyReply {
  return reply.code(404).type('text/plain; charset=utf-8').send('404 No such project: not a valid project name\n');
}

export function buildProxy(index: VerifiedIndex, log: FastifyBaseLogger | undefined): FastifyInstance {
  // maxParamLength: every valid project and file name reaches its routes.
  const app = fastify({ ...(log ? { loggerInstance: log } : { logger: false }), routerOptions: { maxParamLength: MAX_NAME_SEGMENT_LENGTH } });
  const fail = (reply: FastifyReply, path: string, e: unknown, page = false) => {
    const f = describeFailure(e);
    if (f.status === 502) reply.log.error({ target: path, code: f.code }, `ATTACK? ${f.message}`);
    else reply.log.warn({ target: path, code: f.code }, f.message);
    const fromPip = /^pip\//.test(reply.request.headers['user-agent'] ?? '');
    if (page && fromPip && f.status !== 404) return refusalForPip(reply, f.message);
    reply.code(f.status);
    reply.raw.statusMessage = reasonPhrase(f.message);
    return reply.type('text/plain; charset=utf-8').send(`${f.status} ${f.message}\n`);
  };

  app.get('/simple/', (_req, reply) =>
    reply.type('text/html; charset=utf-8').send('<!DOCTYPE html><html><body><p>Bulwark verifying proxy: ask for /simple/&lt;project&gt;/</p></body></html>\n')
  );
  app.get('/simple/:project/', async (req, reply) => {
    const { project } = req.params as { project: string };
    if (!isValidProjectName(project)) return notAProject(reply);
    const normalized = normalizeProjectName(project);
    if (normalized !== project) return reply.redirect(`/simple/${normalized}/`, 301);
    reply.header('Vary', 'Accept');
    const type = negotiateSimpleContentType(req.headers.accept);
    if (type === null) return reply.code(406).send('406 Not Acceptable\n');
    const path = `${normalized}/${type === SIMPLE_JSON ? 'index.json' : 'index.html'}`;
    try {
      const t = await index.get(path);
      req.log.info({ target: path, role: t.role }, 'verified project page');
      return reply.type(type === 'text/html' ? 'text/html; charset=utf-8' : type).send(t.bytes);
    } catch (e) {
      return fail(reply, path, e, true);
    }
  });
  app.get('/simple/:project', (req, reply) => {
    const { project } = req.params as { project: string };
    return isValidProjectName(project) ? reply.redirect(`/simple/${normalizeProjectName(project)}/`, 301) : notAProject(reply);
  });
  app.get('/files/:project/:name', async (req, reply) => {
    const { project, name } = req.params as { project: string; name: string };
    if (!isValidProjectName(project)) return notAProject(reply);
    const path = `${project}/${name}`;
    try {
      const t = await index.get(path);
      req.log.info({ target: path, role: t.role, bytes: t.bytes.length }, 'verified file');
      return reply.type('application/octet-stream').send(t.bytes);
    } catch (e) {
      return fail(reply, path, e);
    }
  });
  return app;
}
