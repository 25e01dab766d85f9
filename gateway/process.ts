import { loadConfig } from '../core/config/load-config.js';
import { safeUrl } from '../core/config/summary.js';
import { createLogger } from '../core/logging.js';
import { exitOnConfigError, stopOnSignals } from '../core/process-runner.js';
import { startGateway } from './start.js';
import { startTracing, tracingConfigured } from '../connectors/telemetry/otel-sdk.js';

/**
 * Runs a gateway process: `all` is the single process (`npm start`, `rpm start`), `gateway` the
 * edge of the distributed mode (`rpm gateway`).
 */
export async function runGatewayProcess(role: 'all' | 'gateway'): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
  const log = createLogger(config.logLevel);
  // OpenTelemetry traces when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT); off otherwise.
  const tracing = tracingConfigured(process.env) ? startTracing() : undefined;
  if (tracing !== undefined) log.info({ endpoint: safeUrl(process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? ''), serviceName: process.env.OTEL_SERVICE_NAME ?? 'rpm-gateway' }, 'tracing on (OTLP)');
  let gateway;
  try {
    gateway = await startGateway(config, { log, role });
  } catch (err) {
    // Keys that are missing or unreadable, or that do not open the stored secrets: configuration.
    // A port another process holds (RPM_HTTP_PORT, RPM_MQTT_PORT…): one line, no stack trace.
    exitOnConfigError(err);
    throw err;
  }
  // The spans of the shutdown itself, and any still buffered, go out before the exit.
  stopOnSignals(gateway, log, config.shutdownTimeoutMs, { afterClose: async () => tracing?.shutdown() });
  // New TLS certificates without a restart (they are also picked up when the files change).
  const running = gateway;
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading TLS certificates');
    running.reloadTls('SIGHUP');
  });
}
