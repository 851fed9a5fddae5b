// SPDX-License-Identifier: Apache-2.0
// The developer's side of the PEP 480 API: send a claim or a signed upload to the index.
import { readFile } from 'node:fs/promises';

export class IndexApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'IndexApiError';
  }
}

export interface TransactionResult {
  ok: true;
  project: string;
  transaction: number;
  status: 'published' | 'pending';
  snapshot_version: number | null;
}

async function post(url: string, token: string, form: FormData): Promise<TransactionResult> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new IndexApiError(0, 'NETWORK', `cannot reach ${new URL(url).origin}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } } & Partial<TransactionResult>;
  if (!res.ok) throw new IndexApiError(res.status, body.error?.code ?? 'HTTP', body.error?.message ?? `${res.status} ${res.statusText}`);
  return body as TransactionResult;
}

export function sendClaim(indexUrl: string, token: string, project: string, claim: { keys: unknown[]; threshold: number }, role: Buffer, pages: { name: string; bytes: Buffer }[]): Promise<TransactionResult> {
  const form = new FormData();
  form.append('claim', JSON.stringify(claim));
  form.append('role', new Blob([role]), 'role.json');
  for (const p of pages) form.append('page', new Blob([p.bytes]), p.name);
  return post(`${indexUrl}/api/v1/projects/${encodeURIComponent(project)}/claim`, token, form);
}

export async function sendSignedUpload(
  indexUrl: string,
  token: string,
  project: string,
  role: Buffer,
  files: { path: string; filename: string }[],
  pages: { name: string; bytes: Buffer }[],
  attestations: { name: string; bytes: Buffer }[] = []
): Promise<TransactionResult> {
  const form = new FormData();
  form.append('role', new Blob([role]), 'role.json');
  for (const p of pages) form.append('page', new Blob([p.bytes]), p.name);
  for (const a of attestations) form.append('attestation', new Blob([a.bytes]), a.name);
  for (const f of files) form.append('content', new Blob([await readFile(f.path)]), f.filename);
  return post(`${indexUrl}/api/v1/projects/${encodeURIComponent(project)}/signed-upload`, token, form);
}
