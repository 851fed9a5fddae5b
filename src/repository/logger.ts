// SPDX-License-Identifier: Apache-2.0
// Libraries never print: they log through this interface (pino's shape), and the application
// decides where logs go. Never log a secret: tokens and keys are not passed to a logger.
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * The default when no logger is given: errors only, to standard error. Failures of the
 * background worker and snapshot process must never go unseen.
 */
export const errorsToStderr: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (obj, msg) => {
    const err = (obj as { err?: unknown }).err;
    process.stderr.write(`bulwark: ${msg ?? 'error'}${err instanceof Error ? `: ${err.stack ?? err.message}` : ''}\n`);
  },
};
