// PEP 480 Table 1: the attacks, one function per column. Each gets exactly the keys of its
// row (read from the demo repository's key files; `project` = the developer keys of the
// attacked project), tries every forgery it can think of with them, serves each from its own
// mirror over HTTP and runs the real client (src/client Updater) against it, a new client with
// its own cache for every attempt. It returns true as soon as one client accepted.
//
// Three kinds of client, each a column of the table, with its victims tried in this order:
//   classic  snapshot.json (`snapshotMode: 'classic'`): synced, then new;
//   merkle   the snapshot Merkle tree, no auditor: merkle-synced, then merkle-new;
//   audited  the tree, with --require-auditor: a new client (audited).
// synced   a client that refreshed before and looked up every project, so its cache holds the
//          newest honest metadata it could have seen (for a freeze or an inconsistency: the
//          state before the last uploads, which it is to be kept at or mixed with);
// new      a client with nothing but the pinned root (a fresh install, a CI runner).
// The audited column needs no synced victim: its rollback baseline is the auditor's, who has
// seen every tree (a cache adds nothing an attacker could not also take from a new client).
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Auditor } from '../../src/auditor/auditor.js';
import { Updater } from '../../src/client/updater.js';
import { DownloadError, isTargetInPathPattern, RepositoryError, SuccinctRoles, type RepositoryErrorCode, type Signer } from '../../src/tuf/index.js';
import { Ed25519Signer } from '../../src/tuf/index.js';
import { delegatesPath, delegatorsOfProject, Forgery, type HonestTree, type SnapshotSigned, type TargetsSigned } from './forge.js';
import type { AttackerMirror } from './mirror.js';
import { clientDir, PROJECTS, type ProjectKind, type Scenario } from './scenario.js';

export type CompromisedRole = 'timestamp' | 'snapshot' | 'targets' | 'claimed' | 'recently-claimed' | 'unclaimed' | 'project' | 'root';
export type AttackName = 'malicious_claimed' | 'malicious_recently_claimed' | 'malicious_unclaimed' | 'freeze' | 'inconsistency';
/** The kinds of client, one column each: classic (snapshot.json), Merkle without an auditor, Merkle with --require-auditor. */
export type ClientKind = 'classic' | 'merkle' | 'audited';
export const CLIENT_KINDS: readonly ClientKind[] = ['classic', 'merkle', 'audited'];
/**
 * synced and new: classic clients (snapshot.json); merkle-synced and merkle-new: Merkle clients
 * without an auditor; audited: a new Merkle client with --require-auditor.
 */
export type VictimKind = 'synced' | 'new' | 'merkle-synced' | 'merkle-new' | 'audited';
/** The victims of each column, in the order they are tried (a success against the first is a plain YES). */
export const VICTIMS: Readonly<Record<ClientKind, readonly VictimKind[]>> = {
  classic: ['synced', 'new'],
  merkle: ['merkle-synced', 'merkle-new'],
  audited: ['audited'],
};
const isMerkle = (k: VictimKind) => k === 'merkle-synced' || k === 'merkle-new' || k === 'audited';

export interface Outcome {
  success: boolean;
  /** The victim that accepted, and how. */
  victim?: VictimKind;
  strategy?: string;
  /** Forgeries served to a client. */
  attempts: number;
  /** Forgeries with a file the attacker changed but could not sign, that a victim of the column reads (served once per victim). */
  unsignable: number;
  /** How the refused forgeries were refused (each the way its forgery had to be): refusal → count. */
  refusals: Partial<Record<Refusal, number>>;
}

/**
 * How a client refuses a forgery: a verification error, or `not chosen` when everything verifies
 * but the attacker's data is not what the search finds (a terminating delegation ends the search
 * before the attacker's role, the client still sees the security fix, the versions differ).
 * A download error (a 404, a timeout) is never a refusal: the attack was not even tested.
 */
export type Refusal = RepositoryErrorCode | 'not chosen' | 'LENGTH_EXCEEDED';

/** A forgery was refused otherwise than it had to be: the harness or the client is wrong. */
export class UnexpectedRefusalError extends Error {}

