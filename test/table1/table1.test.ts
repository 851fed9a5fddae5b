// PEP 480 Table 1, cell by cell: runs every row of the key-compromise table against the real
// client (see run.ts and attacks.ts) and compares what happened with the table as the PEP
// writes it, copied here by hand. Nothing in this file is computed by the code under test.
//
// Cells where Bulwark does not (yet) do what the PEP says are marked `todo` with the reason;
// they are reported, not hidden, and start passing once the cause is fixed.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initDemoRepository } from '../../src/repository/init.js';
import { DownloadError } from '../../src/tuf/index.js';
import { repoRoot } from '../helpers/processes.js';
import { CLIENT_KINDS, freeze, inconsistency, maliciousUpdate, type AttackContext, type AttackName, type ClientKind, type CompromisedRole, type Outcome, type Refusal } from './attacks.js';
import { AttackerMirror } from './mirror.js';
import { HonestTree } from './forge.js';
import { ATTACKS, cell, COMBINATIONS, jsonLine, runCombination, runTable1, type Observation, type Table1Run } from './run.js';
import { buildScenario, type Scenario } from './scenario.js';

const YES = true;
const NO = false;
/**
 * "N/A" in the PEP: with only a targets-type key (targets, claimed, recently-claimed,
 * unclaimed, or a project's developer keys) the attacker cannot sign a timestamp or a
 * snapshot, so a freeze or a metadata inconsistency cannot even be mounted: written as false.
 */
const NA = false;

interface ExpectedRow {
  compromised: CompromisedRole[];
  /** The PEP's cell, as its Table 1 writes it. */
  pep: Record<AttackName, boolean>;
  /** Cells where Bulwark's goal is stricter than the PEP (NO where the PEP says YES), and why. */
  stricter: Partial<Record<AttackName, string>>;
}

const row = (
  compromised: CompromisedRole[],
  claimed: boolean,
  recentlyClaimed: boolean,
  unclaimed: boolean,
  freeze: boolean,
  inconsistency: boolean,
  stricter: Partial<Record<AttackName, string>> = {}
): ExpectedRow => ({
  compromised,
  pep: { malicious_claimed: claimed, malicious_recently_claimed: recentlyClaimed, malicious_unclaimed: unclaimed, freeze, inconsistency },
  stricter,
});

/** What Bulwark aims for in a cell: the PEP's value, or NO where it is stricter. */
const goal = (r: ExpectedRow, attack: AttackName): boolean => (r.stricter[attack] ? NO : r.pep[attack]);

// PEP 480, Table 1 ("malicious updates" is one column in the PEP; it is split here by where the
// attacked project is delegated: claimed, recently-claimed, or unclaimed).
const EXPECTED: ExpectedRow[] = [
  // timestamp: NO malicious updates (snapshot and targets must cooperate); freeze YES, limited by
  // the earliest expiry of root, targets and bins; inconsistency NO.
  row(['timestamp'], NO, NO, NO, YES, NO),
  // snapshot: NO, NO, NO.
  row(['snapshot'], NO, NO, NO, NO, NO),
  // timestamp AND snapshot: NO malicious updates (targets or a delegated role is needed); freeze
  // and inconsistency YES, limited by expiry.
  row(['timestamp', 'snapshot'], NO, NO, NO, YES, YES),
  // targets OR claimed OR recently-claimed OR unclaimed OR project: NO (timestamp and snapshot
  // are needed); freeze and inconsistency N/A.
  row(['targets'], NO, NO, NO, NA, NA),
  row(['claimed'], NO, NO, NO, NA, NA),
  row(['recently-claimed'], NO, NO, NO, NA, NA),
  row(['unclaimed'], NO, NO, NO, NA, NA),
  row(['project'], NO, NO, NO, NA, NA),
  // (timestamp AND snapshot) AND project: the PEP says YES, YES, YES, for every project.
  row(['timestamp', 'snapshot', 'project'], YES, YES, YES, YES, YES, {
    malicious_unclaimed:
      '"project" is the developer keys of the attacked project, and an unclaimed project has none: its files are vouched for by a bin signed with the unclaimed key, which this attacker lacks',
  }),
  // (timestamp AND snapshot) AND (recently-claimed OR unclaimed): "YES, but only of projects not
  // delegated by claimed"; freeze YES; inconsistency YES.
  //  - with recently-claimed: the recently-claimed project YES, and the unclaimed one YES too
  //    (recently-claimed is searched before unclaimed, so it can vouch for any project path that
  //    claimed does not delegate); the claimed project NO.
  row(['timestamp', 'snapshot', 'recently-claimed'], NO, YES, YES, YES, YES),
  //  - with unclaimed: the PEP says YES for the unclaimed and the recently-claimed project (neither
  //    is delegated by claimed), NO for the claimed one.
  row(['timestamp', 'snapshot', 'unclaimed'], NO, YES, YES, YES, YES, {
    malicious_recently_claimed:
      'its delegation in recently-claimed is terminating and recently-claimed is searched before unclaimed, so nothing the unclaimed key signs is consulted for it',
  }),
  // (timestamp AND snapshot) AND (targets OR claimed): YES (for every project), YES, YES.
  row(['timestamp', 'snapshot', 'targets'], YES, YES, YES, YES, YES),
  row(['timestamp', 'snapshot', 'claimed'], YES, YES, YES, YES, YES),
  // root: YES, YES, YES.
  row(['root'], YES, YES, YES, YES, YES),
];

