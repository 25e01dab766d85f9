import { EXIT_CODES } from './exit-codes.js';
import { ConfigError, PortUnavailableError, RpmError } from './errors/rpm-error.js';
import type { Logger } from './logging.js';
import { onParentExit } from './parent-watch.js';

/** A started process of ours (gateway or worker) as its entry point manages it. */
export interface Stoppable {
  /** Resolves with whether every piece of state was written (exit 0) or not (exit 75). */
  close(): Promise<{ readonly complete: boolean } | void>;
}

/**
 * Start failures that are the operator's configuration (missing or unreadable keys, keys that do
 * not open the stored secrets, settings that disagree with the cluster, a port another process holds
 * (RPM_HTTP_PORT, RPM_MQTT_PORT…)): one line, no stack trace, exit 78.
 */
export function exitOnConfigError(err: unknown): void {
  if (err instanceof ConfigError || err instanceof PortUnavailableError || (err instanceof RpmError && (err.code === 'RPM_ERR_SECRET_KEY_UNKNOWN' || err.code === 'RPM_ERR_SECRET_UNREADABLE'))) {
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_CODES.config);
  }
}

/**
 * SIGTERM/SIGINT (and the end of the npm process that started us) shut the process down in order
 * within `timeoutMs`; a second signal or the deadline exits at once. Exit codes: core/exit-codes.ts.
 * `afterClose` runs once the target has closed, before the exit (e.g. flushing the last spans).
 */
export function stopOnSignals(target: Stoppable, log: Logger, timeoutMs: number, options: { readonly afterClose?: () => Promise<void> } = {}): void {
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(EXIT_CODES.failed);
    }
    signalled = true;
    log.info({ signal }, 'signal received');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out; exiting with work possibly unacknowledged (never acknowledged-and-lost)');
      process.exit(EXIT_CODES.failed);
    }, timeoutMs);
    timer.unref();
    target.close().then(
      async (report) => {
        await options.afterClose?.().catch(() => undefined);
        process.exit(report === undefined || report.complete ? EXIT_CODES.ok : EXIT_CODES.stateNotSaved);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(EXIT_CODES.failed);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  onParentExit(() => {
    log.info('npm, which started this process, is gone');
    shutdown('SIGTERM');
  });
}

/** The last word of a process that failed unexpectedly. */
export function fatal(err: unknown): never {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_CODES.failed);
}
