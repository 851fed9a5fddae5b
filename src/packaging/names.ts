// Project names: validity per the core metadata spec (PEP 508 identifier) and the PEP 503
// normalized form used for URLs and for comparing names.

const NAME_RE = /^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/;

// The spec sets no length limit; we cap it so names stay usable as URL path segments
// and file names.
export const MAX_PROJECT_NAME_LENGTH = 200;

export function isValidProjectName(name: string): boolean {
  return name.length <= MAX_PROJECT_NAME_LENGTH && NAME_RE.test(name);
}

/** PEP 503: lowercase, and every run of '-', '_' and '.' becomes a single '-'. */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}
