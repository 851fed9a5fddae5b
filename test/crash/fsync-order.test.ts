// Durability below SIGKILL. A killed process leaves the page cache intact, so the crash-safety
// test cannot see a missing fsync; a power cut would. Here `bulwark serve` runs under
// `strace -f -y` (every thread: libuv's pool does the file work; `-y` prints the path of each
// file descriptor; UV_USE_IO_URING=0 keeps file calls as system calls strace can see). It takes
// a wheel and two sdists and publishes them, and the trace must show:
//  1. every file that enters the public tree (rename, link, linkat) was fsynced after its last
//     write and before it entered: the name never points at data that is not on disk;
//  2. the directory it entered was fsynced after that and before the upload it belongs to was
//     acknowledged (the distribution under targets/), or before the timestamp.json that
//     publishes it was written (metadata, pages, the snapshot Merkle tree's files its root names,
//     and the pip-facing name under files/, which the transaction makes), or before the process
//     ended (compressed copies of metadata);
//  3. every directory created in the public tree (a project's first file) was, in the same way,
//     made durable in its parent before its files count as acknowledged or published.
// fdatasync counts as fsync: it flushes a file's data and size, and a directory's entries.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { buildDist } from '../helpers/dists.js';
import { basicAuth, uploadForm } from '../helpers/index-under-test.js';
import { memorySdist } from '../helpers/memory-dists.js';
import { repoRoot, runBulwark, startProcess, tempDir } from '../helpers/processes.js';
import { MERKLE_FIELD, nodeFileName, parseMerkleField, readMerkleNodes, shardFileName, topFileName, type MerkleField } from '../../src/tuf/index.js';
import { fdPath, parseStraceLog, stringArgs, succeeded, type Syscall } from './syscall-trace.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const FILE_CALLS = ['openat', 'creat', 'write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'ftruncate', 'fsync', 'fdatasync'];
const NAME_CALLS = ['rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat', 'mkdir', 'mkdirat'];
const SOCKET_CALLS = ['sendto', 'sendmsg'];
const WRITES = new Set(['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'ftruncate']);
const SYNCS = new Set(['fsync', 'fdatasync']);
const ENTERS = new Set(['rename', 'renameat', 'renameat2', 'link', 'linkat']);

/** The path arguments of a call, made absolute (relative ones against their directory fd, or the cwd). */
function pathArgs(call: Syscall, cwd: string): string[] {
  return [...call.args.matchAll(/(?:(?:AT_FDCWD|-?\d+)<([^>]*)>, )?"((?:[^"\\]|\\.)*)"/g)].map((m) => {
    const p = JSON.parse(`"${m[2] as string}"`) as string; // paths here are plain ASCII
    return isAbsolute(p) ? p : resolve(m[1] ?? cwd, p);
  });
}

interface Span {
  start: number;
  end: number;
}

/** What happened to one file (inode): its writes and syncs, whatever names it had. */
interface FileRecord {
  writes: Span[];
  syncs: Span[];
}

/** Synced at `line`: an fsync finished before it, begun after every write that began before it. */
function syncedBefore(f: FileRecord, line: number): boolean {
  const lastWrite = Math.max(-1, ...f.writes.filter((w) => w.start < line).map((w) => w.end));
  return f.syncs.some((s) => s.end < line && s.start > lastWrite);
}

interface Entry {
  call: Syscall;
  from: string;
  to: string;
}

