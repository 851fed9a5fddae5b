// SPDX-License-Identifier: Apache-2.0
// Browser sessions: a random 256-bit id in an HttpOnly, SameSite=Lax cookie (Secure when the
// request came over https); the database keeps only its SHA-256, so a copy of the database does
// not let anyone take over a session. A session lasts 12 hours from sign-in; signing in always
// makes a new id (no fixation), signing out or changing the password deletes it.
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'bulwark_session';
export const CSRF_COOKIE = 'bulwark_csrf';
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update('bulwark-session-v1\0').update(id).digest('hex');
}

/** A session id as a cookie carries it: 43 base64url characters, nothing else. */
export function isWellFormedSessionId(id: unknown): id is string {
  return typeof id === 'string' && /^[A-Za-z0-9_-]{43}$/.test(id);
}

export interface CookieAttributes {
  httpOnly: true;
  sameSite: 'lax';
  secure: boolean;
  path: '/';
  maxAge?: number;
}

/** The attributes every cookie of the web pages gets. */
export function cookieAttributes(secure: boolean, maxAgeSeconds?: number): CookieAttributes {
  return { httpOnly: true, sameSite: 'lax', secure, path: '/', ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}) };
}
