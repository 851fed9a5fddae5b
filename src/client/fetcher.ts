// SPDX-License-Identifier: Apache-2.0
// The transport port of the client: fetch a URL's bytes with an upper bound on their length
// and on the time they take. Everything fetched is hostile until the updater verifies it;
// this layer only makes sure a server can neither send endless data nor drip it slowly.
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DownloadError } from '../tuf/index.js';

export interface Fetcher {
  /** @throws DownloadError: NOT_FOUND (403/404), HTTP, LENGTH_EXCEEDED, TIMEOUT, NETWORK. */
  fetch(url: string, maxLength: number): Promise<Buffer>;
}

export interface HttpFetcherOptions {
  /** No first byte within this time: give up (ms; default 10 s). */
  connectTimeoutMs?: number;
  /** Slow-retrieval defence: after the grace period, the average speed must stay above this (bytes/s; default 4 KiB/s). */
  minBytesPerSecond?: number;
  /** Time before the speed check starts (ms; default 5 s). */
  graceMs?: number;
  userAgent?: string;
}

/** A refusal's body up to this size is read and dropped, so that its connection can be reused. */
const DRAIN_LIMIT = 64 * 1024;
/** ... within this time; a server that drips it loses the connection instead. */
const DRAIN_MS = 2_000;

/**
 * Drops a response's body. One announced as small, or not announced at all (chunked, as
 * node:http servers answer a bare 404), is read to its end so that the connection stays open for
 * the next request: a client asks for the absent next root on every refresh, and a new TCP
 * connection each time costs more CPU than the request. Past the limit or the time, it is cut.
 */
function discard(res: IncomingMessage): void {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT) {
    res.destroy();
    return;
  }
  let seen = 0;
  const cut = setTimeout(() => res.destroy(), DRAIN_MS);
  cut.unref();
  res.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT) res.destroy();
  });
  res.once('close', () => clearTimeout(cut));
  res.on('error', () => undefined); // cut or reset while dropped: nothing waits for this body
}

/** fetch()'s limit on redirects followed, kept. */
const MAX_REDIRECTS = 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * HTTP(S) with node:http rather than the global fetch(): the same behaviour (redirects followed,
 * gzip and br decoded, 403/404 as NOT_FOUND), at about half the CPU per request, and without
 * loading undici (~60 ms of CPU in a new process). A client refreshes with two requests
 * (timestamp, the next root) every few seconds (issue 12: ≤ 5 ms of CPU per refresh).
 */
export class HttpFetcher implements Fetcher {
  constructor(private readonly o: HttpFetcherOptions = {}) {}

  async fetch(url: string, maxLength: number): Promise<Buffer> {
    let current = url;
    for (let redirects = 0; ; redirects++) {
      const res = await this.open(current, url);
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && location !== undefined) {
        discard(res);
        if (redirects >= MAX_REDIRECTS) throw new DownloadError('NETWORK', `cannot connect: ${url} (more than ${MAX_REDIRECTS} redirects)`, url);
        current = new URL(location, current).href;
        continue;
      }
      return this.read(res, url, maxLength);
    }
  }

  /** The response to one GET, once its headers are in (or the connect timeout). */
  private open(target: string, url: string): Promise<IncomingMessage> {
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch (cause) {
      return Promise.reject(new DownloadError('NETWORK', `cannot connect: ${url}`, url, undefined, { cause }));
    }
    const get = parsed.protocol === 'https:' ? httpsGet : parsed.protocol === 'http:' ? httpGet : undefined;
    if (!get) return Promise.reject(new DownloadError('NETWORK', `cannot connect: ${url} (${parsed.protocol} is not HTTP)`, url));
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const req = get(parsed, { headers: { 'user-agent': this.o.userAgent ?? 'bulwark-client', 'accept-encoding': 'gzip, br' } }, (res) => {
        clearTimeout(connectTimeout);
        resolve(res);
      });
      const connectTimeout = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('timeout'));
      }, this.o.connectTimeoutMs ?? 10_000);
      req.on('error', (cause) => {
        clearTimeout(connectTimeout);
        reject(new DownloadError(timedOut ? 'TIMEOUT' : 'NETWORK', `${timedOut ? 'timed out' : 'cannot connect'}: ${url}`, url, undefined, { cause }));
      });
    });
  }

  private async read(res: IncomingMessage, url: string, maxLength: number): Promise<Buffer> {
    const status = res.statusCode ?? 0;
    if (status === 404 || status === 403) {
      discard(res);
      throw new DownloadError('NOT_FOUND', `not found (${status}): ${url}`, url, status);
    }
    if (status < 200 || status > 299) {
      discard(res);
      throw new DownloadError('HTTP', `HTTP ${status} from ${url}`, url, status);
    }
    const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (!encoding && Number.isFinite(declared) && declared > maxLength) {
      res.destroy();
      throw new DownloadError('LENGTH_EXCEEDED', `${url} is ${declared} bytes, more than the ${maxLength} allowed`, url, status);
    }
    const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'br' ? createBrotliDecompress() : encoding === 'deflate' ? createInflate() : undefined;
    const body: Readable = decoder ? res.pipe(decoder) : res;
    if (decoder) res.on('error', (e) => decoder.destroy(e));
    return this.readCapped(body, res, url, maxLength);
  }

  private readCapped(body: Readable, res: IncomingMessage, url: string, maxLength: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    const started = Date.now();
    const grace = this.o.graceMs ?? 5_000;
    const minSpeed = this.o.minBytesPerSecond ?? 4096;
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (error: DownloadError | undefined) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        if (error) {
          body.destroy();
          res.destroy();
          reject(error);
        } else resolve(Buffer.concat(chunks, total));
      };
      // The speed check also runs on a timer: a server that sends nothing at all must not hang us.
      const timer = setInterval(() => {
        const elapsed = Date.now() - started;
        if (elapsed > grace && total / (elapsed / 1000) < minSpeed) {
          finish(new DownloadError('TIMEOUT', `${url} is too slow (under ${minSpeed} bytes/s): possible slow-retrieval attack`, url, undefined, { cause: new Error('slow retrieval') }));
        }
      }, 250);
      body.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxLength) finish(new DownloadError('LENGTH_EXCEEDED', `${url} sent more than the ${maxLength} bytes allowed`, url));
        else chunks.push(chunk);
      });
      body.on('end', () => {
        // A connection cut before the length it announced is a failed download, not a short file.
        if (!res.complete) finish(new DownloadError('NETWORK', `download of ${url} failed: the connection closed early`, url));
        else finish(undefined);
      });
      body.on('error', (e) => finish(new DownloadError('NETWORK', `download of ${url} failed: ${e.message}`, url, undefined, { cause: e })));
      res.on('aborted', () => finish(new DownloadError('NETWORK', `download of ${url} failed: the connection closed early`, url)));
    });
  }
}
