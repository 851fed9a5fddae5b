// SPDX-License-Identifier: Apache-2.0
// Accounts and API tokens. A token is shown once, when it is made; only its SHA-256 is stored
// (a token is 256 random bits, so a fast hash is enough: there is nothing to brute-force).
import { createHash, randomBytes } from 'node:crypto';
import { hashRecoveryCode, isRecoveryCodeShape, isTotpSecret, matchTotp, newRecoveryCodes } from '../accounts/totp.js';
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

  /** `twoFactor`: the token is made from a session that passed the second factor (it records so). */
  async addToken(userName: string, description: string, opts: { twoFactor?: boolean } = {}): Promise<string> {
    const user = await this.state.userByName(userName);
    if (!user) throw new AccountError(`no user named ${userName}`);
    const token = newToken();
    await this.state.addToken(user.id, hashToken(token), description, new Date().toISOString(), opts.twoFactor ?? false);
    return token;
  }

  /** The user a token belongs to, or undefined for an unknown or malformed token. */
  async authenticate(token: string): Promise<UserRecord | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
    return this.state.userByTokenHash(hashToken(token));
  }

  /** The token's user, and whether the token was made with the second factor. */
  async authenticateToken(token: string): Promise<{ user: UserRecord; twoFactor: boolean } | undefined> {
    const user = await this.authenticate(token);
    return user ? { user, twoFactor: await this.state.tokenTwoFactor(hashToken(token)) } : undefined;
  }

  // ---- two-factor authentication (TOTP, issue 14 level 2) -------------------------------------

  /**
   * Turns TOTP on once the user proved their authenticator holds `secret` with a current code.
   * Returns the ten recovery codes (their only appearance; only their hashes are kept) and the
   * journal entries that re-publish the projects whose two-factor field may change.
   * @throws AccountError on a malformed secret or a wrong code (nothing is stored)
   */
  async enableTwoFactor(user: UserRecord, secret: string, code: string, now: Date): Promise<{ recoveryCodes: string[]; seqs: number[] }> {
    if (!isTotpSecret(secret)) throw new AccountError('the enrolment form was altered: start again from your account page');
    const step = matchTotp(secret, code, now);
    if (step === undefined) throw new AccountError('that code is not the one your authenticator shows now: check its clock, and type the 6 digits it shows');
    const recoveryCodes = newRecoveryCodes();
    const { seqs } = await this.state.enableTwoFactor(user.id, secret, step, recoveryCodes.map(hashRecoveryCode), now.toISOString());
    return { recoveryCodes, seqs };
  }

  /**
   * Checks a second factor: a TOTP code of the current window that is later than the last one
   * accepted (a code is good once), or an unused recovery code (spent by this check).
   */
  async checkSecondFactor(user: UserRecord, code: string, now: Date): Promise<'totp' | 'recovery' | undefined> {
    const tf = await this.state.twoFactor(user.id);
    if (!tf) return undefined;
    const step = matchTotp(tf.secret, code, now);
    if (step !== undefined) return step > tf.lastStep && (await this.state.useTotpStep(user.id, step)) ? 'totp' : undefined;
    if (isRecoveryCodeShape(code) && (await this.state.useRecoveryCode(user.id, hashRecoveryCode(code), now.toISOString()))) return 'recovery';
    return undefined;
  }

  /** Turns TOTP off; needs a current code or a recovery code. @throws AccountError otherwise */
  async disableTwoFactor(user: UserRecord, code: string, now: Date): Promise<{ seqs: number[] }> {
    if (!(await this.checkSecondFactor(user, code, now))) throw new AccountError('that code is not right (or was used already): two-factor authentication stays on');
    return this.state.disableTwoFactor(user.id, now.toISOString());
  }
}
