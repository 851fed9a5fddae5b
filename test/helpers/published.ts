// Waiting for a publication the way a client sees it: through timestamp.json, which is written
// last. (A role file such as N.targets.json exists before the snapshot that lists it is
// published, so waiting for that file alone races the publication.)
import { Metadata } from '../../src/tuf/index.js';

/** Resolves once the published snapshot lists `role` at `version` or later; false after ~20 s. */
export async function waitForPublishedRole(indexUrl: string, role: string, version: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const ts = await fetch(`${indexUrl}/metadata/timestamp.json`).then(async (r) => (r.ok ? Buffer.from(await r.arrayBuffer()) : undefined));
    if (ts) {
      const snapVersion = Metadata.parse(ts, 'timestamp').signed.snapshotMeta.version;
      const snap = await fetch(`${indexUrl}/metadata/${snapVersion}.snapshot.json`).then(async (r) => (r.ok ? Buffer.from(await r.arrayBuffer()) : undefined));
      if (snap && (Metadata.parse(snap, 'snapshot').signed.meta.get(`${role}.json`)?.version ?? 0) >= version) return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Resolves once the classic snapshot is as new as the newest publication (the timestamp names a
 * classic snapshot of its own version); false after ~20 s. With a Merkle tree the classic
 * snapshot, which standard TUF clients (tuf-js, python-tuf) read, trails publications by up to
 * merkle.classicSnapshotIntervalMs: a test that runs such a client after an upload waits here.
 */
export async function waitForClassicSnapshot(indexUrl: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    const ts = await fetch(`${indexUrl}/metadata/timestamp.json`).then(async (r) => (r.ok ? Buffer.from(await r.arrayBuffer()) : undefined));
    if (ts) {
      const signed = Metadata.parse(ts, 'timestamp').signed;
      if (signed.snapshotMeta.version === signed.version) return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
