// SPDX-License-Identifier: Apache-2.0
// The four top-level role types (spec §4.3–4.6). Maps keep file order and give linear-time
// loading: @tufjs/models builds these with reduce + spread, quadratic on PEP 458-sized files.
import { BadMetadataError } from '../errors.js';
import { Key, keysFromJSON, keysToJSON } from '../keys.js';
import { Delegations, type RoleKeys } from './delegations.js';
import { asObject, bool, int, setField, strArray, unrecognized, type JsonObject } from './fields.js';
import { MetaFile, TargetFile } from './meta-file.js';
import { COMMON_FIELDS, readCommon, writeCommon, type SignedCommon } from './signed.js';

export type TopLevelRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
const TOP_LEVEL_ROLES: readonly TopLevelRole[] = ['root', 'timestamp', 'snapshot', 'targets'];

type Init<T> = Omit<T, 'unrecognized' | 'unrecognizedRoles' | 'type' | 'toJSON' | 'specVersion'> & {
  unrecognized?: JsonObject;
  unrecognizedRoles?: JsonObject;
  specVersion?: string;
};

abstract class SignedBase implements SignedCommon {
  readonly version: number;
  readonly expires: Date;
  readonly specVersion: string;
  readonly unrecognized: JsonObject;
  constructor(init: { version: number; expires: Date; specVersion?: string; unrecognized?: JsonObject }) {
    this.version = init.version;
    this.expires = init.expires;
    this.specVersion = init.specVersion ?? '1.0.31';
    this.unrecognized = init.unrecognized ?? {};
  }
}

export class Root extends SignedBase {
  readonly type = 'root' as const;
  readonly keys: ReadonlyMap<string, Key>;
  readonly roles: ReadonlyMap<TopLevelRole, RoleKeys>;
  readonly consistentSnapshot: boolean;
  /** Entries of `roles` other than the four top-level roles: not used, written back unchanged. */
  readonly unrecognizedRoles: JsonObject;

  constructor(init: Init<Root>) {
    super(init);
    this.keys = init.keys;
    this.roles = init.roles;
    this.consistentSnapshot = init.consistentSnapshot;
    this.unrecognizedRoles = init.unrecognizedRoles ?? {};
    for (const name of TOP_LEVEL_ROLES) {
      const role = this.roles.get(name);
      if (!role) throw new BadMetadataError(`root does not define the ${name} role`);
      for (const id of role.keyids) {
        if (!this.keys.has(id)) throw new BadMetadataError(`root: ${name} names unknown key ${id}`);
      }
    }
  }

  static fromJSON(value: unknown): Root {
    const obj = asObject(value, 'root');
    const rolesObj = asObject(obj['roles'], 'root.roles');
    const roles = new Map<TopLevelRole, RoleKeys>();
    const unrecognizedRoles: JsonObject = {};
    for (const [name, r] of Object.entries(rolesObj)) {
      if (!(TOP_LEVEL_ROLES as readonly string[]).includes(name)) {
        setField(unrecognizedRoles, name, r); // unknown roles: ignored, but written back on a round trip
        continue;
      }
      const ro = asObject(r, `root.roles.${name}`);
      roles.set(name as TopLevelRole, {
        keyids: strArray(ro, 'keyids', `root.roles.${name}`, true),
        threshold: int(ro, 'threshold', `root.roles.${name}`, 1),
        unrecognized: unrecognized(ro, ['keyids', 'threshold']),
      });
    }
    return new Root({
      ...readCommon(obj, 'root'),
      keys: keysFromJSON(obj['keys'], 'root.keys'),
      roles,
      consistentSnapshot: obj['consistent_snapshot'] === undefined ? false : bool(obj, 'consistent_snapshot', 'root'),
      unrecognizedRoles,
      unrecognized: unrecognized(obj, [...COMMON_FIELDS, 'keys', 'roles', 'consistent_snapshot']),
    });
  }

