// SPDX-License-Identifier: Apache-2.0
// Crash injection for the crash-safety tests: with BULWARK_CRASH_AT=NAME:N in the environment,
// the process kills itself (SIGKILL, no clean-up) the N-th time it reaches the point NAME.
// Points sit between every write, fsync and rename of the upload, transaction and publication
// paths. Without the variable, crashPoint() is one comparison.
const spec = process.env['BULWARK_CRASH_AT'];
// NAME itself contains colons (`write:metadata`): the count follows the last one.
const cut = spec?.lastIndexOf(':') ?? -1;
const target = spec === undefined ? undefined : cut > 0 && /^\d+$/.test(spec.slice(cut + 1)) ? spec.slice(0, cut) : spec;
let remaining = spec !== undefined && target !== spec ? Number(spec.slice(cut + 1)) : 1;
const seen = new Map<string, number>();

export function crashPoint(name: string): void {
  if (target === undefined) return;
  if (process.env['BULWARK_CRASH_TRACE']) seen.set(name, (seen.get(name) ?? 0) + 1);
  if (name !== target && !(target.endsWith('*') && name.startsWith(target.slice(0, -1)))) return;
  if (--remaining > 0) return;
  process.kill(process.pid, 'SIGKILL');
}

/** The points reached so far (with BULWARK_CRASH_TRACE set), for tests that list them. */
export function crashPointsSeen(): ReadonlyMap<string, number> {
  return seen;
}
