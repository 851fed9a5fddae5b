// Distributions built in memory, for tests that upload many of them (make_dist.py costs a
// Python start each): a wheel with its METADATA, and an sdist (gzip of a ustar archive with
// `<name>-<version>/PKG-INFO`). `salt` changes the bytes without changing the names, for tests
// that upload one file name with different contents. The tar writer also builds hostile
// archives (any member names) that real tools refuse to produce.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { buildZip } from '../packaging/zip-writer.js';

export interface MemoryDistOptions {
  name: string;
  version: string;
  summary?: string;
  requiresPython?: string;
  /** Anything: written into the package so that two salts give two different files. */
  salt?: string;
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

/** A ustar archive (names up to 100 bytes; longer ones need a pax 'x' member before them). */
export function buildTar(members: readonly TarMember[]): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const data = Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data ?? '', 'utf8');
    const h = Buffer.alloc(512);
    h.write(m.name.slice(0, 100), 0, 'utf8');
    h.write(octal(0o644, 8), 100, 'ascii');
    h.write(octal(0, 8), 108, 'ascii');
    h.write(octal(0, 8), 116, 'ascii');
    h.write(octal(data.length, 12), 124, 'ascii');
    h.write(octal(315532800, 12), 136, 'ascii');
    h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
    h.write(m.type ?? '0', 156, 'ascii');
    h.write('ustar\x0000', 257, 'binary');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function memorySdist(o: MemoryDistOptions): MemoryDist {
  const stem = `${escape(o.name)}-${o.version}`;
  const bytes = gzipSync(
    buildTar([
      { name: `${stem}/`, type: '5' },
      { name: `${stem}/PKG-INFO`, data: coreMetadata(o) },
      { name: `${stem}/setup.py`, data: `# ${o.salt ?? ''}\n` },
    ])
  );
  return { filename: `${stem}.tar.gz`, bytes, sha256: sha256(bytes) };
}
