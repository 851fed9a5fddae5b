// PEP 480 Table 1, executable: for every row of the key-compromise table (each alternative of
// an "or" row on its own), give an attacker exactly those keys and run every attack against
// the real client. `node dist/test/table1/run.js [--json]`:
//   --json   one JSON object per line per combination: compromised, malicious_claimed,
//            malicious_recently_claimed, malicious_unclaimed, freeze, inconsistency
//   (none)   a readable table, with how each success was obtained
import { pathToFileURL } from 'node:url';
import { freeze, inconsistency, maliciousUpdate, type AttackContext, type AttackName, type CompromisedRole, type Outcome } from './attacks.js';
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

export interface Row {
  compromised: CompromisedRole[];
  malicious_claimed: boolean;
  malicious_recently_claimed: boolean;
  malicious_unclaimed: boolean;
  freeze: boolean;
  inconsistency: boolean;
}

export interface Observation {
  row: Row;
  outcomes: Record<AttackName, Outcome>;
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
    const row: Row = {
      compromised: [...compromised],
      malicious_claimed: await maliciousUpdate(ctx, 'claimed'),
      malicious_recently_claimed: await maliciousUpdate(ctx, 'recently-claimed'),
      malicious_unclaimed: await maliciousUpdate(ctx, 'unclaimed'),
      freeze: await freeze(ctx),
      inconsistency: await inconsistency(ctx),
    };
    const outcomes = Object.fromEntries(ATTACKS.map((a) => [a, ctx.outcomes.get(a) as Outcome])) as Record<AttackName, Outcome>;
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

/** Builds the honest repository once, then runs every combination against a copy of it. */
export async function runTable1(opts: { onObservation?: (o: Observation) => void; combinations?: readonly (readonly CompromisedRole[])[] } = {}): Promise<Table1Run> {
  const started = performance.now();
  const scenario = await buildScenario();
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
    await scenario.close();
  }
}

// ---- output --------------------------------------------------------------------------------

/** The JSON line of a row: exactly the fields of the table. */
export function jsonLine(row: Row): string {
  const { compromised, malicious_claimed, malicious_recently_claimed, malicious_unclaimed, freeze, inconsistency } = row;
  return JSON.stringify({ compromised, malicious_claimed, malicious_recently_claimed, malicious_unclaimed, freeze, inconsistency });
}

function cell(o: Outcome): string {
  if (!o.success) return 'no';
  return o.victim === 'new' ? 'YES (new)' : 'YES';
}

export function tableHeader(): string {
  return [
    `${'compromised'.padEnd(40)}${'malicious update of a project:'.padEnd(45)}${'freeze'.padEnd(12)}inconsistency`,
    `${''.padEnd(40)}${'claimed'.padEnd(15)}${'rec.-claimed'.padEnd(15)}${'unclaimed'.padEnd(15)}`,
  ].join('\n');
}

export function tableLine(o: Observation): string {
  const r = o.outcomes;
  return `${o.row.compromised.join(' + ').padEnd(40)}${cell(r.malicious_claimed).padEnd(15)}${cell(r.malicious_recently_claimed).padEnd(15)}${cell(r.malicious_unclaimed).padEnd(15)}${cell(r.freeze).padEnd(12)}${cell(r.inconsistency)}`;
}

export function howLines(o: Observation): string[] {
  return ATTACKS.filter((a) => o.outcomes[a].success).map((a) => `    ${a}: ${o.outcomes[a].strategy ?? ''} [${o.outcomes[a].victim ?? ''} client, attempt ${o.outcomes[a].attempts}]`);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const verbose = process.argv.includes('--how');
  if (!json) {
    process.stdout.write(`PEP 480 Table 1, observed against Bulwark's client (src/client Updater)\n\n${tableHeader()}\n`);
  }
  const run = await runTable1({
    onObservation(o) {
      if (json) process.stdout.write(`${jsonLine(o.row)}\n`);
      else process.stdout.write(`${tableLine(o)}\n${verbose ? howLines(o).map((l) => `${l}\n`).join('') : ''}`);
    },
  });
  if (!json) {
    process.stdout.write(
      '\nYES        accepted even by a client that had refreshed from the honest index before (a freeze or an inconsistency:\n' +
        '           before the last uploads, which the attacker withholds or mixes with older metadata)\n' +
        'YES (new)  accepted only by a new client (nothing but the pinned root), refused by the one that had refreshed\n' +
        'no         every forgery refused. "N/A" cells of the PEP (freeze, inconsistency with one targets-type key) are "no".\n'
    );
  }
  const attempts = run.observations.reduce((n, o) => n + ATTACKS.reduce((m, a) => m + o.outcomes[a].attempts, 0), 0);
  process.stderr.write(`table1: ${run.observations.length} combinations, ${attempts} attempts, ${(run.ms / 1000).toFixed(1)} s (honest repository built in ${(run.scenario.buildMs / 1000).toFixed(1)} s)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`table1: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
