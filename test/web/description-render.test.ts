// The description renderer on its own (src/web/description/): content types as PyPI reads
// them, the Markdown PyPI supports, the sanitizer's allow-list and URL rules against a hostile
// README and raw HTML, bounded depth for deeply nested input, a 1 MiB description, and the
// worker thread's fallback when a rendering takes too long.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { descriptionFormat } from '../../src/web/description/content-type.js';
import { DESCRIPTION_RENDERER, MAX_DESCRIPTION_CHARS, renderDescription } from '../../src/web/description/render.js';
import { renderOffThread } from '../../src/web/description/render-off-thread.js';
import { sanitizeDescription } from '../../src/web/description/sanitize.js';
import { assertSafeDescription, maxDepth } from './description-checks.js';
import { HOSTILE_README } from './hostile-readme.js';

const md = (text: string, type = 'text/markdown') => renderDescription(text, type) as string;

describe('description content types, as PyPI reads them', () => {
  const cases: [string | undefined, ReturnType<typeof descriptionFormat>][] = [
    [undefined, { kind: 'rst' }],
    ['', { kind: 'rst' }],
    ['text/x-rst', { kind: 'rst' }],
    ['text/markdown', { kind: 'markdown', variant: 'GFM' }],
    ['Text/Markdown; charset=UTF-8', { kind: 'markdown', variant: 'GFM' }],
    ['text/markdown; variant=GFM', { kind: 'markdown', variant: 'GFM' }],
    ['text/markdown; charset=UTF-8; variant="CommonMark"', { kind: 'markdown', variant: 'CommonMark' }],
    ['text/plain', { kind: 'plain' }],
    ['text/html', { kind: 'plain' }],
    ['application/x-nonsense; variant=GFM', { kind: 'plain' }],
  ];
  for (const [type, want] of cases) it(`${JSON.stringify(type)} → ${JSON.stringify(want)}`, () => assert.deepEqual(descriptionFormat(type), want));
});

