// The static tree (/metadata/, /targets/, /files/) as served: a request costs one open of the
// file it names, never a listing of the directory (at PyPI size public/metadata holds tens of
// thousands of files, and listing it made every metadata request take about a second), and no
// request reaches outside the tree or a temporary file.
import { readdirCalls } from './count-readdir.js';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startIndex, type IndexUnderTest } from '../helpers/index-under-test.js';

/** One request on node:http (fetch would normalize the dot segments away before sending). */
function request(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ statusCode: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: url.slice(u.origin.length), headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the static tree', () => {
  let index: IndexUnderTest;
  before(async () => {
    index = await startIndex({ bins: 16 });
    await index.repo.settle();
  });
  after(() => index.close());

  it('serves a metadata file without listing any directory', async () => {
    readdirCalls.length = 0;
    for (const name of ['timestamp.json', '1.root.json', '1.targets.json']) {
      const res = await request(`${index.url}/metadata/${name}`);
      assert.equal(res.statusCode, 200, name);
      assert.equal(JSON.parse(res.body.toString()).signed._type !== undefined, true);
    }
    const missing = await request(`${index.url}/metadata/999.root.json`);
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(readdirCalls, []);
  });

  it('still serves the precompressed copy to a client that accepts gzip', async () => {
    const root = join(index.dataDir, 'public', 'metadata', '1.root.json');
    await writeFile(`${root}.gz`, gzipSync(await readFile(root)));
    const res = await request(`${index.url}/metadata/1.root.json`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(JSON.parse(gunzipSync(res.body).toString()).signed._type, 'root');
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('refuses paths outside the tree, dot files and non-canonical spellings', async () => {
    await writeFile(join(index.dataDir, 'public', 'metadata', '.tmp-secret'), 'SECRET');
    await writeFile(join(index.dataDir, 'public', 'secret.txt'), 'SECRET');
    for (const path of [
      '/metadata/.tmp-secret',
      '/metadata/%2etmp-secret',
      '/metadata/../secret.txt',
      '/metadata/%2e%2e/secret.txt',
      '/metadata/%2e%2e%2fsecret.txt',
      '/metadata/..%5csecret.txt',
      '/targets/..%2f..%2fconfig.json',
      '/metadata//timestamp.json',
      '/metadata/./timestamp.json',
      '/files/%00',
    ]) {
      const res = await request(`${index.url}${path}`);
      const body = res.body.toString();
      assert.ok(res.statusCode === 403 || res.statusCode === 404 || res.statusCode === 400, `${path}: ${res.statusCode}`);
      assert.ok(!body.includes('SECRET'), path);
    }
  });

  it('answers HEAD with the length and no body', async () => {
    const res = await request(`${index.url}/metadata/timestamp.json`, { method: 'HEAD' });
    assert.equal(res.statusCode, 200);
    assert.ok(Number(res.headers['content-length']) > 0);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.body.length, 0);
    const etag = res.headers.etag as string;
    assert.ok(etag, 'timestamp.json has an ETag');
    assert.equal((await request(`${index.url}/metadata/timestamp.json`, { headers: { 'if-none-match': etag } })).statusCode, 304);
    assert.equal((await request(`${index.url}/metadata/timestamp.json`, { headers: { 'if-none-match': '"other"' } })).statusCode, 200);
  });

  it('serves timestamp.json whole while publications replace it (never one version\'s length with another\'s bytes)', async () => {
    // The publisher replaces timestamp.json by rename with every publication. A server that takes
    // the length from one stat and then opens the name again sends a truncated or mixed body
    // when a rename falls between the two: a client then fails to parse its timestamp.
    const file = join(index.dataDir, 'public', 'metadata', 'timestamp.json');
    const original = await readFile(file);
    const versions = [Buffer.from(`{"v":"${'a'.repeat(300)}"}`), Buffer.from(`{"v":"${'b'.repeat(3000)}"}`)];
    const valid = new Set([original, ...versions].map((b) => b.toString('hex')));
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const tmp = join(index.dataDir, 'public', 'metadata', `.tmp-ts-${i}`);
        await writeFile(tmp, versions[i % 2] as Buffer);
        await rename(tmp, file);
        await new Promise((r) => setTimeout(r, 1)); // leave the thread pool to the server now and then
      }
    })();
    const bad: string[] = [];
    try {
      for (let round = 0; round < 40; round++) {
        const responses = await Promise.all(Array.from({ length: 10 }, () => request(`${index.url}/metadata/timestamp.json`).catch((e: Error) => e)));
        for (const r of responses) {
          if (r instanceof Error) bad.push(`cut: ${r.message}`);
          else if (r.statusCode !== 200 || !valid.has(r.body.toString('hex'))) bad.push(`${r.statusCode}: ${r.body.length} bytes, content-length ${r.headers['content-length']}`);
        }
      }
    } finally {
      stop = true;
      await writer;
      await writeFile(file, original);
    }
    assert.deepEqual(bad, [], 'every answer is one whole version of the file');
  });
});
