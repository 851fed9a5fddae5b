// SPDX-License-Identifier: Apache-2.0
// Where a passphrase comes from, so that every command also runs without a terminal:
// --passphrase-fd N, then $BULWARK_PASSPHRASE, then a prompt on the terminal (not echoed).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError, EXIT } from './context.js';

export interface PassphraseOptions {
  passphraseFd?: string;
}

export async function readPassphrase(o: PassphraseOptions, prompt: string, confirm = false): Promise<string> {
  if (o.passphraseFd !== undefined) {
    const fd = Number(o.passphraseFd);
    if (!Number.isInteger(fd) || fd < 0) throw new CliError('--passphrase-fd takes a file descriptor number', EXIT.usage, 'USAGE');
    return readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
  }
  const env = process.env['BULWARK_PASSPHRASE'];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new CliError('no passphrase: set BULWARK_PASSPHRASE or use --passphrase-fd N (no terminal to ask on)', EXIT.usage, 'NO_PASSPHRASE');
  const ask = async (q: string) => {
    let muted = false;
    const output = new Writable({ write: (chunk: Buffer, _enc, cb) => (muted ? cb() : process.stderr.write(chunk, () => cb())) });
    const rl = createInterface({ input: process.stdin, output, terminal: true });
    const answer = new Promise<string>((resolve) => rl.question(q, resolve));
    muted = true;
    const value = await answer;
    rl.close();
    process.stderr.write('\n');
    return value;
  };
  const first = await ask(prompt);
  if (confirm && (await ask('Again, to confirm: ')) !== first) throw new CliError('the passphrases differ', EXIT.usage, 'USAGE');
  return first;
}

export const PASSPHRASE_OPTION = ['--passphrase-fd <n>', 'read the passphrase from this file descriptor (else $BULWARK_PASSPHRASE, else a prompt)'] as const;
