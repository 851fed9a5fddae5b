// Delegations: path patterns (python-tuf semantics: fnmatch per `/`-separated segment, so `*`
// never crosses `/`), path_hash_prefixes, and TAP 15 succinct hashed bins. Expected values for
// patterns come from Python's fnmatch.fnmatchcase (what python-tuf, hence pip, uses); bins are
// computed here from the TAP 15 rule with BigInt, and cross-checked with @tufjs/models.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { DelegatedRole as TufDelegatedRole, SuccinctRoles as TufSuccinctRoles } from '@tufjs/models/dist/role.js';
import { BadMetadataError, DelegatedRole, Delegations, isTargetInPathPattern, SuccinctRoles, targetPathHash } from '../../src/tuf/index.js';

function sha256Hex(s: string): string {
  return createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex');
}

/** TAP 15: the bin is the leftmost bitLength bits of SHA-256(path), as an integer. */
function expectedBin(path: string, bitLength: number): number {
  const digest = BigInt(`0x${sha256Hex(path)}`);
  return Number(digest >> BigInt(256 - bitLength));
}

describe('path patterns', () => {
  // [target, pattern, expected]: single-segment expectations printed by Python 3.11
  // fnmatch.fnmatchcase; multi-segment ones follow python-tuf's segment-by-segment rule.
  const cases: [string, string, boolean][] = [
    ['foo.tgz', '*.tgz', true],
    ['foo/bar.tgz', '*.tgz', false], // `*` does not cross `/`
    ['foo/bar.tgz', 'foo/*.tgz', true],
    ['foo/bar/baz.tgz', 'foo/*', false],
    ['foo/bar/baz.tgz', 'foo/*/*', true],
    ['foo/bar/baz.tgz', '*/*/*.tgz', true],
    ['a/b', '*', false],
    ['a/b', 'a?b', false], // nor does `?`
    ['a/b', 'a[/]b', false], // nor does a bracket
    ['.hidden', '*', true], // unlike shell globs, fnmatch lets `*` match a leading dot
    ['file1.txt', 'file?.txt', true],
    ['file10.txt', 'file?.txt', false],
    ['b', '[abc]', true],
    ['d', '[abc]', false],
    ['d', '[!abc]', true],
    ['a', '[!abc]', false],
    ['m', '[a-z]', true],
    ['M', '[a-z]', false], // case-sensitive
    ['^', '[^a]', true], // `^` is a literal in fnmatch brackets, not a negation
    ['b', '[^a]', false],
    [']', '[]a]', true], // `]` first in the brackets is a literal
    ['a', '[]a]', true],
    ['[', '[', true], // an unclosed `[` is a literal
    ['[a', '[a', true],
    ['a', '[z-a]', false], // an empty range matches nothing (and must not throw)
    ['-', '[a-]', true],
    ['b', '[!]b]', false],
    ['x', '[!z-a]', true],
    ['\u{1F600}', '?', true], // `?` is one code point
    ['\u{1F600}', '[\u{1F600}]', true],
    ['\u{1F600}', '[\uffff-\u{1F600}]', true],
    ['\uffff', '[\u{1F600}-\u{1F601}]', false],
    ['a.b', 'a.b', true],
    ['axb', 'a.b', false], // regular-expression characters are literals
    ['(a)', '(a)', true],
    ['a+', 'a+', true],
    ['aa', 'a+', false],
    ['\\', '\\', true],
    ['', '', true],
    ['a', '*a*', true],
    ['x/', 'x/', true],
    ['x', 'x/', false],
    ['packages/ab/cd/x.whl', 'packages/*/*/*', true],
    ['packages/ab/cd/x.whl', 'packages/*', false],
    // the literal prefix before the first wildcard settles most patterns: it must be exact
    ['abc', 'ab', false],
    ['ab/cd', 'ab/c*', true],
    ['ab/xd', 'ab/c*', false],
    ['ab/c', 'ab/c', true],
    ['ab/c/d', 'ab/c', false],
    ['ab', 'ab/c*', false],
    ['abq/x', 'ab?/*', true],
  ];
  for (const [target, pattern, expected] of cases) {
    it(`${JSON.stringify(target)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(pattern)}`, () => {
      assert.equal(isTargetInPathPattern(target, pattern), expected);
    });
  }

  it('agrees with @tufjs/models on ordinary patterns (it uses minimatch, which differs on dotfiles and `[^…]`)', () => {
    const ordinary = cases.filter(([t, p]) => !/[\]^\\[]/.test(p) && !t.startsWith('.') && !/[\u{10000}-\u{10FFFF}]/u.test(t + p) && p !== '' && !p.includes('('));
    assert.ok(ordinary.length >= 15);
    for (const [target, pattern, expected] of ordinary) {
      const theirs = new TufDelegatedRole({ name: 'r', keyIDs: [], threshold: 1, terminating: false, paths: [pattern] }).isDelegatedPath(target);
      assert.equal(theirs, expected, `tuf-js on ${target} / ${pattern}`);
    }
  });

  it('a delegated role matches if any of its patterns does', () => {
    const role = new DelegatedRole('r', [], 1, false, ['a/*.whl', 'b/*']);
    assert.equal(role.isDelegatedPath('a/x.whl'), true);
    assert.equal(role.isDelegatedPath('b/anything'), true);
    assert.equal(role.isDelegatedPath('a/x.tgz'), false);
    assert.equal(role.isDelegatedPath('c/x.whl'), false);
  });
});

