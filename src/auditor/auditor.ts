// SPDX-License-Identifier: Apache-2.0
// `bulwark auditor`'s loop body: follow the index's timestamps, verify each new tree against the
// last one verified (tree-audit.ts), and only then sign and upload a statement. Its state lives
// in its own directory, written atomically:
//
//   DIR/root.json              the trusted root (seeded from --root, then followed N+1 by N+1)
//   DIR/state.json             the last verified tree (every group and shard hash), its timestamp
//                              version, the timestamp keys it was verified under, statement version
//   DIR/timestamp.json         the last verified timestamp (what a re-signed statement embeds)
//   DIR/shards/<hash>.shard.json  the verified shard files of that tree (the next comparison's baseline)
//
// A refused tree changes nothing here: the next tree is checked against the last good one.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpFetcher, type Fetcher } from '../client/fetcher.js';
import { mapPool } from '../mirror/pool.js';
import { writeFileAtomic } from '../storage/atomic-write.js';
import {
  DownloadError,
  MERKLE_FIELD,
  MerkleMalformedError,
  Metadata,
  parseMerkleField,
  RepositoryError,
  TrustedMetadataSet,
  verifyShardFile,
  type MerkleLeaf,
  type Signer,
  type Timestamp,
} from '../tuf/index.js';
import { auditTree, type VerifiedTree } from './tree-audit.js';
import { DEFAULT_STATEMENT_EXPIRY_SECONDS, signStatement } from './statement.js';

const TIMESTAMP_MAX_LENGTH = 16_384;
const ROOT_MAX_LENGTH = 512_000;
const MAX_ROOT_ROTATIONS = 32;

interface AuditorState {
  format: 'bulwark-auditor-state';
  /** Key ids of the timestamp role the history was verified under: a change resets it (TAP 16). */
  timestampKeyids: string[];
  timestampVersion: number;
  tree: VerifiedTree | null;
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

export type AuditOutcome =
  | { status: 'signed'; timestampVersion: number; root: string; changedShards: number; statementVersion: number; reason: 'new tree' | 'refresh' }
  | { status: 'unchanged'; timestampVersion: number; root: string };

export class AuditorStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditorStateError';
  }
}

export class Auditor {
  private readonly fetcher: Fetcher;
  private readonly now: () => Date;
  private readonly leafCache = new Map<string, readonly MerkleLeaf[]>();

  constructor(private readonly o: AuditorOptions) {
    this.fetcher = o.fetcher ?? new HttpFetcher({ userAgent: 'bulwark-auditor' });
    this.now = o.now ?? (() => new Date());
  }

  /** Seeds the trusted root (first run only: later runs keep the newest root they verified). */
  static async init(dir: string, rootBytes: Buffer | undefined): Promise<void> {
    await mkdir(join(dir, 'shards'), { recursive: true });
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
    const text = await readFile(join(this.o.dir, 'state.json'), 'utf8').catch(() => undefined);
    if (!text) return { format: 'bulwark-auditor-state', timestampKeyids: [], timestampVersion: 0, tree: null, statementVersion: 0, statementExpires: null };
    const state = JSON.parse(text) as AuditorState;
    if (state.format !== 'bulwark-auditor-state') throw new AuditorStateError(`${join(this.o.dir, 'state.json')} is not an auditor state file`);
    return state;
  }