// ---- known deviations ----------------------------------------------------------------------

// Fixed (found by this suite): the snapshot used to list only the VERSION of each targets role,
// so one targets-type key (targets, claimed, recently-claimed, unclaimed, or a project's
// developer keys) could sign other contents under the version the snapshot names, and new
// clients accepted them. Snapshot now lists length and sha256 of every role (test below).

// Not a bug of the code: a gap in the PEP's claim for new clients. With timestamp+snapshot the
// attacker can list an older, still unexpired claimed (from before the promotion: claimed
// expires after 180 days) or recently-claimed (from before the claim: 7 days) that does not
// delegate the project; the search then falls through to the role whose key it holds. A client
// that has seen the newer versions refuses the rollback (checked below); a client with only the
// pinned root cannot tell. The PEP's "only of projects not delegated by claimed" holds once no
// unexpired version of claimed (resp. recently-claimed) lacks the project's delegation.
const ROLLBACK_FOR_NEW_CLIENTS = 'PEP NO, but new clients accept: timestamp+snapshot roll claimed back to an unexpired version without the delegation (docs/table1.md, "Refinements")';
const STRICTER_FOR_SYNCED_ONLY =
  "the PEP's YES holds for new clients; Bulwark's NO holds for a client that saw the claim: timestamp+snapshot roll recently-claimed back to an unexpired version from before it (docs/table1.md, \"Refinements\")";

/**
 * Cells where Bulwark does not meet its goal (marked todo), with why. Keyed by
 * `compromised.join('+')`. The two malicious_claimed cells are NO in the PEP; the third is YES in
 * the PEP and NO only in Bulwark's stricter goal.
 */
const KNOWN_DEVIATIONS: Record<string, Partial<Record<AttackName, string>>> = {
  'timestamp+snapshot+recently-claimed': { malicious_claimed: ROLLBACK_FOR_NEW_CLIENTS },
  'timestamp+snapshot+unclaimed': { malicious_claimed: ROLLBACK_FOR_NEW_CLIENTS, malicious_recently_claimed: STRICTER_FOR_SYNCED_ONLY },
};

const label = (v: boolean) => (v ? 'YES' : 'NO');
/** The test's name for a cell: the PEP's value, and Bulwark's where it differs. */
const cellName = (r: ExpectedRow, attack: AttackName): string =>
  r.stricter[attack] ? `${attack}: PEP ${label(r.pep[attack])}; Bulwark ${label(goal(r, attack))} (stricter: ${r.stricter[attack] ?? ''})` : `${attack}: ${label(r.pep[attack])} (PEP and Bulwark)`;

// ---- Merkle clients (issue 12 item 5) --------------------------------------------------------

