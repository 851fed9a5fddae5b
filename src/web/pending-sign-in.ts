// SPDX-License-Identifier: Apache-2.0
// Between the two steps of a two-factor sign-in: after the right password, the browser holds a
// short-lived cookie saying so, and only the code step turns it into a session. The cookie is
// `<user id>.<expiry ms>.<HMAC>`, the HMAC under the web secret binding the user, the expiry and
// a hash of the user's current password hash: a password changed meanwhile voids it, and
// nobody without the secret can make one. It proves the password step only; the code step
// still needs a code, and its failures count like failed passwords (rate-limit.ts).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const PENDING_COOKIE = 'bulwark_signin';
/** Time to type the code. */
export const PENDING_LIFETIME_MS = 5 * 60_000;

function mac(secret: Buffer, userId: number, expires: number, passwordHash: string): string {
  const pw = createHash('sha256').update(passwordHash).digest('hex');
  return createHmac('sha256', secret).update('bulwark-pending-sign-in-v1\0').update(`${userId}:${expires}:${pw}`).digest('base64url');
}

export function pendingSignIn(secret: Buffer, userId: number, passwordHash: string, now: Date): string {
  const expires = now.getTime() + PENDING_LIFETIME_MS;
  return `${userId}.${expires}.${mac(secret, userId, expires, passwordHash)}`;
}

/** The user id a pending sign-in cookie is for, when it is genuine, unexpired and the password unchanged. */
export async function readPendingSignIn(
  secret: Buffer,
  cookie: unknown,
  passwordHashOf: (userId: number) => Promise<string | undefined>,
  now: Date
): Promise<number | undefined> {
  if (typeof cookie !== 'string') return undefined;
  const m = /^([0-9]{1,10})\.([0-9]{1,15})\.([A-Za-z0-9_-]{43})$/.exec(cookie);
  if (!m) return undefined;
  const userId = Number(m[1]);
  const expires = Number(m[2]);
  if (expires <= now.getTime()) return undefined;
  const passwordHash = await passwordHashOf(userId);
  if (!passwordHash) return undefined;
  const want = Buffer.from(mac(secret, userId, expires, passwordHash));
  const got = Buffer.from(m[3] as string);
  return got.length === want.length && timingSafeEqual(got, want) ? userId : undefined;
}
