// SPDX-License-Identifier: Apache-2.0
// The verifying client at PEP 458 scale (16,384 bins), on a real index in this process:
//  - load + verify the snapshot (our core; tuf-js needs minutes: see snapshot-bench);
//  - bytes on the wire (compressed, as sent) and time of a cold refresh, of a warm refresh with
//    nothing new, and of a refresh after one upload (timestamp, snapshot, the one bin);
//  - `pip download` of a set of packages through `bulwark proxy` against pip straight from the
//    index, in the same run, as a ratio.
//   node dist/bench/client-bench.js [--bins 16384] [--packages 8] [--rounds 3] [--json]
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { Fetcher } from '../src/client/fetcher.js';
import { buildProxy } from '../src/client/proxy.js';
import { Updater } from '../src/client/updater.js';
import { VerifiedIndex } from '../src/client/verified-index.js';
import { initDemoRepository } from '../src/repository/init.js';
import { Repository } from '../src/repository/repository.js';
import { buildServer } from '../src/server/app.js';
import { DownloadError, Metadata, TrustedMetadataSet } from '../src/tuf/index.js';
import { buildDist } from '../test/helpers/dists.js';
import { tempDir } from '../test/helpers/processes.js';
import { pipDownload } from '../test/helpers/python-tools.js';
import { basicAuth, uploadForm } from '../test/helpers/index-under-test.js';
import { fmt, machine, note, parseFlags, summarize, table, timeRuns, verdict } from './common.js';

const flags = parseFlags('node dist/bench/client-bench.js [--bins 16384] [--packages 8] [--rounds 3] [--json]', {
  bins: { default: 16384, help: 'hashed bins' },
  packages: { default: 8, help: 'packages pip downloads' },
  rounds: { default: 3, help: 'pip runs of each kind (median taken)' },
  iterations: { default: 50, help: 'snapshot load + verify repetitions' },
  json: { default: false, help: 'print JSON' },
});

/** Counts the bytes as they travel (compressed), then decompresses: what a client pays. */
class WireFetcher implements Fetcher {
  wireBytes = 0;
  requests = 0;
  fetch(url: string, maxLength: number): Promise<Buffer> {
    this.requests++;
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { 'accept-encoding': 'gzip, br' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          this.wireBytes += c.length;
          chunks.push(c);
        });
        res.on('end', () => {
          if (process.env['BULWARK_BENCH_TRACE']) process.stderr.write(`${res.statusCode} ${res.headers['content-encoding'] ?? 'identity'} ${chunks.reduce((a, c) => a + c.length, 0)} ${url}\n`);
          this.wireBytes += 200; // status line and headers, roughly
          if (res.statusCode === 404) return reject(new DownloadError('NOT_FOUND', `404 ${url}`, url, 404));
          if (res.statusCode !== 200) return reject(new DownloadError('HTTP', `${res.statusCode} ${url}`, url, res.statusCode));
          const raw = Buffer.concat(chunks);
          const enc = res.headers['content-encoding'];
          const body = enc === 'gzip' ? gunzipSync(raw) : enc === 'br' ? brotliDecompressSync(raw) : raw;
          if (body.length > maxLength) return reject(new DownloadError('LENGTH_EXCEEDED', url, url));
          resolve(body);
        });
      });
      req.on('error', reject);
      req.end();
    });
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

note(`client-bench: ${flags.bins} bins, ${flags.packages} packages`);
const dataDir = await tempDir('client-bench');
let t = performance.now();
await initDemoRepository(dataDir, { bins: flags.bins });
note(`  demo repository: ${fmt.ms(performance.now() - t)} ms`);
const repo = await Repository.open(dataDir);
await repo.start();
const app = await buildServer(repo);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const { token } = await repo.accounts.addUser('bench');
const distDir = await tempDir('client-bench-dists');
const names: string[] = [];
for (let i = 0; i < flags.packages; i++) {
  const name = `benchpkg${i}`;
  names.push(name);
  for (const file of await buildDist({ name, version: '1.0', kind: 'wheel', outDir: distDir })) {
    const bytes = await readFile(file);
    const res = await fetch(`${url}/legacy/`, {
      method: 'POST',
      headers: { authorization: basicAuth(token) },
      body: uploadForm({ ':action': 'file_upload', name, version: '1.0', filetype: 'bdist_wheel', sha256_digest: sha256(bytes) }, { name: file.split('/').pop() as string, bytes }),
    });
    if (res.status !== 200) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  }
}
await repo.settle();
await new Promise((r) => setTimeout(r, 1500)); // let the compressed copies be written

