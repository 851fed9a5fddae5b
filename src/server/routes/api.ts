// SPDX-License-Identifier: Apache-2.0
// Small JSON endpoints: the status of a project transaction (is my upload in a published
// snapshot yet?), PyPI's JSON API (/pypi/<project>/json), and a health check.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { compareVersions, isValidProjectName, normalizeProjectName } from '../../packaging/index.js';
import type { Repository } from '../../repository/repository.js';
import { fileUrl, projectLevel } from '../../repository/simple-index.js';
import type { FileRecord } from '../../storage/state/types.js';
import { sendProblem } from '../http/problem.js';
import { requestToken } from '../http/auth.js';
import { AuditError } from '../../auditor/errors.js';
import { isAuditorToken, isKeyId, statementPath, StatementRefusedError, storeStatement } from '../../auditor/index-store.js';
import { STATEMENT_MAX_LENGTH } from '../../auditor/statement.js';

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`;
}

function fileJson(req: FastifyRequest, f: FileRecord) {
  return {
    filename: f.filename,
    url: new URL(fileUrl(f), `${baseUrl(req)}/simple/${f.project}/`).href,
    digests: { sha256: f.sha256, md5: f.md5 },
    md5_digest: f.md5,
    size: f.size,
    packagetype: f.packagetype,
    python_version: f.pythonVersion,
    requires_python: f.requiresPython,
    upload_time_iso_8601: f.uploadTime,
    yanked: f.yanked,
    yanked_reason: f.yankedReason,
  };
}

export function registerApiRoutes(app: FastifyInstance, repo: Repository): void {
  app.get('/api/v1/transactions/:seq', async (req: FastifyRequest<{ Params: { seq: string } }>, reply) => {
    const seq = Number(req.params.seq);
    const entry = Number.isSafeInteger(seq) ? await repo.state.journalEntry(seq) : undefined;
    if (!entry) return sendProblem(reply, 404, 'NOT_FOUND', `No transaction ${req.params.seq}.`, 'json');
    return {
      transaction: entry.seq,
      kind: entry.kind,
      project: entry.project,
      status: entry.state,
      snapshot_version: entry.publishedVersion,
      error: entry.error,
    };
  });

  const projectJson = async (req: FastifyRequest<{ Params: { project: string; version?: string } }>, reply: import('fastify').FastifyReply) => {
    if (!isValidProjectName(req.params.project)) return sendProblem(reply, 404, 'NOT_FOUND', 'No such project: not a valid project name.', 'json');
    const name = normalizeProjectName(req.params.project);
    const project = await repo.state.getProject(name);
    if (!project) return sendProblem(reply, 404, 'NOT_FOUND', `No project named ${name}.`, 'json');
    const files = await repo.state.projectFiles(name);
    const versions = [...new Set(files.map((f) => f.version))].sort(compareVersions);
    const unyanked = versions.filter((v) => files.some((f) => f.version === v && !f.yanked));
    const version = req.params.version ?? unyanked.at(-1) ?? versions.at(-1);
    if (version === undefined || !versions.includes(version)) return sendProblem(reply, 404, 'NOT_FOUND', `No release ${req.params.version ?? ''} of ${name}.`, 'json');
    const ofVersion = files.filter((f) => f.version === version);
    const releases: Record<string, unknown[]> = {};
    for (const v of versions) releases[v] = files.filter((f) => f.version === v).map((f) => fileJson(req, f));
    return {
      info: {
        name: project.displayName,
        version,
        summary: ofVersion.find((f) => f.summary)?.summary ?? null,
        requires_python: ofVersion.find((f) => f.requiresPython)?.requiresPython ?? null,
        package_url: `${baseUrl(req)}/project/${name}/`,
        project_url: `${baseUrl(req)}/project/${name}/`,
        yanked: ofVersion.length > 0 && ofVersion.every((f) => f.yanked),
        bulwark_protection: await projectLevel(repo.state, project),
      },
      ...(req.params.version ? {} : { releases }),
      urls: ofVersion.map((f) => fileJson(req, f)),
      last_serial: Math.max(0, ...files.map((f) => f.journalSeq)),
    };
  };
  app.get('/pypi/:project/json', projectJson);
  app.get('/pypi/:project/:version/json', projectJson);

  app.get('/health', () => ({ ok: true, snapshot_version: repo.snapshotVersion }));
  registerAuditRoutes(app, repo);
}

/**
 * PUT /api/audit/<keyid>: an auditor uploads its newest statement (src/auditor/), with the
 * token the operator made for that key; it is verified against the published root before it
 * is stored. GET /metadata/audit/<keyid>.json serves it, never cached: it changes every few
 * seconds and expires in minutes (the static tree would call it immutable).
 */
function registerAuditRoutes(app: FastifyInstance, repo: Repository): void {
  void app.register(async (scope) => {
    // The raw bytes, whatever the content type: the statement is parsed strictly by its verifier.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: STATEMENT_MAX_LENGTH }, (_req, body, done) => done(null, body));
    scope.put(
      '/api/audit/:keyid',
      {
        bodyLimit: STATEMENT_MAX_LENGTH,
        // Before a byte of the body is read: only the token made for this auditor key may upload.
        onRequest: async (req: FastifyRequest<{ Params: { keyid: string } }>, reply) => {
          if (!isKeyId(req.params.keyid)) return sendProblem(reply, 404, 'NOT_FOUND', 'Not an auditor key id (64 hex digits).', 'json');
          const token = requestToken(req);
          if (!token) {
            reply.header('WWW-Authenticate', 'Bearer realm="bulwark"');
            return sendProblem(reply, 401, 'UNAUTHENTICATED', 'Authentication required: send the auditor token (Authorization: Bearer TOKEN; made by `bulwark auditor token KEYID` on the index).', 'json');
          }
          if (!(await isAuditorToken(repo, req.params.keyid, token))) return sendProblem(reply, 403, 'INVALID_TOKEN', 'This token may not upload statements of this auditor key.', 'json');
        },
      },
      async (req: FastifyRequest<{ Params: { keyid: string }; Body: Buffer }>, reply) => {
        if (!Buffer.isBuffer(req.body)) return sendProblem(reply, 400, 'AUDIT_MALFORMED', 'Send the statement as the request body.', 'json');
        try {
          const s = await storeStatement(repo, req.params.keyid, req.body);
          return { stored: statementPath(req.params.keyid), version: s.version, timestamp_version: s.timestampVersion, expires: s.expires.toISOString() };
        } catch (e) {
          if (e instanceof AuditError) return sendProblem(reply, 422, e.code, e.message, 'json');
          if (e instanceof StatementRefusedError) return sendProblem(reply, 409, e.code, e.message, 'json');
          throw e;
        }
      }
    );
  });
  app.get('/metadata/audit/:file', async (req: FastifyRequest<{ Params: { file: string } }>, reply) => {
    const keyid = /^([0-9a-f]{64})\.json$/.exec(req.params.file)?.[1];
    const bytes = keyid && (await repo.blobs.get(statementPath(keyid)));
    reply.header('Cache-Control', 'no-cache');
    if (!bytes) return sendProblem(reply, 404, 'NOT_FOUND', 'No statement of this auditor.', 'text');
    return reply.type('application/json').send(bytes);
  });
}
