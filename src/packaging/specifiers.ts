// PEP 440 version specifier sets (`>=3.8, !=3.9.*`), as Requires-Python holds them. Only
// validity is needed here (PyPI refuses an upload whose requires_python does not parse): the
// grammar is that of the packaging library's Specifier, operator by operator.

import { isValidVersion } from './versions.js';

const CLAUSE_RE = /^(===|~=|==|!=|<=|>=|<|>)\s*(.*)$/s;
// `==` and `!=` may end in `.*` after the release segments (prefix matching).
const WILDCARD_RE = /^v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*\.\*$/i;
const RELEASE_RE = /^v?(?:[0-9]+!)?([0-9]+(?:\.[0-9]+)*)/i;

function isValidClause(clause: string): boolean {
  const m = CLAUSE_RE.exec(clause);
  if (!m) return false;
  const [, op, version = ''] = m;
  switch (op) {
    case '===':
      // The escape hatch: any string without whitespace, ';' or ')' is compared verbatim.
      return /^[^\s;)]+$/.test(version);
    case '==':
    case '!=':
      return WILDCARD_RE.test(version) || isValidVersion(version);
    case '~=':
      // Compatible release: no local version, and at least two release segments (~=1 means nothing).
      return isValidVersion(version) && !version.includes('+') && (RELEASE_RE.exec(version)?.[1] ?? '').includes('.');
    default:
      return isValidVersion(version) && !version.includes('+');
  }
}

/**
 * A comma-separated PEP 440 specifier set, with whitespace allowed around each clause; empty
 * clauses are skipped, as packaging's SpecifierSet does, but one clause at least is needed.
 */
export function isValidSpecifierSet(value: string): boolean {
  const clauses = value.split(',').map((c) => c.trim()).filter((c) => c !== '');
  return clauses.length > 0 && clauses.every(isValidClause);
}
