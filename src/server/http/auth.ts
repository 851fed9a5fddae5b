// SPDX-License-Identifier: Apache-2.0
// Who is calling: an API token from Basic auth (twine: `__token__` + token) or a Bearer header.
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Repository } from '../../repository/repository.js';
import type { UserRecord } from '../../storage/state/types.js';
import { basicAuthPassword } from './basic-auth.js';
import { sendProblem, type ProblemFormat } from './problem.js';

export function requestToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const bearer = header && /^Bearer (\S{1,300})$/i.exec(header.trim());
  return bearer ? bearer[1] : basicAuthPassword(header);
}

async function requestUser(req: FastifyRequest, repo: Repository): Promise<{ token?: string; user?: UserRecord }> {
  const token = requestToken(req);
  if (!token) return {};
  const user = await repo.accounts.authenticate(token);
  return user ? { token, user } : { token };
}

const signedIn = new WeakMap<FastifyRequest, UserRecord>();

/**
 * An onRequest hook for the routes that take a body: it authenticates from the Authorization
 * header alone and answers 401/403 before a byte of the body is read, since an anonymous body
 * could be gigabytes kept in memory or written to disk. What the client goes on sending is
 * discarded, and its connection cut past a bound (unread-body.ts).
 */
export function requireUser(repo: Repository, format: ProblemFormat): onRequestAsyncHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const { token, user } = await requestUser(req, repo);
    if (user) {
      signedIn.set(req, user);
      return;
    }
    if (!token) {
      reply.header('WWW-Authenticate', 'Basic realm="bulwark"');
      return sendProblem(reply, 401, 'UNAUTHENTICATED', 'Authentication required: send an API token (twine: username __token__, the token as password; API: Authorization: Bearer TOKEN).', format);
    }
    return sendProblem(reply, 403, 'INVALID_TOKEN', 'Invalid or non-existent authentication information: check your API token.', format);
  };
}

/** The user requireUser() authenticated for this request. */
export function signedInUser(req: FastifyRequest): UserRecord {
  const user = signedIn.get(req);
  if (!user) throw new Error(`${req.routeOptions.url ?? req.url}: route registered without requireUser()`);
  return user;
}
