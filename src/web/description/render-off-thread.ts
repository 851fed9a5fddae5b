// SPDX-License-Identifier: Apache-2.0
// Renders a description in a worker thread, one at a time, within a time and memory budget.
// A hostile README costs the renderer seconds at worst (the depth and size limits in
// markdown.ts and render.ts), and only once per file, but those seconds must not stall every
// other request: the worker keeps them off the event loop. Past the budget, or if the worker
// fails (out of memory, a stack overflow), the description is shown as plain text with a note,
// so the page still renders.
import { Worker } from 'node:worker_threads';
import { escapeHtml } from '../html.js';
import { MAX_DESCRIPTION_CHARS, type DescriptionHtml } from './render.js';

export interface OffThreadOptions {
  /** How long one rendering may take before the plain-text fallback (default 60 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** The description as preformatted text, with a note saying why it is not rendered. */
export function unrenderedDescription(description: string, why: string): DescriptionHtml {
  const text = description.slice(0, MAX_DESCRIPTION_CHARS);
  return `<p class="description-note">${escapeHtml(why)}</p><pre class="plain">${escapeHtml(text)}</pre>` as DescriptionHtml;
}

function renderInWorker(description: string, contentType: string | undefined, timeoutMs: number): Promise<DescriptionHtml> {
  return new Promise((resolve) => {
    const fallback = (why: string) => resolve(unrenderedDescription(description, why));
    let worker: Worker;
    try {
      worker = new Worker(new URL('./render-worker.js', import.meta.url), {
        workerData: { description, contentType },
        resourceLimits: { maxOldGenerationSizeMb: 512, stackSizeMb: 4 },
      });
    } catch {
      return fallback('This description could not be rendered: it is shown as plain text.');
    }
    const timer = setTimeout(() => {
      void worker.terminate();
      fallback('This description took too long to render: it is shown as plain text.');
    }, timeoutMs);
    worker.once('message', (html: string) => {
      clearTimeout(timer);
      resolve(html as DescriptionHtml);
    });
    // An error (out of memory, a stack overflow) or an exit without an answer. After an answer,
    // the exit that follows changes nothing: the promise is settled.
    const failed = () => {
      clearTimeout(timer);
      fallback('This description could not be rendered: it is shown as plain text.');
    };
    worker.once('error', failed);
    worker.once('exit', failed);
  });
}

let queue: Promise<unknown> = Promise.resolve();

/** Renders in a worker thread, after the renderings already waiting (one worker at a time). */
export function renderOffThread(description: string, contentType: string | undefined, opts: OffThreadOptions = {}): Promise<DescriptionHtml> {
  const run = queue.then(() => renderInWorker(description, contentType, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  queue = run.catch(() => undefined); // one failure must not stop the renderings after it
  return run;
}