/** Replays the trace: which file each name held when, every fsync of every path. */
function replay(calls: Syscall[], preexisting: ReadonlySet<string>, publicDir: string, cwd: string) {
  const byName = new Map<string, FileRecord>();
  const syncsOfPath = new Map<string, Span[]>();
  const problems: string[] = [];
  const entries: Entry[] = [];
  const mkdirs: { call: Syscall; dir: string }[] = [];
  const fileAt = (path: string): FileRecord => {
    let f = byName.get(path);
    if (!f) byName.set(path, (f = { writes: [], syncs: [] }));
    return f;
  };
  // Events in the order strace saw them: a call's effects count from its return line.
  for (const call of [...calls].sort((a, b) => a.endLine - b.endLine)) {
    if (!succeeded(call)) continue;
    const span = { start: call.startLine, end: call.endLine };
    if (WRITES.has(call.name) || SYNCS.has(call.name)) {
      const path = fdPath(call);
      if (!path?.startsWith('/')) continue; // sockets, pipes
      if (WRITES.has(call.name)) fileAt(path).writes.push(span);
      else {
        fileAt(path).syncs.push(span);
        syncsOfPath.set(path, [...(syncsOfPath.get(path) ?? []), span]);
      }
    } else if (call.name === 'openat' || call.name === 'creat') {
      if (/O_TRUNC/.test(call.args)) {
        const path = /^\d+<([^>]*)>/.exec(call.result)?.[1];
        if (path) byName.set(path, { writes: [span], syncs: [] });
      }
    } else if (ENTERS.has(call.name)) {
      const [from, to] = pathArgs(call, cwd) as [string, string];
      if (to.startsWith(`${publicDir}/`)) {
        entries.push({ call, from, to });
        const f = byName.get(from);
        if (!f && !preexisting.has(from)) problems.push(`line ${call.startLine + 1}: ${call.name} of ${from}, a file the trace never saw written`);
        else if (f && !syncedBefore(f, call.startLine)) problems.push(`line ${call.startLine + 1}: ${basename(to)} entered ${dirname(to)} before its data was fsynced (${call.name} from ${basename(from)})`);
      }
      const f = byName.get(from);
      if (f) byName.set(to, f);
      if (call.name.startsWith('rename')) byName.delete(from);
    } else if (call.name === 'unlink' || call.name === 'unlinkat') {
      byName.delete(pathArgs(call, cwd)[0] as string);
    } else if (call.name === 'mkdir' || call.name === 'mkdirat') {
      const dir = pathArgs(call, cwd)[0] as string;
      if (dir.startsWith(`${publicDir}/`)) mkdirs.push({ call, dir });
    }
  }
  return { problems, entries, mkdirs, syncsOfPath };
}

/** The bytes written to the temporary file that became timestamp.json (the trace holds them: -s 4096). */
function timestampBytes(calls: Syscall[], tmp: string): string {
  const write = calls.find((c) => c.name === 'write' && fdPath(c) === tmp);
  const bytes = write && stringArgs(write)[0];
  assert.ok(bytes, `the trace holds what was written to ${tmp}`);
  return bytes;
}

/** Every file of the snapshot Merkle tree this field names: its top file, its node files, its shards. */
async function treeFiles(publicDir: string, field: MerkleField): Promise<string[]> {
  const file = (name: string) => join(publicDir, 'metadata', 'merkle', name);
  const { nodes, shards } = await readMerkleNodes(field, async (name, verify) => verify(await readFile(file(name))));
  return [file(topFileName(field.root)), ...nodes.flat().map((n) => file(nodeFileName(n))), ...shards.map((s) => file(shardFileName(s)))];
}

/**
 * Every file of the public tree a timestamp publishes: its snapshot, the roles it lists, their
 * targets, and every file of the Merkle tree its root names (clients in Merkle mode read those
 * instead of the snapshot).
 */
async function publishedBy(publicDir: string, timestamp: string): Promise<Set<string>> {
  const signedOf = async (file: string) => (JSON.parse(await readFile(join(publicDir, 'metadata', file), 'utf8')) as { signed: Record<string, any> }).signed;
  const signed = (JSON.parse(timestamp) as { signed: { meta: { 'snapshot.json': { version: number } }; [MERKLE_FIELD]?: unknown } }).signed;
  const snapshotVersion = signed.meta['snapshot.json'].version;
  const out = new Set([join(publicDir, 'metadata', `${snapshotVersion}.snapshot.json`)]);
  const merkle = signed[MERKLE_FIELD];
  if (merkle) for (const f of await treeFiles(publicDir, parseMerkleField(merkle))) out.add(f);
  for (const [name, entry] of Object.entries((await signedOf(`${snapshotVersion}.snapshot.json`))['meta'] as Record<string, { version: number }>)) {
    const file = `${entry.version}.${name}`;
    out.add(join(publicDir, 'metadata', file));
    for (const [path, target] of Object.entries((await signedOf(file))['targets'] as Record<string, { hashes: { sha256: string } }>)) {
      const slash = path.lastIndexOf('/');
      out.add(join(publicDir, 'targets', path.slice(0, slash), `${target.hashes.sha256}.${path.slice(slash + 1)}`));
    }
  }
  return out;
}

