// SPDX-License-Identifier: Apache-2.0
// Account passwords, stored as scrypt hashes (memory-hard: N=2^16, r=8, p=1 is 64 MiB per
// hash) with a random salt. The parameters are stored with each hash, so they can be raised
// later and old hashes rehashed at the next login. Comparison is constant-time; at most two
// hashes run at once, so a burst of logins cannot take all the server's memory.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface PasswordParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_PASSWORD_PARAMS: PasswordParams = { N: 2 ** 16, r: 8, p: 1 };
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;
const KEY_LENGTH = 32;
const MAX_CONCURRENT = 2;

export class PasswordPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordPolicyError';
  }
}

let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function scrypt(password: string, salt: Buffer, params: PasswordParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * params.p + 16 * 1024 * 1024 };
  return limited(
    () => new Promise<Buffer>((resolve, reject) => scryptCb(password.normalize('NFKC'), salt, KEY_LENGTH, opts, (err, key) => (err ? reject(err) : resolve(key))))
  );
}

/** Why a new password is not acceptable, or undefined when it is. */
export function passwordProblem(password: string, userName?: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `use at most ${MAX_PASSWORD_LENGTH} characters`;
  if (userName && password.toLowerCase().includes(userName.toLowerCase())) return 'do not include your user name';
  if (/^(.)\1*$/.test(password)) return 'do not repeat one character';
  return undefined;
}

/** `scrypt$N$r$p$<salt base64>$<hash base64>` */
export async function hashPassword(password: string, params: PasswordParams = DEFAULT_PASSWORD_PARAMS): Promise<string> {
  if (password.length > MAX_PASSWORD_LENGTH) throw new PasswordPolicyError(`passwords have at most ${MAX_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

interface Parsed {
  params: PasswordParams;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): Parsed | undefined {
  const m = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]{4,64})\$([A-Za-z0-9+/=]{4,128})$/.exec(stored);
  if (!m) return undefined;
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // Refuse parameters that would make verification a denial of service (or trivially weak).
  if (params.N < 2 ** 10 || params.N > 2 ** 20 || (params.N & (params.N - 1)) !== 0 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return undefined;
  return { params, salt: Buffer.from(m[4] as string, 'base64'), key: Buffer.from(m[5] as string, 'base64') };
}

/** A well-formed hash of a random password: verified against when there is no user or no password, so the answer takes as long. */
let dummy: Promise<string> | undefined;
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(24).toString('base64'));
  return dummy;
}

/**
 * Checks a password against a stored hash (or against nothing: `stored` undefined still costs
 * one hash, so that unknown accounts cannot be told from wrong passwords by timing).
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const parsed = parseHash(stored ?? '') ?? parseHash(await dummyHash());
  if (!parsed) return false;
  const key = await scrypt(password, parsed.salt, parsed.params);
  const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  return ok && stored !== undefined && parseHash(stored) !== undefined;
}

/** True when a hash was made with weaker parameters than today's defaults. */
export function needsRehash(stored: string, params: PasswordParams = DEFAULT_PASSWORD_PARAMS): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.params.N < params.N || parsed.params.r < params.r || parsed.params.p < params.p;
}
