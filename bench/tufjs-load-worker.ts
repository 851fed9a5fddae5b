// SPDX-License-Identifier: Apache-2.0
// Worker thread for snapshot-bench: loads a snapshot with @tufjs/models (what tuf-js clients
// use), so that the main thread can stop it after a time limit (the load is quadratic).
import { parentPort, workerData } from 'node:worker_threads';
import { Metadata, MetadataKind } from '@tufjs/models';

const { text } = workerData as { text: string };
const t0 = performance.now();
const json = JSON.parse(text) as Parameters<typeof Metadata.fromJSON>[1];
const t1 = performance.now();
const md = Metadata.fromJSON(MetadataKind.Snapshot, json);
const t2 = performance.now();
parentPort?.postMessage({ parseMs: t1 - t0, loadMs: t2 - t1, entries: Object.keys(md.signed.meta).length });
