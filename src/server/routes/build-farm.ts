// SPDX-License-Identifier: Apache-2.0
// The build farm's API (issue 15), for rebuilders anywhere and for the developers' tools:
//   GET  /api/build-farm/key                       the farm's public key {"keyid", "key"}
//   GET  /api/build-farm/queue?keyid=K             signed sdists K should build (a hint: the
//                                                  rebuilder verifies each through TUF)
//   POST /api/build-farm/reports                   {"signed": {report, signature}, "log": "…"}
//   GET  /api/build-farm/proposals?keyid=K         proposals of wheels roles K has not signed
//   POST /api/build-farm/proposals/:project/:version/signatures   {"keyid", "sig"}
//   GET  /api/build-farm/status/:project           verified wheels, mismatches, failed builds
//   GET  /api/build-farm/logs/:project/:sdist/:keyid  one builder's build log (text)
// Writes need an API token; what a builder says counts only when signed by a delegated key.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { farmKeyResponse, FARM_KEY_API_PATH } from '../../attest/index.js';
import { BuildFarm } from '../../buildfarm/farm-service.js';
import { loadOrCreateFarmKey } from '../../buildfarm/farm-key.js';
import { ProposalError, type SignedBuildReport } from '../../buildfarm/proposals.js';
import { isValidProjectName, normalizeProjectName } from '../../packaging/index.js';
import type { Repository } from '../../repository/repository.js';
import type { Signer } from '../../tuf/index.js';
import { requireUser } from '../http/auth.js';
import { sendProblem } from '../http/problem.js';

/** The farm of an open repository (one per process), with the index's farm key. */
export async function openBuildFarm(repo: Repository): Promise<{ farm: BuildFarm; key: Signer }> {
  const key = await loadOrCreateFarmKey(repo.dataDir);
  const farm = new BuildFarm({ dataDir: repo.dataDir, state: repo.state, blobs: repo.blobs, requestPublication: () => repo.publisher.request(), farmSigner: key });
  return { farm, key };
}

const problemStatus = (e: ProposalError) => (e.code === 'NOT_DELEGATED' || e.code === 'BAD_SIGNATURE' ? 403 : e.code === 'NOT_MY_BUILD' ? 409 : 400);

export function registerBuildFarmRoutes(app: FastifyInstance, repo: Repository): void {
  let opened: Promise<{ farm: BuildFarm; key: Signer }> | undefined;
  const farm = () => (opened ??= openBuildFarm(repo));
  const fail = (reply: FastifyReply, e: unknown) => {
    if (e instanceof ProposalError) return sendProblem(reply, problemStatus(e), e.code, e.message, 'json');
    throw e;
  };
  const keyidOf = (req: FastifyRequest<{ Querystring: { keyid?: string } }>) => (/^[0-9a-f]{64}$/.test(req.query.keyid ?? '') ? (req.query.keyid as string) : undefined);

  app.get(FARM_KEY_API_PATH, async () => farmKeyResponse((await farm()).key.publicKey));

  app.get('/api/build-farm/queue', async (req: FastifyRequest<{ Querystring: { keyid?: string } }>, reply) => {
    const keyid = keyidOf(req);
    if (!keyid) return sendProblem(reply, 400, 'BAD_KEYID', 'Give ?keyid= the builder key id (64 hex digits).', 'json');
    return { sdists: await (await farm()).farm.queue(keyid) };
  });

  app.get('/api/build-farm/proposals', async (req: FastifyRequest<{ Querystring: { keyid?: string } }>, reply) => {
    const keyid = keyidOf(req);
    if (!keyid) return sendProblem(reply, 400, 'BAD_KEYID', 'Give ?keyid= the builder key id (64 hex digits).', 'json');
    return { proposals: await (await farm()).farm.openProposals(keyid) };
  });

  app.get('/api/build-farm/status/:project', async (req: FastifyRequest<{ Params: { project: string } }>, reply) => {
    if (!isValidProjectName(req.params.project)) return sendProblem(reply, 404, 'NOT_FOUND', 'Not a valid project name.', 'json');
    const status = await (await farm()).farm.status(normalizeProjectName(req.params.project));
    if (!status) return sendProblem(reply, 404, 'NOT_OPTED_IN', `${req.params.project} has no verified wheels (bulwark project build-farm enable).`, 'json');
    return status;
  });

  app.get('/api/build-farm/logs/:project/:sdist/:keyid', async (req: FastifyRequest<{ Params: { project: string; sdist: string; keyid: string } }>, reply) => {
    const { project, sdist, keyid } = req.params;
    const ok = isValidProjectName(project) && /^[A-Za-z0-9._+-]+\.(tar\.gz|zip)$/.test(sdist) && /^[0-9a-f]{64}$/.test(keyid);
    const log = ok ? await (await farm()).farm.log(normalizeProjectName(project), sdist, keyid) : undefined;
    if (log === undefined) return sendProblem(reply, 404, 'NOT_FOUND', 'No such build log.', 'json');
    return reply.type('text/plain; charset=utf-8').header('content-security-policy', "default-src 'none'").send(log);
  });

  const onRequest = requireUser(repo, 'json');
  app.post<{ Body: { signed?: SignedBuildReport; log?: unknown } }>('/api/build-farm/reports', { onRequest }, async (req, reply) => {
    const body = req.body ?? {};
    if (!body.signed || typeof body.log !== 'string') return sendProblem(reply, 400, 'BAD_REPORT', 'Expected {"signed": {"report", "signature"}, "log": "…"}.', 'json');
    try {
      return { ok: true, ...(await (await farm()).farm.recordReport(body.signed, body.log)) };
    } catch (e) {
      return fail(reply, e);
    }
  });

  app.post<{ Params: { project: string; version: string }; Body: { keyid?: unknown; sig?: unknown } }>(
    '/api/build-farm/proposals/:project/:version/signatures',
    { onRequest },
    async (req, reply) => {
      const version = Number(req.params.version);
      const { keyid, sig } = req.body ?? {};
      if (!isValidProjectName(req.params.project) || !Number.isSafeInteger(version) || typeof keyid !== 'string' || typeof sig !== 'string') {
        return sendProblem(reply, 400, 'BAD_SIGNATURE', 'Expected {"keyid", "sig"} for /api/build-farm/proposals/<project>/<version>/signatures.', 'json');
      }
      try {
        await (await farm()).farm.addSignature(normalizeProjectName(req.params.project), version, { keyid, sig });
        return { ok: true };
      } catch (e) {
        return fail(reply, e);
      }
    }
  );
}
