// Name-pattern bins (ADR 0005): the fixed table must be a partition of every normalized project
// name (each name in exactly one bin), balanced over PyPI's real names, and its globs must mean
// the same to our matcher, to Python's fnmatch (python-tuf) and to tuf-js.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { DelegatedRole as TufDelegatedRole } from '@tufjs/models/dist/role.js';
import { checkNameBinCount, checkNameBinPartition, defaultNameBinCount, NAME_ALPHABET, NAME_BIN_COUNT, NameBinTableError, nameBinOf, nameBinPaths, nameBinRole, nameBinRoles } from '../../src/repository/name-bins.js';
import { NAME_BIN_PATTERNS } from '../../src/repository/name-bins-table.js';
import { isTargetInPathPattern } from '../../src/tuf/path-match.js';
import { PYPI_PROJECTS_FILE } from '../helpers/shared-data.js';

// Only tests read the shared list; the product uses the checked-in table.
const LIST = PYPI_PROJECTS_FILE;
const normalize = (n: string) => n.replace(/[-_.]+/g, '-').toLowerCase();
const VALID = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

let names: string[] | undefined;
function pypiNames(): string[] {
  if (names) return names;
  assert.ok(LIST, 'shared/data/pypi-projects.tsv.gz lies beside the repository (../shared)');
  const text = gunzipSync(readFileSync(LIST)).toString('utf8');
  names = [...new Set(text.split('\n').slice(1).map((l) => normalize(l.split('\t')[0] ?? '')).filter((n) => VALID.test(n)))];
  return names;
}

/** A deterministic pseudo-random generator (the test must be repeatable). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

function randomNames(count: number): string[] {
  const rnd = random(458);
  const letters = NAME_ALPHABET.filter((c) => c !== '-');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(rnd() * 24);
    let n = letters[Math.floor(rnd() * letters.length)] as string;
    while (n.length < len) n += NAME_ALPHABET[Math.floor(rnd() * NAME_ALPHABET.length)] as string;
    out.push(n);
  }
  return out;
}

const ALL_PATHS = Array.from({ length: NAME_BIN_COUNT }, (_, i) => nameBinPaths(i));

/** Every bin whose delegated paths match `<name>/x`, by our matcher. */
function binsMatching(name: string): number[] {
  const out: number[] = [];
  ALL_PATHS.forEach((paths, i) => {
    if (paths.some((p) => isTargetInPathPattern(`${name}/x.whl`, p))) out.push(i);
  });
  return out;
}

