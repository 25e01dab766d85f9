import { loadConfig } from '../core/config/load-config.js';
import { safeUrl } from '../core/config/summary.js';
import { ConfigError, PortUnavailableError, RpmError } from '../core/errors/rpm-error.js';
import { createLogger } from '../core/logging.js';
import { onParentExit } from '../core/parent-watch.js';
import { EXIT_CODES } from './exit-codes.js';
import { startGateway } from './start.js';
import { startTracing, tracingConfigured } from './tracing.js';

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
  // OpenTelemetry traces when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT); off otherwise.
  const tracing = tracingConfigured(process.env) ? startTracing() : undefined;
  if (tracing !== undefined) log.info({ endpoint: safeUrl(process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? ''), serviceName: process.env.OTEL_SERVICE_NAME ?? 'rpm-gateway' }, 'tracing on (OTLP)');
  let gateway;
  try {
    gateway = await startGateway(config, { log });
  } catch (err) {
    // Keys that are missing or unreadable, or that do not open the stored secrets: configuration.
    // A port another process holds (RPM_HTTP_PORT, RPM_MQTT_PORT…): one line, no stack trace.
    if (
      err instanceof ConfigError ||
      err instanceof PortUnavailableError ||
      (err instanceof RpmError && (err.code === 'RPM_ERR_SECRET_KEY_UNKNOWN' || err.code === 'RPM_ERR_SECRET_UNREADABLE'))
    ) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CODES.config); // EX_CONFIG
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
      async (report) => {
        // The spans of the shutdown itself, and any still buffered, go out before the exit.
        await tracing?.shutdown().catch(() => undefined);
        process.exit(report.complete ? EXIT_CODES.ok : EXIT_CODES.stateNotSaved);
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

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_CODES.failed);
});
