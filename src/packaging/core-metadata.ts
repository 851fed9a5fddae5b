// Parses core metadata (a wheel's METADATA, an sdist's PKG-INFO): RFC 822-style headers,
// then a blank line, then the description as the body. One pass over the lines, no
// backtracking, so cost is linear in the input; callers bound the input size.

import { PackagingError, quote } from './errors.js';
import { isValidProjectName } from './names.js';
import { isValidVersion } from './versions.js';

export type CoreMetadata = {
  metadataVersion: string;
  name: string;
  version: string;
  summary?: string;
  requiresPython?: string;
  description?: string;
  descriptionContentType?: string;
  headers: ReadonlyMap<string, readonly string[]> /* lower-cased names */;
};

// Printable ASCII except ':' and space (RFC 5322 field-name).
const FIELD_NAME_RE = /^[!-9;-~]+$/;

function invalid(why: string): PackagingError {
  return new PackagingError(
    'INVALID_METADATA',
    `Invalid package metadata: ${why}. Rebuild the distribution with an up-to-date build tool (python -m build).`,
  );
}

/** Splits the text into header fields (folded lines joined with '\n') and the body. */
function splitHeaders(text: string): { fields: Array<[string, string]>; body: string } {
  const fields: Array<[string, string]> = [];
  let pos = 0;
  let lineNo = 0;
  let current: { name: string; lines: string[] } | undefined;
  const flush = (): void => {
    if (current) fields.push([current.name, current.lines.join('\n').trim()]);
    current = undefined;
  };
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(pos, end).replace(/\r$/, '');
    pos = nl === -1 ? text.length : nl + 1;
    lineNo++;
    if (line === '') break; // end of headers; the rest is the body
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // A folded continuation of the previous header; keep the line as written.
      if (!current) throw invalid(`line ${lineNo} is indented but does not continue a header`);
      current.lines.push(line);
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon === -1 ? '' : line.slice(0, colon);
    if (!FIELD_NAME_RE.test(name)) throw invalid(`line ${lineNo} is not a "Name: value" header: ${quote(line)}`);
    flush();
    current = { name: name.toLowerCase(), lines: [line.slice(colon + 1)] };
  }
  flush();
  return { fields, body: text.slice(pos) };
}

// A Description header folds its lines with 8 spaces, or 7 spaces and '|' to keep
// indentation and blank lines (core metadata spec, "Description").
function unfoldDescription(value: string): string {
  return value
    .split('\n')
    .map((line, i) => (i === 0 ? line : line.replace(/^ {7}(\||\s)/, '')))
    .join('\n');
}

export function parseCoreMetadata(text: string): CoreMetadata {
  const { fields, body } = splitHeaders(text.startsWith('\ufeff') ? text.slice(1) : text);
  const headers = new Map<string, string[]>();
  for (const [name, value] of fields) {
    const values = headers.get(name);
    if (values) values.push(value);
    else headers.set(name, [value]);
  }

  // Fields we read must appear at most once: two Name headers would be ambiguous.
  const single = (field: string): string | undefined => {
    const values = headers.get(field.toLowerCase());
    if (values && values.length > 1) throw invalid(`the ${field} field appears ${values.length} times`);
    return values?.[0];
  };
  const required = (field: string): string => {
    const value = single(field);
    if (value === undefined || value === '') throw invalid(`the required ${field} field is missing`);
    return value;
  };

  const metadataVersion = required('Metadata-Version');
  if (!/^[0-9]+\.[0-9]+$/.test(metadataVersion)) {
    throw invalid(`Metadata-Version ${quote(metadataVersion)} is not of the form 2.1`);
  }
  const name = required('Name');
  if (!isValidProjectName(name)) throw invalid(`Name ${quote(name)} is not a valid project name`);
  const version = required('Version');
  if (!isValidVersion(version)) throw invalid(`Version ${quote(version)} is not a valid PEP 440 version`);

  const result: CoreMetadata = { metadataVersion, name, version, headers };
  const summary = single('Summary');
  if (summary !== undefined) result.summary = summary;
  const requiresPython = single('Requires-Python');
  if (requiresPython !== undefined) result.requiresPython = requiresPython;
  const descriptionContentType = single('Description-Content-Type');
  if (descriptionContentType !== undefined) result.descriptionContentType = descriptionContentType;
  // Like the packaging library: a Description header wins; otherwise the body is the description.
  const descriptionHeader = single('Description');
  if (descriptionHeader !== undefined) result.description = unfoldDescription(descriptionHeader);
  else if (body !== '') result.description = body;
  return result;
}
