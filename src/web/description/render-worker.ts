// SPDX-License-Identifier: Apache-2.0
// The worker thread that renders one description (render-off-thread.ts starts it): the page
// server's event loop never waits for markdown-it or the sanitizer.
import { parentPort, workerData } from 'node:worker_threads';
import { renderDescription } from './render.js';

const { description, contentType } = workerData as { description: string; contentType: string | undefined };
parentPort?.postMessage(renderDescription(description, contentType));
