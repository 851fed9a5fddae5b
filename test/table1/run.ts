// PEP 480 Table 1, executable: for every row of the key-compromise table (each alternative of
// an "or" row on its own), give an attacker exactly those keys and run every attack against
// the real client. `node dist/test/table1/run.js [--json]`:
//   --json   one JSON object per line per combination: compromised, then for each kind of client
//            (classic, merkle, audited) malicious_claimed, malicious_recently_claimed,
//            malicious_unclaimed, freeze, inconsistency
//   (none)   a readable table per kind of client (--how: how each success was obtained)
import { pathToFileURL } from 'node:url';
import { CLIENT_KINDS, freeze, inconsistency, maliciousUpdate, type AttackContext, type AttackName, type ClientKind, type CompromisedRole, type Outcome } from './attacks.js';
import { HonestTree } from './forge.js';
import { AttackerMirror } from './mirror.js';
import { buildScenario, type Scenario } from './scenario.js';

/** The rows of PEP 480's Table 1, "or" alternatives split, in the table's order. */
export const COMBINATIONS: readonly (readonly CompromisedRole[])[] = [
  ['timestamp'],
  ['snapshot'],
  ['timestamp', 'snapshot'],
  ['targets'],
  ['claimed'],
  ['recently-claimed'],
  ['unclaimed'],
  ['project'],
  ['timestamp', 'snapshot', 'project'],
  ['timestamp', 'snapshot', 'recently-claimed'],
  ['timestamp', 'snapshot', 'unclaimed'],
  ['timestamp', 'snapshot', 'targets'],
  ['timestamp', 'snapshot', 'claimed'],
  ['root'],
];

export const ATTACKS: readonly AttackName[] = ['malicious_claimed', 'malicious_recently_claimed', 'malicious_unclaimed', 'freeze', 'inconsistency'];

/** One row of the table for one kind of client: did each attack succeed? */
export type Cells = Record<AttackName, boolean>;

export interface Row {
  compromised: CompromisedRole[];
  classic: Cells;
  merkle: Cells;
  audited: Cells;
}

export interface Observation {
  row: Row;
  outcomes: Record<ClientKind, Record<AttackName, Outcome>>;
  ms: number;
}

/** Runs one row: an attacker with these keys, its own mirror, every attack. */
export async function runCombination(
  scenario: Scenario,
  tree: HonestTree,
  compromised: readonly CompromisedRole[],
  opts: { onMirror?: (m: AttackerMirror) => void } = {}
): Promise<Observation> {
  const started = performance.now();
  const mirror = await AttackerMirror.start(tree);
  opts.onMirror?.(mirror);
  const ctx: AttackContext = { scenario, tree, mirror, compromised, outcomes: new Map() };
  try {
    await maliciousUpdate(ctx, 'claimed');
    await maliciousUpdate(ctx, 'recently-claimed');
    await maliciousUpdate(ctx, 'unclaimed');
    await freeze(ctx);
    await inconsistency(ctx);
    const column = (client: ClientKind) => Object.fromEntries(ATTACKS.map((a) => [a, ctx.outcomes.get(`${client}:${a}`) as Outcome])) as Record<AttackName, Outcome>;
    const outcomes = Object.fromEntries(CLIENT_KINDS.map((c) => [c, column(c)])) as Record<ClientKind, Record<AttackName, Outcome>>;
    const cells = (c: ClientKind) => Object.fromEntries(ATTACKS.map((a) => [a, outcomes[c][a].success])) as Cells;
    const row: Row = { compromised: [...compromised], classic: cells('classic'), merkle: cells('merkle'), audited: cells('audited') };
    return { row, outcomes, ms: performance.now() - started };
  } finally {
    await mirror.close();
  }
}

export interface Table1Run {
  observations: Observation[];
  scenario: { buildMs: number; bins: number };
  ms: number;
}

/** Builds the honest repository once (unless given one, which the caller closes), then runs every combination against it. */
export async function runTable1(opts: { onObservation?: (o: Observation) => void; combinations?: readonly (readonly CompromisedRole[])[]; scenario?: Scenario } = {}): Promise<Table1Run> {
  const started = performance.now();
  const scenario = opts.scenario ?? (await buildScenario());
  try {
    const tree = new HonestTree(scenario.publicDir);
    const observations: Observation[] = [];
    for (const compromised of opts.combinations ?? COMBINATIONS) {
      const o = await runCombination(scenario, tree, compromised);
      observations.push(o);
      opts.onObservation?.(o);
    }
    return { observations, scenario: { buildMs: scenario.buildMs, bins: scenario.bins }, ms: performance.now() - started };
  } finally {
    if (!opts.scenario) await scenario.close();
  }
}

