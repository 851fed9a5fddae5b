// SPDX-License-Identifier: Apache-2.0
// A browser's part in the page tests without a browser: a cookie jar over fetch. Paths are
// resolved against the client's base URL; an absolute URL goes to another server with the same
// cookies (the servers of one index on PostgreSQL share sessions).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';

/** A cookie jar over fetch, redirects not followed. */
export class Client {
  readonly cookies = new Map<string, string>();
  lastSetCookies: string[] = [];
  /** `localAddress` (e.g. 127.0.0.2): connect from that loopback address, to be another client address. */
  constructor(
    private readonly base: string,
    private readonly localAddress?: string
  ) {}

  async request(path: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: Headers }> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const method = init.method ?? (init.form ? 'POST' : 'GET');
    const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    const res = this.localAddress
      ? await fromAddress(this.localAddress, new URL(path, this.base), method, headers, body)
      : await fetch(new URL(path, this.base), { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const c of this.lastSetCookies) {
      const [pair] = c.split(';');
      const eq = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, eq);
      const value = (pair as string).slice(eq + 1);
      if (value === '' || /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, body: await res.text(), headers: res.headers };
  }

  static csrf(body: string): string {
    const m = /name="csrf_token" value="([^"]*)"/.exec(body);
    assert.ok(m, 'the page has a form with a CSRF token');
    return m[1] as string;
  }

  async login(user: string, password: string): Promise<{ status: number; body: string; headers: Headers }> {
    const page = await this.request('/account/login/');
    return this.request('/account/login/', { form: { csrf_token: Client.csrf(page.body), next: '/manage/account/', username: user, password } });
  }
}

/** fetch() cannot pick its source address: one request over node:http from `localAddress`. */
function fromAddress(localAddress: string, url: URL, method: string, headers: Record<string, string>, body: string | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: h }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
