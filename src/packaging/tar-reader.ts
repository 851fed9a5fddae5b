// A bounded, streaming reader of tar archives (ustar, with pax `path`/`size` records and GNU
// long names, the formats Python's tarfile writes): it walks every member header, keeps the
// data of the members asked for, and skips the rest without holding it.
//
// Hand-written because the check needs so little and must be strict: the npm tar libraries
// extract to disk (node-tar) or are not direct dependencies of this project (tar-stream, v2,
// without types), and neither checks header checksums the way this reader must to tell a tar
// from other bytes. Every count is capped by the caller: bytes walked, members, kept bytes.

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export interface TarLimits {
  /** Most bytes of archive walked (the uncompressed size when reading through gunzip). */
  maxBytes: number;
  /** Most members. */
  maxEntries: number;
  /** Most bytes kept of one wanted member (and of one pax header or GNU long name). */
  maxMemberBytes: number;
}

export interface TarMember {
  path: string;
  /** '0' regular file, '1' hard link, '2' symlink, '5' directory, … */
  type: string;
  size: number;
}

const BLOCK = 512;
const PAX_HEADER = 'x';
const PAX_GLOBAL = 'g';
const GNU_LONG_NAME = 'L';
const GNU_LONG_LINK = 'K';

function cString(h: Buffer, start: number, length: number): string {
  const field = h.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

function numeric(h: Buffer, start: number, length: number, what: string): number {
  const field = h.subarray(start, start + length);
  if ((field[0] ?? 0) & 0x80) {
    // GNU base-256: big-endian, the first byte's high bit is the marker.
    let n = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < length; i++) {
      n = n * 256 + (field[i] ?? 0);
      if (n > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`the ${what} field is too large`);
    }
    return n;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`the ${what} field ${JSON.stringify(text)} is not an octal number`);
  return parseInt(text, 8);
}

function checksumMatches(h: Buffer): boolean {
  const recorded = numeric(h, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return recorded === unsigned || recorded === signed; // old tars summed signed bytes
}

/** pax extended header records: "<length> <key>=<value>\n", repeated. */
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = space === -1 ? NaN : Number(data.subarray(pos, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) throw new TarFormatError('a pax extended header record is malformed');
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0 || data[pos + length - 1] !== 0x0a) throw new TarFormatError('a pax extended header record is malformed');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

/**
 * Walks a tar archive from `chunks` to its end and returns the members for which `want` is
 * true, in order, with their data. Throws TarFormatError when the bytes are not a tar archive,
 * are truncated, or go past a limit.
 */
export async function readTarMembers(
  chunks: AsyncIterable<Buffer>,
  want: (member: TarMember) => boolean,
  limits: TarLimits
): Promise<{ member: TarMember; data: Buffer }[]> {
  const found: { member: TarMember; data: Buffer }[] = [];
  const header = Buffer.alloc(BLOCK);
  let headerFill = 0;
  let walked = 0;
  let entries = 0;
  let ended = false;
  let sawHeader = false;
  // The member whose data is being read: `skip` bytes of data and padding remain; the first
  // `keep` of them are collected when `onData` is set.
  let current: { onData: ((data: Buffer) => void) | undefined; keep: number; skip: number; kept: Buffer[] } | undefined;
  // What pax or GNU headers said about the next member.
  let nextPath: string | undefined;
  let nextSize: number | undefined;

  const keepData = (size: number, onData: (data: Buffer) => void, what: string): void => {
    if (size > limits.maxMemberBytes) throw new TarFormatError(`${what} is larger than the limit of ${limits.maxMemberBytes} bytes`);
    current = { onData, keep: size, skip: size + ((BLOCK - (size % BLOCK)) % BLOCK), kept: [] };
  };

  const onHeader = (): void => {
    sawHeader = true;
    if (header.every((b) => b === 0)) {
      ended = true; // end of archive (the second zero block and any padding are not read)
      return;
    }
    if (!checksumMatches(header)) throw new TarFormatError('a member header has a wrong checksum: this is not a tar archive, or it is corrupt');
    const type = String.fromCharCode(header[156] || 0x30);
    let size = numeric(header, 124, 12, 'size');
    if (type === PAX_HEADER || type === GNU_LONG_NAME) {
      keepData(size, (data) => {
        if (type === GNU_LONG_NAME) nextPath = cString(data, 0, data.length);
        else {
          const pax = parsePax(data);
          const path = pax.get('path');
          if (path !== undefined) nextPath = path;
          const paxSize = pax.get('size');
          if (paxSize !== undefined) {
            if (!/^[0-9]{1,15}$/.test(paxSize)) throw new TarFormatError(`the pax size ${JSON.stringify(paxSize.slice(0, 20))} is not a number`);
            nextSize = Number(paxSize);
          }
        }
      }, 'an extended header');
      return;
    }
    if (type === PAX_GLOBAL || type === GNU_LONG_LINK) {
      current = { onData: undefined, keep: 0, skip: size + ((BLOCK - (size % BLOCK)) % BLOCK), kept: [] };
      return;
    }
    if (++entries > limits.maxEntries) throw new TarFormatError(`it has more than ${limits.maxEntries} members`);
    let path = cString(header, 0, 100);
    if (header.subarray(257, 262).toString('latin1') === 'ustar') {
      const prefix = cString(header, 345, 155);
      if (prefix !== '') path = `${prefix}/${path}`;
    }
    if (nextPath !== undefined) path = nextPath;
    if (nextSize !== undefined) size = nextSize;
    nextPath = undefined;
    nextSize = undefined;
    // Links and directories carry no data whatever their size field says (tarfile agrees).
    if (type === '1' || type === '2' || type === '5') size = 0;
    const member: TarMember = { path, type, size };
    if (want(member)) keepData(size, (data) => found.push({ member, data }), JSON.stringify(path.slice(0, 200)));
    else current = { onData: undefined, keep: 0, skip: size + ((BLOCK - (size % BLOCK)) % BLOCK), kept: [] };
  };

  for await (const chunk of chunks) {
    walked += chunk.length;
    if (walked > limits.maxBytes) throw new TarFormatError(`it is larger than the limit of ${limits.maxBytes} bytes uncompressed`);
    let pos = 0;
    while (pos < chunk.length && !ended) {
      if (current) {
        const n = Math.min(current.skip, chunk.length - pos);
        const keepNow = Math.min(current.keep, n);
        if (keepNow > 0 && current.onData) current.kept.push(Buffer.from(chunk.subarray(pos, pos + keepNow)));
        current.keep -= keepNow;
        current.skip -= n;
        pos += n;
        if (current.skip === 0) {
          const done = current;
          current = undefined;
          done.onData?.(Buffer.concat(done.kept));
        }
        continue;
      }
      const n = Math.min(BLOCK - headerFill, chunk.length - pos);
      chunk.copy(header, headerFill, pos, pos + n);
      headerFill += n;
      pos += n;
      if (headerFill === BLOCK) {
        headerFill = 0;
        onHeader();
      }
    }
    if (ended) break;
  }
  if (!sawHeader) throw new TarFormatError('it is empty');
  if (!ended && (current !== undefined || headerFill !== 0)) throw new TarFormatError('it ends in the middle of a member (truncated)');
  return found;
}