describe('durability below SIGKILL: the order of fsyncs (strace)', () => {
  it('fsyncs every public file before it enters the tree, and its directory before the ack or the timestamp', { timeout: 180_000 }, async (t) => {
    const work = await tempDir('fsync-order');
    const dataDir = join(work, 'data');
    const publicDir = join(dataDir, 'public');
    const tracePath = join(work, 'strace.txt');
    assert.equal((await runBulwark(['--data', dataDir, 'init', '--bins', '16'])).code, 0);
    const token = (JSON.parse((await runBulwark(['--data', dataDir, 'user', 'add', 'fsync', '--json'])).stdout) as { token: string }).token;
    const [wheel] = await buildDist({ name: 'durable-wheel', version: '1.0', kind: 'wheel', outDir: work });
    const uploads = [
      { project: 'durable-wheel', version: '1.0', filetype: 'bdist_wheel', filename: basename(wheel as string), bytes: await readFile(wheel as string) },
      ...[1, 2].map((n) => ({ project: `durable-sdist${n}`, version: '1.0', filetype: 'sdist', ...memorySdist({ name: `durable-sdist${n}`, version: '1.0' }) })),
    ];
    const preexisting = new Set((await readdir(dataDir, { recursive: true })).map((p) => join(dataDir, p)));

    const server = await startProcess(
      'strace',
      ['-f', '-y', '-qq', '-s', '4096', '-o', tracePath, '-e', `trace=${[...FILE_CALLS, ...NAME_CALLS, ...SOCKET_CALLS].join(',')}`,
        process.execPath, join(repoRoot, 'bin', 'bulwark.js'), 'serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0', '--log-level', 'error'],
      { env: { ...process.env, UV_USE_IO_URING: '0' }, ready: /listening on (http:\/\/127\.0\.0\.1:(\d+))/, timeoutMs: 60_000 }
    );
    const seqs: number[] = [];
    for (const u of uploads) {
      // ?wait=0: acknowledged once journaled, so the ack and the publication are apart in the trace.
      const res = await fetch(`${server.url}/legacy/?wait=0`, {
        method: 'POST',
        headers: { authorization: basicAuth(token) },
        body: uploadForm({ ':action': 'file_upload', name: u.project, version: u.version, filetype: u.filetype, pyversion: 'py3', sha256_digest: sha256(u.bytes) }, { name: u.filename, bytes: u.bytes }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      seqs.push((JSON.parse(text) as { transaction: number }).transaction);
    }
    for (const seq of seqs) {
      for (;;) {
        const r = (await (await fetch(`${server.url}/api/v1/transactions/${seq}`)).json()) as { status: string };
        if (r.status === 'published') break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // A clean stop of Bulwark alone (its pid is the trace's first): strace follows it to its end.
    const nodePid = Number(/^(\d+) /.exec(await readFile(tracePath, 'utf8'))?.[1]);
    const exited = new Promise<void>((r) => (server.proc.exitCode !== null ? r() : server.proc.once('exit', () => r())));
    const keepAlive = setInterval(() => undefined, 1000); // the helper unrefs its children
    process.kill(nodePid, 'SIGTERM');
    await exited;
    clearInterval(keepAlive);

    const text = await readFile(tracePath, 'utf8');
    const calls = parseStraceLog(text);
    const lastLine = text.split('\n').length;
    const { problems, entries, mkdirs, syncsOfPath } = replay(calls, preexisting, publicDir, repoRoot);

    // When each upload was acknowledged: its response's status line went out on the socket.
    const socketWrites = calls.filter((c) => (c.name.startsWith('write') || SOCKET_CALLS.includes(c.name)) && !fdPath(c)?.startsWith('/'));
    const ackLine = new Map<string, number>();
    for (const u of uploads) {
      const body = socketWrites.find((c) => c.args.includes(`\\"filename\\":\\"${u.filename}\\"`));
      assert.ok(body, `the response to the upload of ${u.filename} is in the trace`);
      const status = socketWrites.filter((c) => fdPath(c) === fdPath(body) && c.startLine <= body.startLine && c.args.includes('HTTP/1.1 200')).pop();
      assert.ok(status, `the status line of the response to ${u.filename} is in the trace`);
      ackLine.set(u.filename, status.startLine);
    }
    // What each timestamp.json written published: its snapshot, the roles that lists, and the
    // targets those list (read back from the tree; the timestamp's bytes are in the trace).
    const timestampWrites = await Promise.all(
      entries
        .filter((e) => e.to === join(publicDir, 'metadata', 'timestamp.json'))
        .map(async (e) => ({ line: e.call.startLine, publishes: await publishedBy(publicDir, timestampBytes(calls, e.from)) }))
    );

    /**
     * The line by which `path`, entered at `line`, must be durable: an upload's file under
     * targets/, its ack; a published file, the timestamp.json that publishes it; a pip-facing
     * name under files/ (made when the upload is applied), the timestamp that publishes the
     * target it names.
     */
    const deadline = (path: string, line: number): { line: number; what: string } => {
      const [area, project] = path.slice(publicDir.length + 1).split('/') as [string, string | undefined];
      const file = basename(path);
      const upload = uploads.find((u) => file.endsWith(u.filename) || file.endsWith(`${u.filename}.metadata`));
      const ack = upload && area === 'targets' ? { line: ackLine.get(upload.filename) as number, what: `the ack of ${upload.filename}` } : undefined;
      const publishes = area === 'files' ? (p: string) => p.startsWith(`${join(publicDir, 'targets', project ?? '')}/`) && p.endsWith(`.${file}`) : (p: string) => p === path;
      const ts = timestampWrites.find((w) => [...w.publishes].some(publishes));
      if (ts && ts.line < line) problems.push(`line ${ts.line + 1}: timestamp.json published ${path} before it entered the tree (line ${line + 1})`);
      const published = ts && { line: ts.line, what: 'the timestamp.json that publishes it' };
      const first = [ack, published].filter((d) => d !== undefined).sort((a, b) => a.line - b.line)[0];
      return first ?? { line: lastLine, what: 'the end of the process' };
    };
    const dirSyncedBetween = (dir: string, after: number, before: number) => (syncsOfPath.get(dir) ?? []).some((s) => s.start > after && s.end < before);

    for (const e of entries) {
      const d = deadline(e.to, e.call.endLine);
      if (!dirSyncedBetween(dirname(e.to), e.call.endLine, d.line)) {
        problems.push(`line ${e.call.startLine + 1}: ${dirname(e.to)} was not fsynced between the ${e.call.name} of ${basename(e.to)} and ${d.what} (line ${d.line + 1})`);
      }
    }
    for (const m of mkdirs) {
      const inside = entries.filter((e) => e.to.startsWith(`${m.dir}/`) && e.call.startLine > m.call.endLine);
      const by = Math.min(...inside.map((e) => deadline(e.to, e.call.endLine).line), lastLine);
      if (!dirSyncedBetween(dirname(m.dir), m.call.endLine, by)) {
        problems.push(`line ${m.call.startLine + 1}: ${dirname(m.dir)} was not fsynced after ${basename(m.dir)}/ was created in it, before its files were acknowledged or published (line ${by + 1})`);
      }
    }

    const count = (area: string) => entries.filter((e) => e.to.startsWith(join(publicDir, area) + '/')).length;
    const published = new Set(timestampWrites.flatMap((w) => [...w.publishes]));
    t.diagnostic(`${calls.length} calls traced; entered the public tree: ${count('targets')} targets, ${count('files')} files, ${count('metadata')} metadata (${timestampWrites.length} timestamp.json, publishing ${published.size} files); ${mkdirs.length} directories created`);
    // The trace saw the whole path, so the checks above had something to check.
    assert.ok(count('targets') >= 3 + 3 * 2 && count('files') >= 4 && count('metadata') >= 3 && mkdirs.length >= 6, 'the trace shows the uploads and the publication');
    for (const u of uploads) assert.ok([...published].some((p) => p.endsWith(`.${u.filename}`)), `a timestamp.json in the trace publishes ${u.filename}`);
    // The write-ordering invariant of a publication (src/repository/snapshot-process.ts): the
    // timestamp never names a tree whose files are not durable. The checks above cover every
    // tree file the trace saw enter; here, that the trace saw the trees the timestamps name.
    const merkleDir = join(publicDir, 'metadata', 'merkle');
    const treeEntries = entries.filter((e) => dirname(e.to) === merkleDir && published.has(e.to));
    assert.ok(treeEntries.some((e) => e.to.endsWith('.tree.json')) && treeEntries.some((e) => e.to.endsWith('.shard.json')), 'the trace shows the Merkle files the timestamps name entering the tree');
    assert.deepEqual(problems, []);
  });
});
