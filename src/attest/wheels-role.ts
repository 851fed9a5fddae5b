// SPDX-License-Identifier: Apache-2.0
// Names both sides of the wire agree on for verified builds (PEP 480 level 4):
//   project-<p> ─(terminating, threshold ≥ 2)→ wheels-<p>
// The delegated role may list only `<p>/<name>.whl`, its PEP 658 `.whl.metadata` and its
// `.whl.intoto.jsonl` attestations; the farm publishes its key at FARM_KEY_API_PATH.
import { BadMetadataError } from '../tuf/errors.js';
import { Key } from '../tuf/keys.js';
import { parseStrictJson } from '../tuf/strict-json.js';

export const WHEELS_ROLE_PREFIX = 'wheels-';
export const MIN_WHEELS_THRESHOLD = 2;
export const ATTESTATION_SUFFIX = '.intoto.jsonl';
/** `GET` answers `{"keyid": …, "key": <TUF key>}`: the build farm's public key. */
export const FARM_KEY_API_PATH = '/api/build-farm/key';

export function wheelsRoleName(project: string): string {
  return `${WHEELS_ROLE_PREFIX}${project}`;
}

/** The delegation's path patterns (fnmatch, `*` never crosses `/`). */
export function wheelsRolePaths(project: string): string[] {
  return [`${project}/*.whl`, `${project}/*.whl.metadata`, `${project}/*.whl${ATTESTATION_SUFFIX}`];
}

export function attestationFileName(filename: string): string {
  return `${filename}${ATTESTATION_SUFFIX}`;
}

/** Whether `path` is a target `wheels-<project>` may list (exact suffix rules, no pattern tricks). */
export function isWheelsRolePath(project: string, path: string): boolean {
  const prefix = `${project}/`;
  if (!path.startsWith(prefix)) return false;
  const name = path.slice(prefix.length);
  if (name.includes('/') || name.includes('\\')) return false;
  for (const suffix of ['.whl', '.whl.metadata', `.whl${ATTESTATION_SUFFIX}`]) {
    if (name.endsWith(suffix) && name.length > suffix.length) return true;
  }
  return false;
}

/** The wheel a `.whl.metadata` or `.whl.intoto.jsonl` target belongs to (itself for a wheel). */
export function wheelOfPath(name: string): string {
  if (name.endsWith(`.whl${ATTESTATION_SUFFIX}`)) return name.slice(0, -ATTESTATION_SUFFIX.length);
  if (name.endsWith('.whl.metadata')) return name.slice(0, -'.metadata'.length);
  return name;
}

/** The answer of FARM_KEY_API_PATH. */
export function farmKeyResponse(key: Key): { keyid: string; key: ReturnType<Key['toJSON']> } {
  return { keyid: key.keyId, key: key.toJSON() };
}

/**
 * Reads FARM_KEY_API_PATH's answer, checking that the key id is the key's.
 * @throws BadMetadataError when it is malformed
 */
export function parseFarmKeyResponse(bytes: Uint8Array | string): Key {
  const value = parseStrictJson(bytes, 'build farm key');
  const obj = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  const key = Key.fromJSON(obj['key'], 'build farm key');
  if (obj['keyid'] !== key.keyId) throw new BadMetadataError(`build farm key: keyid ${String(obj['keyid'])} is not the key's id ${key.keyId}`);
  return key;
}