export interface AttackContext {
  scenario: Scenario;
  tree: HonestTree;
  /** The attacker's HTTP server (its copy of the repository). */
  mirror: AttackerMirror;
  compromised: readonly CompromisedRole[];
  /** How each attack ended, per column (filled in by the attacks). */
  outcomes: Map<`${ClientKind}:${AttackName}`, Outcome>;
  /** The columns to run (default: all three). */
  clients?: readonly ClientKind[];
}

const DAY = 86_400_000;

// ---- keys ----------------------------------------------------------------------------------

/**
 * The private keys of the compromised roles, from the demo repository's key files, and
 * nothing else. `project` gives the developer keys of `attacked` (an unclaimed project has none).
 */
export async function attackerKeys(scenario: Scenario, compromised: readonly CompromisedRole[], attacked?: ProjectKind): Promise<Map<string, Signer>> {
  const files: string[] = [];
  for (const role of compromised) {
    switch (role) {
      case 'timestamp':
      case 'snapshot':
      case 'recently-claimed':
      case 'unclaimed':
        files.push(join(scenario.dataDir, 'keys', 'online', `${role}.pem`));
        break;
      case 'root':
      case 'targets':
      case 'claimed':
        files.push(join(scenario.dataDir, 'keys', 'offline-DEMO-ONLY', `${role}.pem`));
        break;
      case 'project':
        if (attacked === 'claimed' || attacked === 'recently-claimed') files.push(scenario.developerKeys[attacked]);
        break;
    }
  }
  const keys = new Map<string, Signer>();
  for (const f of files) {
    const s = Ed25519Signer.fromPkcs8Pem(await readFile(f, 'utf8'));
    keys.set(s.keyId, s);
  }
  return keys;
}

// ---- attempts ------------------------------------------------------------------------------

interface Victim {
  kind: VictimKind;
  /** Client cache template (undefined: the pinned root only). */
  cache: string | undefined;
  clock: Date;
}

/** The synced caches of an attack: the classic client's and the Merkle client's. */
interface SyncedCaches {
  classic: string;
  merkle: string;
}

function victimsOf(client: ClientKind, synced: SyncedCaches, clock: Date): Victim[] {
  return VICTIMS[client].map((kind) => ({ kind, cache: kind === 'synced' ? synced.classic : kind === 'merkle-synced' ? synced.merkle : undefined, clock }));
}

/** An inconsistency's pair: `old` at its earlier version next to `current` at its latest. */
interface Pair {
  old: string;
  oldVersion: number;
  current: string;
  currentVersion: number;
}

interface Strategy {
  name: string;
  /** For an inconsistency: the pair of role versions it aims at. */
  pair?: Pair;
  /** Changes the forgery; throws NotApplicable when it makes no sense in this repository. */
  forge(f: Forgery): void;
}

class NotApplicable extends Error {}