  /** The trusted root after following the index's root rotations (each verified by the one before). */
  private async updateRoot(): Promise<TrustedMetadataSet> {
    const set = new TrustedMetadataSet(await readFile(join(this.o.dir, 'root.json')), { now: this.now() });
    for (let i = 0; i < MAX_ROOT_ROTATIONS; i++) {
      let bytes: Buffer;
      try {
        bytes = await this.fetcher.fetch(this.url(`${set.root.signed.version + 1}.root.json`), ROOT_MAX_LENGTH);
      } catch (e) {
        if (e instanceof DownloadError && e.code === 'NOT_FOUND') break;
        throw e;
      }
      set.updateRoot(bytes);
      await writeFileAtomic(join(this.o.dir, 'root.json'), bytes);
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
    const state = await this.loadState();
    const set = await this.updateRoot();
    const tsBytes = await this.fetcher.fetch(this.url('timestamp.json'), TIMESTAMP_MAX_LENGTH);
    const ts = set.updateTimestamp(tsBytes); // signed by root's timestamp keys, not expired
    const keyids = [...(set.root.signed.roles.get('timestamp')?.keyids ?? [])].sort();
    const reset = state.tree !== null && keyids.join(',') !== state.timestampKeyids.join(',');
    if (reset) {
      // TAP 16: versions may restart under a new timestamp key; the history restarts with it.
      this.o.log?.('root changed the timestamp keys: the history of verified trees starts again');
      state.tree = null;
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
      if (state.tree?.field.root !== field.root) throw new RepositoryError('BAD_VERSION', `timestamp version ${ts.signed.version} names another tree than the one verified under that version`);
      const expires = state.statementExpires ? Date.parse(state.statementExpires) : 0;
      const life = (this.o.statementExpirySeconds ?? DEFAULT_STATEMENT_EXPIRY_SECONDS) * 1000;
      if (expires - this.now().getTime() > life / 2) return { status: 'unchanged', timestampVersion: ts.signed.version, root: field.root };
      return this.sign(state, ts, keyids, 0, 'refresh');
    }
    const result = await auditTree(
      field,
      { read: (name, max) => this.fetcher.fetch(this.url(`merkle/${name}`), max) },
      state.tree ?? undefined,
      { shard: (index, hash) => this.previousLeaves(index, hash, state.tree as VerifiedTree) }
    );
    // The verified shard files become the next baseline; then the state names them.
    // (Not fsynced one by one: a first tree is every shard. A crash that loses some leaves the
    // state naming missing files, which the next poll reports: start over with a new directory.)
    await mapPool(result.changed, 16, async (c) => {
      await writeFileAtomic(join(this.o.dir, 'shards', `${c.hash}.shard.json`), c.bytes, { durable: false });
      this.leafCache.set(c.hash, c.leaves);
    });
    const replaced = state.tree ? result.changed.map((c) => (state.tree as VerifiedTree).shards[c.index] as string) : [];
    state.tree = result.tree;
    state.timestampVersion = ts.signed.version;
    this.o.log?.(`timestamp ${ts.signed.version}: tree ${field.root.slice(0, 16)}… verified (${result.changed.length} shard(s) changed, ${result.added} role(s) added)`);
    const outcome = await this.sign(state, ts, keyids, result.changed.length, 'new tree');
    const kept = new Set(state.tree.shards);
    for (const h of replaced) {
      if (kept.has(h)) continue;
      this.leafCache.delete(h);
      await rm(join(this.o.dir, 'shards', `${h}.shard.json`), { force: true });
    }
    return outcome;
  }

  private async previousLeaves(index: number, hash: string, tree: VerifiedTree): Promise<readonly MerkleLeaf[]> {
    const cached = this.leafCache.get(hash);
    if (cached) return cached;
    const bytes = await readFile(join(this.o.dir, 'shards', `${hash}.shard.json`)).catch(() => undefined);
    if (!bytes) throw new AuditorStateError(`the verified shard ${hash.slice(0, 16)}… is missing from ${this.o.dir}/shards: the state is damaged; start over with a new directory`);
    return verifyShardFile(bytes, hash, index, tree.field); // our own file, checked again all the same
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
    await writeFileAtomic(join(this.o.dir, 'timestamp.json'), ts.bytes);
    await writeFileAtomic(join(this.o.dir, 'state.json'), JSON.stringify(state));
    const root = state.tree?.field.root ?? '';
    this.o.log?.(`statement ${version} for timestamp ${ts.signed.version} uploaded (expires in ${expirySeconds} s)`);
    return { status: 'signed', timestampVersion: ts.signed.version, root, changedShards, statementVersion: version, reason };
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
