// SPDX-License-Identifier: Apache-2.0
// A wheel's description as its project page shows it, rendered once per METADATA file and
// stored in the web store (web_descriptions, keyed by the file's SHA-256), with the summary and
// Requires-Python the page falls back to. A page view reads the stored row; only the first view
// of a file (or the first after the renderer changed: DESCRIPTION_RENDERER) reads the METADATA
// file and renders it. Rendering happens when the page is first wanted rather than at upload,
// so that files uploaded before this existed, and files from every upload path (twine, signed
// uploads), get the same treatment, and an upload never waits for a renderer.
import { createHash } from 'node:crypto';
import { parseCoreMetadata, PackagingError, type CoreMetadata } from '../../packaging/index.js';
import { fileBlobPath } from '../../repository/layout.js';
import type { BlobStore } from '../../storage/blob-store.js';
import type { FileRecord } from '../../storage/state/types.js';
import type { WebStore } from '../../storage/state/web-store.js';
import { DESCRIPTION_RENDERER, type DescriptionHtml } from './render.js';
import { renderOffThread, type OffThreadOptions } from './render-off-thread.js';

/** Wheel METADATA files are at most this big (packaging/wheel-metadata.ts checks it at upload). */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

export interface DescriptionView {
  /** The rendered description, safe to send as it is; null when the file has none. */
  html: DescriptionHtml | null;
  summary: string | null;
  requiresPython: string | null;
}

export class RenderedDescriptions {
  /** Renderings under way, by METADATA SHA-256: concurrent first views render once. */
  readonly #pending = new Map<string, Promise<DescriptionView | undefined>>();

  constructor(
    private readonly store: WebStore,
    private readonly blobs: BlobStore,
    private readonly opts: OffThreadOptions = {}
  ) {}

  /** What the page shows from a wheel's METADATA; undefined for an sdist, or if the file is missing. */
  async ofFile(file: Pick<FileRecord, 'project' | 'filename' | 'metadataSha256'>): Promise<DescriptionView | undefined> {
    const sha = file.metadataSha256;
    if (!sha) return undefined;
    const stored = await this.store.storedDescription(sha, DESCRIPTION_RENDERER);
    // Stored by this renderer: its output, kept as it was made.
    if (stored) return { ...stored, html: stored.html as DescriptionHtml | null };
    let pending = this.#pending.get(sha);
    if (!pending) {
      pending = this.render(file.project, file.filename, sha).finally(() => this.#pending.delete(sha));
      this.#pending.set(sha, pending);
    }
    return pending;
  }

  private async render(project: string, filename: string, sha: string): Promise<DescriptionView | undefined> {
    const bytes = await this.blobs.get(fileBlobPath(project, `${filename}.metadata`));
    // Hash what you read: only the METADATA file the index recorded is rendered under its hash.
    if (!bytes || bytes.length > MAX_METADATA_BYTES || createHash('sha256').update(bytes).digest('hex') !== sha) return undefined;
    let meta: CoreMetadata | undefined;
    try {
      meta = parseCoreMetadata(bytes.toString('utf8'));
    } catch (e) {
      if (!(e instanceof PackagingError)) throw e;
    }
    // As PyPI: a description of only whitespace, or old setuptools' "UNKNOWN", is none.
    const description = meta?.description?.trim() && meta.description.trim() !== 'UNKNOWN' ? meta.description : undefined;
    const view: DescriptionView = {
      html: description ? await renderOffThread(description, meta?.descriptionContentType, this.opts) : null,
      summary: meta?.summary ?? null,
      requiresPython: meta?.requiresPython ?? null,
    };
    await this.store.storeDescription(sha, DESCRIPTION_RENDERER, view);
    return view;
  }
}
