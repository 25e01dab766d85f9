import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors/rpm-error.js';
import { type Config, crossFieldProblems, envSchema, iceUrls } from './schema.js';

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Reads the `RPM_*` environment into a frozen, typed Config. Every problem is reported at
 * once in a single ConfigError. Pure: it reads nothing but its argument.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const relevant = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('RPM_') && v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(relevant);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`)),
    ...crossFieldProblems(relevant),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const dataDir = path.resolve(e.RPM_DATA_DIR);
  const config: Config = {
    http: {
      host: e.RPM_HTTP_HOST,
      port: e.RPM_HTTP_PORT,
      bodyLimitBytes: e.RPM_HTTP_BODY_LIMIT_BYTES,
      trustProxy: e.RPM_TRUST_PROXY,
      rateLimitPerDevicePerMin: e.RPM_RATE_LIMIT_PER_DEVICE_PER_MIN,
      tls:
        e.RPM_HTTP_TLS_CERT !== undefined && e.RPM_HTTP_TLS_KEY !== undefined
          ? { certFile: e.RPM_HTTP_TLS_CERT, keyFile: e.RPM_HTTP_TLS_KEY, ...(e.RPM_HTTP_TLS_CA === undefined ? {} : { caFile: e.RPM_HTTP_TLS_CA }) }
          : undefined,
      hstsMaxAgeS: e.RPM_HSTS_MAX_AGE_S,
    },
    mqtt: {
      host: e.RPM_MQTT_HOST,
      port: e.RPM_MQTT_PORT,
      ws: { enabled: e.RPM_MQTT_WS_ENABLED, path: e.RPM_MQTT_WS_PATH },
      // A PUBLISH is its payload plus a topic (ours are under 200 bytes) and a packet id.
      limits: { connectMaxBytes: e.RPM_MQTT_CONNECT_MAX_BYTES, packetMaxBytes: e.RPM_HTTP_BODY_LIMIT_BYTES + 1024 },
      tls:
        e.RPM_MQTT_TLS_CERT !== undefined && e.RPM_MQTT_TLS_KEY !== undefined
          ? { port: e.RPM_MQTT_TLS_PORT, certFile: e.RPM_MQTT_TLS_CERT, keyFile: e.RPM_MQTT_TLS_KEY, caFile: e.RPM_MQTT_TLS_CA }
          : undefined,
      publishRateLimitPerDevicePerMin: e.RPM_RATE_LIMIT_PER_DEVICE_PER_MIN,
    },
    store:
      e.RPM_STORE === 'postgres' && e.RPM_DATABASE_URL !== undefined
        ? { kind: 'postgres', url: e.RPM_DATABASE_URL, poolSize: e.RPM_DATABASE_POOL_SIZE, statementTimeoutMs: e.RPM_DATABASE_STATEMENT_TIMEOUT_MS }
        : { kind: 'sqlite', path: path.join(dataDir, 'rpm.sqlite'), synchronous: e.RPM_SQLITE_SYNCHRONOUS },
    dataDir,
    adminToken: e.RPM_ADMIN_TOKEN,
    logLevel: e.RPM_LOG_LEVEL,
    ingest: {
      maxReadingsPerRequest: e.RPM_MAX_READINGS_PER_REQUEST,
      futureToleranceMs: e.RPM_FUTURE_TOLERANCE_S * 1000,
      maxReadingAgeMs: e.RPM_MAX_READING_AGE_DAYS * 86_400_000,
    },
    commit: { maxBatch: e.RPM_COMMIT_MAX_BATCH, maxPending: e.RPM_COMMIT_MAX_PENDING, lingerMs: e.RPM_COMMIT_LINGER_MS },
    credentials: { rotationGraceMs: e.RPM_SECRET_ROTATION_GRACE_S * 1000, failuresPerSourcePerMin: e.RPM_AUTH_FAILURES_PER_MIN },
    sessions: {
      idleMs: e.RPM_SESSION_IDLE_MINUTES * 60_000,
      maxMs: e.RPM_SESSION_MAX_HOURS * 3_600_000,
      loginDelay: { freeFailures: e.RPM_LOGIN_FAILURES_BEFORE_DELAY, baseDelayMs: 1000, maxDelayMs: e.RPM_LOGIN_MAX_DELAY_S * 1000 },
    },
    tls: { deviceCerts: e.RPM_DEVICE_CLIENT_CERTS, reloadCheckMs: e.RPM_TLS_RELOAD_CHECK_S * 1000 },
    breakGlass: { defaultMinutes: Math.min(e.RPM_BREAK_GLASS_DEFAULT_MINUTES, e.RPM_BREAK_GLASS_MAX_MINUTES), maxMinutes: e.RPM_BREAK_GLASS_MAX_MINUTES },
    rules: {
      slaSweepMs: e.RPM_SLA_SWEEP_S * 1000,
      missingDataSweepMs: e.RPM_MISSING_DATA_SWEEP_S * 1000,
      thread: e.RPM_RULES_THREAD,
      history: { perKind: e.RPM_RULES_HISTORY_PER_KIND, total: e.RPM_RULES_HISTORY_TOTAL },
      partitions: e.RPM_RULES_PARTITIONS,
    },
    redis: e.RPM_REDIS_URL === undefined ? undefined : { url: e.RPM_REDIS_URL, prefix: e.RPM_REDIS_PREFIX },
    nodeName: e.RPM_NODE_NAME ?? os.hostname(),
    cluster: { roundMs: e.RPM_CLUSTER_ROUND_MS },
    timeSeries:
      e.RPM_TIMESERIES_URL === undefined
        ? undefined
        : { url: e.RPM_TIMESERIES_URL, org: e.RPM_TIMESERIES_ORG, bucket: e.RPM_TIMESERIES_BUCKET, token: e.RPM_TIMESERIES_TOKEN },
    streams: { recheckMs: e.RPM_STREAM_RECHECK_S * 1000 },
    twilio:
      e.RPM_TWILIO_ACCOUNT_SID !== undefined && e.RPM_TWILIO_AUTH_TOKEN !== undefined && e.RPM_TWILIO_FROM !== undefined
        ? { accountSid: e.RPM_TWILIO_ACCOUNT_SID, authToken: e.RPM_TWILIO_AUTH_TOKEN, from: e.RPM_TWILIO_FROM, baseUrl: e.RPM_TWILIO_BASE_URL }
        : undefined,
    video: {
      provider: e.RPM_VIDEO_PROVIDER,
      publicUrl: e.RPM_PUBLIC_URL?.replace(/\/+$/, ''),
      linkTtlMs: e.RPM_VISIT_LINK_TTL_MINUTES * 60_000,
      maxDurationMs: e.RPM_VISIT_MAX_MINUTES * 60_000,
      ice: {
        urls: iceUrls(e.RPM_VIDEO_ICE_SERVERS),
        transportPolicy: e.RPM_VIDEO_ICE_TRANSPORT_POLICY,
        turn:
          e.RPM_VIDEO_TURN_SECRET !== undefined
            ? { kind: 'rest', secret: e.RPM_VIDEO_TURN_SECRET }
            : e.RPM_VIDEO_TURN_USERNAME !== undefined && e.RPM_VIDEO_TURN_CREDENTIAL !== undefined
              ? { kind: 'static', username: e.RPM_VIDEO_TURN_USERNAME, credential: e.RPM_VIDEO_TURN_CREDENTIAL }
              : undefined,
      },
      livekit:
        e.RPM_LIVEKIT_URL !== undefined && e.RPM_LIVEKIT_API_KEY !== undefined && e.RPM_LIVEKIT_API_SECRET !== undefined
          ? { url: e.RPM_LIVEKIT_URL, apiKey: e.RPM_LIVEKIT_API_KEY, apiSecret: e.RPM_LIVEKIT_API_SECRET, joinUrl: e.RPM_LIVEKIT_JOIN_URL, webhooks: e.RPM_LIVEKIT_WEBHOOKS }
          : undefined,
      jitsi:
        e.RPM_JITSI_URL === undefined || e.RPM_JITSI_APP_ID === undefined
          ? undefined
          : {
              url: e.RPM_JITSI_URL.replace(/\/+$/, ''),
              appId: e.RPM_JITSI_APP_ID,
              signing:
                e.RPM_JITSI_APP_SECRET !== undefined
                  ? { kind: 'hs256', secret: e.RPM_JITSI_APP_SECRET }
                  : { kind: 'rs256', kid: e.RPM_JITSI_KID ?? '', privateKeyFile: path.resolve(e.RPM_JITSI_PRIVATE_KEY_FILE ?? '') },
            },
    },
    scheduling: { publicUrl: e.RPM_PUBLIC_URL?.replace(/\/+$/, ''), jobLeaseMs: e.RPM_JOB_LEASE_S * 1000, jobPollMs: e.RPM_JOB_POLL_S * 1000 },
    shutdownTimeoutMs: e.RPM_SHUTDOWN_TIMEOUT_MS,
    dashboardDir: e.RPM_DASHBOARD_DIR === undefined ? undefined : path.resolve(e.RPM_DASHBOARD_DIR),
    fhir: {
      systemBase: e.RPM_FHIR_SYSTEM_BASE.replace(/\/+$/, ''),
      batchSize: e.RPM_FHIR_BATCH_SIZE,
      concurrency: e.RPM_FHIR_CONCURRENCY,
      timeoutMs: e.RPM_FHIR_TIMEOUT_MS,
      retry: { baseMs: e.RPM_FHIR_RETRY_BASE_MS, maxMs: e.RPM_FHIR_RETRY_MAX_MS },
      breaker: { threshold: e.RPM_FHIR_BREAKER_THRESHOLD, cooldownMs: e.RPM_FHIR_BREAKER_COOLDOWN_MS },
      pollMs: e.RPM_FHIR_POLL_MS,
      patientRecheckMs: e.RPM_FHIR_PATIENT_RECHECK_MS,
    },
    vendors: {
      withingsApiUrl: e.RPM_WITHINGS_API_URL.replace(/\/+$/, ''),
      pullRetry: { baseMs: e.RPM_VENDOR_PULL_RETRY_BASE_MS, maxMs: e.RPM_VENDOR_PULL_RETRY_MAX_MS },
      pullMaxAttempts: e.RPM_VENDOR_PULL_MAX_ATTEMPTS,
    },
    secretKeys:
      e.RPM_SECRET_KEYS !== undefined
        ? { from: 'env', text: e.RPM_SECRET_KEYS }
        : e.RPM_SECRET_KEYS_FILE !== undefined
          ? { from: 'file', path: path.resolve(e.RPM_SECRET_KEYS_FILE) }
          : undefined,
  };
  return deepFreeze(config);
}
