// SPDX-License-Identifier: Apache-2.0
// What happens to a body the server answered before reading to its end (a 401 from the headers
// alone, a 413 past a limit). Closing the connection at once would reset it while the client
// is still sending, and most clients (twine's urllib3, Node's fetch) then report the reset
// instead of the answer. So the rest of the body is read and thrown away, never kept, and the
// connection is cut only if it goes on for more than LINGER_BYTES.
import type { IncomingMessage } from 'node:http';

/** How much of an answered request's body is discarded before its connection is cut. */
export const LINGER_BYTES = 16 * 1024 * 1024;

/** Call before the answer is sent: a consumer attached after it would be too late for Node. */
export function discardUnreadBody(req: IncomingMessage, lingerBytes = LINGER_BYTES): void {
  if (req.complete || req.destroyed) return;
  // Stop feeding a parser nobody reads any more (the multipart parser would queue fields).
  req.unpipe();
  // Read it here, counting: left unread, Node would discard it all, with no bound.
  let left = lingerBytes;
  req.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.socket.destroy();
  });
  req.resume();
}
