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
  const first = await askHidden(prompt);
  if (confirm && (await askHidden('Again, to confirm: ')) !== first) throw new CliError('the passphrases differ', EXIT.usage, 'USAGE');
  return first;
}

/**
 * Reads one line from the terminal without echoing it. The prompt goes to standard error
 * directly, and everything readline writes (its redraw of the prompt, the
 * characters typed) goes to a sink. Muting readline's output after question() instead lost
 * the prompt on a real terminal: readline writes it in several pieces, and all but the first
 * were still queued when the mute came on. Node's readline does the line editing; what it
 * lacks is only this, so no library for it.
 */
export async function askHidden(prompt: string): Promise<string> {
  const sink = new Writable({ write: (_chunk: Buffer, _enc, cb) => cb() });
  // Raw mode (no echo) is on once the interface exists: only then may the user see the prompt,
  // or what they type at once would be echoed by the terminal.
  const rl = createInterface({ input: process.stdin, output: sink, terminal: true });
  process.stderr.write(prompt);
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => reject(new CliError('no answer (end of input)', EXIT.usage, 'NO_PASSPHRASE')));
      // Raw mode turns Ctrl-C into a key: put the terminal back, then die of SIGINT as usual.
      rl.once('SIGINT', () => {
        rl.close();
        process.stderr.write('\n');
        process.kill(process.pid, 'SIGINT');
      });
    });
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

export const PASSPHRASE_OPTION = ['--passphrase-fd <n>', 'read the passphrase from this file descriptor (else $BULWARK_PASSPHRASE, else a prompt)'] as const;
