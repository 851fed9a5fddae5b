// SPDX-License-Identifier: Apache-2.0
// The auditors root vouches for: `"x-bulwark-auditors": {"keyids": [...], "threshold": t}` in
// root's `signed`, the keys in `root.keys`. A custom field, not an entry of `roles`: python-tuf
// rejects unknown roles there but keeps unknown fields of `signed` (ADR-0008), as Bulwark's
// model does (Root.unrecognized), so standard clients load such a root unchanged.
import { BadMetadataError, Root, type JsonValue, type Key, type RoleKeys } from '../tuf/index.js';

export const AUDITORS_FIELD = 'x-bulwark-auditors';

/** Root's auditor keys and threshold, or undefined when root names no auditor. */
export function rootAuditors(root: Root): RoleKeys | undefined {
  const field = root.unrecognized[AUDITORS_FIELD];
  if (field === undefined) return undefined;
  if (field === null || typeof field !== 'object' || Array.isArray(field)) throw new BadMetadataError(`root.${AUDITORS_FIELD} must be an object`);
  const { keyids, threshold } = field as { keyids?: JsonValue; threshold?: JsonValue };
  if (!Array.isArray(keyids) || keyids.length === 0 || keyids.some((k) => typeof k !== 'string') || new Set(keyids).size !== keyids.length) {
    throw new BadMetadataError(`root.${AUDITORS_FIELD}.keyids must be a non-empty list of distinct key ids`);
  }
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 1 || threshold > keyids.length) {
    throw new BadMetadataError(`root.${AUDITORS_FIELD}.threshold must be an integer from 1 to the number of key ids`);
  }
  for (const id of keyids as string[]) if (!root.keys.has(id)) throw new BadMetadataError(`root.${AUDITORS_FIELD} names unknown key ${id}`);
  return { keyids: keyids as string[], threshold };
}

/**
 * The unsigned fields of a root that names these auditors (replacing any named before); with
 * no keys, a root that names none. For ceremonies: returns the keys to add to `root.keys` and
 * the `unrecognized` fields to build the next Root with.
 */
export function withAuditors(
  unrecognizedFields: Root['unrecognized'],
  auditors: { keys: readonly Key[]; threshold?: number } | undefined
): { keys: Key[]; unrecognized: Root['unrecognized'] } {
  const rest = { ...unrecognizedFields };
  delete rest[AUDITORS_FIELD];
  if (!auditors || auditors.keys.length === 0) return { keys: [], unrecognized: rest };
  const keyids = [...new Set(auditors.keys.map((k) => k.keyId))];
  const threshold = auditors.threshold ?? 1;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keyids.length) throw new RangeError(`auditor threshold must be from 1 to ${keyids.length}`);
  return { keys: [...auditors.keys], unrecognized: { ...rest, [AUDITORS_FIELD]: { keyids, threshold } } };
}

/** Key ids root's auditors field names (to keep their keys when unused keys are dropped). */
export function auditorKeyIds(unrecognizedFields: Root['unrecognized']): string[] {
  const field = unrecognizedFields[AUDITORS_FIELD] as { keyids?: unknown } | undefined;
  return Array.isArray(field?.keyids) ? field.keyids.filter((k): k is string => typeof k === 'string') : [];
}
