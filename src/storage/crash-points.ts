// SPDX-License-Identifier: Apache-2.0
// Crash injection for the crash-safety tests: with BULWARK_CRASH_AT=NAME:N in the environment,
// the process kills itself (SIGKILL, no clean-up) the N-th time it reaches the point NAME.
// Points sit between every write, fsync and rename of the upload, transaction and publication
// paths. Without the variable, crashPoint() is one comparison.
//
// With BULWARK_CRASH_LOG=FILE, the point first appends `fired NAME N` to FILE, synchronously:
// the kill takes everything in memory with it, and the test must be able to tell a kill at the
// point from a kill at any other moment.
import { appendFileSync } from 'node:fs';

const spec = process.env['BULWARK_CRASH_AT'];
const log = process.env['BULWARK_CRASH_LOG'];
// NAME itself contains colons (`write:metadata`): the count follows the last one.
const cut = spec?.lastIndexOf(':') ?? -1;
const target = spec === undefined ? undefined : cut > 0 && /^\d+$/.test(spec.slice(cut + 1)) ? spec.slice(0, cut) : spec;
const nth = spec !== undefined && target !== spec ? Number(spec.slice(cut + 1)) : 1;
let reached = 0;

export function crashPoint(name: string): void {
  if (target === undefined) return;
  if (name !== target && !(target.endsWith('*') && name.startsWith(target.slice(0, -1)))) return;
  if (++reached < nth) return;
  if (log !== undefined) appendFileSync(log, `fired ${name} ${reached}\n`);
  process.kill(process.pid, 'SIGKILL');
}
