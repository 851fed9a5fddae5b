// Distributions built in memory, for tests that upload many of them (make_dist.py costs a
// Python start each): a wheel with its METADATA, and an sdist (gzip of a ustar archive with
// `<name>-<version>/PKG-INFO`). `salt` changes the bytes without changing the names, for tests
// that upload one file name with different contents. The tar writer also builds hostile
// archives (any member names) that real tools refuse to produce.
import { createHash } from 'node:crypto';
import { crc32, gzipSync } from 'node:zlib';
import { buildZip } from '../packaging/zip-writer.js';

export interface MemoryDistOptions {
  name: string;
  version: string;
  summary?: string;
  requiresPython?: string;
  /** Anything: written into the package so that two salts give two different files. */
  salt?: string;
  /** sdists: extra bytes stored as a file in the archive (e.g. random ones, for a file of a given size). */
  payload?: Buffer;
}

export interface MemoryDist {
  filename: string;
  bytes: Buffer;
  sha256: string;
}

const escape = (name: string) => name.replace(/[-_.]+/g, '_');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Core metadata 2.1, as make_dist.py writes it. */
export function coreMetadata(o: MemoryDistOptions): string {
  const lines = ['Metadata-Version: 2.1', `Name: ${o.name}`, `Version: ${o.version}`, `Summary: ${o.summary ?? `in-memory fixture ${o.name}`}`];
  if (o.requiresPython !== undefined) lines.push(`Requires-Python: ${o.requiresPython}`);
  return `${lines.join('\n')}\n\n${o.salt ?? ''}\n`;
}

export function memoryWheel(o: MemoryDistOptions): MemoryDist {
  const stem = `${escape(o.name)}-${o.version}`;
  const bytes = buildZip([
    { name: `${escape(o.name)}/__init__.py`, data: `SALT = ${JSON.stringify(o.salt ?? '')}\n` },
    { name: `${stem}.dist-info/METADATA`, data: coreMetadata(o) },
    { name: `${stem}.dist-info/WHEEL`, data: 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n' },
  ]);
  return { filename: `${stem}-py3-none-any.whl`, bytes, sha256: sha256(bytes) };
}

/** One ustar member: a regular file unless `type` says otherwise ('5' directory, 'x' pax header…). */
export interface TarMember {
  name: string;
  data?: Buffer | string;
  type?: string;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** The 512-byte ustar header of one member. */
export function tarHeader(name: string, size: number, type = '0'): Buffer {
  const h = Buffer.alloc(512);
  // ustar: a name over 100 bytes is split at a '/' into prefix (155) and name (100).
  const cut = name.length > 100 ? name.lastIndexOf('/', 155) : -1;
  h.write(cut > 0 ? name.slice(cut + 1, cut + 101) : name.slice(0, 100), 0, 'utf8');
  if (cut > 0) h.write(name.slice(0, cut), 345, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(315532800, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  h.write(type, 156, 'ascii');
  h.write('ustar\x0000', 257, 'binary');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

const padding = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

/** A ustar archive (names up to 256 bytes, cut at a '/'; longer ones need a pax 'x' member before them). */
export function buildTar(members: readonly TarMember[]): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data ?? '', 'utf8');
    blocks.push(tarHeader(m.name, data.length, m.type), data, padding(data.length));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * The same sdist as memorySdist, as buffers that reference `payload` instead of copying it:
 * gzip with stored (uncompressed) deflate blocks, for benchmarks that send megabytes of a
 * shared random pool. Concatenated, the buffers are a valid .tar.gz.
 */
export function sdistParts(o: MemoryDistOptions, payload: readonly Buffer[]): Buffer[] {
  const stem = `${escape(o.name)}-${o.version}`;
  const pkgInfo = Buffer.from(coreMetadata(o), 'utf8');
  const size = payload.reduce((a, p) => a + p.length, 0);
  const tar = [tarHeader(`${stem}/PKG-INFO`, pkgInfo.length), pkgInfo, padding(pkgInfo.length), tarHeader(`${stem}/payload.bin`, size), ...payload, padding(size), Buffer.alloc(1024)];
  const out: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])]; // gzip header, no name, mtime 0
  let crc = 0;
  let total = 0;
  const pieces = tar.filter((b) => b.length > 0);
  for (let i = 0; i < pieces.length; i++) {
    let piece = pieces[i] as Buffer;
    crc = crc32(piece, crc);
    total += piece.length;
    while (piece.length > 0) {
      const block = piece.subarray(0, 65535);
      piece = piece.subarray(block.length);
      const last = i === pieces.length - 1 && piece.length === 0;
      const head = Buffer.alloc(5);
      head[0] = last ? 1 : 0; // BFINAL, BTYPE 00 (stored)
      head.writeUInt16LE(block.length, 1);
      head.writeUInt16LE(~block.length & 0xffff, 3);
      out.push(head, block);
    }
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  out.push(trailer);
  return out;
}

/** A PEP 625 sdist: `{name with _}-{version}.tar.gz`, its PKG-INFO in the directory of that name. */
export function memorySdist(o: MemoryDistOptions): MemoryDist {
  const stem = `${escape(o.name)}-${o.version}`;
  const bytes = gzipSync(
    buildTar([
      { name: `${stem}/`, type: '5' },
      { name: `${stem}/PKG-INFO`, data: coreMetadata(o) },
      { name: `${stem}/setup.py`, data: `# ${o.salt ?? ''}\n` },
      ...(o.payload ? [{ name: `${stem}/payload.bin`, data: o.payload }] : []),
    ])
  );
  return { filename: `${stem}.tar.gz`, bytes, sha256: sha256(bytes) };
}
