// The one error type this module throws for bad user input. Messages go back to uploaders
// (twine shows them as the HTTP 400 reason), so each says what is wrong and what to do.

export type PackagingErrorCode =
  | 'INVALID_PROJECT_NAME'
  | 'INVALID_VERSION'
  | 'INVALID_FILENAME'
  | 'UNSAFE_FILENAME'
  | 'FILENAME_PROJECT_MISMATCH'
  | 'FILENAME_VERSION_MISMATCH'
  | 'INVALID_METADATA'
  | 'METADATA_MISMATCH'
  | 'BAD_ARCHIVE';

export class PackagingError extends Error {
  readonly code: PackagingErrorCode;

  constructor(code: PackagingErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PackagingError';
    this.code = code;
  }
}

const MAX_SHOWN = 120;

/**
 * Quotes a user-supplied value for an error message. Control and non-ASCII characters are
 * escaped and long values cut, because messages end up in HTTP reason phrases and logs.
 */
export function quote(value: string): string {
  const cut = value.length > MAX_SHOWN ? value.slice(0, MAX_SHOWN) : value;
  let out = '';
  for (const ch of cut) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xff) out += '\\x' + cp.toString(16).padStart(2, '0');
    else out += '\\u{' + cp.toString(16) + '}';
  }
  return `"${out}${cut.length < value.length ? '…' : ''}"`;
}