describe('name bins', () => {
  it('the table is a partition of every string a normalized name can be (structural proof)', () => {
    checkNameBinPartition();
    // The proof can fail: a table with a gap, and one with an overlap.
    const gap = [...NAME_BIN_PATTERNS];
    gap[5] = (gap[5] as string).split(' ').slice(1).join(' ') || 'zzzz-unused';
    assert.throws(() => checkNameBinPartition(gap), NameBinTableError);
    const overlap = [...NAME_BIN_PATTERNS];
    overlap[7] = `${overlap[7] as string} ${(overlap[8] as string).split(' ')[0] as string}`;
    assert.throws(() => checkNameBinPartition(overlap), NameBinTableError);
  });

  it('fewer bins merge consecutive bins of the table: still one bin per name, the one nameBinOf gives', () => {
    assert.equal(defaultNameBinCount(16384), NAME_BIN_COUNT);
    assert.equal(defaultNameBinCount(16), 16);
    for (const bad of [0, 3, 2048, 1.5]) assert.throws(() => checkNameBinCount(bad), RangeError);
    const rnd = random(16);
    const real = pypiNames();
    const sample = [...randomNames(60), ...Array.from({ length: 60 }, () => real[Math.floor(rnd() * real.length)] as string), 'a', 'z', '0'];
    for (const count of [1, 16, 64]) {
      const paths = Array.from({ length: count }, (_, i) => nameBinPaths(i, count));
      assert.equal(paths.flat().length, ALL_PATHS.flat().length, 'every pattern of the table, once');
      assert.equal(nameBinRoles('claimed', count).length, count);
      for (const name of sample) {
        const matching = paths.flatMap((ps, i) => (ps.some((p) => isTargetInPathPattern(`${name}/x.whl`, p)) ? [i] : []));
        assert.deepEqual(matching, [nameBinOf(name, count)], `${name} in ${count} bins`);
        assert.equal(nameBinOf(name, count), Math.floor(nameBinOf(name) / (NAME_BIN_COUNT / count)));
      }
    }
    assert.equal(nameBinRole('claimed', 15, 16), 'claimed-bin-f');
  });

  it('random and real names each match exactly one bin by the globs, the one nameBinOf gives', () => {
    const real = pypiNames();
    const rnd = random(480);
    const sample = [...randomNames(120), ...Array.from({ length: 120 }, () => real[Math.floor(rnd() * real.length)] as string), 'a', '0', 'z', 'py', 'pyx', 'django', 'django-x', 'a-b-c', '9-9', 'zzzzzzzzzzzzzzzzzzzzzzz'];
    for (const name of sample) assert.deepEqual(binsMatching(name), [nameBinOf(name)], name);
  });

  it('balance over the 886,300 PyPI names: the largest bin holds at most twice the median', () => {
    const counts = new Array<number>(NAME_BIN_COUNT).fill(0);
    const all = pypiNames();
    assert.ok(all.length > 880_000, `${all.length} names`);
    for (const n of all) counts[nameBinOf(n)] = (counts[nameBinOf(n)] as number) + 1;
    const sorted = [...counts].sort((a, b) => a - b);
    const median = sorted[NAME_BIN_COUNT >> 1] as number;
    const max = sorted[NAME_BIN_COUNT - 1] as number;
    assert.ok(max <= 2 * median, `largest ${max}, median ${median}`);
    assert.ok((sorted[0] as number) > 0, 'no empty bin');
  });

  it('our matcher, python fnmatch (python-tuf) and tuf-js agree on the bins’ patterns', () => {
    const real = pypiNames();
    const rnd = random(503);
    // Edge names: separators that normalization removes, digits, and glob characters.
    const sample = [
      ...Array.from({ length: 150 }, () => real[Math.floor(rnd() * real.length)] as string),
      ...randomNames(50),
      'a', 'a-b', 'a_b', 'a.b', 'A', 'Django', '0', '09', '9z', 'py', 'py-', 'py_', 'py.', '-a', '_a', '.a', 'a-', 'x--y',
      'a[b]', 'a*', 'a?', 'é', 'django-', 'django_rest', 'zope.interface', 'n0', 'z9',
    ];
    const pairs: [string, string][] = [];
    for (const name of sample) {
      let home: number;
      try {
        home = nameBinOf(normalize(name));
      } catch {
        home = 0;
      }
      const bins = new Set([home, Math.max(0, home - 1), Math.min(NAME_BIN_COUNT - 1, home + 1), Math.floor(rnd() * NAME_BIN_COUNT)]);
      for (const b of bins) for (const p of nameBinPaths(b)) pairs.push([`${name}/f.whl`, p]);
    }
    const ours = pairs.map(([t, p]) => isTargetInPathPattern(t, p));
    const tufjs = pairs.map(([t, p]) => new TufDelegatedRole({ name: 'r', keyIDs: ['k'], threshold: 1, terminating: false, paths: [p] }).isDelegatedPath(t));
    // python-tuf's rule: same number of segments, each matched with fnmatch.fnmatch.
    const script = `
import fnmatch, json, sys
pairs = json.load(sys.stdin)
def m(t, p):
    ts, ps = t.split('/'), p.split('/')
    return len(ts) == len(ps) and all(fnmatch.fnmatch(a, b) for a, b in zip(ts, ps))
json.dump([m(t, p) for t, p in pairs], sys.stdout)
`;
    const python = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(pairs), maxBuffer: 1 << 26 }).toString('utf8')) as boolean[];
    assert.ok(ours.some(Boolean) && ours.some((x) => !x), 'the sample has both matches and misses');
    for (let i = 0; i < pairs.length; i++) {
      assert.equal(ours[i], python[i], `ours vs fnmatch: ${JSON.stringify(pairs[i])}`);
      assert.equal(ours[i], tufjs[i], `ours vs tuf-js: ${JSON.stringify(pairs[i])}`);
    }
  });
});
