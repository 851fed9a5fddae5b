// SPDX-License-Identifier: Apache-2.0
// One place that turns errors into HTTP answers. The message also goes in the status line's
// reason phrase, as PyPI does, because that is what twine prints to the user.
import type { FastifyReply } from 'fastify';

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

/** A reason phrase must be one line of visible Latin-1 characters. */
function reasonPhrase(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

export function sendProblem(reply: FastifyReply, status: number, code: string, message: string, format: 'text' | 'json' = 'text'): FastifyReply {
  reply.code(status);
  reply.raw.statusMessage = reasonPhrase(message);
  if (format === 'json') return reply.type('application/json').send({ error: { code, message } });
  return reply.type('text/plain; charset=utf-8').send(`${status} ${message}\n`);
}
