// SPDX-License-Identifier: Apache-2.0
// GET /simple/ and /simple/<project>/ (PEP 503 HTML, PEP 691 JSON by Accept). A project page is
// served as the exact bytes of its current TUF target, so what pip reads here is what a
// verifying client checks against the bins.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  isValidProjectName,
  negotiateSimpleContentType,
  normalizeProjectName,
  renderIndexHtml,
  renderIndexJson,
  SIMPLE_JSON,
  type SimpleContentType,
} from '../../packaging/index.js';
import { SIMPLE_HTML, SIMPLE_JSON as SIMPLE_JSON_FILE, targetBlobPath, targetPath } from '../../repository/layout.js';
import type { Repository } from '../../repository/repository.js';
import { sendProblem } from '../http/problem.js';

function contentTypeHeader(type: SimpleContentType): string {
  return type === 'text/html' ? 'text/html; charset=utf-8' : type;
}

function negotiate(req: FastifyRequest, reply: FastifyReply): SimpleContentType | null {
  reply.header('Vary', 'Accept');
  const type = negotiateSimpleContentType(req.headers.accept);
  if (type === null) sendProblem(reply, 406, 'NOT_ACCEPTABLE', `Cannot answer with any type in "Accept: ${req.headers.accept ?? ''}"; ask for ${SIMPLE_JSON} or text/html.`);
  return type;
}

export function registerSimpleRoutes(app: FastifyInstance, repo: Repository): void {
  app.get('/simple', (_req, reply) => reply.redirect('/simple/', 301));

  app.get('/simple/', async (req, reply) => {
    const type = negotiate(req, reply);
    if (type === null) return reply;
    const names = (await repo.state.listProjects()).map((p) => p.name);
    reply.header('Cache-Control', 'max-age=60, public');
    return reply.type(contentTypeHeader(type)).send(type === SIMPLE_JSON ? renderIndexJson(names) : renderIndexHtml(names));
  });

  const projectPage = async (req: FastifyRequest<{ Params: { project: string } }>, reply: FastifyReply) => {
    const { project } = req.params;
    // Fastify has decoded the segment: `..%2f` arrives as `../`. An invalid name is no
    // project, and redirecting would echo it back as an address of ours.
    if (!isValidProjectName(project)) return sendProblem(reply, 404, 'NOT_FOUND', 'No such project: not a valid project name.');
    const normalized = normalizeProjectName(project);
    if (normalized !== project || !req.url.split('?')[0]?.endsWith('/')) {
      return reply.redirect(`/simple/${encodeURIComponent(normalized)}/`, 301);
    }
    const type = negotiate(req, reply);
    if (type === null) return reply;
    const path = targetPath(normalized, type === SIMPLE_JSON ? SIMPLE_JSON_FILE : SIMPLE_HTML);
    const row = await repo.state.currentTarget(path);
    if (!row) return sendProblem(reply, 404, 'NOT_FOUND', `No project named ${normalized}.`);
    const sha256 = (JSON.parse(row.entry) as { hashes: { sha256: string } }).hashes.sha256;
    const bytes = await repo.blobs.get(targetBlobPath(path, sha256));
    if (!bytes) return sendProblem(reply, 500, 'MISSING_BLOB', `The page of ${normalized} is missing from the store.`);
    reply.header('ETag', `"${sha256}"`);
    reply.header('Cache-Control', 'max-age=0, must-revalidate, public');
    reply.header('X-Bulwark-Target', path);
    return reply.type(contentTypeHeader(type)).send(bytes);
  };
  app.get('/simple/:project/', projectPage);
  app.get('/simple/:project', projectPage);
}
