// SPDX-License-Identifier: Apache-2.0
// Child process of bench/pypi-claiming-layout.ts: the client's CPU for one refresh, alone in its
// process (the index serves from the layout process, so its CPU is not counted here). Each run
// does what `bulwark proxy` does for a request once its 2 s of reuse are over: a new Updater on
// the warm metadata cache, refresh() (timestamp, then the snapshot or the Merkle path) and the
// lookup of one target through the delegations. The first run also pays for loading and
// compiling the code; the others show the steady state. Prints { cpuMs: number[] }.
//   node dist/bench/pypi-claiming-refresh.js '{"metadataDir":…,"indexUrl":…,"path":…,"runs":5}'
import { Updater } from '../src/client/updater.js';
import { note } from './common.js';

interface RefreshArgs {
  metadataDir: string;
  indexUrl: string;
  /** a target path, e.g. `<project>/index.json` */
  path: string;
  runs: number;
}

async function main(a: RefreshArgs): Promise<{ cpuMs: number[] }> {
  const cpuMs: number[] = [];
  for (let i = 0; i < a.runs; i++) {
    const c0 = process.cpuUsage();
    const u = new Updater({ metadataDir: a.metadataDir, indexUrl: a.indexUrl });
    await u.refresh();
    if (!(await u.getTargetInfo(a.path))) throw new Error(`${a.path} is not a target`);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { cpuMs };
}

main(JSON.parse(process.argv[2] ?? '{}') as RefreshArgs).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    note(`pypi-claiming-refresh failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  }
);
