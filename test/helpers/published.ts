// Waiting for a publication the way a client sees it: through timestamp.json, which is written
// last. (A role file such as N.targets.json exists before the snapshot that lists it is
// published, so waiting for that file alone races the publication.)
import { Metadata, type Timestamp } from '../../src/tuf/index.js';

const fetchBytes = (url: string) => fetch(url).then(async (r) => (r.ok ? Buffer.from(await r.arrayBuffer()) : undefined));

/** Polls the published timestamp every 100 ms until `done` says so; false after ~20 s. */
async function untilTimestamp(indexUrl: string, done: (ts: Timestamp) => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const ts = await fetchBytes(`${indexUrl}/metadata/timestamp.json`);
    if (ts && (await done(Metadata.parse(ts, 'timestamp').signed))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Resolves once the published snapshot lists `role` at `version` or later; false after ~20 s. */
export function waitForPublishedRole(indexUrl: string, role: string, version: number): Promise<boolean> {
  return untilTimestamp(indexUrl, async (ts) => {
    const snap = await fetchBytes(`${indexUrl}/metadata/${ts.snapshotMeta.version}.snapshot.json`);
    return snap !== undefined && (Metadata.parse(snap, 'snapshot').signed.meta.get(`${role}.json`)?.version ?? 0) >= version;
  });
}

/**
 * Resolves once the classic snapshot is as new as the newest publication (the timestamp names a
 * classic snapshot of its own version); false after ~20 s. With a Merkle tree the classic
 * snapshot, which standard TUF clients (tuf-js, python-tuf) read, trails publications by up to
 * merkle.classicSnapshotIntervalMs: a test that runs such a client after an upload waits here.
 */
export function waitForClassicSnapshot(indexUrl: string): Promise<boolean> {
  return untilTimestamp(indexUrl, (ts) => ts.snapshotMeta.version === ts.version);
}
