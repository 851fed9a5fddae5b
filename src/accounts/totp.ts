// SPDX-License-Identifier: Apache-2.0
// TOTP second factors (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of clock
// drift either way) through the `otpauth` library, and the one-time recovery codes that stand
// in for a lost authenticator. Every function takes the time: the server's clock is injectable,
// so tests compute the codes an authenticator would show without waiting.
import { createHash, randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';

export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** Steps of drift accepted either side of the current one. */
export const TOTP_WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;
const ISSUER = 'Bulwark';

function totp(secret: string, account = ''): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: ISSUER,
    label: account,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: OTPAuth.Secret.fromBase32(secret),
  });
}

/** A new TOTP secret: 160 random bits (RFC 4226's recommended length), in base32. */
export function newTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

/** Whether a string is a secret newTotpSecret() could have made (32 base32 letters). */
export function isTotpSecret(s: unknown): s is string {
  return typeof s === 'string' && /^[A-Z2-7]{32}$/.test(s);
}

/** The time step a moment falls in. */
export function totpStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code an authenticator shows at `at`. */
export function totpCode(secret: string, at: Date): string {
  return totp(secret).generate({ timestamp: at.getTime() });
}

/** A code as people type it: digits, spaces and dashes ignored. */
export function normalizeTotpCode(code: string): string {
  return code.replace(/[\s-]/g, '');
}

/**
 * The time step whose code `code` is, within the window around `at`, or undefined. The caller
 * must still refuse a step at or before the last one it accepted (replay).
 */
export function matchTotp(secret: string, code: string, at: Date): number | undefined {
  const token = normalizeTotpCode(code);
  if (!new RegExp(`^[0-9]{${TOTP_DIGITS}}$`).test(token)) return undefined;
  const delta = totp(secret).validate({ token, timestamp: at.getTime(), window: TOTP_WINDOW });
  return delta === null ? undefined : totpStep(at) + delta;
}

/** The otpauth:// URI authenticator apps read from the QR code. */
export function totpUri(secret: string, account: string): string {
  return totp(secret, account).toString();
}

/**
 * The URI as a QR code in SVG markup, made on the server so the page needs no script and no
 * image fetch (the pages' CSP allows neither). qrcode's SVG is paths with fill and stroke
 * attributes only, no script or style.
 */
export function totpQrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
}

// ---- recovery codes ----------------------------------------------------------------------

/**
 * Ten codes of 80 random bits each, shown once, as 4 groups of 4 base32 letters. With 80 bits
 * there is nothing to guess, so a fast hash (like API tokens') is enough to store them.
 */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const s = OTPAuth.Secret.fromHex(randomBytes(10).toString('hex')).base32.toLowerCase();
    return (s.match(/.{4}/g) ?? []).join('-');
  });
}

/** Recovery codes are compared without case, spaces or dashes. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, '');
}

export function isRecoveryCodeShape(code: string): boolean {
  return /^[a-z2-7]{16}$/.test(normalizeRecoveryCode(code));
}

export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update('bulwark-recovery-v1\0').update(normalizeRecoveryCode(code)).digest('hex');
}
