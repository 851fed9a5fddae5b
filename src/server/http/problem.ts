// SPDX-License-Identifier: Apache-2.0
// One place that turns errors into HTTP answers. The message also goes in the status line's
// reason phrase, as PyPI does, because that is what twine prints to the user.
import type { FastifyReply } from 'fastify';

export type ProblemFormat = 'text' | 'json';

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
export function reasonPhrase(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/** The body of a problem: `{"error": {"code", "message"}}`, or one line of text for people and twine. */
export function problemBody(status: number, code: string, message: string, format: ProblemFormat): string {
  return format === 'json' ? JSON.stringify({ error: { code, message } }) : `${status} ${code}: ${message}\n`;
}

export const PROBLEM_CONTENT_TYPE: Record<ProblemFormat, string> = {
  json: 'application/json',
  text: 'text/plain; charset=utf-8',
};

/** The JSON APIs (/api/, /pypi/) answer JSON; everything else (twine's /legacy/, pip's /simple/, files) text. */
export function problemFormatFor(url: string): ProblemFormat {
  return url.startsWith('/api/') || url.startsWith('/pypi/') ? 'json' : 'text';
}

export function sendProblem(reply: FastifyReply, status: number, code: string, message: string, format: ProblemFormat = 'text'): FastifyReply {
  reply.code(status);
  reply.raw.statusMessage = reasonPhrase(message);
  return reply.type(PROBLEM_CONTENT_TYPE[format]).send(problemBody(status, code, message, format));
}
