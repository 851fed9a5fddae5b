// SPDX-License-Identifier: Apache-2.0
// Runs every benchmark, one after the other (they would disturb each other on 2 cores).
//   node dist/bench/run-all.js [--quick] [--json]
// --quick: small sizes, for checking that the benchmarks work (a minute), not for figures.
// --json: one object { snapshot, upload, client, cluster, 'pypi-scale', 'pypi-claiming' } with each benchmark's JSON result.
// cluster, pypi-scale and pypi-claiming need PostgreSQL (apt-get install postgresql); pypi-scale at full
// size takes ~15 minutes and ~20 GB of disk in the temp dir, pypi-claiming far longer (bench/README.md).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { note, parseFlags } from './common.js';

const flags = parseFlags('node dist/bench/run-all.js [--quick] [--json]', {
  quick: { default: false, help: 'small sizes: checks the benchmarks run, figures mean little' },
  json: { default: false, help: 'print one JSON object with every result' },
});

const here = dirname(fileURLToPath(import.meta.url));
const QUICK: Record<string, string[]> = {
  snapshot: ['--bins', '1024', '--iterations', '50', '--publish-iterations', '10', '--tufjs-sizes', '256,512'],
  upload: ['--bins', '1024', '--uploads', '200', '--paced-uploads', '100', '--rate', '50', '--max-size', '1000000', '--cost-iterations', '20'],
  client: ['--bins', '1024', '--packages', '2', '--rounds', '1', '--iterations', '5'],
  cluster: ['--bins', '256', '--uploads', '200', '--uploaders', '20'],
  'pypi-scale': ['--projects', '20000', '--files', '100000', '--uploads', '10'],
  'pypi-claiming': ['--quick'],
};

function run(name: string): Promise<string> {
  const args = [join(here, `${name}-bench.js`), ...(flags.quick ? (QUICK[name] ?? []) : []), ...(flags.json ? ['--json'] : [])];
  note(`\n== ${name}-bench ${args.slice(1).join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', flags.json ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name}-bench exited with ${code}`))));
  });
}

const results: Record<string, unknown> = {};
for (const name of ['snapshot', 'upload', 'client', 'cluster', 'pypi-scale', 'pypi-claiming']) {
  const out = await run(name);
  if (flags.json) results[name] = JSON.parse(out) as unknown;
}
if (flags.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
