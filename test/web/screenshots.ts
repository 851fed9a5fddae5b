// Takes screenshots of the main web pages into docs/screenshots/ (run after a build:
// `node dist/test/web/screenshots.js`). Same data as the browser test: one project at each
// protection level, an administrator who logs in and makes an API token.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildDist } from '../helpers/dists.js';
import { repoRoot, tempDir } from '../helpers/processes.js';
import { CHROMIUM, haveChromium, launchChromium } from './browser.js';
import { ADA_PASSWORD, legacyUpload, startWebIndex } from './fixture.js';

const outDir = join(repoRoot, 'docs', 'screenshots');

/** A README as projects write them, for the screenshot of a rendered description. */
const README = `# skyline

[![build](https://img.shields.example/build.svg)](https://ci.example/skyline) [![pypi](https://img.shields.example/version.svg)](https://pypi.example/skyline)

**skyline** draws city skylines from elevation data, as SVG or PNG.

- Fast: draws a city of 10,000 buildings in under a second
- ~~Needs GDAL~~ No native dependencies
- Works on Python 3.9 and later

## Install

\`\`\`console
$ pip install skyline
\`\`\`

## Usage

\`\`\`python
from skyline import City
City.from_file("paris.tif").draw("paris.svg", style="dusk")
\`\`\`

| Option  | Default | What it does           |
|:--------|:-------:|-----------------------:|
| \`style\` | \`day\`   | colours of the drawing |
| \`scale\` | \`1.0\`   | metres per pixel       |

> **Note:** see [the documentation](https://docs.example/skyline) for every option, or [Install](#install) above.

<details><summary>Changelog</summary>

- 2.0: PNG output
</details>
`;

/** The badges' images, as the reader's browser would fetch them (never the index). */
const BADGE = (text: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="90" height="20"><rect width="90" height="20" rx="3" fill="#2f8a4c"/><text x="45" y="14" fill="#fff" font-family="sans-serif" font-size="11" text-anchor="middle">${text}</text></svg>`;

async function main(): Promise<void> {
  if (!haveChromium()) {
    process.stderr.write(`${CHROMIUM} is missing: apt-get install chromium\n`);
    process.exit(1);
  }
  await mkdir(outDir, { recursive: true });
  const w = await startWebIndex();
  const dists = await tempDir('screenshot-dists');
  await writeFile(join(dists, 'README.md'), README);
  const [wheel] = await buildDist({ name: 'skyline', version: '2.0', kind: 'wheel', summary: 'Draws city skylines', outDir: dists, descriptionFile: join(dists, 'README.md') });
  await legacyUpload(w.index, w.adaToken, wheel as string, 'skyline', '2.0', 'Draws city skylines');
  await w.index.repo.settle();
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    await context.route('https://img.shields.example/**', (route) =>
      route.fulfill({ contentType: 'image/svg+xml', body: BADGE(route.request().url().includes('build') ? 'build passing' : 'version 2.0') })
    );
    const page = await context.newPage();
    const shot = async (name: string, path: string, opts: { page?: Page; fullPage?: boolean } = {}) => {
      const p = opts.page ?? page;
      if (path) await p.goto(`${w.url}${path}`);
      await p.screenshot({ path: join(outDir, `${name}.png`), fullPage: opts.fullPage ?? true });
      process.stdout.write(`docs/screenshots/${name}.png\n`);
    };
    await shot('home', '/');
    await shot('search', '/search/?q=toolkit');
    await shot('project-claimed', '/project/sigil/');
    await shot('project-recently-claimed', '/project/warden/');
    await shot('project-unclaimed', '/project/plainpkg/');
    await shot('project-yanked-release', '/project/plainpkg/1.0/');
    await shot('project-readme', '/project/skyline/');
    await shot('help-protection', '/help/protection/');
    await shot('login', '/account/login/');
    await page.getByLabel('User name').fill('ada');
    await page.getByLabel('Password').fill(ADA_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/manage\/account\/$/);
    await page.getByLabel('What the new token is for').fill('release CI');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.waitForLoadState();
    await shot('account-new-token', '');
    await shot('manage-projects', '/manage/projects/');
    await shot('admin', '/admin/');
    // A phone-sized view of a project page: the layout reflows to one column.
    const phone = await (await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } })).newPage();
    await shot('project-claimed-phone', '/project/sigil/', { page: phone, fullPage: false });
    // Keyboard focus is visible.
    await page.goto(`${w.url}/`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await shot('focus-visible', '', { fullPage: false });
  } finally {
    await browser.close();
    await w.close();
  }
}

await main();
