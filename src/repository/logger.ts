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
