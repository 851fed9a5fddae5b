// Keys and signatures from an independent TUF implementation: test/fixtures/sslib_tuf.py on
// Debian's python3-securesystemslib, one long-lived process per test file, one JSON line per
// request. Nothing here uses Bulwark's own crypto or canonical JSON.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { join } from 'node:path';
import { repoRoot } from './processes.js';

/** Debian's interpreter: the pyenv python on PATH does not see Debian's python3-* packages. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

export type SslibKeyType = 'ed25519' | 'ecdsa' | 'rsa';
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface SslibVector {
  name: string;
  key: { keytype: string; scheme: string; keyval: { public: string } };
  keyid: string;
  data: string; // hex
  sig: string; // hex
}

export class Sslib {
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('exit', (code) => {
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `sslib_tuf.py exited (${code}): ${stderr}` }));
    });
  }

  static start(): Sslib {
    return new Sslib(spawn(DEBIAN_PYTHON, [join(repoRoot, 'test', 'fixtures', 'sslib_tuf.py')], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Answers come back in request order, so a FIFO of resolvers matches them up. */
  private async request<T>(req: Json): Promise<T> {
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    });
    const parsed = JSON.parse(line) as T & { error?: string };
    if (parsed.error) throw new Error(`securesystemslib: ${parsed.error}`);
    return parsed;
  }

  async vectors(): Promise<SslibVector[]> {
    return (await this.request<{ vectors: SslibVector[] }>({ op: 'vectors' })).vectors;
  }

  /** A new key named `name`, as TUF metadata lists it (with `extra` fields), and its key id. */
  key(name: string, type: SslibKeyType, extra: { [k: string]: Json } = {}): Promise<{ keyid: string; key: { [k: string]: Json } }> {
    return this.request({ op: 'key', name, type, extra });
  }

  /** A metadata file: `signed`'s canonical JSON (securesystemslib's) signed by the named keys. */
  async sign(signed: Json, keys: readonly string[]): Promise<string> {
    return (await this.request<{ text: string }>({ op: 'sign', signed, keys: [...keys] })).text;
  }

  /** The key ids whose signatures on a metadata file securesystemslib accepts (json.loads reads it). */
  async verifyFile(text: string, keys: { [keyid: string]: Json }): Promise<string[]> {
    return (await this.request<{ valid: string[] }>({ op: 'verify_file', text, keys })).valid;
  }

  close(): void {
    this.child.stdin.end();
    this.lines.close();
  }
}
