import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { exitOnConfigError, stopOnSignals } from '../core/process-runner.js';
import { startGateway } from './start.js';

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
  let gateway;
  try {
    gateway = await startGateway(config, { log, role });
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
  stopOnSignals(gateway, log, config.shutdownTimeoutMs);
  // New TLS certificates without a restart (they are also picked up when the files change).
  const running = gateway;
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading TLS certificates');
    running.reloadTls('SIGHUP');
  });
}
