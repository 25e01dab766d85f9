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

/**
 * A listener could not bind its port (another process holds it, e.g. a system Mosquitto on 1883,
 * or a privileged port). One line naming the port and the variable that moves it; exit 78.
 */
export class PortUnavailableError extends RpmError {
  constructor(
    readonly what: string,
    readonly host: string,
    readonly port: number,
    readonly variable: string,
    readonly reason: 'in-use' | 'not-allowed',
    cause?: unknown,
  ) {
    super(
      'RPM_ERR_CONFIG_PORT_UNAVAILABLE',
      reason === 'in-use'
        ? `${what} port ${port} on ${host} is already in use by another process: set ${variable} to a free port (or stop what listens there)`
        : `${what} port ${port} on ${host} may not be opened by this user: set ${variable} to a port above 1023`,
      { cause },
    );
    this.name = 'PortUnavailableError';
  }
}

export function isRpmError(err: unknown): err is RpmError {
  return err instanceof RpmError;
}
