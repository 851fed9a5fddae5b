// SPDX-License-Identifier: Apache-2.0
// PEP 480 over HTTP: POST /api/v1/projects/<p>/claim and /api/v1/projects/<p>/signed-upload.
// Both are multipart: a `role` part (the signed project role, as signed), `page` parts
// (index.html, index.json) and, for uploads, `content` parts (distributions). A claim also has
// a `claim` field: {"keys": [public keys], "threshold": t}.
import { unlink } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart';
import { MAX_BUNDLE_BYTES } from '../../attest/index.js';
import type { Repository } from '../../repository/repository.js';
import { changeProjectKeys, SignedUploadError } from '../../repository/project-roles.js';
import type { ReceivedFile } from '../../repository/uploads.js';
import { requireTwoFactorWhenProjectDoes, requireUser, signedInUser } from '../http/auth.js';
import { FormBudget, multipartLimits, multipartProblem, type RequestLimits } from '../http/form-limits.js';
import { HttpProblem, sendProblem } from '../http/problem.js';
import { waitForPublication } from '../http/publication.js';
import { streamToTempFile } from '../http/receive-file.js';

const MAX_ROLE_BYTES = 8 * 1024 * 1024;
const MAX_PAGE_BYTES = 16 * 1024 * 1024;
/** Besides its distributions, a request carries the role and its two pages (index.html, index.json). */
const OTHER_FILE_PARTS = 3;

interface Parsed {
  fields: Map<string, string>;
  role?: Buffer;
  pages: { name: string; bytes: Buffer }[];
  files: ReceivedFile[];
  attestations?: { name: string; bytes: Buffer }[];
}

/** Reads the form: the role and pages into memory (within the request's budget), distributions to disk. */
async function parseParts(req: FastifyRequest, repo: Repository, limits: RequestLimits): Promise<Parsed> {
  const parsed: Parsed = { fields: new Map(), pages: [], files: [] };
  const budget = new FormBudget(limits);
  const tooManyFiles = `Too many files: a signed upload carries at most ${limits.maxFiles} distributions, besides its role and pages.`;
  try {
    for await (const part of req.parts({ limits: multipartLimits(limits, 2 * limits.maxFiles + OTHER_FILE_PARTS) })) {
      if (part.type === 'field') {
        parsed.fields.set(part.fieldname, budget.field(part));
      } else if (part.fieldname === 'role') {
        parsed.role = await budget.buffer(part, MAX_ROLE_BYTES, 'the role');
      } else if (part.fieldname === 'page') {
        parsed.pages.push({ name: part.filename, bytes: await budget.buffer(part, MAX_PAGE_BYTES, `page ${part.filename}`) });
      } else if (part.fieldname === 'attestation') {
        (parsed.attestations ??= []).push({ name: part.filename, bytes: await budget.buffer(part, MAX_BUNDLE_BYTES, `attestation ${part.filename}`) });
      } else if (part.fieldname === 'content') {
        if (parsed.files.length === limits.maxFiles) throw new HttpProblem(400, 'TOO_MANY_FILES', tooManyFiles);
        const f = await streamToTempFile(part.file, repo.tmpDir);
        parsed.files.push({ ...f, filename: part.filename });
        if (part.file.truncated) throw new HttpProblem(413, 'FILE_TOO_LARGE', `${part.filename} is larger than ${limits.maxUploadBytes} bytes.`);
      } else {
        part.file.resume();
      }
    }
  } catch (e) {
    await Promise.all(parsed.files.map((f) => unlink(f.tmpPath).catch(() => undefined)));
    throw multipartProblem(e, limits, tooManyFiles);
  }
  return parsed;
}

export function registerProjectRoleRoutes(app: FastifyInstance, repo: Repository, opts: { limits: RequestLimits; waitForPublishMs: number }): void {
  const handle = (kind: 'claim' | 'signed-upload') => async (req: FastifyRequest<{ Params: { project: string } }>, reply: FastifyReply) => {
    const user = signedInUser(req);
    if (!req.isMultipart()) return sendProblem(reply, 400, 'BAD_FORM', 'Expected multipart/form-data (use bulwark claim / bulwark upload).', 'json');
    let parsed: Parsed | undefined;
    try {
      parsed = await parseParts(req, repo, opts.limits);
      if (!parsed.role) return sendProblem(reply, 400, 'BAD_FORM', 'Missing the signed project role (part "role").', 'json');
      let result: { seq: number; project: string };
      if (kind === 'claim') {
        let claim: { keys?: unknown; threshold?: unknown };
        try {
          claim = JSON.parse(parsed.fields.get('claim') ?? '') as typeof claim;
        } catch {
          return sendProblem(reply, 400, 'BAD_FORM', 'The "claim" field must be JSON: {"keys": [...], "threshold": n}.', 'json');
        }
        result = await repo.projectRoles.claim(
          user,
          req.params.project,
          { keys: Array.isArray(claim.keys) ? claim.keys : [], threshold: Number(claim.threshold), role: parsed.role },
          parsed.pages
        );
      } else {
        result = await repo.projectRoles.signedUpload(user, req.params.project, { role: parsed.role, files: parsed.files, pages: parsed.pages, ...(parsed.attestations ? { attestations: parsed.attestations } : {}) });
        parsed.files = []; // moved into the store
      }
      req.log.info({ project: result.project, seq: result.seq, kind, user: user.name }, 'signed project transaction recorded');
      const published = await waitForPublication(repo, result.seq, opts.waitForPublishMs);
      return { ok: true, ...result, transaction: result.seq, status: published === undefined ? 'pending' : 'published', snapshot_version: published ?? null };
    } catch (e) {
      if (e instanceof SignedUploadError || e instanceof HttpProblem) return sendProblem(reply, e.status, e.code, e.message, 'json');
      throw e;
    } finally {
      if (parsed) await Promise.all(parsed.files.map((f) => unlink(f.tmpPath).catch(() => undefined)));
    }
  };
  const onRequest = requireUser(repo, 'json');
  app.post<{ Params: { project: string } }>('/api/v1/projects/:project/keys', { onRequest }, async (req: FastifyRequest<{ Params: { project: string } }>, reply) => {
    const user = signedInUser(req);
    try {
      const r = await changeProjectKeys(repo.state, user, req.params.project, req.body);
      repo.worker.kick();
      const published = r.pendingCeremony ? undefined : await waitForPublication(repo, r.seq, opts.waitForPublishMs);
      return {
        ok: true,
        project: r.project,
        transaction: r.seq,
        status: r.pendingCeremony ? 'waiting-for-ceremony' : published === undefined ? 'pending' : 'published',
        snapshot_version: published ?? null,
      };
    } catch (e) {
      if (e instanceof SignedUploadError) return sendProblem(reply, e.status, e.code, e.message, 'json');
      throw e;
    }
  });
  // A project whose owners require two-factor is refused before its body is read.
  const onChange = [onRequest, requireTwoFactorWhenProjectDoes(repo, 'json')];
  app.post<{ Params: { project: string } }>('/api/v1/projects/:project/claim', { onRequest: onChange }, handle('claim'));
  app.post<{ Params: { project: string } }>('/api/v1/projects/:project/signed-upload', { onRequest: onChange }, handle('signed-upload'));
}
