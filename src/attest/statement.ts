// SPDX-License-Identifier: Apache-2.0
// in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md):
// which artifacts (subject: name + digest) a predicate is about. Payloads Bulwark writes are
// canonical JSON, so a statement has one byte form; payloads it reads may be any strict JSON.
import { encodeCanonical, type JsonValue } from '../tuf/canonical-json.js';
import { BadMetadataError } from '../tuf/errors.js';
import { parseStrictJson } from '../tuf/strict-json.js';
import { AttestationError } from './errors.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const MAX_SUBJECTS = 256;
const MAX_NAME_CHARS = 255;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface Subject {
  name: string;
  sha256: string;
}

export interface Statement {
  subjects: Subject[];
  predicateType: string;
  predicate: JsonValue;
}

/** The canonical-JSON bytes of a statement: what a DSSE envelope carries as its payload. */
export function statementBytes(statement: Statement): Buffer {
  return Buffer.from(
    encodeCanonical({
      _type: STATEMENT_TYPE,
      subject: statement.subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
      predicateType: statement.predicateType,
      predicate: statement.predicate,
    }),
    'utf8'
  );
}

function isObject(v: unknown): v is { [k: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function bad(message: string): AttestationError {
  return new AttestationError('BAD_STATEMENT', message);
}

/**
 * Strictly parses a statement: known fields only at the top level, 1 to MAX_SUBJECTS subjects,
 * each with a name and a lowercase sha256 digest (other digest algorithms are ignored but a
 * sha256 is required: it is what TUF's target hashes are), and distinct names.
 * @throws AttestationError BAD_STATEMENT
 */
export function parseStatement(payload: Uint8Array | string, where = 'statement'): Statement {
  let value: JsonValue;
  try {
    value = parseStrictJson(payload, where);
  } catch (e) {
    if (e instanceof BadMetadataError) throw new AttestationError('BAD_STATEMENT', e.message, { cause: e });
    throw e;
  }
  if (!isObject(value)) throw bad(`${where} must be a JSON object`);
  for (const k of Object.keys(value)) {
    if (!['_type', 'subject', 'predicateType', 'predicate'].includes(k)) throw bad(`${where} has an unknown field "${k}"`);
  }
  if (value['_type'] !== STATEMENT_TYPE) throw bad(`${where}._type must be ${STATEMENT_TYPE}`);
  const predicateType = value['predicateType'];
  if (typeof predicateType !== 'string' || predicateType.length === 0 || predicateType.length > 256) throw bad(`${where}.predicateType must be a short string`);
  const subject = value['subject'];
  if (!Array.isArray(subject) || subject.length === 0 || subject.length > MAX_SUBJECTS) throw bad(`${where}.subject must list 1 to ${MAX_SUBJECTS} subjects`);
  const names = new Set<string>();
  const subjects = subject.map((s, i): Subject => {
    const at = `${where}.subject[${i}]`;
    if (!isObject(s)) throw bad(`${at} must be an object`);
    const name = s['name'];
    const digest = s['digest'];
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS) throw bad(`${at}.name must be a file name`);
    if (names.has(name)) throw bad(`${at}.name "${name}" is listed twice`);
    names.add(name);
    if (!isObject(digest) || typeof digest['sha256'] !== 'string' || !SHA256_HEX.test(digest['sha256'])) throw bad(`${at}.digest.sha256 must be 64 lowercase hex digits`);
    return { name, sha256: digest['sha256'] };
  });
  const predicate = value['predicate'] ?? null;
  return { subjects, predicateType, predicate };
}