describe('path_hash_prefixes', () => {
  const paths = ['packages/aa/bb/x-1.0.tar.gz', 'simple/x/index.html', 'é/\u{1F600}', ''];
  for (const path of paths) {
    it(`delegates ${JSON.stringify(path)} by the prefix of its SHA-256 (UTF-8)`, () => {
      const hash = sha256Hex(path);
      assert.equal(targetPathHash(path), hash);
      const other = (Number.parseInt(hash[0] as string, 16) ^ 8).toString(16);
      const cases: [string[], boolean][] = [
        [[hash.slice(0, 1)], true],
        [[hash.slice(0, 2)], true],
        [[hash.slice(0, 8)], true],
        [[`${other}${hash.slice(1, 2)}`], false],
        [[`${other}`, hash.slice(0, 3)], true],
        [[hash.slice(1, 5)], false], // inside the hash, but not at its start
        [[], false],
      ];
      for (const [prefixes, expected] of cases) {
        const ours = new DelegatedRole('r', [], 1, false, undefined, prefixes);
        assert.equal(ours.isDelegatedPath(path), expected, prefixes.join(','));
        const theirs = new TufDelegatedRole({ name: 'r', keyIDs: [], threshold: 1, terminating: false, pathHashPrefixes: prefixes });
        assert.equal(theirs.isDelegatedPath(path), expected, `tuf-js ${prefixes.join(',')}`);
      }
    });
  }

  it('a role needs exactly one of paths and path_hash_prefixes', () => {
    assert.throws(() => new DelegatedRole('r', [], 1, false), BadMetadataError);
    assert.throws(() => new DelegatedRole('r', [], 1, false, ['*'], ['ab']), BadMetadataError);
  });
});

describe('succinct roles (TAP 15)', () => {
  const paths = ['packages/aa/bb/x-1.0.tar.gz', 'simple/x/index.html', 'a', '', 'é/\u{1F600}', 'pkg/pkg-0.1-py3-none-any.whl'];

  for (const bitLength of [1, 2, 4, 8, 10, 14, 16, 31, 32]) {
    it(`bit_length ${bitLength}: bins and names as TAP 15 defines them and tuf-js computes them`, () => {
      const ours = new SuccinctRoles(['k'], 1, bitLength, 'bins');
      const theirs = new TufSuccinctRoles({ keyIDs: ['k'], threshold: 1, bitLength, namePrefix: 'bins' });
      assert.equal(ours.numberOfBins, 2 ** bitLength);
      assert.equal(ours.suffixLength, (2 ** bitLength - 1).toString(16).length);
      assert.equal(ours.suffixLength, theirs.suffixLen);
      for (const path of paths) {
        const bin = expectedBin(path, bitLength);
        const name = `bins-${bin.toString(16).padStart(ours.suffixLength, '0')}`;
        assert.equal(ours.binForTarget(path), bin, path);
        assert.equal(ours.roleForTarget(path), name, path);
        assert.equal(theirs.getRoleForTarget(path), name, `tuf-js ${path}`);
        assert.equal(ours.isDelegatedRole(name), true);
      }
      assert.equal(ours.binName(0), `bins-${'0'.repeat(ours.suffixLength)}`);
      assert.equal(ours.binName(ours.numberOfBins - 1), `bins-${(2 ** bitLength - 1).toString(16)}`);
    });
  }

  it('names bins with a fixed-width hex suffix', () => {
    const s = new SuccinctRoles([], 1, 9, 'bins');
    assert.equal(s.suffixLength, 3); // 511 = 0x1ff
    assert.deepEqual([...new SuccinctRoles([], 1, 3, 'b').roleNames()], ['b-0', 'b-1', 'b-2', 'b-3', 'b-4', 'b-5', 'b-6', 'b-7']);
    assert.equal(s.binName(10), 'bins-00a');
  });

  const bits8 = new SuccinctRoles([], 1, 8, 'bins');
  const nameCases: [string, boolean][] = [
    ['bins-00', true],
    ['bins-ff', true],
    ['bins-0', false], // wrong width
    ['bins-100', false],
    ['bins-g0', false],
    ['bins-', false],
    ['bin-00', false],
    ['bins00', false],
    ['xbins-00', false],
    ['bins--1', false],
    ['bins- 1', false],
    // Deliberately stricter than python-tuf and tuf-js, which accept upper case: a bin has one
    // name, the one roleForTarget gives, so 'bins-FF' cannot be a second role for bin 255.
    ['bins-FF', false],
  ];
  for (const [name, expected] of nameCases) {
    it(`isDelegatedRole(${JSON.stringify(name)}) is ${expected}`, () => assert.equal(bits8.isDelegatedRole(name), expected));
  }

  it('does not accept a bin past the last for a bit length whose width has room (3 bits: 0–7)', () => {
    const s = new SuccinctRoles([], 1, 3, 'b');
    assert.equal(s.isDelegatedRole('b-7'), true);
    assert.equal(s.isDelegatedRole('b-8'), false);
    assert.equal(s.isDelegatedRole('b-f'), false);
  });

  it('refuses bit lengths outside 1–32', () => {
    for (const bits of [0, 33, -1]) assert.throws(() => new SuccinctRoles([], 1, bits, 'bins'), BadMetadataError);
  });
});

