// SPDX-License-Identifier: Apache-2.0
// CSRF protection for the HTML forms. A form's token is an HMAC, under a server secret, of what
// the form is bound to: the session (session-bound tokens, for signed-in users), or, before
// signing in, a random value in a cookie (signed double-submit, for the login form). A forged
// request from another site has neither the cookie's value nor the secret, so it cannot make
// the token. Checks also refuse requests a browser marks as cross-site (Sec-Fetch-Site) or
// whose Origin is not this site.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const CSRF_FIELD = 'csrf_token';

export function newCsrfSecret(): Buffer {
  return randomBytes(32);
}

/** A random value for the anonymous CSRF cookie. */
export function newCsrfNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** The token for a form bound to `binding` ("session:<id hash>" or "anon:<cookie value>"). */
export function csrfToken(secret: Buffer, binding: string): string {
  return createHmac('sha256', secret).update('bulwark-csrf-v1\0').update(binding).digest('base64url');
}

export function checkCsrfToken(secret: Buffer, binding: string | undefined, token: unknown): boolean {
  if (!binding || typeof token !== 'string' || token.length > 100) return false;
  const want = Buffer.from(csrfToken(secret, binding));
  const got = Buffer.from(token);
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Whether the request's browser-supplied headers say it comes from this site: a Sec-Fetch-Site
 * other than same-origin/none, or an Origin of another host, means another site sent it.
 */
export function sameOriginRequest(headers: Record<string, string | string[] | undefined>, host: string): boolean {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers['origin'];
  if (typeof origin === 'string' && origin !== 'null') {
    try {
      if (new URL(origin).host !== host) return false;
    } catch {
      return false;
    }
  } else if (origin === 'null') {
    return false;
  }
  return true;
}
