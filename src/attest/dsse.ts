// SPDX-License-Identifier: Apache-2.0
// DSSE (Dead Simple Signing Envelope, https://github.com/secure-systems-lab/dsse, protocol v1):
// the signature covers the pre-authentication encoding PAE(payloadType, payload), never the
// JSON around it, so the envelope can be re-serialized without breaking signatures.
//
// Hand-written: the only npm implementations live inside sigstore's packages (@sigstore/core),
// whose envelopes carry certificates and whose verification is tied to sigstore bundles; PAE is
// a few lines and signing and verification reuse src/tuf's signers and keys.
import { Key } from '../tuf/keys.js';
import type { Signer } from '../tuf/signer.js';
import { parseStrictJson } from '../tuf/strict-json.js';
import { BadMetadataError } from '../tuf/errors.js';
import { AttestationError } from './errors.js';

/** The payload type of an in-toto attestation (in-toto Attestation Framework, envelope layer). */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

// Size limits (bytes): an attestation names a few files and tool versions; anything larger is
// refused before it is parsed.
export const MAX_ENVELOPE_BYTES = 64 * 1024;
export const MAX_PAYLOAD_BYTES = 48 * 1024;
export const MAX_SIGNATURES = 16;
const MAX_KEYID_CHARS = 128;
const MAX_SIG_BASE64_CHARS = 4096;

export interface DsseSignature {
  keyid: string;
  sig: string; // base64
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string; // base64
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type, Buffer.from(` ${payload.length} `, 'ascii'), payload]);
}

/** An envelope for `payload` signed by each of `signers` (key ids as TUF computes them). */
export async function signEnvelope(payload: Uint8Array, signers: readonly Signer[], payloadType = IN_TOTO_PAYLOAD_TYPE): Promise<DsseEnvelope> {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new AttestationError('BAD_ENVELOPE', `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const pae = preAuthEncoding(payloadType, payload);
  const signatures: DsseSignature[] = [];
  for (const signer of signers) {
    const s = await signer.sign(pae);
    signatures.push({ keyid: s.keyid, sig: Buffer.from(s.sig, 'hex').toString('base64') });
  }
  return { payloadType, payload: Buffer.from(payload).toString('base64'), signatures };
}

/** One line of a `.intoto.jsonl` file: the envelope as compact JSON with a fixed field order. */
export function serializeEnvelope(envelope: DsseEnvelope): string {
  return JSON.stringify({ payloadType: envelope.payloadType, payload: envelope.payload, signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) });
}

/** Standard base64 in its one canonical spelling (padding included, no whitespace). */
function decodeBase64(value: string, what: string): Buffer {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw new AttestationError('BAD_ENVELOPE', `${what} is not canonical base64`);
  return bytes;
}

function onlyFields(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw new AttestationError('BAD_ENVELOPE', `${where} has an unknown field "${k}"`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Strictly parses one DSSE envelope (duplicate keys, unknown fields, bad base64 and oversized
 * input are refused).
 * @throws AttestationError BAD_ENVELOPE
 */
export function parseEnvelope(bytes: Uint8Array | string, where = 'attestation'): DsseEnvelope {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_ENVELOPE_BYTES) throw new AttestationError('BAD_ENVELOPE', `${where}: envelope of ${size} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  let value: unknown;
  try {
    value = parseStrictJson(bytes, where);
  } catch (e) {
    if (e instanceof BadMetadataError) throw new AttestationError('BAD_ENVELOPE', e.message, { cause: e });
    throw e;
  }
  if (!isObject(value)) throw new AttestationError('BAD_ENVELOPE', `${where} must be a JSON object`);
  onlyFields(value, ['payloadType', 'payload', 'signatures'], where);
  const { payloadType, payload, signatures } = value;
  if (typeof payloadType !== 'string' || payloadType.length === 0 || payloadType.length > 256) throw new AttestationError('BAD_ENVELOPE', `${where}.payloadType must be a short string`);
  if (typeof payload !== 'string') throw new AttestationError('BAD_ENVELOPE', `${where}.payload must be a base64 string`);
  if (decodeBase64(payload, `${where}.payload`).length > MAX_PAYLOAD_BYTES) throw new AttestationError('BAD_ENVELOPE', `${where}.payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > MAX_SIGNATURES) {
    throw new AttestationError('BAD_ENVELOPE', `${where}.signatures must be a list of 1 to ${MAX_SIGNATURES} signatures`);
  }
  const sigs = signatures.map((s: unknown, i): DsseSignature => {
    const at = `${where}.signatures[${i}]`;
    if (!isObject(s)) throw new AttestationError('BAD_ENVELOPE', `${at} must be an object`);
    onlyFields(s, ['keyid', 'sig'], at);
    if (typeof s['keyid'] !== 'string' || s['keyid'].length > MAX_KEYID_CHARS) throw new AttestationError('BAD_ENVELOPE', `${at}.keyid must be a short string`);
    if (typeof s['sig'] !== 'string' || s['sig'].length === 0 || s['sig'].length > MAX_SIG_BASE64_CHARS) throw new AttestationError('BAD_ENVELOPE', `${at}.sig must be a base64 string`);
    decodeBase64(s['sig'], `${at}.sig`);
    return { keyid: s['keyid'], sig: s['sig'] };
  });
  return { payloadType, payload, signatures: sigs };
}

/** The payload bytes (the envelope must come from parseEnvelope or signEnvelope). */
export function envelopePayload(envelope: DsseEnvelope): Buffer {
  return Buffer.from(envelope.payload, 'base64');
}

/**
 * The trusted keys (by key id) whose signature of the envelope verifies, each public key counted
 * once whatever key ids list it. An empty list means no trusted signature.
 */
export function verifiedSigners(envelope: DsseEnvelope, trusted: ReadonlyMap<string, Key>): string[] {
  const pae = preAuthEncoding(envelope.payloadType, envelopePayload(envelope));
  const keyIds: string[] = [];
  const identities = new Set<string>();
  for (const s of envelope.signatures) {
    const key = trusted.get(s.keyid);
    const identity = key?.identity;
    if (!key || identity === undefined || identities.has(identity)) continue;
    if (key.verify(pae, Buffer.from(s.sig, 'base64').toString('hex'))) {
      identities.add(identity);
      keyIds.push(s.keyid);
    }
  }
  return keyIds;
}

/**
 * Checks the payload type and that at least one trusted key signed the envelope.
 * @returns the key ids that signed
 * @throws AttestationError BAD_ENVELOPE (payload type) or BAD_ATTESTATION_SIGNATURE
 */
export function verifyEnvelope(envelope: DsseEnvelope, trusted: ReadonlyMap<string, Key>, where = 'attestation'): string[] {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new AttestationError('BAD_ENVELOPE', `${where}: payload type "${envelope.payloadType}" is not ${IN_TOTO_PAYLOAD_TYPE}`);
  const signers = verifiedSigners(envelope, trusted);
  if (signers.length === 0) throw new AttestationError('BAD_ATTESTATION_SIGNATURE', `${where}: no signature verifies with a trusted key (${envelope.signatures.map((s) => s.keyid.slice(0, 12)).join(', ')})`);
  return signers;
}
