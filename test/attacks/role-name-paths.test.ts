// Role names are data from metadata, not paths. A repository (built by another tool: plain JSON
// signed by python3-securesystemslib) delegates to roles named `../../../escape`, `/etc/x`,
// `..`, `a/../../b`, `%2e%2e%2f` and the like, each listed by the snapshot, each signed. The
// client must request each one percent-encoded exactly as python-tuf does (so `/` is `%2F`, `%`
// is `%25`, and `!'()*` are encoded too, unlike encodeURIComponent), and must write nothing
// outside its metadata directory, whatever the name says.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Updater } from '../../src/client/updater.js';
import { ForeignRepo, pyQuote } from '../helpers/foreign-repo.js';
import { tempDir } from '../helpers/processes.js';
import { Sslib } from '../helpers/sslib.js';

const HOSTILE_NAMES = ['../../../escape', '../x', '/etc/x', '..', '.', 'a/../../b', '..\\..\\win', '%2e%2e%2f', "!'()*", '?q=1', '#frag', 'ü/ß', 'x'.repeat(300)];

describe('attack: role names that are paths', () => {
  let sslib: Sslib;
  let repo: ForeignRepo;
  let work: string;
  let metadataDir: string;

  before(async () => {
    sslib = Sslib.start();
    repo = new ForeignRepo(sslib, { consistentSnapshot: true, hashes: true });
    for (const k of ['root', 'timestamp', 'snapshot', 'targets', 'delegate']) await repo.key(k, 'ed25519');
    repo.init({
      root: { names: ['root'], threshold: 1 },
      timestamp: { names: ['timestamp'], threshold: 1 },
      snapshot: { names: ['snapshot'], threshold: 1 },
      targets: { names: ['targets'], threshold: 1 },
    });
    // Siblings, none terminating: looking up t/file visits every one of them, in order.
    for (const name of HOSTILE_NAMES) repo.delegate('targets', name, ['delegate'], 1, ['t/*']);
    repo.addTarget(HOSTILE_NAMES.at(-1) as string, 't/file', 'the target');
    await repo.signRoot(['root']);
    await repo.release(['targets', ...HOSTILE_NAMES]);
    await repo.listen();
    // The metadata directory sits a few levels down, so `../../..` from it is still inside `work`.
    work = await tempDir('role-names');
    metadataDir = join(work, 'a', 'b', 'c', 'metadata');
    await mkdir(metadataDir, { recursive: true });
    await writeFile(join(metadataDir, 'root.json'), repo.files.get('metadata/1.root.json') as Buffer);
  });
  after(async () => {
    sslib.close();
    await repo.close();
  });

  it('requests every role percent-encoded as python-tuf does, and caches each as one file inside the metadata directory', async () => {
    const updater = new Updater({ metadataDir, indexUrl: repo.url });
    await updater.refresh();
    const found = await updater.findTarget('t/file');
    assert.equal(found?.role, HOSTILE_NAMES.at(-1));
    assert.equal((await updater.downloadTarget((found as NonNullable<typeof found>).target)).toString(), 'the target');

    for (const name of HOSTILE_NAMES) {
      assert.ok(repo.requests.includes(`metadata/1.${pyQuote(name)}.json`), `${name} requested as ${pyQuote(name)}: ${repo.requests.filter((r) => r.startsWith('metadata/1.')).join(' ')}`);
    }
    // Every file written is directly in the metadata directory; nothing anywhere else.
    const everything = (await readdir(work, { recursive: true })).map(String).sort();
    const cached = everything.filter((f) => f.startsWith(join('a', 'b', 'c', 'metadata') + '/')).map((f) => f.slice('a/b/c/metadata/'.length));
    assert.deepEqual(everything.filter((f) => !f.startsWith('a/b/c/metadata/')), ['a', 'a/b', 'a/b/c', 'a/b/c/metadata']);
    assert.ok(cached.every((f) => !f.includes('/')), cached.join(' '));
    const expected = ['root', 'timestamp', 'snapshot', 'targets', ...HOSTILE_NAMES.slice(0, -1)].map((n) => `${pyQuote(n)}.json`);
    for (const f of expected) assert.ok(cached.includes(f), `${f} cached`);
    assert.equal(cached.length, expected.length + 1, 'and one file for the name too long to be a file name');
  });

  it('a second session reads every role back from its cache file', async () => {
    const before = repo.requests.length;
    const updater = new Updater({ metadataDir, indexUrl: repo.url });
    await updater.refresh();
    assert.equal((await updater.findTarget('t/file'))?.role, HOSTILE_NAMES.at(-1));
    assert.deepEqual(repo.requests.slice(before).filter((r) => !/^metadata\/(2\.root|timestamp)\.json$/.test(r)), [], 'nothing fetched again but the root probe and the timestamp');
  });
});