// ---- output --------------------------------------------------------------------------------

/** The JSON line of a row: exactly the fields of the table. */
export function jsonLine(row: Row): string {
  const cells = (c: Cells) => Object.fromEntries(ATTACKS.map((a) => [a, c[a]]));
  return JSON.stringify({ compromised: row.compromised, classic: cells(row.classic), merkle: cells(row.merkle), audited: cells(row.audited) });
}

/** A cell as the table prints it: YES (a synced client too), YES (new) (only a new client), or no. */
export function cell(o: Outcome): 'YES' | 'YES (new)' | 'no' {
  if (!o.success) return 'no';
  return o.victim === 'new' || o.victim === 'merkle-new' ? 'YES (new)' : 'YES';
}

export const CLIENT_TITLES: Readonly<Record<ClientKind, string>> = {
  classic: 'classic clients (snapshot.json)',
  merkle: 'Merkle clients without an auditor',
  audited: 'Merkle clients with --require-auditor',
};

export function tableHeader(client: ClientKind): string {
  return [
    `${CLIENT_TITLES[client].padEnd(40)}${'malicious update of a project:'.padEnd(45)}${'freeze'.padEnd(12)}inconsistency`,
    `${'compromised'.padEnd(40)}${'claimed'.padEnd(15)}${'rec.-claimed'.padEnd(15)}${'unclaimed'.padEnd(15)}`,
  ].join('\n');
}

export function tableLine(o: Observation, client: ClientKind): string {
  const r = o.outcomes[client];
  return `${o.row.compromised.join(' + ').padEnd(40)}${cell(r.malicious_claimed).padEnd(15)}${cell(r.malicious_recently_claimed).padEnd(15)}${cell(r.malicious_unclaimed).padEnd(15)}${cell(r.freeze).padEnd(12)}${cell(r.inconsistency)}`;
}

export function howLines(o: Observation, client: ClientKind): string[] {
  const r = o.outcomes[client];
  return ATTACKS.filter((a) => r[a].success).map((a) => `    ${a}: ${r[a].strategy ?? ''} [${r[a].victim ?? ''} client, attempt ${r[a].attempts}]`);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const verbose = process.argv.includes('--how');
  const run = await runTable1({
    onObservation(o) {
      if (json) process.stdout.write(`${jsonLine(o.row)}\n`);
      else process.stderr.write(`table1: ${o.row.compromised.join(' + ')} done (${(o.ms / 1000).toFixed(1)} s)\n`);
    },
  });
  if (!json) {
    process.stdout.write("PEP 480 Table 1, observed against Bulwark's client (src/client Updater)\n");
    for (const client of CLIENT_KINDS) {
      process.stdout.write(`\n${tableHeader(client)}\n`);
      for (const o of run.observations) process.stdout.write(`${tableLine(o, client)}\n${verbose ? howLines(o, client).map((l) => `${l}\n`).join('') : ''}`);
    }
    process.stdout.write(
      '\nYES        accepted even by a client that had refreshed from the honest index before (a freeze or an inconsistency:\n' +
        '           before the last uploads, which the attacker withholds or mixes with older metadata)\n' +
        'YES (new)  accepted only by a new client (nothing but the pinned root), refused by the one that had refreshed\n' +
        'no         every forgery refused. "N/A" cells of the PEP (freeze, inconsistency with one targets-type key) are "no".\n' +
        'The --require-auditor table is run against a new client: its rollback baseline is the auditor\'s.\n'
    );
  }
  const attempts = run.observations.reduce((n, o) => n + CLIENT_KINDS.reduce((k, c) => k + ATTACKS.reduce((m, a) => m + o.outcomes[c][a].attempts, 0), 0), 0);
  process.stderr.write(`table1: ${run.observations.length} combinations, ${attempts} attempts, ${(run.ms / 1000).toFixed(1)} s (honest repository built in ${(run.scenario.buildMs / 1000).toFixed(1)} s)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`table1: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
