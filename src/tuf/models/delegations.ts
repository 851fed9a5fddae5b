// SPDX-License-Identifier: Apache-2.0
// Delegations (spec §4.5): keys plus either an ordered list of roles or succinct hashed bins
// (TAP 15). Roles are kept in a Map in file order, and a duplicate name is an error, not a
// silent overwrite (a tuf-js pitfall).
import type { JsonValue } from '../canonical-json.js';
import { BadMetadataError } from '../errors.js';
import { Key, keysFromJSON, keysToJSON } from '../keys.js';
import { isTargetInPathPattern, literalPrefix, targetPathHash } from '../path-match.js';
import { asObject, bool, int, str, strArray, unrecognized, type JsonObject } from './fields.js';

export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
  /** Fields of the role entry this version does not know; written back unchanged. */
  readonly unrecognized?: JsonObject;
}

export class DelegatedRole implements RoleKeys {
  constructor(
    readonly name: string,
    readonly keyids: readonly string[],
    readonly threshold: number,
    readonly terminating: boolean,
    readonly paths?: readonly string[],
    readonly pathHashPrefixes?: readonly string[],
    readonly unrecognized: JsonObject = {}
  ) {
    if ((paths === undefined) === (pathHashPrefixes === undefined)) {
      throw new BadMetadataError(`delegated role ${name} needs exactly one of paths and path_hash_prefixes`);
    }
  }

  static fromJSON(value: unknown, where: string): DelegatedRole {
    const obj = asObject(value, where);
    const name = str(obj, 'name', where);
    return new DelegatedRole(
      name,
      strArray(obj, 'keyids', where, true),
      int(obj, 'threshold', where, 1),
      bool(obj, 'terminating', where),
      obj['paths'] === undefined ? undefined : strArray(obj, 'paths', where),
      obj['path_hash_prefixes'] === undefined ? undefined : strArray(obj, 'path_hash_prefixes', where),
      unrecognized(obj, ['name', 'keyids', 'threshold', 'terminating', 'paths', 'path_hash_prefixes'])
    );
  }

  toJSON(): JsonObject {
    const out: JsonObject = {
      ...this.unrecognized,
      name: this.name,
      keyids: [...this.keyids],
      threshold: this.threshold,
      terminating: this.terminating,
    };
    if (this.paths) out['paths'] = [...this.paths];
    if (this.pathHashPrefixes) out['path_hash_prefixes'] = [...this.pathHashPrefixes];
    return out;
  }

  /** §5.6.7.2: is `targetPath` delegated to this role? */
  isDelegatedPath(targetPath: string): boolean {
    if (this.paths) return this.paths.some((p) => isTargetInPathPattern(targetPath, p));
    const hash = targetPathHash(targetPath);
    return (this.pathHashPrefixes ?? []).some((prefix) => hash.startsWith(prefix));
  }
}

/** TAP 15 succinct hashed-bin delegation: 2^bitLength bins named `${namePrefix}-${hex}`. */
export class SuccinctRoles implements RoleKeys {
  readonly numberOfBins: number;
  readonly suffixLength: number;

  constructor(
    readonly keyids: readonly string[],
    readonly threshold: number,
    readonly bitLength: number,
    readonly namePrefix: string,
    readonly unrecognized: JsonObject = {}
  ) {
    if (bitLength < 1 || bitLength > 32) throw new BadMetadataError('succinct_roles.bit_length must be 1–32');
    this.numberOfBins = 2 ** bitLength;
    this.suffixLength = (this.numberOfBins - 1).toString(16).length;
  }

  static fromJSON(value: unknown, where: string): SuccinctRoles {
    const obj = asObject(value, where);
    return new SuccinctRoles(
      strArray(obj, 'keyids', where, true),
      int(obj, 'threshold', where, 1),
      int(obj, 'bit_length', where, 1),
      str(obj, 'name_prefix', where),
      unrecognized(obj, ['keyids', 'threshold', 'bit_length', 'name_prefix'])
    );
  }

  toJSON(): JsonObject {
    return {
      ...this.unrecognized,
      keyids: [...this.keyids],
      threshold: this.threshold,
      bit_length: this.bitLength,
      name_prefix: this.namePrefix,
    };
  }

  binName(bin: number): string {
    return `${this.namePrefix}-${bin.toString(16).padStart(this.suffixLength, '0')}`;
  }

  /** The bin number for a target: the leftmost bitLength bits of SHA-256(path). */
  binForTarget(targetPath: string): number {
    const first32 = Number.parseInt(targetPathHash(targetPath).slice(0, 8), 16);
    return Math.floor(first32 / 2 ** (32 - this.bitLength));
  }

  roleForTarget(targetPath: string): string {
    return this.binName(this.binForTarget(targetPath));
  }

  isDelegatedRole(name: string): boolean {
    const prefix = `${this.namePrefix}-`;
    if (!name.startsWith(prefix)) return false;
    const suffix = name.slice(prefix.length);
    if (suffix.length !== this.suffixLength || !/^[0-9a-f]+$/.test(suffix)) return false;
    return Number.parseInt(suffix, 16) < this.numberOfBins;
  }

