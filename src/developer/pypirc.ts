// SPDX-License-Identifier: Apache-2.0
// Reads ~/.pypirc as twine does: `[distutils] index-servers = …`, then a section per server
// with `repository`, `username` and `password` (an API token with username __token__).
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface RepositoryConfig {
  repository: string;
  username?: string;
  password?: string;
}

export function parsePypirc(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*[#;]/.test(raw) || raw.trim() === '') continue;
    const section = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (section) {
      current = {};
      sections.set((section[1] as string).trim(), current);
      lastKey = undefined;
      continue;
    }
    if (!current) continue;
    if (/^\s/.test(raw) && lastKey) {
      current[lastKey] = `${current[lastKey] ?? ''}\n${raw.trim()}`; // continuation line
      continue;
    }
    const kv = /^\s*([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (kv) {
      lastKey = (kv[1] as string).toLowerCase();
      current[lastKey] = (kv[2] as string).trim();
    }
  }
  return sections;
}

/** The named repository from .pypirc (twine's defaults apply to `pypi`). */
export async function repositoryFromPypirc(name: string, path = process.env['PYPIRC'] ?? join(homedir(), '.pypirc')): Promise<RepositoryConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const section = parsePypirc(text).get(name);
  if (!section?.['repository']) return undefined;
  return {
    repository: section['repository'],
    ...(section['username'] ? { username: section['username'] } : {}),
    ...(section['password'] ? { password: section['password'] } : {}),
  };
}

/** The index base URL from an upload URL (`http://host/legacy/` → `http://host`). */
export function indexBaseUrl(repositoryUrl: string): string {
  return repositoryUrl.replace(/\/+$/, '').replace(/\/legacy$/, '');
}
