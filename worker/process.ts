import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { exitOnConfigError, stopOnSignals } from '../core/process-runner.js';
import { startTracing, tracingConfigured } from '../connectors/telemetry/otel-sdk.js';
import { startWorker } from './start.js';

/** Runs a worker process of the distributed mode (`rpm worker`). */
export async function runWorkerProcess(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
  const log = createLogger(config.logLevel);
  // OpenTelemetry traces when an OTLP endpoint is configured: a worker continues the trace a
  // gateway's nudge carries (`traceparent` in the job data).
  const tracing = tracingConfigured(process.env) ? startTracing({ serviceName: process.env.OTEL_SERVICE_NAME ?? 'rpm-worker' }) : undefined;
  let worker;
  try {
    worker = await startWorker(config, { log });
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
  stopOnSignals(worker, log, config.shutdownTimeoutMs, { afterClose: async () => tracing?.shutdown() });
}
