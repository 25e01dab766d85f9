import { type RpmErrorCode, titleOf } from './codes.js';

export interface RpmErrorOptions {
  cause?: unknown;
  /** JSON pointer of the offending field, when there is one. */
  path?: string;
  /** Extra machine-readable facts; never PHI. */
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

/** The base of every error we raise on purpose. Callers branch on `code`, never on the message. */
export class RpmError extends Error {
  readonly code: RpmErrorCode;
  readonly path: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: RpmErrorCode, message?: string, options: RpmErrorOptions = {}) {
    super(message ?? titleOf(code), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RpmError';
    this.code = code;
    this.path = options.path;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class ConfigError extends RpmError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('RPM_ERR_CONFIG_INVALID', `Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isRpmError(err: unknown): err is RpmError {
  return err instanceof RpmError;
}
