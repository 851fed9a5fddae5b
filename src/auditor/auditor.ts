// SPDX-License-Identifier: Apache-2.0
// `bulwark auditor`'s loop body: follow the index's timestamps, verify each new tree against the
// last one verified (tree-audit.ts), and only then sign and upload a statement. Its state lives
// in its own directory, written atomically:
//
//   DIR/root.json              the trusted root (seeded from --root, then followed N+1 by N+1)
//   DIR/state.json             the last verified tree's root (its timestamp field), its timestamp
//                              version, the timestamp keys it was verified under, statement version
//                              (a few hundred bytes, whatever the number of shards)
//   DIR/timestamp.json         the last verified timestamp, for the operator (a re-signed statement
//                              embeds the timestamp just fetched and checked again)
//   DIR/groups/, DIR/shards/   the verified top, node and shard files of that tree, named by
//                              their hashes (tree-store.ts): the next comparison's baseline
//
// A refused tree changes nothing here: the next tree is checked against the last good one.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpFetcher, type Fetcher } from '../client/fetcher.js';
import { writeFileAtomic } from '../storage/atomic-write.js';
import {
  DownloadError,
  MERKLE_FIELD,
  MerkleMalformedError,
  Metadata,
  parseMerkleField,
  RepositoryError,
  TrustedMetadataSet,
  type MerkleField,
  type Signer,
  type Timestamp,
} from '../tuf/index.js';
import { auditTree, type VerifiedTree } from './tree-audit.js';
import { AuditorStateError, StateIo, TreeStore, type IoCount } from './tree-store.js';
import { DEFAULT_STATEMENT_EXPIRY_SECONDS, signStatement } from './statement.js';

const TIMESTAMP_MAX_LENGTH = 16_384;
const ROOT_MAX_LENGTH = 512_000;
const MAX_ROOT_ROTATIONS = 32;

export { AuditorStateError };

interface AuditorState {
  format: 'bulwark-auditor-state';
  /** Key ids of the timestamp role the history was verified under: a change resets it (TAP 16). */
  timestampKeyids: string[];
  timestampVersion: number;
  /** The last verified tree (its files are in groups/ and shards/), or null before the first. */
  field: MerkleField | null;
  statementVersion: number;
  /** When the last uploaded statement expires (ISO), to re-sign in time when nothing changes. */
  statementExpires: string | null;
}

export interface AuditorOptions {
  dir: string;
  indexUrl: string;
  signer: Signer;
  /** The auditor's upload token (bulwark auditor token KEYID, on the index). */
  token: string;
  /** Where statements go (tests); default PUT /api/audit/<keyid> on the index with the token. */
  publish?: (statement: Buffer) => Promise<void>;
  statementExpirySeconds?: number;
  fetcher?: Fetcher;
  now?: () => Date;
  log?: (line: string) => void;
}

/** What one poll fetched from the index and read from and wrote to its state directory. */
export interface PollIo {
  fetched: IoCount;
  stateRead: IoCount;
  stateWritten: IoCount;
}

export type AuditOutcome =
  | { status: 'signed'; timestampVersion: number; root: string; changedShards: number; statementVersion: number; reason: 'new tree' | 'refresh'; io: PollIo }
  | { status: 'unchanged'; timestampVersion: number; root: string; io: PollIo };

/** Whether a stored field is a tree of the current layout (or none). */
function isCurrentLayout(field: unknown): boolean {
  if (field === null || field === undefined) return true;
  try {
    parseMerkleField(field);
    return true;
  } catch (e) {
    if (e instanceof RepositoryError) return false;
    throw e;
  }
}

/** state.json as auditors before tree-store.ts wrote it: every group and shard hash in it (its history is restarted, not read). */
interface LegacyState extends Omit<AuditorState, 'field'> {
  tree?: VerifiedTree | null;
}

export class Auditor {
  private readonly fetcher: Fetcher;
  private readonly now: () => Date;
  private readonly io = new StateIo();
  private fetched: IoCount = { files: 0, bytes: 0 };
  private readonly store: TreeStore;

  constructor(private readonly o: AuditorOptions) {
    const inner = o.fetcher ?? new HttpFetcher({ userAgent: 'bulwark-auditor' });
    this.fetcher = {
      fetch: async (url, max) => {
        const bytes = await inner.fetch(url, max);
        this.fetched = { files: this.fetched.files + 1, bytes: this.fetched.bytes + bytes.length };
        return bytes;
      },
    };
    this.now = o.now ?? (() => new Date());
    this.store = new TreeStore(o.dir, this.io);
  }

