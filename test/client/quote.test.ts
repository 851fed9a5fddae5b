// Role names are quoted byte for byte as python's urllib.parse.quote(name, safe="") quotes them
// (what python-tuf's ngclient requests), checked against Python itself; file names made from
// them are one path segment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localFileName, quoteName } from '../../src/client/quote.js';
import { BadMetadataError } from '../../src/tuf/index.js';
import { runCommand } from '../helpers/processes.js';
import { DEBIAN_PYTHON } from '../helpers/sslib.js';

const ALL_ASCII = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
const NAMES = ['targets', '?', '#', '/delegatedrole', '../delegatedrole', '..', '.', '', "!'()*", '~-._', 'a b+c&d=e', '%2F', 'ü', '日本', '😀', ALL_ASCII];

describe('quoteName', () => {
  it('matches urllib.parse.quote(name, safe="") for every ASCII byte and multi-byte UTF-8', async () => {
    const r = await runCommand(DEBIAN_PYTHON, ['-c', 'import json, sys, urllib.parse; print(json.dumps([urllib.parse.quote(n, "") for n in json.load(sys.stdin)]))'], {
      input: JSON.stringify(NAMES),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(NAMES.map(quoteName), JSON.parse(r.stdout) as string[]);
  });

  it('differs from encodeURIComponent where python-tuf does: !\'()* are encoded', () => {
    assert.equal(encodeURIComponent("!'()*"), "!'()*");
    assert.equal(quoteName("!'()*"), '%21%27%28%29%2A');
  });

  it('refuses a name with a lone surrogate (it has no UTF-8 form) with a typed error', () => {
    for (const bad of ['\uD800', 'a\uDC00b', '\uDBFF']) assert.throws(() => quoteName(bad), BadMetadataError);
    assert.equal(quoteName('\uD83D\uDE00'), '%F0%9F%98%80'); // a proper pair is fine
  });
});

describe('localFileName', () => {
  it('is one path segment, never . or .., distinct for distinct names, bounded in length', () => {
    const names = [...NAMES, '%2E', '%2E%2E', 'x'.repeat(300), 'y'.repeat(300)];
    const files = names.map((n) => localFileName(n));
    for (const f of files) {
      assert.ok(!f.includes('/') && !f.includes('\\') && f !== '.' && f !== '..' && f !== '', JSON.stringify(f));
      assert.ok(Buffer.byteLength(f) <= 240, f);
    }
    assert.equal(new Set(files).size, names.length);
    assert.equal(localFileName('..'), '%2E%2E');
    assert.equal(localFileName('..', '.json'), '...json'); // as python-tuf names its cache file
    assert.equal(localFileName('../x', '.json'), '..%2Fx.json');
  });
});
