import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { exitOnConfigError, stopOnSignals } from '../core/process-runner.js';
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
  let worker;
  try {
    worker = await startWorker(config, { log });
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
  stopOnSignals(worker, log, config.shutdownTimeoutMs);
}