  toJSON(): JsonObject {
    const roles: JsonObject = { ...this.unrecognizedRoles };
    for (const [name, r] of this.roles) roles[name] = { ...r.unrecognized, keyids: [...r.keyids], threshold: r.threshold };
    return {
      ...writeCommon('root', this),
      keys: keysToJSON(this.keys),
      roles,
      consistent_snapshot: this.consistentSnapshot,
    };
  }
}

export class Timestamp extends SignedBase {
  readonly type = 'timestamp' as const;
  readonly snapshotMeta: MetaFile;

  constructor(init: Init<Timestamp>) {
    super(init);
    this.snapshotMeta = init.snapshotMeta;
  }

  static fromJSON(value: unknown): Timestamp {
    const obj = asObject(value, 'timestamp');
    const meta = asObject(obj['meta'], 'timestamp.meta');
    if (Object.keys(meta).length !== 1 || meta['snapshot.json'] === undefined) {
      throw new BadMetadataError('timestamp.meta must list exactly snapshot.json');
    }
    return new Timestamp({
      ...readCommon(obj, 'timestamp'),
      snapshotMeta: MetaFile.fromJSON(meta['snapshot.json'], 'timestamp.meta.snapshot.json'),
      unrecognized: unrecognized(obj, [...COMMON_FIELDS, 'meta']),
    });
  }

  toJSON(): JsonObject {
    return { ...writeCommon('timestamp', this), meta: { 'snapshot.json': this.snapshotMeta.toJSON() } };
  }
}

export class Snapshot extends SignedBase {
  readonly type = 'snapshot' as const;
  /** Keyed by file name, e.g. `targets.json`, `bins-0a3f.json`. */
  readonly meta: ReadonlyMap<string, MetaFile>;

  constructor(init: Init<Snapshot>) {
    super(init);
    this.meta = init.meta;
  }

  static fromJSON(value: unknown): Snapshot {
    const obj = asObject(value, 'snapshot');
    const metaObj = asObject(obj['meta'], 'snapshot.meta');
    const meta = new Map<string, MetaFile>();
    for (const [name, m] of Object.entries(metaObj)) meta.set(name, MetaFile.fromJSON(m, `snapshot.meta.${name}`));
    return new Snapshot({
      ...readCommon(obj, 'snapshot'),
      meta,
      unrecognized: unrecognized(obj, [...COMMON_FIELDS, 'meta']),
    });
  }

  toJSON(): JsonObject {
    const meta: JsonObject = {};
    for (const [name, m] of this.meta) setField(meta, name, m.toJSON());
    return { ...writeCommon('snapshot', this), meta };
  }
}

export class Targets extends SignedBase {
  readonly type = 'targets' as const;
  readonly targets: ReadonlyMap<string, TargetFile>;
  readonly delegations: Delegations | undefined;

  constructor(init: Init<Targets>) {
    super(init);
    this.targets = init.targets;
    this.delegations = init.delegations;
  }

  static fromJSON(value: unknown, role = 'targets'): Targets {
    const obj = asObject(value, role);
    const targetsObj = asObject(obj['targets'], `${role}.targets`);
    const targets = new Map<string, TargetFile>();
    for (const [path, t] of Object.entries(targetsObj)) {
      targets.set(path, TargetFile.fromJSON(path, t, `${role}.targets[${path}]`));
    }
    return new Targets({
      ...readCommon(obj, 'targets'),
      targets,
      delegations: obj['delegations'] === undefined ? undefined : Delegations.fromJSON(obj['delegations'], `${role}.delegations`),
      unrecognized: unrecognized(obj, [...COMMON_FIELDS, 'targets', 'delegations']),
    });
  }

  toJSON(): JsonObject {
    const targets: JsonObject = {};
    for (const [path, t] of this.targets) setField(targets, path, t.toJSON());
    const out: JsonObject = { ...writeCommon('targets', this), targets };
    if (this.delegations) out['delegations'] = this.delegations.toJSON();
    return out;
  }
}

export type AnySigned = Root | Timestamp | Snapshot | Targets;
export type SignedFor<T extends TopLevelRole> = Extract<AnySigned, { type: T }>;
