// SPDX-License-Identifier: Apache-2.0
// Who is calling: an API token from Basic auth (twine: `__token__` + token) or a Bearer header.
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { isValidProjectName, normalizeProjectName } from '../../packaging/index.js';
import type { Repository } from '../../repository/repository.js';
import type { UserRecord } from '../../storage/state/types.js';
import { basicAuthPassword } from './basic-auth.js';
import { sendProblem, type ProblemFormat } from './problem.js';

export function requestToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const bearer = header && /^Bearer (\S{1,300})$/i.exec(header.trim());
  return bearer ? bearer[1] : basicAuthPassword(header);
}

async function requestUser(req: FastifyRequest, repo: Repository): Promise<{ token?: string; user?: UserRecord; twoFactor?: boolean }> {
  const token = requestToken(req);
  if (!token) return {};
  const found = await repo.accounts.authenticateToken(token);
  return found ? { token, ...found } : { token };
}

const signedIn = new WeakMap<FastifyRequest, { user: UserRecord; twoFactor: boolean }>();

/**
 * An onRequest hook for the routes that take a body: it authenticates from the Authorization
 * header alone and answers 401/403 before a byte of the body is read, since an anonymous body
 * could be gigabytes kept in memory or written to disk. What the client goes on sending is
 * discarded, and its connection cut past a bound (unread-body.ts).
 */
export function requireUser(repo: Repository, format: ProblemFormat): onRequestAsyncHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const { token, user, twoFactor } = await requestUser(req, repo);
    if (user) {
      signedIn.set(req, { user, twoFactor: twoFactor === true });
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
  const found = signedIn.get(req);
  if (!found) throw new Error(`${req.routeOptions.url ?? req.url}: route registered without requireUser()`);
  return found.user;
}

export const TWO_FACTOR_REQUIRED = 'TWO_FACTOR_REQUIRED';

/**
 * Why this request may not change `project` (upload, claim, yank) when its owners require
 * two-factor authentication, or undefined when it may: the user must have it on, and the API
 * token must have been made from a session that passed it. The message says what to do.
 */
export async function twoFactorRefusal(repo: Repository, req: FastifyRequest, project: string): Promise<string | undefined> {
  const user = signedInUser(req);
  const { required, membersWithout } = await repo.state.projectTwoFactor(project);
  if (!required) return undefined;
  if (membersWithout.includes(user.name)) {
    return `${project} requires two-factor authentication: turn it on at /manage/account/ (sign in on the web), then make a new API token there and use it.`;
  }
  if (!signedIn.get(req)?.twoFactor) {
    return `${project} requires two-factor authentication, and this API token was made without it: make a new API token at /manage/account/ after signing in with your second factor, and use that one.`;
  }
  return undefined;
}

/**
 * An onRequest hook, after requireUser(), for routes that change the project in their
 * `:project` parameter: answers 403 before the body is read when twoFactorRefusal() refuses.
 */
export function requireTwoFactorWhenProjectDoes(repo: Repository, format: ProblemFormat): onRequestAsyncHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (reply.sent) return;
    const raw = (req.params as { project?: unknown }).project;
    if (typeof raw !== 'string' || !isValidProjectName(raw)) return;
    const refusal = await twoFactorRefusal(repo, req, normalizeProjectName(raw));
    if (refusal) return sendProblem(reply, 403, TWO_FACTOR_REQUIRED, refusal, format);
  };
}
