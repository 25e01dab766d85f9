import type { Config } from './schema.js';

/** A URL as it may be logged: scheme, host, port and path, never user, password or query (tokens hide there). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port === '' ? '' : `:${u.port}`}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/**
 * The configuration as the start-up log line shows it: what an operator checks first (ports,
 * store, limits, which integrations are on), built from an allow-list so that no secret (admin
 * token, database password, Twilio token, secret keys, time-series token) can ever slip in when a
 * setting is added. Secrets appear only as whether they are set.
 */
export function configSummary(config: Config): Record<string, unknown> {
  const store =
    config.store.kind === 'sqlite'
      ? { kind: 'sqlite', path: config.store.path, synchronous: config.store.synchronous }
      : { kind: 'postgres', server: safeUrl(config.store.url), poolSize: config.store.poolSize, statementTimeoutMs: config.store.statementTimeoutMs };
  return {
    http: {
      host: config.http.host,
      port: config.http.port,
      tls: config.http.tls !== undefined,
      trustProxy: config.http.trustProxy,
      bodyLimitBytes: config.http.bodyLimitBytes,
      rateLimitPerDevicePerMin: config.http.rateLimitPerDevicePerMin,
    },
    mqtt: {
      host: config.mqtt.host,
      port: config.mqtt.port,
      tlsPort: config.mqtt.tls?.port ?? null,
      webSocketPath: config.mqtt.ws.enabled ? config.mqtt.ws.path : null,
      connectMaxBytes: config.mqtt.limits.connectMaxBytes,
    },
    store,
    dataDir: config.dataDir,
    adminTokenSource: config.adminToken === undefined ? 'generated file' : 'set',
    secretKeysSource: config.secretKeys === undefined ? 'generated file' : config.secretKeys.from === 'env' ? 'RPM_SECRET_KEYS' : `file ${config.secretKeys.path}`,
    logLevel: config.logLevel,
    commit: config.commit,
    ingest: config.ingest,
    sessions: { idleMs: config.sessions.idleMs, maxMs: config.sessions.maxMs },
    rules: config.rules,
    sms: config.twilio === undefined ? 'log only (RPM_TWILIO_* unset)' : `twilio ${safeUrl(config.twilio.baseUrl)}`,
    fhir: { systemBase: config.fhir.systemBase, batchSize: config.fhir.batchSize, concurrency: config.fhir.concurrency, timeoutMs: config.fhir.timeoutMs },
    redis: config.redis === undefined ? null : safeUrl(config.redis.url),
    timeSeries: config.timeSeries === undefined ? null : safeUrl(config.timeSeries.url),
    nodeName: config.nodeName,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
  };
}
