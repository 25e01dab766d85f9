import type { FastifyBaseLogger } from 'fastify';

type ChildArgs = Parameters<FastifyBaseLogger['child']>;
type LogFn = FastifyBaseLogger['info'];
type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * The request logger Fastify hands every request (`req.log`, `reply.log`), made only when a line
 * is written. Fastify builds one pino child per request (its `reqId` binding, redaction
 * set up again) for a logger that successful requests never use: request logging is off and only
 * refusals and failures write a line. Made on first use, it is the same child with the same
 * bindings, so the lines are the same.
 */
class LazyChildLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  // On the prototype (below): one small object per request, no closures.
  declare readonly fatal: LogFn;
  declare readonly error: LogFn;
  declare readonly warn: LogFn;
  declare readonly info: LogFn;
  declare readonly debug: LogFn;
  declare readonly trace: LogFn;
  declare readonly silent: LogFn;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: ChildArgs[0],
    private readonly options: ChildArgs[1],
  ) {}

  get real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  get level(): FastifyBaseLogger['level'] {
    return this.made?.level ?? this.options?.level ?? this.parent.level;
  }

  set level(level: FastifyBaseLogger['level']) {
    this.real.level = level;
  }

  child(...args: ChildArgs): FastifyBaseLogger {
    return this.real.child(...args);
  }
}

for (const method of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly Method[]) {
  Object.defineProperty(LazyChildLogger.prototype, method, {
    value(this: LazyChildLogger, ...args: unknown[]): void {
      (this.real[method] as (...a: unknown[]) => void)(...args);
    },
  });
}

/** Fastify's `childLoggerFactory`: a request logger made on first use (see LazyChildLogger). */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: ChildArgs[0], options: ChildArgs[1]): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options);
}