/** A Merkle column's cell: YES (a synced client too), YES (new) (only a client with nothing but the pinned root), or NO. */
type Cell = 'YES' | 'YES (new)' | 'NO';
type Column = Record<string, [Cell, Cell, Cell, Cell, Cell]>;

// Merkle clients without an auditor: they never read snapshot.json, and the timestamp names the
// tree, so the timestamp key does the snapshot key's job. Every row holds as for classic clients
// with "timestamp + snapshot" read as "timestamp"; the snapshot key adds nothing. So:
//  - timestamp alone: an inconsistency too (a tree of its own listing bins-5 at its earlier
//    version next to bins-9 at its latest), which a classic client refuses without a snapshot
//    signature; the freeze as before (fresh timestamp over the earlier tree);
//  - snapshot alone, and single targets-type keys: nothing (the timestamp names the tree);
//  - the new-client window (the three YES (new)) stays: the attacker's own tree may list an older
//    claimed or recently-claimed, and a new client has no leaves to compare with; a synced one
//    refuses the rollback (MERKLE_ROLLBACK, its leaf baseline).
//                                                      claimed      rec.-claimed  unclaimed  freeze  inconsistency
const MERKLE: Column = {
  timestamp: ['NO', 'NO', 'NO', 'YES', 'YES'],
  snapshot: ['NO', 'NO', 'NO', 'NO', 'NO'],
  'timestamp+snapshot': ['NO', 'NO', 'NO', 'YES', 'YES'],
  targets: ['NO', 'NO', 'NO', 'NO', 'NO'],
  claimed: ['NO', 'NO', 'NO', 'NO', 'NO'],
  'recently-claimed': ['NO', 'NO', 'NO', 'NO', 'NO'],
  unclaimed: ['NO', 'NO', 'NO', 'NO', 'NO'],
  project: ['NO', 'NO', 'NO', 'NO', 'NO'],
  'timestamp+snapshot+project': ['YES', 'YES', 'NO', 'YES', 'YES'],
  'timestamp+snapshot+recently-claimed': ['YES (new)', 'YES', 'YES', 'YES', 'YES'],
  'timestamp+snapshot+unclaimed': ['YES (new)', 'YES (new)', 'YES', 'YES', 'YES'],
  'timestamp+snapshot+targets': ['YES', 'YES', 'YES', 'YES', 'YES'],
  'timestamp+snapshot+claimed': ['YES', 'YES', 'YES', 'YES', 'YES'],
  root: ['YES', 'YES', 'YES', 'YES', 'YES'],
};

// Merkle clients with --require-auditor: the client uses the timestamp an auditor's statement
// embeds, and the honest auditor signs a tree only if no role went down against every tree it
// verified before. The attacker is assumed to control what the auditor polls (an index holding
// the online keys), so any tree that passes those checks gets a statement; it cannot sign one.
//  - malicious updates that need no rollback stay YES (a new version of a role the attacker can
//    sign is what an honest index publishes too);
//  - those that need a rollback (the new-client window) are NO: the auditor has seen every version;
//  - freeze: NO (the earlier tree is a rollback for the auditor; the honest statements have
//    expired two days on: a freeze lasts at most a statement's life, 5 minutes by default);
//  - inconsistency: NO (a rollback for the auditor; an honest statement names one honest tree);
//  - root: YES everywhere: the root key names the auditors, so the attacker names its own.
const AUDITED: Column = {
  timestamp: ['NO', 'NO', 'NO', 'NO', 'NO'],
  snapshot: ['NO', 'NO', 'NO', 'NO', 'NO'],
  'timestamp+snapshot': ['NO', 'NO', 'NO', 'NO', 'NO'],
  targets: ['NO', 'NO', 'NO', 'NO', 'NO'],
  claimed: ['NO', 'NO', 'NO', 'NO', 'NO'],
  'recently-claimed': ['NO', 'NO', 'NO', 'NO', 'NO'],
  unclaimed: ['NO', 'NO', 'NO', 'NO', 'NO'],
  project: ['NO', 'NO', 'NO', 'NO', 'NO'],
  'timestamp+snapshot+project': ['YES', 'YES', 'NO', 'NO', 'NO'],
  'timestamp+snapshot+recently-claimed': ['NO', 'YES', 'YES', 'NO', 'NO'],
  'timestamp+snapshot+unclaimed': ['NO', 'NO', 'YES', 'NO', 'NO'],
  'timestamp+snapshot+targets': ['YES', 'YES', 'YES', 'NO', 'NO'],
  'timestamp+snapshot+claimed': ['YES', 'YES', 'YES', 'NO', 'NO'],
  root: ['YES', 'YES', 'YES', 'YES', 'YES'],
};

