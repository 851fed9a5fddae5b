// SPDX-License-Identifier: Apache-2.0
// On a real terminal (a pseudo-terminal driven by Python's pty module), `bulwark key new` shows
// each prompt before the user types, and never echoes the passphrase.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, tempDir } from '../helpers/processes.js';
import { runPython } from '../helpers/python-tools.js';

// Types each answer only once its prompt has appeared; prints the transcript and exit status as JSON.
const DRIVER = String.raw`
import json, os, pty, select, sys, time
argv, env, steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execve(argv[0], argv, env)
out = b''
def read_until(marker, limit=30):
    global out
    deadline = time.time() + limit
    while marker not in out and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
    return marker in out
ok = True
for prompt, answer in steps:
    if not read_until(prompt.encode()):
        ok = False
        break
    os.write(fd, answer.encode() + b'\r')
read_until(b'\0', 30)  # the rest, until the child closes the terminal
_, status = os.waitpid(pid, 0)
print(json.dumps({'ok': ok, 'transcript': out.decode('utf-8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
`;

describe('prompts on a terminal', () => {
  it('key new shows both prompts and does not echo the passphrase', async () => {
    const keys = await tempDir('tty-keys');
    const secret = 'typed on a real terminal';
    const argv = [process.execPath, join(repoRoot, 'bin', 'bulwark.js'), 'key', 'new', 'tty', '--random'];
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: keys, BULWARK_KEYS_DIR: keys, TERM: 'xterm' };
    const steps = [
      ['Passphrase for the new key: ', secret],
      ['Again, to confirm: ', secret],
    ];
    const r = await runPython(['-c', DRIVER, JSON.stringify([argv, env, steps])]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { ok: boolean; transcript: string; code: number };
    assert.ok(result.ok, `a prompt never appeared; the terminal showed: ${JSON.stringify(result.transcript)}`);
    assert.equal(result.code, 0, result.transcript);
    assert.match(result.transcript, /Made encrypted key tty/);
    assert.ok(!result.transcript.includes(secret), `the passphrase was echoed: ${JSON.stringify(result.transcript)}`);
    await access(join(keys, 'tty.json'));
  });
});
