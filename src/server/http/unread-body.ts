// SPDX-License-Identifier: Apache-2.0
// What happens to a body the server answered before reading to its end (a 401 from the headers
// alone, a 413 past a limit). Closing the connection at once resets it while the client is
// still sending, and most clients then report the reset instead of the answer (twine prints a
// ConnectionResetError traceback). So the rest of the body is read and thrown away, never
// kept; past `linger.bytes` the server stops reading, and the connection is cut once `linger.ms` have
// passed: the caller passes the size of the largest twine upload (one file and its form), so
// that twine always gets the answer, and an endless or stalled body costs bandwidth only.
import type { IncomingMessage } from 'node:http';

/** Call before the answer is sent: a consumer attached after it would be too late for Node. */
export function discardUnreadBody(req: IncomingMessage, linger: { bytes: number; ms: number }): void {
  if (req.complete || req.destroyed) return;
  const cut = setTimeout(() => req.socket.destroy(), linger.ms).unref();
  req.once('end', () => clearTimeout(cut));
  req.socket.once('close', () => clearTimeout(cut));
  // Stop feeding a parser nobody reads any more (the multipart parser would queue fields).
  req.unpipe();
  // Read it here, counting: left unread, Node would discard it all, with no bound.
  let left = linger.bytes;
  req.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    // Past the budget, stop reading instead of resetting: the client's writes block, and a client
    // that reads the answer only now and then (a loaded machine) still finds it, where a reset
    // would have dropped it from its receive queue. The timer above still cuts the connection.
    if (left < 0) req.pause();
  });
  req.resume();
}