describe('Delegations', () => {
  const role = (name: string, paths: string[], terminating = false) => ({ name, keyids: [], threshold: 1, terminating, paths });

  it('lists the roles for a target in order, with their terminating flag', () => {
    const d = Delegations.fromJSON(
      { keys: {}, roles: [role('a', ['x/*']), role('b', ['y/*']), role('c', ['x/*.whl'], true), role('d', ['*/*'])] },
      'delegations'
    );
    assert.deepEqual(d.rolesForTarget('x/p.whl'), [
      { name: 'a', terminating: false },
      { name: 'c', terminating: true },
      { name: 'd', terminating: false },
    ]);
    assert.deepEqual(d.rolesForTarget('z'), []);
    assert.equal(d.roleKeys('b')?.threshold, 1);
    assert.equal(d.roleKeys('nope'), undefined);
  });

  it('finds by its index the roles a test of every pattern finds, in delegation order', () => {
    // Roles filed under their patterns' first characters, with patterns that start with a
    // wildcard or a class, roles with patterns under several characters, and hash prefixes.
    const hashRole = (name: string, prefixes: string[]) => ({ name, keyids: [], threshold: 1, terminating: false, path_hash_prefixes: prefixes });
    const roles = [
      role('r0', ['a*/*']),
      role('r1', ['[ab]*/*']),
      role('r2', ['b*/*', 'é*/*']),
      hashRole('r3', ['0', '8']),
      role('r4', ['*/*.whl']),
      role('r5', ['ab/*'], true),
      role('r6', ['?b/*', 'c*/*']),
      role('r7', ['éa/x']),
      hashRole('r8', ['']),
      role('r9', ['']),
    ];
    const d = Delegations.fromJSON({ keys: {}, roles }, 'delegations');
    const naive = (path: string) => [...(d.roles?.values() ?? [])].filter((r) => r.isDelegatedPath(path)).map((r) => ({ name: r.name, terminating: r.terminating }));
    const paths = ['ab/p.whl', 'ab/index.html', 'bb/x', 'cb/y.whl', 'éa/x', 'éz/x', 'zz/z.whl', 'a', '', '/x.whl', 'Ab/p.whl'];
    for (const path of paths) assert.deepEqual(d.rolesForTarget(path), naive(path), path);
    assert.deepEqual(
      d.rolesForTarget('ab/p.whl').map((r) => r.name),
      ['r0', 'r1', ...(targetPathHash('ab/p.whl').match(/^[08]/) ? ['r3'] : []), 'r4', 'r5', 'r6', 'r8'],
      'the order is the delegations\' order'
    );
  });

  it('succinct roles: one terminating bin per target, and roleKeys only for real bins', () => {
    const d = Delegations.fromJSON({ keys: {}, succinct_roles: { keyids: ['k'], threshold: 1, bit_length: 4, name_prefix: 'bins' } }, 'delegations');
    const path = 'packages/x.whl';
    assert.deepEqual(d.rolesForTarget(path), [{ name: `bins-${expectedBin(path, 4).toString(16)}`, terminating: true }]);
    assert.deepEqual(d.roleKeys('bins-3')?.keyids, ['k']);
    assert.equal(d.roleKeys('bins-10'), undefined);
  });

  const bad: [string, unknown][] = [
    ['both roles and succinct_roles', { keys: {}, roles: [], succinct_roles: { keyids: [], threshold: 1, bit_length: 1, name_prefix: 'b' } }],
    ['neither', { keys: {} }],
    ['roles not a list', { keys: {}, roles: {} }],
    ['a duplicate role name', { keys: {}, roles: [role('a', ['*']), role('a', ['x'])] }],
    ['a role named after a top-level role', { keys: {}, roles: [role('snapshot', ['*'])] }],
    ['no keys', { roles: [] }],
    ['a non-boolean terminating', { keys: {}, roles: [{ ...role('a', ['*']), terminating: 'yes' }] }],
  ];
  for (const [name, json] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => Delegations.fromJSON(json, 'delegations'), BadMetadataError));
  }
});