// 1. Load + verify the snapshot.
const rootBytes = await readFile(join(dataDir, 'root.json'));
const tsBytes = await readFile(join(dataDir, 'public', 'metadata', 'timestamp.json'));
const snapVersion = Metadata.parse(tsBytes, 'timestamp').signed.snapshotMeta.version;
const snapBytes = await readFile(join(dataDir, 'public', 'metadata', `${snapVersion}.snapshot.json`));
const load = await timeRuns(flags.iterations, () => {
  const set = new TrustedMetadataSet(rootBytes);
  set.updateTimestamp(tsBytes);
  set.updateSnapshot(snapBytes);
});

// 2. Refreshes, counted on the wire.
const cache = await tempDir('client-bench-cache');
await copyFile(join(dataDir, 'root.json'), join(cache, 'root.json'));
const refresh = async (then?: (u: Updater) => Promise<unknown>) => {
  const wire = new WireFetcher();
  const started = performance.now();
  const u = new Updater({ metadataDir: cache, indexUrl: url, fetcher: wire });
  await u.refresh();
  await then?.(u);
  return { ms: performance.now() - started, bytes: wire.wireBytes, requests: wire.requests };
};
const cold = await refresh((u) => u.getTargetInfo(`${names[0]}/index.json`));
const warm = await refresh();
const extra = join(distDir, 'one-more');
await mkdir(extra, { recursive: true });
const [oneMore] = await buildDist({ name: 'onemore', version: '1.0', kind: 'wheel', outDir: extra });
const oneBytes = await readFile(oneMore as string);
await fetch(`${url}/legacy/`, {
  method: 'POST',
  headers: { authorization: basicAuth(token) },
  body: uploadForm({ ':action': 'file_upload', name: 'onemore', version: '1.0', filetype: 'bdist_wheel', sha256_digest: sha256(oneBytes) }, { name: (oneMore as string).split('/').pop() as string, bytes: oneBytes }),
});
await repo.settle();
await new Promise((r) => setTimeout(r, 1500));
const afterUpload = await refresh((u) => u.getTargetInfo('onemore/index.json'));

// 3. pip download: straight from the index vs through the verifying proxy.
const proxyCache = await tempDir('client-bench-proxy');
await copyFile(join(dataDir, 'root.json'), join(proxyCache, 'root.json'));
const proxy = buildProxy(new VerifiedIndex({ indexUrl: url, metadataDir: proxyCache }), undefined);
const proxyUrl = await proxy.listen({ host: '127.0.0.1', port: 0 });
const pipRun = async (index: string) => {
  const dest = await tempDir('client-bench-pip');
  const started = performance.now();
  const r = await pipDownload({ indexUrl: `${index}/simple/`, packages: names, dest });
  if (r.code !== 0) throw new Error(`pip failed: ${r.stderr}`);
  return performance.now() - started;
};
await pipRun(proxyUrl); // warm the proxy's metadata cache once, as a running proxy would be
const direct: number[] = [];
const viaProxy: number[] = [];
for (let i = 0; i < flags.rounds; i++) {
  direct.push(await pipRun(url));
  viaProxy.push(await pipRun(proxyUrl));
}
const pip = { direct: summarize(direct), proxy: summarize(viaProxy) };
const ratio = pip.proxy.median / pip.direct.median;

await proxy.close();
await app.close();
await repo.close();

const result = {
  machine: machine(),
  bins: flags.bins,
  snapshotBytes: snapBytes.length,
  loadVerifyMs: load,
  coldRefresh: cold,
  warmRefresh: warm,
  refreshAfterOneUpload: afterUpload,
  pipDownloadMs: pip,
  proxyOverPlainPip: ratio,
};
if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(
    `${table(
      ['measure', 'value', 'target'],
      [
        [`load + verify ${flags.bins}-bin snapshot (${fmt.bytes(snapBytes.length)})`, `median ${fmt.ms(load.median)} ms, p99 ${fmt.ms(load.p99)} ms`, verdict(load.median, 10)],
        ['cold refresh (root→targets, one page)', `${fmt.bytes(cold.bytes)} on the wire, ${cold.requests} requests, ${fmt.ms(cold.ms)} ms`, ''],
        ['warm refresh, nothing new', `${warm.bytes} B, ${warm.requests} requests, ${fmt.ms(warm.ms)} ms`, verdict(warm.bytes, 1024)],
        ['refresh after one upload (+ its bin)', `${fmt.bytes(afterUpload.bytes)}, ${afterUpload.requests} requests, ${fmt.ms(afterUpload.ms)} ms`, verdict(afterUpload.bytes, 150 * 1024)],
        [`pip download ${flags.packages} packages`, `direct ${fmt.ms(pip.direct.median)} ms, proxy ${fmt.ms(pip.proxy.median)} ms: ×${ratio.toFixed(2)}`, verdict(ratio, 1.2)],
      ]
    )}\n`
  );
}