  /** Seeds the trusted root (first run only: later runs keep the newest root they verified). */
  static async init(dir: string, rootBytes: Buffer | undefined): Promise<void> {
    await TreeStore.prepare(dir);
    const have = await readFile(join(dir, 'root.json')).catch(() => undefined);
    if (have) return;
    if (!rootBytes) throw new AuditorStateError(`${dir} holds no trusted root yet: pass --root ROOT.json (the index's pinned root)`);
    new TrustedMetadataSet(rootBytes); // verifies it against itself
    await writeFileAtomic(join(dir, 'root.json'), rootBytes);
  }

  private url(path: string): string {
    return `${this.o.indexUrl.replace(/\/+$/, '')}/metadata/${path}`;
  }

  private async loadState(): Promise<AuditorState> {
    const path = join(this.o.dir, 'state.json');
    const bytes = await this.io.readFile(path).catch(() => undefined);
    if (!bytes) return { format: 'bulwark-auditor-state', timestampKeyids: [], timestampVersion: 0, field: null, statementVersion: 0, statementExpires: null };
    const state = JSON.parse(bytes.toString('utf8')) as AuditorState & LegacyState;
    if (state.format !== 'bulwark-auditor-state') throw new AuditorStateError(`${path} is not an auditor state file`);
    if (state.tree !== undefined || !isCurrentLayout(state.field)) {
      // Written before tree-store.ts, or a tree of the two-level layout (before node levels): a
      // baseline this auditor cannot read. The history starts again, as after a key rotation.
      const { tree: _tree, ...rest } = state;
      this.o.log?.('the stored tree is of an earlier layout: the history of verified trees starts again');
      const restarted: AuditorState = { ...rest, field: null, timestampVersion: 0 };
      await this.io.write(path, JSON.stringify(restarted), true);
      return restarted;
    }
    return state;
  }

  /** The trusted root after following the index's root rotations (each verified by the one before). */
  private async updateRoot(): Promise<TrustedMetadataSet> {
    const set = new TrustedMetadataSet(await this.io.readFile(join(this.o.dir, 'root.json')), { now: this.now() });
    for (let i = 0; i < MAX_ROOT_ROTATIONS; i++) {
      let bytes: Buffer;
      try {
        bytes = await this.fetcher.fetch(this.url(`${set.root.signed.version + 1}.root.json`), ROOT_MAX_LENGTH);
      } catch (e) {
        if (e instanceof DownloadError && e.code === 'NOT_FOUND') break;
        throw e;
      }
      set.updateRoot(bytes);
      await this.io.write(join(this.o.dir, 'root.json'), bytes, true);
      this.o.log?.(`root ${set.root.signed.version} verified and trusted`);
    }
    return set;
  }

