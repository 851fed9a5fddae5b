// SPDX-License-Identifier: Apache-2.0
// HTTP Basic credentials as twine sends them: user `__token__`, password an API token.
export function basicAuthPassword(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return decoded.slice(colon + 1);
}
