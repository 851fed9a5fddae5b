// Reads the output of `strace -f -y -o FILE` into system calls, each with the index of the line
// where it started and of the line where it returned. strace handles one stop at a time, so if
// call A's return line comes before call B's start line, A had completed before B began, even
// in two threads (libuv's pool does the file work): that is the order the durability checks use.
// A call interrupted by another thread's is printed in two lines:
//   123 fsync(23</data/public/metadata/.tmp-ab12cd> <unfinished ...>
//   123 <... fsync resumed>) = 0
// Hand-written: no npm library parses strace output.

export interface Syscall {
  pid: number;
  name: string;
  /** The arguments as strace printed them (with `-y` paths after file descriptors). */
  args: string;
  /** What it returned, e.g. `0`, `-1 ENOENT (No such file or directory)`, `23</path>`. */
  result: string;
  startLine: number;
  endLine: number;
}

const COMPLETE = /^(\d+) +([a-z0-9_]+)\((.*)\) += (.*)$/;
const UNFINISHED = /^(\d+) +([a-z0-9_]+)\((.*) <unfinished \.\.\.>$/;
const RESUMED = /^(\d+) +<\.\.\. ([a-z0-9_]+) resumed>(.*)\) += (.*)$/;

export function parseStraceLog(text: string): Syscall[] {
  const calls: Syscall[] = [];
  const pending = new Map<string, Syscall>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    let m = COMPLETE.exec(line);
    if (m) {
      calls.push({ pid: Number(m[1]), name: m[2] as string, args: m[3] as string, result: m[4] as string, startLine: i, endLine: i });
      return;
    }
    m = UNFINISHED.exec(line);
    if (m) {
      const call = { pid: Number(m[1]), name: m[2] as string, args: m[3] as string, result: '', startLine: i, endLine: -1 };
      pending.set(`${call.pid} ${call.name}`, call);
      calls.push(call);
      return;
    }
    m = RESUMED.exec(line);
    if (m) {
      const call = pending.get(`${m[1]} ${m[2]}`);
      if (!call) throw new Error(`strace line ${i + 1} resumes a call that never started: ${line}`);
      pending.delete(`${m[1]} ${m[2]}`);
      call.args += m[3];
      call.result = m[4] as string;
      call.endLine = i;
    }
    // Anything else: signals, exits, `= ?` of a call cut short by the process's end.
  });
  return calls.filter((c) => c.endLine >= 0);
}

/** The quoted strings among a call's arguments, unescaped: `rename("a", "b")` → ['a', 'b']. */
export function stringArgs(call: Syscall): string[] {
  return [...call.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => unescapeC(m[1] as string));
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', v: '\v', f: '\f' };

/** strace prints strings C-style: \" \\ \n, octal \33 and (with -x) hex \x1b. */
function unescapeC(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) =>
    e.startsWith('x') && e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : /^[0-7]+$/.test(e) ? String.fromCharCode(parseInt(e, 8)) : (ESCAPES[e] ?? e)
  );
}

/** The path `-y` printed after the call's first file descriptor: `fsync(23</a/b>)` → '/a/b'. */
export function fdPath(call: Syscall): string | undefined {
  return /^-?\d+<([^>]*)>/.exec(call.args)?.[1];
}

/** Whether the call succeeded (returned 0 or more). */
export function succeeded(call: Syscall): boolean {
  return !call.result.startsWith('-1') && call.result !== '?';
}