/** One attempt: a new client with its own cache decides about what the mirror serves now. */
async function attempt(ctx: AttackContext, victim: Victim, accepted: (u: Updater) => Promise<boolean>): Promise<Refusal | 'accepted'> {
  const dir = await clientDir(ctx.scenario, victim.cache);
  try {
    const mode = victim.kind === 'audited' ? { requireAuditor: true } : isMerkle(victim.kind) ? {} : { snapshotMode: 'classic' as const };
    const u = new Updater({ metadataDir: dir, indexUrl: ctx.mirror.url, now: victim.clock, ...mode });
    await u.refresh();
    return (await accepted(u)) ? 'accepted' : 'not chosen';
  } catch (e) {
    if (e instanceof RepositoryError) return e.code; // verification failed
    // A Merkle client downloads a role no longer than its leaf says: a longer forgery is cut off.
    if (e instanceof DownloadError && e.code === 'LENGTH_EXCEEDED' && isMerkle(victim.kind)) return e.code;
    throw e; // a download error, or a bug of this harness or of the client
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The honest auditor (src/auditor, its state after it verified the honest trees) polls the
 * attacker's mirror, as it would an index the attacker controls: the statement it signs for the
 * forged tree, or why it refused to sign. The attacker never holds the auditor's key.
 */
async function honestAuditor(ctx: AttackContext, clock: Date): Promise<{ statement: Buffer } | { refused: string }> {
  // A copy of its state; a refused tree changes nothing in it, so the copy is kept until it signs.
  let dir = auditorCopies.get(ctx);
  if (!dir) {
    dir = await ctx.scenario.tempDir('auditor');
    await cp(ctx.scenario.auditor.stateDir, dir, { recursive: true });
    auditorCopies.set(ctx, dir);
  }
  let statement: Buffer | undefined;
  try {
    const publish = async (b: Buffer) => void (statement = b);
    await new Auditor({ dir, indexUrl: ctx.mirror.url, signer: ctx.scenario.auditor.signer, token: '', publish, statementExpirySeconds: 86_400, now: () => clock }).poll();
  } catch (e) {
    if (e instanceof RepositoryError) return { refused: e.code };
    throw e;
  }
  auditorCopies.delete(ctx);
  await rm(dir, { recursive: true, force: true });
  return statement ? { statement } : { refused: 'nothing new to sign' };
}

/** The honest auditor's state directory as it was after the honest trees, per attacker (see honestAuditor). */
const auditorCopies = new WeakMap<AttackContext, string>();

/** The version of `role` the victim's cache trusts (0 when it has none): its cached file, or for a Merkle client its leaf baseline. */
async function cachedVersion(victim: Victim, role: string): Promise<number> {
  if (!victim.cache) return 0;
  if (isMerkle(victim.kind)) {
    const bytes = await readFile(join(victim.cache, 'merkle-versions.json')).catch(() => undefined);
    return bytes ? ((JSON.parse(bytes.toString('utf8')) as Record<string, number>)[role] ?? 0) : 0;
  }
  const bytes = await readFile(join(victim.cache, `${encodeURIComponent(role)}.json`)).catch(() => undefined);
  return bytes ? (JSON.parse(bytes.toString('utf8')) as { signed: { version: number } }).signed.version : 0;
}

/** The role files of the honest tree a forgery serves with other bytes under the same name (VERSION.ROLE.json). */
function honestRolesChanged(ctx: AttackContext, files: ReadonlyMap<string, Buffer>): string[] {
  return [...files.entries()]
    .filter(([p, b]) => /^metadata\/\d+\.[^/]+\.json$/.test(p) && !/\.(root|snapshot)\.json$/.test(p) && ctx.tree.file(p)?.equals(b) === false)
    .map(([p]) => p)
    .sort();
}

/** Which statement an auditor-requiring client is served with a forgery. */
type Statement = 'forged tree' | 'latest honest' | 'earlier honest';

/**
 * How the client must refuse a forgery (the refusals allowed), from what the forgery is, in the
 * order the client checks:
 *  - a file the attacker changed but could not sign fails its signatures (a Merkle client never
 *    reads snapshot.json, so an unsigned snapshot does not count for it);
 *  - a replayed timestamp that has expired at the victim's clock is expired;
 *  - a role rolled back below the version the victim trusts is a rollback (`BAD_VERSION` for a
 *    classic client, `MERKLE_ROLLBACK` for a Merkle client, whose baseline is its leaves);
 *  - anything else verifies, and only the search may keep the attacker's file out (`not chosen`).
 * An auditor-requiring client served an honest statement follows that statement's tree: the
 * statement has expired (`STALE_AUDIT`), or nothing the attacker forged is named by that tree,
 * except a role file it overwrote under the very version the tree lists, which fails its leaf's
 * length or hash if the search reaches it.
 */
async function expectedRefusals(ctx: AttackContext, forgery: Forgery, files: ReadonlyMap<string, Buffer>, unsigned: readonly string[], victim: Victim, statement?: Statement): Promise<Refusal[]> {
  if (unsigned.includes('root')) return ['UNSIGNED_METADATA'];
  if (victim.kind === 'audited' && statement !== 'forged tree') {
    const bytes = statement === 'earlier honest' ? ctx.scenario.auditor.earlierStatement : ctx.scenario.auditor.latestStatement;
    const expires = (JSON.parse(bytes.toString('utf8')) as { signed: { expires: string } }).signed.expires;
    if (Date.parse(expires) <= victim.clock.getTime()) return ['STALE_AUDIT'];
    return honestRolesChanged(ctx, files).length > 0 ? ['LENGTH_OR_HASH_MISMATCH', 'LENGTH_EXCEEDED', 'not chosen'] : ['not chosen'];
  }
  if (unsigned.some((f) => !isMerkle(victim.kind) || f !== 'snapshot')) return ['UNSIGNED_METADATA'];
  const timestamp = JSON.parse((files.get('metadata/timestamp.json') as Buffer).toString('utf8')) as { signed: { expires: string } };
  if (Date.parse(timestamp.signed.expires) <= victim.clock.getTime()) return ['EXPIRED_METADATA'];
  for (const [role, version] of forgery.rolledBack) if ((await cachedVersion(victim, role)) > version) return [isMerkle(victim.kind) ? 'MERKLE_ROLLBACK' : 'BAD_VERSION'];
  return ['not chosen'];
}

/**
 * Tries every strategy against every victim of every column, and records per column (under
 * `client:attack`) the first success against its first victim, else against its second, else
 * every refusal. Each forgery is made once and served once to all victims at the same time
 * (classic and Merkle clients never read the audit statement the auditor-requiring client is
 * served beside it). A victim fooled once is not tried again; a column whose first victim was
 * fooled is done. A forgery with a file the attacker changed but could not sign is served once
 * per victim (the client must refuse it); more of them would only repeat that.
 */
async function campaign(
  ctx: AttackContext,
  attack: AttackName,
  o: { keys: ReadonlyMap<string, Signer>; base: Buffer; clock: Date; synced: SyncedCaches; strategies: Strategy[]; accepted: (u: Updater, s: Strategy) => Promise<boolean> }
): Promise<void> {
  const columns = (ctx.clients ?? CLIENT_KINDS).map((client) => ({
    client,
    victims: victimsOf(client, o.synced, o.clock),
    fooled: new Map<VictimKind, string>(),
    attempts: 0,
    unsignable: 0,
    refusals: {} as Partial<Record<Refusal, number>>,
  }));
  const triedUnsigned = new Set<VictimKind>();
  /** What auditor-requiring clients were shown with an honest statement: the statement and the honest files changed. */
  const auditedViews = new Set<string>();
  const open = (c: (typeof columns)[number]) => !c.fooled.has(c.victims[0]?.kind as VictimKind);
  for (const strategy of o.strategies) {
    if (!columns.some(open)) break;
    const forgery = new Forgery({ tree: ctx.tree, base: o.base, keys: o.keys, clock: o.clock });
    try {
      strategy.forge(forgery);
    } catch (e) {
      if (e instanceof NotApplicable) continue;
      throw e;
    }
    // What the victim cannot verify: a Merkle client never reads snapshot.json.
    const unsignedOf = (kind: VictimKind, files: readonly string[]) => files.filter((f) => !isMerkle(kind) || f !== 'snapshot');
    // Once every victim still open has been served an unsigned forgery, making more is wasted.
    const useless = (u: readonly string[]) => columns.filter(open).every((c) => c.victims.every((v) => c.fooled.has(v.kind) || (triedUnsigned.has(v.kind) && unsignedOf(v.kind, u).length > 0)));
    const { files, unsigned, stopped } = await forgery.finalize({ stopWhen: useless });
    if (stopped) {
      for (const c of columns.filter(open)) c.unsignable++;
      continue;
    }
    const unsignedFor = (kind: VictimKind) => unsignedOf(kind, unsigned);
    const runs: { column: (typeof columns)[number]; victim: Victim }[] = [];
    for (const column of columns.filter(open)) {
      if (column.victims.some((v) => unsignedFor(v.kind).length > 0)) column.unsignable++;
      for (const victim of column.victims) {
        if (column.fooled.has(victim.kind) || (unsignedFor(victim.kind).length > 0 && triedUnsigned.has(victim.kind))) continue;
        runs.push({ column, victim });
      }
    }
    if (runs.length === 0) continue;
    for (const r of runs) if (unsignedFor(r.victim.kind).length > 0) triedUnsigned.add(r.victim.kind);
    const served = await serving(ctx, strategy.name, files, runs.some((r) => r.victim.kind === 'audited') ? o.clock : undefined);
    // With an honest statement the client reads the honest tree: all it can see of a forgery is
    // the honest role files it changed, so each such view is served once per attack.
    const audited =
      served.main[2] === 'forged tree'
        ? [served.main]
        : [served.main, served.earlier].filter((v) => {
            const view = `${v[2] ?? ''}:${honestRolesChanged(ctx, v[1]).join(',')}`;
            if (auditedViews.has(view)) return false;
            if (runs.some((r) => r.victim.kind === 'audited')) auditedViews.add(view);
            return true;
          });
    const variantsOf = (kind: VictimKind) => (kind === 'audited' ? audited : [served.main]);
    for (const variant of [served.main, served.earlier]) {
      const batch = runs.filter((r) => variantsOf(r.victim.kind).includes(variant));
      if (batch.length === 0) continue;
      const [name, map, statement] = variant;
      ctx.mirror.serve(map);
      const expected = await Promise.all(batch.map((r) => expectedRefusals(ctx, forgery, map, unsigned, r.victim, statement)));
      const results = await Promise.all(batch.map((r) => attempt(ctx, r.victim, (u) => o.accepted(u, strategy))));
      for (const [k, { column, victim }] of batch.entries()) {
        column.attempts++;
        const result = results[k] as Refusal | 'accepted';
        if (result === 'accepted') {
          column.fooled.set(victim.kind, victim.kind === 'audited' ? name : strategy.name);
          continue;
        }
        const allowed = expected[k] as Refusal[];
        if (!allowed.includes(result)) {
          throw new UnexpectedRefusalError(
            `${attack} with ${ctx.compromised.join('+')}: "${name}" was refused by the ${victim.kind} client with ${result}, but this forgery must be refused with ${allowed.join(' or ')}`
          );
        }
        column.refusals[result] = (column.refusals[result] ?? 0) + 1;
      }
    }
  }
  for (const c of columns) {
    const common = { attempts: c.attempts, unsignable: c.unsignable, refusals: c.refusals };
    const first = c.victims.find((v) => c.fooled.has(v.kind));
    const how = first && c.fooled.get(first.kind);
    ctx.outcomes.set(`${c.client}:${attack}`, first && how ? { success: true, victim: first.kind, strategy: how, ...common } : { success: false, ...common });
  }
}

type Served = [name: string, files: ReadonlyMap<string, Buffer>, statement: Statement | undefined];

/**
 * What a forgery is served as. For an auditor-requiring client (when `auditClock` is given), with
 * the statement it can get: a root rotation names the attacker's own auditor (its statement is
 * part of the forgery); otherwise the honest auditor is shown the forged tree, and its statement
 * is served if it signs it. If it refuses, the attacker can only serve the honest statements it
 * holds: the newest (main) or the earlier one, unexpired.
 */
async function serving(ctx: AttackContext, name: string, files: ReadonlyMap<string, Buffer>, auditClock: Date | undefined): Promise<{ main: Served; earlier: Served }> {
  const statementPath = `metadata/audit/${ctx.scenario.auditor.keyid}.json`;
  const earlier: Served = [`${name}, with the earlier honest statement`, new Map([...files, [statementPath, ctx.scenario.auditor.earlierStatement]]), 'earlier honest'];
  if (!auditClock) return { main: [name, files, undefined], earlier };
  if ([...files.keys()].some((p) => p.startsWith('metadata/audit/'))) return { main: [`${name}, audited by its own auditor`, files, 'forged tree'], earlier };
  ctx.mirror.serve(files);
  const verdict = await honestAuditor(ctx, auditClock);
  if ('statement' in verdict) return { main: [`${name}, audited by the honest auditor`, new Map([...files, [statementPath, verdict.statement]]), 'forged tree'], earlier };
  return { main: [`${name} (the auditor refused it: ${verdict.refused}), with the latest honest statement`, files, 'latest honest'], earlier: [`${name} (the auditor refused it: ${verdict.refused}), with the earlier honest statement`, earlier[1], 'earlier honest'] };
}

/** Variants of each strategy: as is, and (with the root key) after rotating the top-level keys. */
function withRootRotation(ctx: AttackContext, strategies: Strategy[]): Strategy[] {
  if (!ctx.compromised.includes('root')) return strategies;
  return [
    ...strategies,
    ...strategies.map((s) => ({
      ...s,
      name: `rotate root keys, then ${s.name}`,
      forge(f: Forgery) {
        f.rotateRoot();
        s.forge(f);
      },
    })),
  ];
}

// ---- helpers about the repository layout ---------------------------------------------------

function succinctOf(tree: HonestTree): SuccinctRoles {
  const s = tree.metadata<TargetsSigned>('unclaimed', tree.newest('unclaimed')).signed.delegations?.succinct_roles;
  if (!s) throw new Error('unclaimed has no hashed bins');
  return new SuccinctRoles(s.keyids, s.threshold, s.bit_length, s.name_prefix);
}

/** The roles searched, in order, for a project's targets (each searched only if the ones before do not stop the search). */
const SEARCH_ORDER = ['claimed', 'recently-claimed', 'unclaimed'] as const;

/** The role (claimed or recently-claimed, or one of their name bins) that delegates `role` in the forgery, if any. */
function parentOf(f: Forgery, role: string): string | undefined {
  return delegatorsOfProject(role.slice('project-'.length)).find((p) => f.has(p) && f.role(p).delegations?.roles?.some((r) => r.name === role));
}

/** Where a project role's delegator is searched: 1 under claimed, 2 under recently-claimed. */
const underClaimed = (parent: string | undefined) => (parent !== undefined && !parent.startsWith('recently-claimed') ? 1 : 2);

/** The name bins (ADR 0005) under `role` whose patterns cover `path`: searched right after it. */
function binsCovering(f: Forgery, role: string, path: string): string[] {
  return (f.role(role).delegations?.roles ?? []).filter((r) => r.name.startsWith(`${role}-bin-`) && (r.paths ?? []).some((p) => isTargetInPathPattern(path, p))).map((r) => r.name);
}

/**
 * Lets the search fall through to `entry`: every role searched before it (claimed, then
 * recently-claimed) that delegates `path` is rolled back to its newest honest version that
 * does not and has not expired. Needs a new snapshot (the versions change).
 */
function fallThrough(f: Forgery, path: string, before: number, clock: Date): boolean {
  let changed = false;
  for (const role of SEARCH_ORDER.slice(0, before).flatMap((r) => [r, ...binsCovering(f, r, path)])) {
    if (!delegatesPath(f.role(role), path)) continue;
    const older = f.tree
      .versions(role)
      .filter((v) => v < (f.baseVersion(role) ?? 0))
      .map((v) => f.tree.metadata<TargetsSigned>(role, v).signed)
      .filter((r) => !delegatesPath(r, path) && Date.parse(r.expires) > clock.getTime())
      .pop();
    if (older) {
      f.rollback(role, older.version);
      changed = true;
    }
  }
  return changed;
}

// ---- malicious updates ---------------------------------------------------------------------

/** A target path for the attacker's file: a new file name of the project (in a bin its honest files do not use). */
function maliciousPath(ctx: AttackContext, kind: ProjectKind): string {
  const project = PROJECTS[kind];
  const dist = project.replace(/[-_.]+/g, '_');
  const bins = succinctOf(ctx.tree);
  const used = new Set(ctx.scenario.targets[kind].map((p) => bins.roleForTarget(p)));
  for (let patch = 6; ; patch++) {
    const path = `${project}/${dist}-6.6.${patch}-py3-none-any.whl`;
    if (!used.has(bins.roleForTarget(path)) || patch > 200) return path;
  }
}

function maliciousStrategies(ctx: AttackContext, kind: ProjectKind, path: string, bytes: Buffer, clock: Date): Strategy[] {
  const project = PROJECTS[kind];
  const projectRole = `project-${project}`;
  const bins = succinctOf(ctx.tree);
  const bin = bins.roleForTarget(path);
  const own = `attacker-${project}`;
  // Where the attacker's target goes, and how far down the search order that place is
  // (0: before claimed, 1: claimed, 2: recently-claimed, 3: unclaimed).
  const entries: { name: string; position: (f: Forgery) => number; apply: (f: Forgery) => void }[] = [
    { name: 'list it in targets', position: () => 0, apply: (f) => f.list('targets', path, bytes) },
    { name: 'list it in claimed', position: () => 1, apply: (f) => f.list('claimed', path, bytes) },
    { name: 'list it in recently-claimed', position: () => 2, apply: (f) => f.list('recently-claimed', path, bytes) },
    { name: 'list it in unclaimed', position: () => 3, apply: (f) => f.list('unclaimed', path, bytes) },
    { name: `list it in its bin ${bin}`, position: () => 3, apply: (f) => f.list(bin, path, bytes) },
    {
      name: `list it in ${projectRole}`,
      position: (f) => underClaimed(parentOf(f, projectRole)),
      apply: (f) => {
        if (!f.has(projectRole)) throw new NotApplicable();
        f.list(projectRole, path, bytes);
      },
    },
    ...(['targets', 'claimed', 'recently-claimed'] as const).map((r, i) => ({
      name: `delegate ${project}/* from ${r} to its own key`,
      position: () => i,
      apply: (f: Forgery) => {
        f.delegate(r, own, [`${project}/*`]);
        f.list(own, path, bytes);
      },
    })),
    ...(['claimed', 'recently-claimed', 'unclaimed'] as const).map((r, i) => ({
      name: `re-delegate ${r} to its own key in targets`,
      position: () => i + 1,
      apply: (f: Forgery) => {
        f.rekey('targets', r);
        f.list(r, path, bytes);
      },
    })),
    {
      name: `re-delegate ${projectRole} to its own key`,
      position: (f) => underClaimed(parentOf(f, projectRole)),
      apply: (f) => {
        const parent = f.has(projectRole) ? parentOf(f, projectRole) : undefined;
        if (!parent) throw new NotApplicable();
        f.rekey(parent, projectRole);
        f.list(projectRole, path, bytes);
      },
    },
    {
      name: 're-delegate the bins to its own key',
      position: () => 3,
      apply: (f) => {
        f.rekey('unclaimed', '*bins*');
        f.list(bin, path, bytes);
      },
    },
  ];
  const out: Strategy[] = [];
  for (const rollback of [false, true]) {
    for (const bump of [false, true]) {
      for (const e of entries) {
        out.push({
          name: `${e.name}${bump ? ', new versions' : ' (same versions)'}${rollback ? ', older claimed/recently-claimed so the search falls through' : ''}`,
          forge(f) {
            e.apply(f);
            if (rollback && !fallThrough(f, path, Math.max(0, e.position(f) - 1), clock)) throw new NotApplicable();
            if (bump) f.bumpAll();
          },
        });
      }
    }
  }
  return withRootRotation(ctx, out);
}

/** A malicious update of the project of `kind`: the client accepts a file of it whose bytes the attacker chose. */
export async function maliciousUpdate(ctx: AttackContext, kind: ProjectKind): Promise<void> {
  const attack: AttackName = kind === 'claimed' ? 'malicious_claimed' : kind === 'recently-claimed' ? 'malicious_recently_claimed' : 'malicious_unclaimed';
  const keys = await attackerKeys(ctx.scenario, ctx.compromised, kind);
  const path = maliciousPath(ctx, kind);
  const bytes = Buffer.from(`not ${PROJECTS[kind]}: bytes chosen by an attacker holding ${ctx.compromised.join('+')}\n`);
  const clock = new Date();
  await campaign(ctx, attack, {
    keys,
    base: ctx.scenario.latest.timestamp,
    clock,
    synced: { classic: ctx.scenario.latest.clientCache, merkle: ctx.scenario.latest.merkleCache },
    strategies: maliciousStrategies(ctx, kind, path, bytes, clock),
    accepted: async (u) => {
      const found = await u.findTarget(path);
      if (!found) return false;
      return (await u.downloadTarget(found.target)).equals(bytes);
    },
  });
}

// ---- freeze --------------------------------------------------------------------------------

/**
 * Freeze: two days on, when every timestamp the index signed has expired but the snapshot and
 * bins of the earlier state (7 days) have not, the attacker serves the earlier state with
 * whatever it can re-sign. Success: the client accepts it, so it cannot see the security fix
 * published since, while it still resolves and downloads an older file.
 */
export async function freeze(ctx: AttackContext): Promise<void> {
  const keys = await attackerKeys(ctx.scenario, ctx.compromised, 'recently-claimed');
  const clock = new Date(ctx.scenario.builtAt.getTime() + 2 * DAY);
  const strategies = withRootRotation(ctx, [
    { name: 'replay the earlier state', forge: () => undefined },
    { name: 'a fresh timestamp for the earlier snapshot', forge: (f) => f.freshTimestamp() },
    { name: 'a fresh snapshot and timestamp over the earlier state', forge: (f) => f.freshSnapshot() },
  ]);
  await campaign(ctx, 'freeze', {
    keys,
    base: ctx.scenario.earlier.timestamp,
    clock,
    synced: { classic: ctx.scenario.earlier.clientCache, merkle: ctx.scenario.earlier.merkleCache },
    strategies,
    accepted: async (u) => {
      if (await u.findTarget(ctx.scenario.securityFix)) return false; // it sees the newest state
      const old = await u.findTarget(ctx.scenario.oldFile);
      if (!old) return false;
      await u.downloadTarget(old.target);
      return true;
    },
  });
}

// ---- metadata inconsistency ----------------------------------------------------------------

/** A target path whose lookup makes the client load `role`. */
function pathInto(ctx: AttackContext, role: string): string {
  if (role.startsWith('project-')) return `${role.slice('project-'.length)}/index.json`;
  const project = PROJECTS.unclaimed;
  if (!role.startsWith('bins-')) return `${project}/index.json`;
  const bins = succinctOf(ctx.tree);
  for (let i = 0; i < 100_000; i++) if (bins.roleForTarget(`${project}/probe-${i}`) === role) return `${project}/probe-${i}`;
  throw new Error(`no path into ${role}`);
}

/**
 * Metadata inconsistency: the client accepts role versions that were never published together
 * — one role as it was in the earlier state next to another as it is in the latest.
 */
export async function inconsistency(ctx: AttackContext): Promise<void> {
  const keys = await attackerKeys(ctx.scenario, ctx.compromised, 'recently-claimed');
  const version = (ts: Buffer) => (JSON.parse(ts.toString('utf8')) as { signed: { meta: { 'snapshot.json': { version: number } } } }).signed.meta['snapshot.json'].version;
  const early = ctx.tree.metadata<SnapshotSigned>('snapshot', version(ctx.scenario.earlier.timestamp)).signed.meta;
  const late = ctx.tree.metadata<SnapshotSigned>('snapshot', version(ctx.scenario.latest.timestamp)).signed.meta;
  const history = ctx.tree.snapshots();
  const changed = Object.keys(late)
    .filter((k) => early[k] !== undefined && early[k]?.version !== late[k]?.version)
    .map((k) => k.replace(/\.json$/, ''));
  // Pairs (old A, new B) that no published snapshot ever listed together.
  const combos: Pair[] = [];
  for (const a of changed) {
    for (const b of changed) {
      if (a === b) continue;
      const oldVersion = early[`${a}.json`]?.version as number;
      const currentVersion = late[`${b}.json`]?.version as number;
      const existed =
        history.some((s) => s.meta[`${a}.json`]?.version === oldVersion && s.meta[`${b}.json`]?.version === currentVersion) ||
        ctx.tree.trees([a, b]).some((t) => t.get(a) === oldVersion && t.get(b) === currentVersion);
      if (!existed) combos.push({ old: a, oldVersion, current: b, currentVersion });
    }
  }
  if (combos.length === 0) throw new Error('the scenario has no pair of roles that changed separately');
  const strategies = withRootRotation(
    ctx,
    combos.slice(0, 3).map((c) => ({
      name: `a snapshot listing ${c.old} version ${c.oldVersion} (earlier) with ${c.current} version ${c.currentVersion} (latest)`,
      pair: c,
      forge: (f: Forgery) => f.rollback(c.old, c.oldVersion),
    }))
  );
  const clock = new Date();
  await campaign(ctx, 'inconsistency', {
    keys,
    base: ctx.scenario.latest.timestamp,
    clock,
    synced: { classic: ctx.scenario.earlier.clientCache, merkle: ctx.scenario.earlier.merkleCache },
    strategies,
    accepted: async (u, s) => {
      const c = s.pair as Pair;
      await u.findTarget(pathInto(ctx, c.old));
      await u.findTarget(pathInto(ctx, c.current));
      return u.getVerifiedRole(c.old)?.signed.version === c.oldVersion && u.getVerifiedRole(c.current)?.signed.version === c.currentVersion;
    },
  });
}
