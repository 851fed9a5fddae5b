// An index in the test process with projects at every protection level, for the web page tests
// and the screenshots:
//   plainpkg  unclaimed (uploaded with twine's API); 1.0 yanked with a reason, 1.1 current
//   sigil     claimed: claimed with `bulwark claim`, a signed upload of 2.0 with `bulwark upload`,
//             promoted by an offline ceremony (the demo repository's claimed key), then a key
//             change signed by its developer that waits for the next ceremony
//   warden    recently-claimed: claimed after that ceremony
//   tricky    (optional) unclaimed, with markup in its summary, to check escaping
//   hostile-readme  (optional, with tricky) unclaimed, a wheel whose README attacks the page
// Accounts: ada (administrator, owns every project) and bob, both with web passwords set by
// `bulwark user password`.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { exportPromotion, importPromotion, signCeremonyFile } from '../../src/repository/ceremony.js';
import { Ed25519Signer } from '../../src/tuf/index.js';
import { buildDist } from '../helpers/dists.js';
import { basicAuth, startIndex, uploadForm, type IndexUnderTest } from '../helpers/index-under-test.js';
import { runBulwark, tempDir } from '../helpers/processes.js';
import { HOSTILE_README } from './hostile-readme.js';

export const ADA_PASSWORD = 'lovelace analytical engine';
export const BOB_PASSWORD = 'correct horse battery staple';
export const HOSTILE_SUMMARY = '<script>alert("pwned")</script> & <b>bold</b> "quoted"';

export interface WebIndex {
  index: IndexUnderTest;
  url: string;
  adaToken: string;
  bobToken: string;
  /** sha256 of each uploaded file, by file name. */
  sha256: Map<string, string>;
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

export async function legacyUpload(index: IndexUnderTest, token: string, path: string, project: string, version: string, summary: string): Promise<void> {
  const bytes = await readFile(path);
  const name = basename(path);
  const form = uploadForm(
    {
      ':action': 'file_upload',
      protocol_version: '1',
      name: project,
      version,
      filetype: name.endsWith('.whl') ? 'bdist_wheel' : 'sdist',
      pyversion: name.endsWith('.whl') ? 'py3' : 'source',
      metadata_version: '2.1',
      summary,
      sha256_digest: sha256(bytes),
      md5_digest: md5(bytes),
    },
    { name, bytes }
  );
  const res = await fetch(`${index.url}/legacy/`, { method: 'POST', body: form, headers: { authorization: basicAuth(token) } });
  assert.equal(res.status, 200, `${name}: ${await res.text()}`);
}

export async function startWebIndex(opts: { developerProjects?: boolean; hostile?: boolean } = {}): Promise<WebIndex> {
  const index = await startIndex();
  try {
    return await populate(index, opts);
  } catch (e) {
    await index.close(); // or the listening server keeps the test process alive
    throw e;
  }
}

async function populate(index: IndexUnderTest, opts: { developerProjects?: boolean; hostile?: boolean }): Promise<WebIndex> {
  const { repo, dataDir } = index;
  const adaToken = (await repo.accounts.addUser('ada', { admin: true })).token;
  const bobToken = await index.user('bob');
  for (const [name, password] of [['ada', ADA_PASSWORD], ['bob', BOB_PASSWORD]] as const) {
    const r = await runBulwark(['--data', dataDir, 'user', 'password', name], { env: { BULWARK_PASSWORD: password } });
    assert.equal(r.code, 0, r.stderr);
  }
  const out = await tempDir('web-dists');
  const hashes = new Map<string, string>();
  const upload = async (project: string, version: string, summary: string, kind: 'wheel' | 'both' = 'both', readme?: string) => {
    let descriptionFile: string | undefined;
    if (readme !== undefined) await writeFile((descriptionFile = join(out, `${project}-README.md`)), readme);
    for (const f of await buildDist({ name: project, version, kind, summary, outDir: out, ...(descriptionFile ? { descriptionFile } : {}) })) {
      await legacyUpload(index, adaToken, f, project, version, summary);
      hashes.set(basename(f), sha256(await readFile(f)));
    }
  };

  await upload('plainpkg', '1.0', 'A plain toolkit, signed by the index only');
  await upload('plainpkg', '1.1', 'A plain toolkit, signed by the index only');
  const yank = await fetch(`${index.url}/api/v1/projects/plainpkg/yank`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adaToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ version: '1.0', reason: 'broken build: use 1.1' }),
  });
  assert.equal(yank.status, 200, await yank.text());
  if (opts.hostile) {
    await upload('tricky', '0.1', HOSTILE_SUMMARY, 'wheel');
    await upload('hostile-readme', '1.0', 'A README that attacks the page', 'wheel', HOSTILE_README);
  }

  if (opts.developerProjects !== false) {
    const home = await tempDir('web-dev-home');
    const env = {
      PYPIRC: join(home, 'no-pypirc'),
      BULWARK_KEYS_DIR: join(home, 'keys'),
      BULWARK_CACHE: join(home, 'cache'),
      BULWARK_PASSPHRASE: 'a long enough passphrase',
    };
    const dev = ['--repository-url', `${index.url}/legacy/`, '--token', adaToken, '--root', join(dataDir, 'root.json'), '--json'];
    const bulwark = async (args: string[]) => {
      const r = await runBulwark(args, { env, timeoutMs: 120_000 });
      assert.equal(r.code, 0, `bulwark ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    await bulwark(['key', 'new', '--label', 'ada@laptop', '--json']);

    await upload('sigil', '1.0', 'A signed toolkit with an offline delegation');
    await bulwark(['claim', 'sigil', ...dev]);
    const signed = await buildDist({ name: 'sigil', version: '2.0', kind: 'both', summary: 'A signed toolkit with an offline delegation', outDir: out });
    for (const f of signed) hashes.set(basename(f), sha256(await readFile(f)));
    await bulwark(['upload', ...signed, ...dev]);
    await repo.settle();

    // The offline ceremony, with the demo repository's claimed key.
    const file = await exportPromotion(repo);
    const claimedKey = Ed25519Signer.fromPkcs8Pem(await readFile(join(dataDir, 'keys', 'offline-DEMO-ONLY', 'claimed.pem'), 'utf8'));
    await importPromotion(repo, await signCeremonyFile(file, [claimedKey]));
    repo.publisher.request();
    await repo.settle();

    // A second machine's key for sigil: signed by the first, waits for the next ceremony.
    await bulwark(['key', 'new', 'desktop', '--label', 'ada@desktop', '--json']);
    const pub = join(home, 'desktop.pub.json');
    await writeFile(pub, await bulwark(['key', 'show', 'desktop', '--json']));
    await bulwark(['key', 'add', 'sigil', '--public-key', pub, ...dev]);

    await upload('warden', '0.9', 'A signed toolkit waiting for promotion');
    await bulwark(['claim', 'warden', ...dev]);
    await repo.settle();
  }
  await repo.settle();
  return { index, url: index.url, adaToken, bobToken, sha256: hashes, close: () => index.close() };
}