  /**
   * One poll: verify the newest timestamp's tree if it is new, then sign and upload a statement
   * for it (or re-sign the last one when half its life has passed).
   * @throws RepositoryError (MERKLE_*, a timestamp that does not verify or goes back: nothing
   *   signed), DownloadError, StatementUploadError.
   */
  async poll(): Promise<AuditOutcome> {
    this.io.reset();
    this.fetched = { files: 0, bytes: 0 };
    const state = await this.loadState();
    const set = await this.updateRoot();
    const tsBytes = await this.fetcher.fetch(this.url('timestamp.json'), TIMESTAMP_MAX_LENGTH);
    const ts = set.updateTimestamp(tsBytes); // signed by root's timestamp keys, not expired
    const keyids = [...(set.root.signed.roles.get('timestamp')?.keyids ?? [])].sort();
    const reset = state.field !== null && keyids.join(',') !== state.timestampKeyids.join(',');
    if (reset) {
      // TAP 16: versions may restart under a new timestamp key; the history restarts with it.
      this.o.log?.('root changed the timestamp keys: the history of verified trees starts again');
      state.field = null;
      state.timestampVersion = 0;
    }
    const raw = ts.signed.unrecognized[MERKLE_FIELD];
    if (raw === undefined) throw new MerkleMalformedError(`timestamp ${ts.signed.version} names no Merkle tree (${MERKLE_FIELD}): nothing to audit`);
    const field = parseMerkleField(raw);
    if (ts.signed.version < state.timestampVersion) {
      throw new RepositoryError('BAD_VERSION', `timestamp version ${ts.signed.version} is below version ${state.timestampVersion} verified before (rollback)`);
    }
    const isNew = ts.signed.version > state.timestampVersion;
    if (!isNew) {
      if (state.field?.root !== field.root) throw new RepositoryError('BAD_VERSION', `timestamp version ${ts.signed.version} names another tree than the one verified under that version`);
      const expires = state.statementExpires ? Date.parse(state.statementExpires) : 0;
      const life = (this.o.statementExpirySeconds ?? DEFAULT_STATEMENT_EXPIRY_SECONDS) * 1000;
      if (expires - this.now().getTime() > life / 2) return { status: 'unchanged', timestampVersion: ts.signed.version, root: field.root, io: this.pollIo() };
      return this.sign(state, ts, keyids, 0, 'refresh');
    }
    const previous = state.field ? await this.store.load(state.field) : undefined;
    const result = await auditTree(field, { read: (name, max) => this.fetcher.fetch(this.url(`merkle/${name}`), max) }, previous, {
      shard: (index, hash) => this.store.previousLeaves(index, hash, (previous as VerifiedTree).field),
    });
    // The verified files become the next baseline; then the state names the tree; then the
    // files it replaced go.
    await this.store.stage(result, previous === undefined);
    state.field = field;
    state.timestampVersion = ts.signed.version;
    this.o.log?.(`timestamp ${ts.signed.version}: tree ${field.root.slice(0, 16)}… verified (${result.changed.length} shard(s) changed, ${result.added} role(s) added)`);
    const outcome = await this.sign(state, ts, keyids, result.changed.length, 'new tree');
    await this.store.commit(result.tree);
    return outcome;
  }

  private pollIo(): PollIo {
    return { fetched: this.fetched, stateRead: this.io.read, stateWritten: this.io.written };
  }

  private async sign(state: AuditorState, ts: Metadata<Timestamp>, keyids: string[], changedShards: number, reason: 'new tree' | 'refresh'): Promise<AuditOutcome> {
    const now = this.now();
    // Seconds since the epoch, or one more than before: versions keep rising even if the state is lost.
    const version = Math.max(state.statementVersion + 1, Math.floor(now.getTime() / 1000));
    const expirySeconds = this.o.statementExpirySeconds ?? DEFAULT_STATEMENT_EXPIRY_SECONDS;
    const bytes = await signStatement({ timestamp: ts, version, now, expirySeconds }, [this.o.signer]);
    await (this.o.publish ? this.o.publish(bytes) : uploadStatement(this.o.indexUrl, this.o.signer.keyId, this.o.token, bytes));
    state.statementVersion = version;
    state.statementExpires = new Date(now.getTime() + expirySeconds * 1000).toISOString();
    state.timestampKeyids = keyids;
    // For the operator only: nothing reads it back, so it is not worth an fsync per tree.
    await this.io.write(join(this.o.dir, 'timestamp.json'), ts.bytes, false);
    await this.io.write(join(this.o.dir, 'state.json'), JSON.stringify(state), true);
    const root = state.field?.root ?? '';
    this.o.log?.(`statement ${version} for timestamp ${ts.signed.version} uploaded (expires in ${expirySeconds} s)`);
    return { status: 'signed', timestampVersion: ts.signed.version, root, changedShards, statementVersion: version, reason, io: this.pollIo() };
  }
}

export class StatementUploadError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'StatementUploadError';
  }
}

/** PUT /api/audit/<keyid> with the auditor's token. */
export async function uploadStatement(indexUrl: string, keyid: string, token: string, bytes: Buffer): Promise<void> {
  const url = `${indexUrl.replace(/\/+$/, '')}/api/audit/${keyid}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'PUT', body: bytes, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  } catch (cause) {
    throw new DownloadError('NETWORK', `cannot upload the statement to ${url}`, url, undefined, { cause });
  }
  const text = await res.text();
  if (res.ok) return;
  let code = 'HTTP';
  let message = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not the problem format: keep the text
  }
  throw new StatementUploadError(res.status, code, `the index refused the statement (${res.status} ${code}): ${message}`);
}
