// SPDX-License-Identifier: Apache-2.0
// Project management over the API, for owners and maintainers: yank and un-yank (PEP 592).
// A yank is a project transaction like an upload: journaled, applied, published.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normalizeProjectName } from '../../packaging/index.js';
import type { Repository } from '../../repository/repository.js';
import { StateConflictError } from '../../storage/state/types.js';
import { requireTwoFactorWhenProjectDoes, requireUser, signedInUser } from '../http/auth.js';
import { sendProblem } from '../http/problem.js';
import { waitForPublication } from '../http/publication.js';

interface YankBody {
  version?: unknown;
  filename?: unknown;
  reason?: unknown;
  undo?: unknown;
}

export function registerManageRoutes(app: FastifyInstance, repo: Repository, opts: { waitForPublishMs: number }): void {
  // Authenticated before the body is read (requireUser).
  app.post<{ Params: { project: string }; Body: YankBody }>('/api/v1/projects/:project/yank', { onRequest: [requireUser(repo, 'json'), requireTwoFactorWhenProjectDoes(repo, 'json')] }, async (req: FastifyRequest<{ Params: { project: string }; Body: YankBody }>, reply) => {
    const user = signedInUser(req);
    const body = (req.body ?? {}) as YankBody;
    const version = typeof body.version === 'string' ? body.version : undefined;
    const filename = typeof body.filename === 'string' ? body.filename : undefined;
    if ((version === undefined) === (filename === undefined)) {
      return sendProblem(reply, 400, 'BAD_REQUEST', 'Give exactly one of "version" and "filename".', 'json');
    }
    if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 1000)) {
      return sendProblem(reply, 400, 'BAD_REQUEST', '"reason" must be a string of at most 1000 characters.', 'json');
    }
    const undo = body.undo === true;
    const project = normalizeProjectName(req.params.project);
    if (await repo.state.getDelegation(project)) {
      return sendProblem(reply, 409, 'CLAIMED', `${project} is claimed: yanking is a change its developers sign. Use \`bulwark yank\` with your developer key.`, 'json');
    }
    try {
      const { seq, files } = await repo.state.setYanked(
        project,
        user.id,
        version !== undefined ? { version } : { filename: filename as string },
        !undo,
        typeof body.reason === 'string' ? body.reason : null,
        new Date().toISOString()
      );
      repo.worker.kick();
      const published = await waitForPublication(repo, seq, opts.waitForPublishMs);
      return { ok: true, project, files, yanked: !undo, transaction: seq, status: published === undefined ? 'pending' : 'published', snapshot_version: published ?? null };
    } catch (e) {
      if (e instanceof StateConflictError && e.code === 'NOT_OWNER') return sendProblem(reply, 403, 'FORBIDDEN', e.message, 'json');
      if (e instanceof StateConflictError && e.code === 'NOT_FOUND') return sendProblem(reply, 404, 'NOT_FOUND', e.message, 'json');
      throw e;
    }
  });
}