describe('Markdown, as PyPI renders it', () => {
  it('renders CommonMark with GFM tables, strikethrough and bare URLs', () => {
    const out = md('# Title\n\n**bold** _em_ ~~gone~~ `code` https://example.com/x\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n```python\nprint("<hi>")\n```\n');
    assert.match(out, /<h1 id="readme-title">Title <a class="anchor" href="#readme-title" aria-label="Link to this section: Title" rel="nofollow ugc">#<\/a><\/h1>/);
    assert.match(out, /<strong>bold<\/strong> <em>em<\/em> <s>gone<\/s> <code>code<\/code> <a href="https:\/\/example.com\/x" rel="nofollow ugc">https:\/\/example.com\/x<\/a>/);
    assert.match(out, /<th align="left">a<\/th>\s*<th align="right">b<\/th>/, 'alignment as an attribute: the CSP allows no inline style');
    assert.match(out, /<pre><code class="language-python">print\("&lt;hi&gt;"\)\s*<\/code><\/pre>/);
    assert.doesNotMatch(out, /\*\*|~~/, 'no raw Markdown left');
  });

  it('variant=CommonMark has no GFM tables, strikethrough or bare-URL links', () => {
    const out = md('~~x~~ https://example.com\n\n| a |\n|---|\n| 1 |\n', 'text/markdown; variant=CommonMark');
    assert.doesNotMatch(out, /<s>|<table>|<a /);
    assert.match(out, /~~x~~/);
  });

  it('gives headings unique anchors, and keeps raw HTML that PyPI allows', () => {
    const out = md('## Usage\n\n## Usage\n\n## Ünïcode & *more*!\n\n<p align="center"><img src="https://img.example/logo.png" alt="logo" width="200"></p>\n\n<details><summary>More</summary>\n\nHidden *text*\n\n</details>\n');
    assert.match(out, /<h2 id="readme-usage">/);
    assert.match(out, /<h2 id="readme-usage-1">/);
    assert.match(out, /<h2 id="readme-ünïcode--more">/);
    assert.match(out, /<p align="center"><img src="https:\/\/img.example\/logo.png" alt="logo" width="200" loading="lazy" referrerpolicy="no-referrer" \/><\/p>/);
    assert.match(out, /<details><summary>More<\/summary>/);
  });
});

describe('the sanitizer', () => {
  it('makes a hostile README safe, and keeps what a real README needs', () => {
    const out = md(HOSTILE_README);
    assertSafeDescription(out);
    for (let n = 1; n <= 27; n++) assert.doesNotMatch(out, new RegExp(`<[^>]*alert\\(${n}\\)[^<]*>`), `attack ${n} is not inside any tag`);
    assert.match(out, /<strong>bold<\/strong>/);
    assert.match(out, /<s>struck<\/s>/);
    assert.match(out, /<a href="https:\/\/example.com\/docs" rel="nofollow ugc">good link<\/a>/);
    assert.match(out, /<a href="mailto:dev@example.com" rel="nofollow ugc">us<\/a>/);
    assert.match(out, /<a href="#readme-install" rel="nofollow ugc">Install<\/a>/);
    assert.match(out, /<h2 id="readme-install">/);
    assert.match(out, /<h2 id="readme-files">/, "a README heading never takes the page's own id (#files)");
    assert.match(out, /<a rel="nofollow ugc">relative link<\/a>/, 'a relative link keeps its text, not its address');
    assert.match(out, /<img src="https:\/\/img.example\/badge.svg" alt="build badge" loading="lazy" referrerpolicy="no-referrer" \/>/);
    assert.match(out, /<table>/);
    assert.match(out, /The end\./);
  });

  const rawCases: [string, RegExp][] = [
    ['<a href="javascript:alert(1)">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="&#106;avascript:alert(1)">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="java\tscript:alert(1)">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="\u0001javascript:alert(1)">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="data:text/html,hi">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="file:///etc/passwd">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="//evil.example/">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="/admin/">x</a>', /^<a rel="nofollow ugc">x<\/a>$/],
    ['<a href="HTTPS://Example.COM/a b" rel="opener" target="_blank">x</a>', /^<a href="https:\/\/example.com\/a%20b" rel="nofollow ugc">x<\/a>$/],
    ['<img src="data:image/png;base64,AAAA" alt="a">', /^<img alt="a" loading="lazy" referrerpolicy="no-referrer" \/>$/],
    ['<img src="https://i.example/a.png" srcset="javascript:alert(1) 1x" onerror="alert(1)">', /^<img src="https:\/\/i.example\/a.png" loading="lazy" referrerpolicy="no-referrer" \/>$/],
    ['<script>alert(1)</script>ok', /^ok$/],
    ['<style>*{}</style>ok', /^ok$/],
    ['<iframe src="https://e.example/"></iframe>ok', /^ok$/],
    ['<p style="color:red" class="x" onclick="alert(1)">p</p>', /^<p>p<\/p>$/],
    ['<div id="files">x</div>', /^<div id="readme-files">x<\/div>$/],
    ['<td align="javascript">x</td>', /^<td align>x<\/td>$/],
    ['<b><i>broken</b></i>', /^<b><i>broken<\/i><\/b>$/],
  ];
  for (const [input, want] of rawCases) it(`raw HTML ${JSON.stringify(input)}`, () => assert.match(sanitizeDescription(input), want));
});

describe('deep and large descriptions: no stack overflow, bounded depth', () => {
  const MiB = 1024 * 1024;
  const deep: [string, string][] = [
    ['lists nested 100,000 deep on one line', `${'- '.repeat(100_000)}x`],
    ['lists nested 2,000 deep by indentation', Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i * 2)}- item ${i}`).join('\n')],
    ['block quotes 500,000 deep', `${'>'.repeat(500_000)} x`],
    ['emphasis 100,000 deep', `${'*a '.repeat(100_000)}b${' a*'.repeat(100_000)}`],
    ['links in images 50,000 deep', `${'!['.repeat(50_000)}a${'](https://x.example/)'.repeat(50_000)}`],
    ['raw HTML 200,000 divs deep', '<div>'.repeat(200_000)],
    ['unclosed brackets, 1 MiB', '['.repeat(MiB)],
  ];
  for (const [name, text] of deep) {
    it(name, () => {
      const out = md(text);
      assertSafeDescription(out);
      assert.ok(maxDepth(out) <= 96, `depth ${maxDepth(out)}`);
    });
  }

  it('a 1 MiB README is rendered whole; a longer one is cut with a note', () => {
    const section = (i: number) => `## Section ${i}\n\nSome *text* with a [link](https://example.com/${i}) and \`code\`.\n\n- one\n- two\n\n`;
    let text = '';
    for (let i = 0; text.length < MiB - 200; i++) text += section(i);
    const last = text.match(/## Section (\d+)\n\n[^#]*$/)?.[1];
    const out = md(text);
    assert.match(out, new RegExp(`<h2 id="readme-section-${last}">Section ${last} `), 'the last section is there');
    assert.doesNotMatch(out, /description-note/);
    const long = md(`${text}${'x'.repeat(MAX_DESCRIPTION_CHARS)}`);
    assert.match(long, /<p class="description-note">The description is longer than \d+ characters: the rest is not shown\.<\/p>$/);
  });
});

describe('reStructuredText and plain text', () => {
  it('reStructuredText (or no content type) is preformatted text with a note, escaped', () => {
    for (const type of [undefined, 'text/x-rst']) {
      const out = renderDescription('Title\n=====\n\n<script>alert(1)</script> `link <https://x>`_', type);
      assert.equal(out, '<p class="description-note">This description is reStructuredText, shown here as plain text.</p><pre class="plain">Title\n=====\n\n&lt;script&gt;alert(1)&lt;/script&gt; &#96;link &lt;https://x&gt;&#96;_</pre>');
    }
  });

  it('plain text, and types PyPI does not render, are preformatted', () => {
    assert.equal(renderDescription('a <b>\n  c', 'text/plain'), '<pre class="plain">a &lt;b&gt;\n  c</pre>');
    assert.equal(renderDescription('<i>x</i>', 'text/html'), '<pre class="plain">&lt;i&gt;x&lt;/i&gt;</pre>');
  });
});

describe('rendering in a worker thread', () => {
  it('gives what the renderer gives', async () => {
    assert.equal(await renderOffThread('# Hi *there*', 'text/markdown'), renderDescription('# Hi *there*', 'text/markdown'));
  });

  it('past its time budget, shows the text as plain text with a note', async () => {
    const out = await renderOffThread('# <script>alert(1)</script>', 'text/markdown', { timeoutMs: 0 });
    assert.equal(out, '<p class="description-note">This description took too long to render: it is shown as plain text.</p><pre class="plain"># &lt;script&gt;alert(1)&lt;/script&gt;</pre>');
  });

  it('names the renderer with the versions of its libraries, so an upgrade re-renders', () => {
    assert.match(DESCRIPTION_RENDERER, /^bulwark-\d+ markdown-it@\d+\.\d+\.\d+ sanitize-html@\d+\.\d+\.\d+$/);
  });
});
