// SPDX-License-Identifier: Apache-2.0
// Streams an uploaded file to a temporary file, hashing it on the way and fsyncing it, so the
// repository can later move it into place with one atomic rename.
import { createHash, randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { crashPoint } from '../../storage/crash-points.js';

export interface StreamedFile {
  tmpPath: string;
  size: number;
  sha256: string;
  md5: string;
}

export async function streamToTempFile(stream: Readable, tmpDir: string): Promise<StreamedFile> {
  const tmpPath = join(tmpDir, `upload-${randomBytes(8).toString('hex')}`);
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  const fh = await open(tmpPath, 'wx', 0o644);
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      sha256.update(buf);
      md5.update(buf);
      size += buf.length;
      await fh.write(buf);
    }
    await fh.sync();
    crashPoint('upload:received');
  } catch (e) {
    await fh.close();
    await unlink(tmpPath).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return { tmpPath, size, sha256: sha256.digest('hex'), md5: md5.digest('hex') };
}