const MERKLE_COLUMNS: Readonly<Record<Exclude<ClientKind, 'classic'>, Column>> = { merkle: MERKLE, audited: AUDITED };

/** How each column may refuse a forgery (attacks.ts throws on any refusal its forgery does not call for). */
const REFUSALS: Readonly<Record<ClientKind, readonly Refusal[]>> = {
  classic: ['UNSIGNED_METADATA', 'EXPIRED_METADATA', 'BAD_VERSION', 'not chosen'],
  merkle: ['UNSIGNED_METADATA', 'EXPIRED_METADATA', 'MERKLE_ROLLBACK', 'not chosen'],
  audited: ['UNSIGNED_METADATA', 'EXPIRED_METADATA', 'MERKLE_ROLLBACK', 'STALE_AUDIT', 'LENGTH_OR_HASH_MISMATCH', 'LENGTH_EXCEEDED', 'not chosen'],
};

// ---- the run -------------------------------------------------------------------------------

describe('PEP 480 Table 1: key compromise, attack by attack', () => {
  let scenario: Scenario;
  let run: Table1Run;
  const observed = new Map<string, Observation>();
  before(async () => {
    scenario = await buildScenario();
    run = await runTable1({ scenario });
    for (const o of run.observations) observed.set(o.row.compromised.join('+'), o);
  });
  after(() => scenario?.close());

  it('a mirror that answers 404 (or times out) stops the run instead of passing the NO cells', async () => {
    await assert.rejects(
      runCombination(scenario, new HonestTree(scenario.publicDir), ['snapshot'], { onMirror: (m) => m.breakDown() }),
      (e) => e instanceof DownloadError && e.code === 'NOT_FOUND'
    );
  });

  it('runs every row of the table, "or" alternatives on their own, in the PEP\'s order', () => {
    assert.deepEqual(
      run.observations.map((o) => o.row.compromised),
      EXPECTED.map((r) => r.compromised)
    );
    assert.deepEqual(COMBINATIONS, EXPECTED.map((r) => r.compromised));
    for (const column of Object.values(MERKLE_COLUMNS)) assert.deepEqual(Object.keys(column), EXPECTED.map((r) => r.compromised.join('+')));
  });

  it('prints one JSON object per row with exactly the table\'s fields', () => {
    for (const o of run.observations) {
      const parsed = JSON.parse(jsonLine(o.row)) as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(parsed), ['compromised', ...CLIENT_KINDS]);
      for (const c of CLIENT_KINDS) {
        assert.deepEqual(Object.keys(parsed[c] ?? {}), ATTACKS);
        for (const a of ATTACKS) assert.equal(parsed[c]?.[a], o.outcomes[c][a].success);
      }
    }
  });

  for (const expected of EXPECTED) {
    const key = expected.compromised.join('+');
    describe(`compromised: ${expected.compromised.join(' + ')}`, () => {
      for (const attack of ATTACKS) {
        const todo = KNOWN_DEVIATIONS[key]?.[attack];
        const want = goal(expected, attack);
        it(`classic clients, ${cellName(expected, attack)}`, todo ? { todo } : {}, () => {
          const o = observed.get(key);
          assert.ok(o, `no observation for ${key}`);
          const outcome = o.outcomes.classic[attack];
          assert.equal(
            outcome.success,
            want,
            outcome.success ? `the attack succeeded against a ${outcome.victim ?? '?'} client: ${outcome.strategy ?? ''}` : `every forgery was refused (${outcome.attempts} served)`
          );
        });
      }
      for (const [client, column] of Object.entries(MERKLE_COLUMNS) as [Exclude<ClientKind, 'classic'>, Column][]) {
        for (const [i, attack] of ATTACKS.entries()) {
          const want = (column[key] as Column[string])[i] as Cell;
          const who = client === 'merkle' ? 'Merkle clients without an auditor' : 'Merkle clients with --require-auditor';
          it(`${who}, ${attack}: ${want}`, () => {
            const outcome = (observed.get(key) as Observation).outcomes[client][attack];
            const got = cell(outcome);
            assert.equal(
              got === 'no' ? 'NO' : got,
              want,
              outcome.success ? `the attack succeeded against a ${outcome.victim ?? '?'} client: ${outcome.strategy ?? ''}` : `every forgery was refused (${outcome.attempts} served): ${JSON.stringify(outcome.refusals)}`
            );
          });
        }
      }
    });
  }

  // Where a NO fails only for new clients, a client that has seen the newest metadata must
  // still refuse: rollback protection is what separates the two.
  it('a client that saw the newest metadata refuses the rollbacks that fool new clients', () => {
    for (const [key, cells] of Object.entries(KNOWN_DEVIATIONS)) {
      for (const attack of Object.keys(cells) as AttackName[]) {
        const outcome = observed.get(key)?.outcomes.classic[attack];
        assert.ok(outcome);
        assert.notEqual(outcome.victim, 'synced', `${key} ${attack}: ${outcome.strategy ?? ''}`);
      }
    }
  });

  // Issue 12 item 6: the window stays open for classic clients (and for Merkle clients without
  // an auditor: their YES (new) cells above); only --require-auditor closes it.
  it('classic clients still have the new-client window: each known deviation fools a new classic client', () => {
    for (const [key, cells] of Object.entries(KNOWN_DEVIATIONS)) {
      for (const attack of Object.keys(cells) as AttackName[]) {
        const outcome = observed.get(key)?.outcomes.classic[attack];
        assert.equal(outcome?.success, true, `${key} ${attack}`);
        assert.equal(outcome?.victim, 'new', `${key} ${attack}: ${outcome?.strategy ?? ''}`);
      }
    }
  });

  it('--require-auditor closes the window with the audited tree itself: the auditor refuses the rollback, the honest statements verify', () => {
    for (const [key, cells] of Object.entries(KNOWN_DEVIATIONS)) {
      for (const attack of Object.keys(cells) as AttackName[]) {
        const outcome = observed.get(key)?.outcomes.audited[attack];
        assert.equal(outcome?.success, false, `${key} ${attack}: ${outcome?.strategy ?? ''}`);
        assert.ok((outcome?.attempts ?? 0) > 0);
        assert.deepEqual(Object.keys(outcome?.refusals ?? {}).filter((c) => /AUDIT/.test(c)), [], `${key} ${attack}: ${JSON.stringify(outcome?.refusals)}`);
      }
    }
  });

  // A row the PEP does not have, to check the claim above: against a Merkle client without an
  // auditor the timestamp key does the snapshot key's job, so "timestamp + unclaimed" is
  // "timestamp + snapshot + unclaimed" (MERKLE above), where a classic client, lacking a signed
  // snapshot, refuses every malicious update and every inconsistency.
  it('timestamp + unclaimed, without the snapshot key: as timestamp + snapshot + unclaimed for Merkle clients; classic clients keep only the freeze', async () => {
    const mirror = await AttackerMirror.start(new HonestTree(scenario.publicDir));
    try {
      const ctx: AttackContext = { scenario, tree: new HonestTree(scenario.publicDir), mirror, compromised: ['timestamp', 'unclaimed'], outcomes: new Map(), clients: ['classic', 'merkle'] };
      for (const kind of ['claimed', 'recently-claimed', 'unclaimed'] as const) await maliciousUpdate(ctx, kind);
      await freeze(ctx);
      await inconsistency(ctx);
      const column = (c: ClientKind) => ATTACKS.map((a) => cell(ctx.outcomes.get(`${c}:${a}`) as Outcome));
      assert.deepEqual(column('classic'), ['no', 'no', 'no', 'YES', 'no']);
      assert.deepEqual(column('merkle'), ['YES (new)', 'YES (new)', 'YES', 'YES', 'YES']);
    } finally {
      await mirror.close();
    }
  });

  // The freeze an auditor leaves: the life of its last statement. Two days on, every honest
  // statement has expired, and the auditor refuses the earlier tree after the latest.
  it('--require-auditor: a freeze is refused with STALE_AUDIT (the honest statements expired) in every row but root', () => {
    for (const o of run.observations) {
      if (o.row.compromised.includes('root')) continue;
      const outcome = o.outcomes.audited.freeze;
      assert.equal(outcome.success, false, o.row.compromised.join('+'));
      assert.ok((outcome.refusals.STALE_AUDIT ?? 0) > 0, `${o.row.compromised.join('+')}: ${JSON.stringify(outcome.refusals)}`);
    }
  });

  it('counts a NO only when every forgery was refused the way it had to be', () => {
    // attacks.ts throws on any other refusal; here, what the NO cells rest on.
    for (const o of run.observations) {
      for (const c of CLIENT_KINDS) {
        for (const a of ATTACKS) {
          const { success, refusals, attempts } = o.outcomes[c][a];
          if (success) continue;
          assert.ok(attempts > 0, `${o.row.compromised.join('+')} ${c} ${a}: nothing served`);
          assert.equal(Object.values(refusals).reduce((n: number, k) => n + (k ?? 0), 0), attempts, `${o.row.compromised.join('+')} ${c} ${a}`);
          assert.deepEqual(Object.keys(refusals).filter((r) => !REFUSALS[c].includes(r as Refusal)), [], `${o.row.compromised.join('+')} ${c} ${a}`);
        }
      }
    }
  });

  it('docs/table1.md says how many cells are checked, column by column', async () => {
    const cells = EXPECTED.flatMap((r) => ATTACKS.map((a) => ({ stricter: r.stricter[a] !== undefined, todo: KNOWN_DEVIATIONS[r.compromised.join('+')]?.[a] !== undefined })));
    const asPep = cells.filter((c) => !c.stricter && !c.todo).length;
    const stricterChecked = cells.filter((c) => c.stricter && !c.todo).length;
    const todo = cells.filter((c) => c.todo);
    const count = (column: Column, v: Cell) => Object.values(column).flat().filter((c) => c === v).length;
    const sentences = [
      `The test checks ${asPep} of the ${cells.length} cells as the PEP states them and ${stricterChecked} against Bulwark's stricter goal; ` +
        `it marks ${todo.length} \`todo\`: ${todo.filter((c) => !c.stricter).length} where the PEP says NO and ` +
        `${todo.filter((c) => c.stricter).length} where only Bulwark's stricter goal does.`,
      `For Merkle clients it checks all ${cells.length} cells of both columns, none \`todo\`: without an auditor ` +
        `${count(MERKLE, 'YES')} YES, ${count(MERKLE, 'YES (new)')} YES (new) and ${count(MERKLE, 'NO')} NO; ` +
        `with \`--require-auditor\` ${count(AUDITED, 'YES')} YES and ${count(AUDITED, 'NO')} NO.`,
    ];
    const doc = (await readFile(join(repoRoot, 'docs', 'table1.md'), 'utf8')).replace(/\s+/g, ' ');
    for (const sentence of sentences) assert.ok(doc.includes(sentence), `docs/table1.md should say: ${sentence}`);
  });
});

describe('the bug behind the single-key rows', () => {
  it('snapshot binds every targets role by length and sha256, not by version alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bulwark-table1-snapshot-'));
    try {
      await initDemoRepository(dir, { bins: 2 });
      const snapshot = JSON.parse(await readFile(join(dir, 'public', 'metadata', '1.snapshot.json'), 'utf8')) as { signed: { meta: Record<string, { length?: number; hashes?: Record<string, string> }> } };
      for (const [name, entry] of Object.entries(snapshot.signed.meta)) {
        assert.equal(typeof entry.length, 'number', `${name} has no length`);
        assert.match(entry.hashes?.['sha256'] ?? '', /^[0-9a-f]{64}$/, `${name} has no sha256`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
