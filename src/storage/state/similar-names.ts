// SPDX-License-Identifier: Apache-2.0
// PyPI refuses a new project whose name is too similar to an existing one: `alice1ib` beside
// `alicelib`, `a-l-i-c-e-lib`, `aliceIib`. Warehouse compares "ultranormalized" names:
// lowercase, without '.', '_' and '-', with 'l' and 'i' read as '1' and 'o' as '0'
// (warehouse's ultranormalize_name). Both stores keep each project's form in the UNIQUE
// column projects.ultranormal, so two uploads creating look-alike names at once cannot both
// succeed, whichever processes they reach. Projects that already had look-alikes when the column
// was added keep a NULL form (a UNIQUE column takes any number of NULLs): only the oldest of
// each group holds the name, and new look-alikes of any of them are refused.
import { StateConflictError } from './types.js';

/**
 * The ultranormal form of a PEP 503-normalized name (lowercase, '-' its only separator) as SQL
 * over `expr`, the same in SQLite and PostgreSQL.
 */
export function ultranormalSql(expr: string): string {
  return `replace(replace(replace(replace(${expr}, '-', ''), 'l', '1'), 'i', '1'), 'o', '0')`;
}

/** Statement text: the project, if any, whose name is too similar to $1 / ? (not the same name). */
export function similarProjectSql(param: string): string {
  return `SELECT name FROM projects WHERE ultranormal = ${ultranormalSql(param)} AND name <> ${param}`;
}

export function tooSimilar(name: string, existing: string): StateConflictError {
  return new StateConflictError(
    'NAME_TOO_SIMILAR',
    `The name '${name}' is too similar to the existing project '${existing}' (PyPI's rule: names that differ only in '.', '_', '-', or l/I/1 and o/0 are one name). Choose another name, or upload to '${existing}' if it is yours.`
  );
}
