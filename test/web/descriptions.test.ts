// Project descriptions on the project page over real HTTP (issue 17): Markdown rendered as PyPI
// renders it and sanitized, a hostile README made harmless, reStructuredText and plain text
// preformatted, a 1 MiB description and deeply nested lists still giving a page, images never
// fetched by the server, the page's strict Content-Security-Policy, and each METADATA file
// rendered once and stored in the web store (re-rendered only when the renderer changes).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openWebStore } from '../../src/storage/state/open-web-store.js';
import { DESCRIPTION_RENDERER } from '../../src/web/description/render.js';
import { buildDist } from '../helpers/dists.js';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';
import { tempDir } from '../helpers/processes.js';
import { Client } from './client.js';
import { assertSafeDescription, maxDepth } from './description-checks.js';
import { legacyUpload } from './fixture.js';
import { HOSTILE_README } from './hostile-readme.js';

/** The rendered description on a project page. */
function descriptionOf(page: string): string {
  const m = /<div class="description">([\s\S]*)<\/div>\n<h2 id="history">/.exec(page);
  assert.ok(m, 'the page has a rendered description');
  return m[1] as string;
}

describe('project descriptions over HTTP', { timeout: 300_000 }, () => {
  let index: IndexUnderTest;
  let canary: Server;
  let canaryUrl: string;
  const canaryHits: string[] = [];
  const MiB = 1024 * 1024;
  let bigLastSection = '';

  before(async () => {
    // Anything that asks this server for a README's image or link: the index must never.
    canary = createServer((req, res) => {
      canaryHits.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    canaryUrl = `http://127.0.0.1:${(canary.address() as AddressInfo).port}`;

    index = await startIndex();
    const token = await index.user('ada');
    const out = await tempDir('readme-dists');
    let big = '';
    for (let i = 0; big.length < MiB - 300; i++) {
      big += `## Part ${i}\n\nA paragraph with **bold**, a [link](https://example.com/${i}), \`code\` and a list:\n\n- one\n  - two\n\n`;
      bigLastSection = String(i);
    }
    const readmes: [string, string, string | undefined][] = [
      ['readme-hostile', `${HOSTILE_README}\n![canary](${canaryUrl}/image.png) [canary link](${canaryUrl}/link)\n`, 'text/markdown'],
      ['readme-rst', 'Title\n=====\n\nSome *emphasis* and <b>markup</b>.\n', ''],
      ['readme-plain', 'Plain   text\n  <i>kept</i> as it is\n', 'text/plain'],
      ['readme-big', big, 'text/markdown; charset=UTF-8'],
      ['readme-deep', `${Array.from({ length: 800 }, (_, i) => `${' '.repeat(i * 2)}- level ${i}`).join('\n')}\n\n${'> '.repeat(50_000)}quote\n\n${'- '.repeat(50_000)}list\n`, 'text/markdown'],
    ];
    for (const [name, text, type] of readmes) {
      const descriptionFile = join(out, `${name}.txt`);
      await writeFile(descriptionFile, text);
      const [wheel] = await buildDist({ name, version: '1.0', kind: 'wheel', outDir: out, descriptionFile, ...(type !== undefined ? { descriptionContentType: type } : {}) });
      await legacyUpload(index, token, wheel as string, name, '1.0', `The ${name} fixture`);
    }
    await index.repo.settle();
  });
  after(async () => {
    await index?.close();
    canary?.close();
  });

  it('renders a Markdown README as PyPI does, with nothing of the attack left, and never fetches its images', async () => {
    const r = await new Client(index.url).request('/project/readme-hostile/');
    assert.equal(r.status, 200);
    const d = descriptionOf(r.body);
    assertSafeDescription(d);
    assert.match(d, /<h1 id="readme-hostile-readme">Hostile README <a class="anchor"/);
    assert.match(d, /<strong>bold<\/strong>/);
    assert.match(d, /<table>/);
    assert.match(d, new RegExp(`<img src="${canaryUrl}/image.png" alt="canary"`), 'images stay images');
    assert.match(d, new RegExp(`<a href="${canaryUrl}/link" rel="nofollow ugc">canary link</a>`));
    assert.doesNotMatch(r.body, /\*\*bold\*\*/, 'no raw Markdown');
    // The page around it: escaped summary, its own ids once each.
    assert.equal(r.body.match(/ id="files"/g)?.length, 1);
    assert.deepEqual(canaryHits, [], 'the server fetched nothing the README points to');
  });

  it('keeps the strict Content-Security-Policy: no script anywhere; README images only from https', async () => {
    const c = new Client(index.url);
    const project = (await c.request('/project/readme-hostile/')).headers.get('content-security-policy') ?? '';
    assert.equal(project, "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    assert.doesNotMatch(project, /script-src|unsafe-inline|unsafe-eval|data:/);
    const home = (await c.request('/')).headers.get('content-security-policy') ?? '';
    assert.match(home, /img-src 'self';/, 'other pages keep images to the site');
  });

  it('shows reStructuredText (or no content type) and plain text preformatted, escaped', async () => {
    const c = new Client(index.url);
    const rst = descriptionOf((await c.request('/project/readme-rst/')).body);
    assert.equal(rst, '<p class="description-note">This description is reStructuredText, shown here as plain text.</p><pre class="plain">Title\n=====\n\nSome *emphasis* and &lt;b&gt;markup&lt;/b&gt;.\n</pre>');
    const plain = descriptionOf((await c.request('/project/readme-plain/')).body);
    assert.equal(plain, '<pre class="plain">Plain   text\n  &lt;i&gt;kept&lt;/i&gt; as it is\n</pre>');
  });

  it('renders a 1 MiB description whole, and deeply nested lists and quotes to a bounded depth', async () => {
    const c = new Client(index.url);
    const big = await c.request('/project/readme-big/');
    assert.equal(big.status, 200);
    assert.match(descriptionOf(big.body), new RegExp(`<h2 id="readme-part-${bigLastSection}">Part ${bigLastSection} `));
    const deep = await c.request('/project/readme-deep/');
    assert.equal(deep.status, 200);
    const d = descriptionOf(deep.body);
    assertSafeDescription(d);
    // markdown-it stops parsing where blocks nest deeper than its limit: a list 800 deep keeps
    // its first levels, and what follows is dropped (no README nests lists 16 deep).
    assert.match(d, /<li>level 14\n/);
    assert.ok(maxDepth(d) <= 96, `depth ${maxDepth(d)}`);
    assert.match(deep.body, /<h2 id="history">Release history<\/h2>/, 'the rest of the page is there');
  });

  it('renders each METADATA file once and stores it; a new renderer renders it again', async () => {
    const [file] = await index.repo.state.projectFiles('readme-plain');
    const sha = file?.metadataSha256;
    assert.ok(sha);
    const web = await openWebStore(index.repo.dataDir, index.repo.databaseUrl);
    try {
      const c = new Client(index.url);
      await c.request('/project/readme-plain/');
      const stored = await web.storedDescription(sha, DESCRIPTION_RENDERER);
      assert.deepEqual(stored, { html: '<pre class="plain">Plain   text\n  &lt;i&gt;kept&lt;/i&gt; as it is\n</pre>', summary: 'Test fixture readme-plain built by make_dist.py', requiresPython: null });
      // The page shows what is stored, without rendering again.
      await web.storeDescription(sha, DESCRIPTION_RENDERER, { ...stored, html: '<p>stored marker</p>' });
      assert.equal(descriptionOf((await c.request('/project/readme-plain/')).body), '<p>stored marker</p>');
      // A rendering by an earlier renderer is replaced on the next view.
      await web.storeDescription(sha, 'bulwark-0 markdown-it@0.0.1', { ...stored, html: '<p>old renderer</p>' });
      assert.equal(descriptionOf((await c.request('/project/readme-plain/')).body), stored.html);
      assert.deepEqual(await web.storedDescription(sha, DESCRIPTION_RENDERER), stored);
      assert.equal(await web.storedDescription(sha, 'bulwark-0 markdown-it@0.0.1'), undefined);
    } finally {
      await web.close();
    }
  });
});
