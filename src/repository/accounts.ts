// SPDX-License-Identifier: Apache-2.0
// Accounts and API tokens. A token is shown once, when it is made; only its SHA-256 is stored
// (a token is 256 random bits, so a fast hash is enough: there is nothing to brute-force).
import { createHash, randomBytes } from 'node:crypto';
import type { StateStore, UserRecord } from '../storage/state/types.js';

export const TOKEN_PREFIX = 'bulwark-';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export class AccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountError';
  }
}

const USER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,48}[A-Za-z0-9])?$/;

export class Accounts {
  constructor(private readonly state: StateStore) {}

  /** Creates a user with a first API token; returns the token (its only appearance). */
  async addUser(name: string, opts: { admin?: boolean; now?: Date } = {}): Promise<{ user: UserRecord; token: string }> {
    if (!USER_NAME.test(name)) {
      throw new AccountError(`"${name}" is not a valid user name: use 1–50 letters, digits, '.', '_' or '-', starting and ending with a letter or digit`);
    }
    const token = newToken();
    const user = await this.state.addUser(name, opts.admin ?? false, hashToken(token), (opts.now ?? new Date()).toISOString());
    return { user, token };
  }

  async addToken(userName: string, description: string): Promise<string> {
    const user = await this.state.userByName(userName);
    if (!user) throw new AccountError(`no user named ${userName}`);
    const token = newToken();
    await this.state.addToken(user.id, hashToken(token), description, new Date().toISOString());
    return token;
  }

  /** The user a token belongs to, or undefined for an unknown or malformed token. */
  async authenticate(token: string): Promise<UserRecord | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
    return this.state.userByTokenHash(hashToken(token));
  }
}
