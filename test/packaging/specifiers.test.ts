// Requires-Python must be a PEP 440 specifier set (issue 13, finding 6), decided as the
// packaging library decides it; when Python's packaging is installed, the table is checked
// against it too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { isValidSpecifierSet } from '../../src/packaging/index.js';

const VALID = ['>=3.8', '>=3.8,<4', ' >= 3.8 , != 3.9.* ', '~=3.10', '==3.*', '==1.0+local', '!=2.7.*', '===weird-1', '>=3.8,', '<3.12.0rc1', '>=v3.8'];
const INVALID = ['python 3', '3.8', '>=', '>=3.8;', '~=3', '>=3.8+local', '>=3.*', '==3.0a*', '=>3.8', '>=3.8 <4', '', ' , ', '>=3.8)', '===a b'];

describe('isValidSpecifierSet', () => {
  for (const s of VALID) it(`accepts ${JSON.stringify(s)}`, () => assert.equal(isValidSpecifierSet(s), true));
  for (const s of INVALID) it(`refuses ${JSON.stringify(s)}`, () => assert.equal(isValidSpecifierSet(s), false));

  const probe = spawnSync('python3', ['-c', 'import packaging.specifiers']);
  it('agrees with Python packaging on every case', { skip: probe.status !== 0 && 'python3 packaging not installed' }, () => {
    const script = 'import json,sys\nfrom packaging.specifiers import SpecifierSet\nout={}\nfor s in json.load(sys.stdin):\n  try:\n    SpecifierSet(s); out[s]=bool(s.replace(",","").strip())\n  except Exception:\n    out[s]=False\nprint(json.dumps(out))';
    const r = spawnSync('python3', ['-c', script], { input: JSON.stringify([...VALID, ...INVALID]), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const python = JSON.parse(r.stdout) as Record<string, boolean>;
    for (const s of [...VALID, ...INVALID]) assert.equal(isValidSpecifierSet(s), python[s], `${JSON.stringify(s)}: packaging says ${String(python[s])}`);
  });
});
