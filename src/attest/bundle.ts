// SPDX-License-Identifier: Apache-2.0
// `.intoto.jsonl` files: one DSSE envelope per line (the in-toto attestation bundle format).
// A wheel's file in `wheels-<project>` holds one envelope per builder that agreed.
import { AttestationError } from './errors.js';
import { MAX_ENVELOPE_BYTES, parseEnvelope, serializeEnvelope, type DsseEnvelope } from './dsse.js';

export const MAX_BUNDLE_ENVELOPES = 16;
export const MAX_BUNDLE_BYTES = MAX_BUNDLE_ENVELOPES * (MAX_ENVELOPE_BYTES + 1);

export function serializeBundle(envelopes: readonly DsseEnvelope[]): Buffer {
  return Buffer.from(envelopes.map((e) => `${serializeEnvelope(e)}\n`).join(''), 'utf8');
}

/**
 * Strictly parses a bundle: 1 to MAX_BUNDLE_ENVELOPES lines, each a DSSE envelope; a final
 * newline is allowed, blank lines are not.
 * @throws AttestationError BAD_ENVELOPE
 */
export function parseBundle(bytes: Uint8Array, where = 'attestations'): DsseEnvelope[] {
  if (bytes.length > MAX_BUNDLE_BYTES) throw new AttestationError('BAD_ENVELOPE', `${where}: ${bytes.length} bytes exceeds ${MAX_BUNDLE_BYTES}`);
  const lines = Buffer.from(bytes).toString('latin1').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || lines.length > MAX_BUNDLE_ENVELOPES) throw new AttestationError('BAD_ENVELOPE', `${where} must hold 1 to ${MAX_BUNDLE_ENVELOPES} envelopes, one per line`);
  let offset = 0;
  return lines.map((line, i) => {
    // Lines are split on the byte 0x0a (latin1 keeps byte offsets), then each is read as UTF-8.
    const slice = Buffer.from(bytes).subarray(offset, offset + line.length);
    offset += line.length + 1;
    if (line.trim() === '') throw new AttestationError('BAD_ENVELOPE', `${where}: line ${i + 1} is blank`);
    return parseEnvelope(slice, `${where} line ${i + 1}`);
  });
}
