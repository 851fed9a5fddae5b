// SPDX-License-Identifier: Apache-2.0
// The transport port of the client: fetch a URL's bytes with an upper bound on their length
// and on the time they take. Everything fetched is hostile until the updater verifies it;
// this layer only makes sure a server can neither send endless data nor drip it slowly.
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

export class HttpFetcher implements Fetcher {
  constructor(private readonly o: HttpFetcherOptions = {}) {}

  async fetch(url: string, maxLength: number): Promise<Buffer> {
    const controller = new AbortController();
    const connectTimeout = setTimeout(() => controller.abort(new Error('timeout')), this.o.connectTimeoutMs ?? 10_000);
    let res: Response;
    try {
      res = await fetch(url, {
        signal: controller.signal,
        redirect: 'follow',
        headers: { 'user-agent': this.o.userAgent ?? 'bulwark-client', 'accept-encoding': 'gzip, br' },
      });
    } catch (cause) {
      clearTimeout(connectTimeout);
      const timedOut = controller.signal.aborted;
      throw new DownloadError(timedOut ? 'TIMEOUT' : 'NETWORK', `${timedOut ? 'timed out' : 'cannot connect'}: ${url}`, url, undefined, { cause });
    }
    clearTimeout(connectTimeout);
    if (res.status === 404 || res.status === 403) {
      await res.body?.cancel();
      throw new DownloadError('NOT_FOUND', `not found (${res.status}): ${url}`, url, res.status);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new DownloadError('HTTP', `HTTP ${res.status} from ${url}`, url, res.status);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (!res.headers.get('content-encoding') && Number.isFinite(declared) && declared > maxLength) {
      await res.body.cancel();
      throw new DownloadError('LENGTH_EXCEEDED', `${url} is ${declared} bytes, more than the ${maxLength} allowed`, url, res.status);
    }
    return this.readCapped(res.body, url, maxLength, controller);
  }

  private async readCapped(body: ReadableStream<Uint8Array>, url: string, maxLength: number, controller: AbortController): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const started = Date.now();
    const grace = this.o.graceMs ?? 5_000;
    const minSpeed = this.o.minBytesPerSecond ?? 4096;
    // The speed check also runs on a timer: a server that sends nothing at all must not hang us.
    let slow = false;
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed > grace && total / (elapsed / 1000) < minSpeed) {
        slow = true;
        controller.abort(new Error('slow retrieval'));
      }
    }, 250);
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxLength) {
          await reader.cancel();
          throw new DownloadError('LENGTH_EXCEEDED', `${url} sent more than the ${maxLength} bytes allowed`, url);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      if (slow) throw new DownloadError('TIMEOUT', `${url} is too slow (under ${minSpeed} bytes/s): possible slow-retrieval attack`, url, undefined, { cause: e });
      throw new DownloadError('NETWORK', `download of ${url} failed: ${(e as Error).message}`, url, undefined, { cause: e });
    } finally {
      clearInterval(timer);
    }
    return Buffer.concat(chunks, total);
  }
}
