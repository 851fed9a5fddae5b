// SPDX-License-Identifier: Apache-2.0
// The errors Fastify and Node's HTTP parser raise themselves (a malformed URL, a body larger
// than its route takes or shorter than its Content-Length, a malformed request), answered in
// the project's problem format with a code and a message that say what to fix, instead of the
// framework's own JSON.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpProblem, PROBLEM_CONTENT_TYPE, problemBody, problemFormatFor, reasonPhrase, sendProblem } from './problem.js';

/** The problem for an error Fastify raised while routing or reading a body, by its FST_* code. */
function fastifyProblem(err: FastifyError, req: FastifyRequest): HttpProblem | undefined {
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      return new HttpProblem(400, 'BAD_URL', `Malformed URL: ${req.url.slice(0, 200)} is not valid percent-encoding.`);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new HttpProblem(414, 'URL_TOO_LONG', 'A part of the URL is too long.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', `Unsupported content type "${String(req.headers['content-type'] ?? '').slice(0, 100)}": uploads are multipart/form-data (use twine), the other API calls JSON.`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem(413, 'BODY_TOO_LARGE', `Request body too large: ${req.method} ${req.routeOptions.url ?? 'this route'} takes at most ${req.routeOptions.bodyLimit} bytes.`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpProblem(400, 'BAD_CONTENT_LENGTH', 'The request body does not have the length its Content-Length header says.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpProblem(400, 'BAD_JSON', 'The request body is empty, but its content type says JSON.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpProblem(400, 'BAD_JSON', 'The request body is not valid JSON.');
    case 'FST_ERR_VALIDATION':
      return new HttpProblem(400, 'BAD_REQUEST', err.message);
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Another 4xx of Fastify or a plugin: keep its code without the FST_ERR_ prefix.
    return new HttpProblem(status, (err.code ?? 'BAD_REQUEST').replace(/^FST_(ERR_)?/, ''), err.message || 'Bad request.');
  }
  return undefined;
}

/** Fastify's error handler: problems as they are, framework errors mapped, the rest a logged 500. */
export function sendError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = err instanceof HttpProblem ? err : fastifyProblem(err, req);
  const format = problemFormatFor(req.url);
  if (problem) return sendProblem(reply, problem.status, problem.code, problem.message, format);
  req.log.error({ err }, 'request failed');
  return sendProblem(reply, 500, 'INTERNAL', 'Internal error; see the server log.', format);
}

/** The problem for an error of Node's HTTP parser (llhttp's HPE_* codes), before Fastify sees a request. */
function parserProblem(code: string | undefined): HttpProblem {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new HttpProblem(431, 'HEADERS_TOO_LARGE', 'Request headers too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new HttpProblem(408, 'REQUEST_TIMEOUT', 'The request took too long to arrive.');
    case 'HPE_INVALID_EOF_STATE':
      return new HttpProblem(400, 'INCOMPLETE_REQUEST', 'The connection ended before the request did: its body is shorter than its Content-Length.');
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new HttpProblem(400, 'BAD_CONTENT_LENGTH', 'Invalid Content-Length header.');
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return new HttpProblem(400, 'BAD_TRANSFER_ENCODING', 'Malformed chunked transfer encoding.');
    default:
      return new HttpProblem(400, 'BAD_HTTP_REQUEST', `Malformed HTTP request${code ? ` (${code})` : ''}.`);
  }
}

/** Fastify's clientErrorHandler: answers a request Node could not parse, then closes its connection. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // As Node's own handler does: answer only when no answer has begun on this connection.
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean; req?: { url?: string } } })._httpMessage;
  if (socket.writable && !pending?.headersSent) {
    const problem = parserProblem(err.code);
    const format = problemFormatFor(pending?.req?.url ?? '');
    const body = problemBody(problem.status, problem.code, problem.message, format);
    socket.write(
      `HTTP/1.1 ${problem.status} ${reasonPhrase(problem.message)}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE[format]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
    );
  }
  socket.destroy(err);
}
