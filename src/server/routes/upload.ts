// SPDX-License-Identifier: Apache-2.0
// POST /legacy/: the upload API twine speaks (multipart form, `:action=file_upload`, Basic auth
// with an API token). The handler only parses and maps: the checks live in UploadService.
import { unlink } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart'; // request.parts() and isMultipart()
import type { Repository } from '../../repository/repository.js';
import { UploadError, type ReceivedFile } from '../../repository/uploads.js';
import { normalizeProjectName, isValidProjectName } from '../../packaging/index.js';
import { requireUser, signedInUser, twoFactorRefusal, TWO_FACTOR_REQUIRED } from '../http/auth.js';
import { FormBudget, multipartLimits, multipartProblem, type RequestLimits } from '../http/form-limits.js';
import { sendProblem } from '../http/problem.js';
import { streamToTempFile } from '../http/receive-file.js';
import { waitForPublication } from '../http/publication.js';

/** twine sends the distribution ("content") and, with --sign, its GPG signature. */
const FILES_PER_UPLOAD = 2;

export interface UploadRouteOptions {
  limits: RequestLimits;
  /** How long a successful upload waits for its snapshot before answering (ms). */
  waitForPublishMs: number;
}

export function registerUploadRoutes(app: FastifyInstance, repo: Repository, opts: UploadRouteOptions): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const user = signedInUser(req);
    if (!req.isMultipart()) return sendProblem(reply, 400, 'BAD_FORM', 'Expected a multipart/form-data upload (use twine).');

    const budget = new FormBudget(opts.limits);
    const form = new Map<string, string[]>();
    let received: (ReceivedFile & { truncated: boolean }) | undefined;
    let extraFile = false;
    try {
      for await (const part of req.parts({ limits: multipartLimits(opts.limits, FILES_PER_UPLOAD) })) {
        if (part.type === 'file') {
          // Anything but the one `content` file (a GPG signature) is read and dropped, then refused.
          if (part.fieldname !== 'content' || received) {
            extraFile = true;
            part.file.resume();
            await new Promise((r) => part.file.on('end', r));
            continue;
          }
          const file = await streamToTempFile(part.file, repo.tmpDir);
          received = { ...file, filename: part.filename, truncated: part.file.truncated };
        } else {
          const values = form.get(part.fieldname) ?? [];
          values.push(budget.field(part));
          form.set(part.fieldname, values);
        }
      }
    } catch (e) {
      if (received) await unlink(received.tmpPath).catch(() => undefined);
      const problem = multipartProblem(e, opts.limits, `Too many files: an upload carries at most ${FILES_PER_UPLOAD}, the distribution in "content" and its GPG signature (which Bulwark does not take).`);
      req.log.info({ err: (e as Error).message, code: problem.code }, 'upload refused while reading');
      return sendProblem(reply, problem.status, problem.code, problem.message);
    }

    try {
      const action = form.get(':action')?.[0];
      if (action !== 'file_upload') return sendProblem(reply, 400, 'BAD_FORM', `Unsupported :action ${JSON.stringify(action ?? null)}: only file_upload is supported.`);
      if (extraFile) return sendProblem(reply, 400, 'BAD_FORM', 'Only one file, in the "content" field, may be uploaded (GPG signatures are not supported: Bulwark signs with TUF).');
      if (!received) return sendProblem(reply, 400, 'BAD_FORM', 'Missing the file in the "content" field.');
      if (received.truncated) {
        return sendProblem(reply, 413, 'FILE_TOO_LARGE', `File too large: the limit is ${opts.limits.maxUploadBytes} bytes per file.`);
      }
      const name = form.get('name')?.[0];
      const refusal = name !== undefined && isValidProjectName(name) ? await twoFactorRefusal(repo, req, normalizeProjectName(name)) : undefined;
      if (refusal) return sendProblem(reply, 403, TWO_FACTOR_REQUIRED, refusal);
      const receipt = await repo.uploads.upload(user, form, received);
      received = undefined; // moved into the store
      req.log.info({ project: receipt.project, filename: receipt.filename, seq: receipt.seq, user: user.name }, 'upload recorded');
      // `?wait=0` answers as soon as the upload is durable (journaled), before it is published.
      const noWait = (req.query as { wait?: string } | undefined)?.wait === '0';
      const published = noWait ? undefined : await waitForPublication(repo, receipt.seq, opts.waitForPublishMs);
      return reply.code(200).send({
        ok: true,
        project: receipt.project,
        filename: receipt.filename,
        sha256: receipt.sha256,
        transaction: receipt.seq,
        status: published === undefined ? 'pending' : 'published',
        snapshot_version: published ?? null,
        status_url: `/api/v1/transactions/${receipt.seq}`,
      });
    } catch (e) {
      if (e instanceof UploadError) return sendProblem(reply, e.status, e.code, e.message);
      throw e;
    } finally {
      if (received) await unlink(received.tmpPath).catch(() => undefined);
    }
  };
  const onRequest = requireUser(repo, 'text');
  app.post('/legacy/', { onRequest }, handler);
  app.post('/legacy', { onRequest }, handler);
}