  *roleNames(): Generator<string> {
    for (let i = 0; i < this.numberOfBins; i++) yield this.binName(i);
  }
}

export class Delegations {
  constructor(
    readonly keys: ReadonlyMap<string, Key>,
    readonly roles?: ReadonlyMap<string, DelegatedRole>,
    readonly succinctRoles?: SuccinctRoles,
    readonly unrecognized: JsonObject = {}
  ) {
    if ((roles === undefined) === (succinctRoles === undefined)) {
      throw new BadMetadataError('delegations need exactly one of roles and succinct_roles');
    }
  }

  static fromJSON(value: unknown, where: string): Delegations {
    const obj = asObject(value, where);
    const keys = keysFromJSON(obj['keys'], `${where}.keys`);
    let roles: Map<string, DelegatedRole> | undefined;
    if (obj['roles'] !== undefined) {
      if (!Array.isArray(obj['roles'])) throw new BadMetadataError(`${where}.roles must be a list`);
      roles = new Map();
      for (const r of obj['roles']) {
        const role = DelegatedRole.fromJSON(r, `${where}.roles[]`);
        if (roles.has(role.name)) throw new BadMetadataError(`${where}: duplicate role ${role.name}`);
        if (['root', 'timestamp', 'snapshot', 'targets'].includes(role.name)) {
          throw new BadMetadataError(`${where}: a delegated role may not be called ${role.name}`);
        }
        roles.set(role.name, role);
      }
    }
    const succinct =
      obj['succinct_roles'] === undefined ? undefined : SuccinctRoles.fromJSON(obj['succinct_roles'], `${where}.succinct_roles`);
    return new Delegations(keys, roles, succinct, unrecognized(obj, ['keys', 'roles', 'succinct_roles']));
  }

  toJSON(): JsonObject {
    const out: JsonObject = { ...this.unrecognized, keys: keysToJSON(this.keys) };
    if (this.roles) out['roles'] = [...this.roles.values()].map((r) => r.toJSON() as JsonValue);
    if (this.succinctRoles) out['succinct_roles'] = this.succinctRoles.toJSON();
    return out;
  }

  /** Role keys for a delegated role name, or undefined if this delegator does not name it. */
  roleKeys(name: string): RoleKeys | undefined {
    if (this.roles) return this.roles.get(name);
    return this.succinctRoles?.isDelegatedRole(name) ? this.succinctRoles : undefined;
  }

  /** §5.6.7.2: the roles to visit for `targetPath`, in order, with their terminating flag. */
  rolesForTarget(targetPath: string): { name: string; terminating: boolean }[] {
    if (this.succinctRoles) return [{ name: this.succinctRoles.roleForTarget(targetPath), terminating: true }];
    const index = (this.pathIndex ??= buildPathIndex([...(this.roles?.values() ?? [])]));
    const out: { name: string; terminating: boolean }[] = [];
    for (const i of mergeAscending(index.byFirst.get(targetPath.charAt(0)) ?? [], index.always)) {
      const role = index.roles[i] as DelegatedRole;
      if (role.isDelegatedPath(targetPath)) out.push({ name: role.name, terminating: role.terminating });
    }
    return out;
  }

  private pathIndex: PathIndex | undefined;
}

/**
 * The roles of a delegator by the first character of their patterns' literal prefixes, built once
 * per (immutable) Delegations: a delegator with 1,024 name bins has ~3,000 patterns, and a lookup
 * that tested each took ~0.3 ms of a refresh (issue 12: ≤ 5 ms). A pattern matches only paths
 * that start with its literal prefix, so only the roles filed under the path's first character
 * are tested, and those whose prefix is empty or that delegate by hash prefixes (`always`).
 * Each list is in delegation order, and the two are merged back into it: the search order is
 * the delegations' order (§5.6.7.2).
 */
interface PathIndex {
  roles: readonly DelegatedRole[];
  byFirst: Map<string, number[]>;
  always: number[];
}

function buildPathIndex(roles: readonly DelegatedRole[]): PathIndex {
  const byFirst = new Map<string, number[]>();
  const always: number[] = [];
  roles.forEach((role, i) => {
    const prefixes = role.paths?.map(literalPrefix);
    if (!prefixes || prefixes.includes('')) {
      always.push(i);
      return;
    }
    for (const first of new Set(prefixes.map((p) => p.charAt(0)))) {
      const list = byFirst.get(first);
      if (list) list.push(i);
      else byFirst.set(first, [i]);
    }
  });
  return { roles, byFirst, always };
}

/** The union of two ascending lists of indexes, ascending. */
function* mergeAscending(a: readonly number[], b: readonly number[]): Generator<number> {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i] ?? Number.POSITIVE_INFINITY;
    const y = b[j] ?? Number.POSITIVE_INFINITY;
    if (x <= y) {
      yield x;
      i++;
      if (x === y) j++;
    } else {
      yield y;
      j++;
    }
  }
}
