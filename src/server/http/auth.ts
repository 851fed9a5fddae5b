// SPDX-License-Identifier: Apache-2.0
// Who is calling: an API token from Basic auth (twine: `__token__` + token) or a Bearer header.
import type { FastifyRequest } from 'fastify';
import type { Repository } from '../../repository/repository.js';
import type { UserRecord } from '../../storage/state/types.js';
import { basicAuthPassword } from './basic-auth.js';

export function requestToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const bearer = header && /^Bearer (\S{1,300})$/i.exec(header.trim());
  return bearer ? bearer[1] : basicAuthPassword(header);
}

export async function requestUser(req: FastifyRequest, repo: Repository): Promise<{ token?: string; user?: UserRecord }> {
  const token = requestToken(req);
  if (!token) return {};
  const user = await repo.accounts.authenticate(token);
  return user ? { token, user } : { token };
}
