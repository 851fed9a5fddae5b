// SPDX-License-Identifier: Apache-2.0
// Fields every role's `signed` part has (spec §4.2: _type, spec_version, version, expires).
import type { JsonValue } from '../canonical-json.js';
import { BadMetadataError } from '../errors.js';
import { formatExpires, parseExpires } from '../time.js';
import { int, str, type JsonObject } from './fields.js';

export type RoleType = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const SPEC_VERSION = '1.0.31';

export interface SignedCommon {
  readonly version: number;
  readonly expires: Date;
  readonly specVersion: string;
  /** Fields this version of Bulwark does not know; written back unchanged. */
  readonly unrecognized: JsonObject;
}

export const COMMON_FIELDS = ['_type', 'spec_version', 'version', 'expires'] as const;

export function readCommon(obj: JsonObject, type: RoleType): Omit<SignedCommon, 'unrecognized'> {
  const actualType = str(obj, '_type', type);
  if (actualType !== type) throw new BadMetadataError(`expected ${type} metadata, got "${actualType}"`);
  const specVersion = str(obj, 'spec_version', type);
  // §5: a client must refuse metadata whose major spec version it does not support.
  if (!/^1\.\d+(\.\d+)?$/.test(specVersion)) {
    throw new BadMetadataError(`${type}: unsupported spec_version "${specVersion}"`);
  }
  return { version: int(obj, 'version', type, 1), expires: parseExpires(obj['expires'], type), specVersion };
}

export function writeCommon(type: RoleType, s: SignedCommon): { [key: string]: JsonValue } {
  return {
    ...s.unrecognized,
    _type: type,
    spec_version: s.specVersion,
    version: s.version,
    expires: formatExpires(s.expires),
  };
}

export function isExpired(s: SignedCommon, now: Date): boolean {
  return now.getTime() >= s.expires.getTime();
}
