import { loadConfig } from '../core/config/load-config.js';
import { ConfigError, RpmError } from '../core/errors/rpm-error.js';
import { createLogger } from '../core/logging.js';
import { onParentExit } from '../core/parent-watch.js';
import { EXIT_CODES } from './exit-codes.js';
import { startGateway } from './start.js';

/** Process entry point: `npm start`. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CODES.config);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  let gateway;
  try {
    gateway = await startGateway(config, { log });
  } catch (err) {
    // Keys that are missing or unreadable, or that do not open the stored secrets: configuration.
    if (err instanceof ConfigError || (err instanceof RpmError && (err.code === 'RPM_ERR_SECRET_KEY_UNKNOWN' || err.code === 'RPM_ERR_SECRET_UNREADABLE'))) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(EXIT_CODES.failed);
    }
    signalled = true;
    log.info({ signal }, 'signal received');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting with work possibly unacknowledged (never acknowledged-and-lost)');
      process.exit(EXIT_CODES.failed);
    }, config.shutdownTimeoutMs);
    timer.unref();
    gateway.close().then(
      (report) => process.exit(report.complete ? EXIT_CODES.ok : EXIT_CODES.stateNotSaved),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(EXIT_CODES.failed);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // New TLS certificates without a restart (they are also picked up when the files change).
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading TLS certificates');
    gateway.reloadTls('SIGHUP');
  });
  onParentExit(() => {
    log.info('npm, which started this process, is gone');
    shutdown('SIGTERM');
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_CODES.failed);
});
