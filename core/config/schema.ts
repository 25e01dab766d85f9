import { z } from 'zod';
import { parseFieldKeys } from '../crypto/field-encryption.js';
import { VIDEO_PROVIDERS, type VideoProviderKind } from '../model/visit.js';

/** The URLs of RPM_VIDEO_ICE_SERVERS. */
export function iceUrls(text: string): string[] {
  return text
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

const port = z.coerce.number().int().min(0).max(65_535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const positiveInt = z.coerce.number().int().positive();

/**
 * Every setting the gateway reads from the environment. All are prefixed `RPM_`.
 * Defaults carry their unit and reason; README.md lists them for operators.
 */
export const envSchema = z
  .object({
    RPM_HTTP_HOST: z.string().default('0.0.0.0'),
    RPM_HTTP_PORT: port.default(8080),
    RPM_MQTT_HOST: z.string().default('0.0.0.0'),
    RPM_MQTT_PORT: port.default(1883),
    // MQTT over WebSocket shares the HTTP server; set to 'false' to turn it off.
    RPM_MQTT_WS_ENABLED: bool.default(true),
    RPM_MQTT_WS_PATH: z.string().startsWith('/').default('/mqtt'),
    RPM_MQTT_TLS_PORT: port.default(8883),
    RPM_MQTT_TLS_CERT: z.string().optional(),
    RPM_MQTT_TLS_KEY: z.string().optional(),
    RPM_MQTT_TLS_CA: z.string().optional(),
    // Largest MQTT CONNECT (bytes), read before the client is authenticated. After authentication a
    // packet may carry a payload of up to RPM_HTTP_BODY_LIMIT_BYTES. Larger packets close the connection.
    RPM_MQTT_CONNECT_MAX_BYTES: positiveInt.min(256).max(1_048_576).default(8192),
    RPM_DATA_DIR: z.string().min(1).default('./data'),
    // Bootstrap admin bearer token; when unset one is generated into <data dir>/admin-token.
    RPM_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    RPM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Where everything durable lives: the embedded SQLite files in RPM_DATA_DIR, or PostgreSQL.
    RPM_STORE: z.enum(['sqlite', 'postgres']).default('sqlite'),
    // FULL survives power loss; NORMAL only process crashes. Acks promise what this promises.
    RPM_SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
    // PostgreSQL connection (RPM_STORE=postgres): postgres://user:password@host:5432/database[?sslmode=require].
    RPM_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }).optional(),
    // Connections per process; each group commit, evaluation pass and request holds one briefly.
    RPM_DATABASE_POOL_SIZE: positiveInt.max(1000).default(10),
    // A statement running longer fails (and its transaction rolls back) instead of holding locks.
    RPM_DATABASE_STATEMENT_TIMEOUT_MS: positiveInt.max(3_600_000).default(30_000),
    // Seconds a measurement time may lie ahead of our clock (device clock drift).
    RPM_FUTURE_TOLERANCE_S: z.coerce.number().int().min(0).max(86_400).default(300),
    // Older readings are rejected as a device clock fault (a reset clock reports 1970 or 2000).
    RPM_MAX_READING_AGE_DAYS: positiveInt.max(3650).default(365),
    // 1 MiB holds 1000 readings with room to spare.
    RPM_HTTP_BODY_LIMIT_BYTES: positiveInt.max(64 * 1024 * 1024).default(1_048_576),
    RPM_MAX_READINGS_PER_REQUEST: positiveInt.max(10_000).default(1000),
    // Requests per device per minute: HTTP requests and MQTT publishes (one envelope of 1..1000
    // readings each), counted separately per transport; hubs upload in batches, so this is generous.
    RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: positiveInt.default(600),
    // Largest single transaction, in readings.
    RPM_COMMIT_MAX_BATCH: positiveInt.max(100_000).default(8192),
    // Hard bound on rows (readings + rejection records) admitted and not yet committed: past it
    // HTTP answers 503 and MQTT publishes wait (their sockets are not read). At least one request.
    RPM_COMMIT_MAX_PENDING: positiveInt.max(10_000_000).default(100_000),
    // Extra wait (ms) to gather a bigger group before committing; 0 = commit on the next turn of the event loop.
    RPM_COMMIT_LINGER_MS: z.coerce.number().min(0).max(1000).default(0),
    // How long an old device secret keeps working after rotation, in seconds.
    RPM_SECRET_ROTATION_GRACE_S: z.coerce.number().int().min(0).max(30 * 86_400).default(86_400),
    // Time allowed to drain in-flight work on SIGTERM before exiting anyway.
    RPM_SHUTDOWN_TIMEOUT_MS: positiveInt.max(600_000).default(15_000),
    RPM_TRUST_PROXY: bool.default(false),
    // HTTPS on the HTTP port (PEM files), for deployments without a TLS-terminating proxy.
    RPM_HTTP_TLS_CERT: z.string().optional(),
    RPM_HTTP_TLS_KEY: z.string().optional(),
    // CA bundle (PEM) that signs device client certificates on HTTPS (mutual TLS; RPM_DEVICE_CLIENT_CERTS).
    RPM_HTTP_TLS_CA: z.string().optional(),
    // Device client certificates (mutual TLS) on HTTPS and MQTT over TLS, checked against
    // RPM_HTTP_TLS_CA / RPM_MQTT_TLS_CA, bound to the device whose id is the certificate's CN or a
    // subjectAltName (DNS:<id> or URI:urn:rpm:device:<id>). off: not asked for; accept: a
    // certificate authenticates its device without a secret (a secret sent too must be the same
    // device's); require: every device connection must present one (a secret alone is refused).
    RPM_DEVICE_CLIENT_CERTS: z.enum(['off', 'accept', 'require']).default('off'),
    // How often the TLS certificate and key files are checked for a replacement (also on SIGHUP).
    RPM_TLS_RELOAD_CHECK_S: positiveInt.max(86_400).default(30),
    // Strict-Transport-Security max-age on answers to HTTPS requests (ours, or a proxy's with
    // RPM_TRUST_PROXY and X-Forwarded-Proto: https); 0 sends none.
    RPM_HSTS_MAX_AGE_S: z.coerce.number().int().min(0).max(2 * 365 * 86_400).default(31_536_000),
    // The built nurse dashboard served at `/`; unset = dist/dashboard of this package (npm run build).
    RPM_DASHBOARD_DIR: z.string().min(1).optional(),
    // Wrong admin tokens, session tokens or device secrets (each counted on its own) from one source
    // address (an IPv6 /64) per minute; past it that source is refused for the rest of the minute.
    RPM_AUTH_FAILURES_PER_MIN: positiveInt.max(10_000).default(20),
    // Wrong passwords for one account before each further try must wait (1 s, doubling), and the
    // longest such wait. Addresses the account signed in from before are never delayed.
    RPM_LOGIN_FAILURES_BEFORE_DELAY: positiveInt.max(100).default(5),
    RPM_LOGIN_MAX_DELAY_S: positiveInt.max(3600).default(60),
    // Staff login sessions end after this much inactivity (HIPAA §164.312(a)(2)(iii) automatic logoff).
    RPM_SESSION_IDLE_MINUTES: positiveInt.max(24 * 60).default(15),
    // ... and, active or not, this long after login: one shift.
    RPM_SESSION_MAX_HOURS: positiveInt.max(7 * 24).default(12),
    // Break-glass (emergency access to a patient outside one's care teams): the default and the
    // longest duration a clinician may ask for, in minutes (HIPAA §164.312(a)(2)(ii)).
    RPM_BREAK_GLASS_DEFAULT_MINUTES: positiveInt.max(24 * 60).default(60),
    RPM_BREAK_GLASS_MAX_MINUTES: positiveInt.max(24 * 60).default(240),
    // How often an open worklist stream reads its session and scope again (seconds): the safety net
    // for expiry and for changes made by another process (logout and scope changes here end it at once).
    RPM_STREAM_RECHECK_S: positiveInt.max(3600).default(30),
    // Reading history the rules engine keeps in memory, in observations: per patient and kind (the
    // newest; a window holding more is judged on these), and in total (least recently used patients
    // are dropped first and reloaded from the store when they send again). ~200 bytes each.
    RPM_RULES_HISTORY_PER_KIND: positiveInt.max(1_000_000).default(2000),
    RPM_RULES_HISTORY_TOTAL: positiveInt.max(100_000_000).default(200_000),
    // How often overdue alerts are escalated and missing-data rules are checked (seconds).
    RPM_SLA_SWEEP_S: positiveInt.max(3600).default(15),
    RPM_MISSING_DATA_SWEEP_S: positiveInt.max(86_400).default(300),
    // The single process's rules engine in its own worker thread, so ingest and the rules use both
    // cores; off, it runs on the main event loop beside ingest (a one-core machine).
    RPM_RULES_THREAD: bool.default(true),
    // SMS escalation through Twilio; without these, escalations are logged (no PHI either way).
    RPM_TWILIO_ACCOUNT_SID: z.string().min(1).optional(),
    RPM_TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
    RPM_TWILIO_FROM: z.string().min(1).optional().describe('E.164 sender number or Messaging Service SID'),
    RPM_TWILIO_BASE_URL: z.url().default('https://api.twilio.com'),
    // The gateway's public base URL (https://gw.example.org): patient visit links sent by SMS start
    // with it (unset: the address the staff member's request came to), and the inbound SMS webhook's
    // X-Twilio-Signature is computed over it as Twilio calls it (unset: inbound SMS are refused).
    RPM_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    // embedded: one-to-one WebRTC signaled by the gateway; livekit / jitsi: hosted rooms, tokens minted here.
    RPM_VIDEO_PROVIDER: z.enum(VIDEO_PROVIDERS).default('embedded'),
    // ICE servers for the embedded provider, comma-separated: stun:host:port, turn:host:port?transport=udp, turns:host:5349.
    RPM_VIDEO_ICE_SERVERS: z
      .string()
      .refine((text) => iceUrls(text).every((u) => /^(stun|stuns|turn|turns):[^\s,]+$/.test(u)), 'comma-separated stun:, stuns:, turn: or turns: URLs')
      .default(''),
    // TURN credentials: the shared secret of a TURN server with the TURN REST API (coturn
    // `use-auth-secret` + `static-auth-secret`): each join gets its own expiring username and
    // password. Or one fixed username and password (long-term credentials).
    // relay: browsers use only the TURN server (neither side learns the other's IP address; needs TURN).
    RPM_VIDEO_ICE_TRANSPORT_POLICY: z.enum(['all', 'relay']).default('all'),
    RPM_VIDEO_TURN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    RPM_VIDEO_TURN_USERNAME: z.string().min(1).optional(),
    RPM_VIDEO_TURN_CREDENTIAL: z.string().min(1).optional(),
    // Minutes a patient link works (it works once); minutes after which an open visit is ended by the gateway.
    RPM_VISIT_LINK_TTL_MINUTES: positiveInt.max(7 * 24 * 60).default(30),
    RPM_VISIT_MAX_MINUTES: positiveInt.max(24 * 60).default(120),
    // LiveKit (RPM_VIDEO_PROVIDER=livekit): the server's WebSocket URL and an API key and secret;
    // optionally a web client that takes ?liveKitUrl=&token= (e.g. https://meet.livekit.io/custom).
    RPM_LIVEKIT_URL: z.url({ protocol: /^(wss?|https?)$/ }).optional(),
    RPM_LIVEKIT_API_KEY: z.string().min(1).optional(),
    RPM_LIVEKIT_API_SECRET: z.string().min(32, 'must be at least 32 characters (HS256 key)').optional(),
    RPM_LIVEKIT_JOIN_URL: z.url({ protocol: /^https?$/ }).optional(),
    // true: the LiveKit server posts its webhooks to POST /v1/video/livekit/webhook (livekit.yaml
    // `webhook.urls`, signed with the same API key), and a visit's start, end and duration come
    // from real presence (participant_joined / participant_left / room_finished); false: a token
    // issued counts as entering.
    RPM_LIVEKIT_WEBHOOKS: bool.default(false),
    // Jitsi Meet (RPM_VIDEO_PROVIDER=jitsi): the meeting site and the app id of its token auth.
    // Self-hosted (prosody token auth): the app secret (HS256). 8x8 JaaS: the app id
    // (vpaas-magic-cookie-…), the API key id and its private key file (RS256).
    RPM_JITSI_URL: z.url({ protocol: /^https?$/ }).optional(),
    RPM_JITSI_APP_ID: z.string().min(1).optional(),
    RPM_JITSI_APP_SECRET: z.string().min(32, 'must be at least 32 characters (HS256 key)').optional(),
    RPM_JITSI_KID: z.string().min(1).optional(),
    RPM_JITSI_PRIVATE_KEY_FILE: z.string().min(1).optional(),
    // Scheduling: how long a reminder job is held by the process sending it before another may
    // take it over (seconds), and the longest wait between looks at the job table.
    RPM_JOB_LEASE_S: positiveInt.max(3600).default(60),
    RPM_JOB_POLL_S: positiveInt.max(3600).default(30),
    // FHIR forwarding. The system base names our identifier systems (Observation and Device
    // identifiers, meta.source): set it to a URL you control before the first delivery and never
    // change it, because EHRs deduplicate on those identifiers.
    RPM_FHIR_SYSTEM_BASE: z.url().default('https://rpm-gateway.invalid/fhir'),
    // Observations per batch Bundle when a destination does not set its own; 1 = no batching.
    RPM_FHIR_BATCH_SIZE: positiveInt.max(1000).default(50),
    // Requests in flight per destination.
    RPM_FHIR_CONCURRENCY: positiveInt.max(64).default(4),
    RPM_FHIR_TIMEOUT_MS: positiveInt.max(300_000).default(15_000),
    // Retry delay after the n-th failed attempt: base·2^(n-1), capped, with jitter.
    RPM_FHIR_RETRY_BASE_MS: positiveInt.max(3_600_000).default(1000),
    RPM_FHIR_RETRY_MAX_MS: positiveInt.max(86_400_000).default(300_000),
    // Consecutive failed exchanges that open a destination's circuit, and how long it stays open.
    RPM_FHIR_BREAKER_THRESHOLD: positiveInt.max(1000).default(5),
    RPM_FHIR_BREAKER_COOLDOWN_MS: positiveInt.max(3_600_000).default(30_000),
    // How often the delivery worker looks for due retries (new readings wake it at once).
    RPM_FHIR_POLL_MS: positiveInt.max(600_000).default(2000),
    // How often patients the EHR did not know are looked up again (their dead letters are replayed once found).
    RPM_FHIR_PATIENT_RECHECK_MS: positiveInt.max(86_400_000).default(900_000),
    // Vendor integrations. The Withings API (a connection may name its own), and how pulls of
    // Withings measures (after a notification, or a backfill) are retried before they are given up.
    RPM_WITHINGS_API_URL: z.url({ protocol: /^https?$/ }).default('https://wbsapi.withings.net'),
    RPM_VENDOR_PULL_RETRY_BASE_MS: positiveInt.max(3_600_000).default(5000),
    RPM_VENDOR_PULL_RETRY_MAX_MS: positiveInt.max(86_400_000).default(900_000),
    RPM_VENDOR_PULL_MAX_ATTEMPTS: positiveInt.max(1000).default(12),
    // Keys that encrypt stored secrets (destination credentials, patients' identifiers at EHRs):
    // `id:base64-of-32-bytes[,id:base64…]`, the first one active, the others still read (rotation).
    // Or the same text in a file (a mounted secret). Neither set: a key is generated into
    // <data dir>/secret-keys (0600), which protects a copied database file but not a copied data directory.
    RPM_SECRET_KEYS: z
      .string()
      .superRefine((text, ctx) => {
        const parsed = parseFieldKeys(text);
        if (!parsed.ok) for (const p of parsed.problems) ctx.addIssue({ code: 'custom', message: p });
      })
      .optional(),
    RPM_SECRET_KEYS_FILE: z.string().min(1).optional(),
    // Distributed mode (README "Distributed mode"): Redis carries work between processes (BullMQ
    // queues: readings handed to rule workers, FHIR delivery, notifications, timers) and MQTT sessions
    // across gateways. Nothing durable lives only there: all of it is rebuilt from the store.
    RPM_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
    // Prefix of every Redis key and channel of this cluster (several clusters may share one Redis).
    RPM_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, . _ - (at most 64)').default('rpm'),
    // This process's name in logs, metrics and leases (default: the host name).
    RPM_NODE_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)').optional(),
    // Rule workers share patients in this many partitions (patient → partition by hash); fixed for
    // the life of a database: a worker refuses to start when it differs from the stored count.
    RPM_RULES_PARTITIONS: positiveInt.max(1024).default(16),
    // How often a worker says it is alive and rebalances its work; a dead worker's units move
    // to live ones within two rounds (its leases end with its database connection at once).
    RPM_CLUSTER_ROUND_MS: positiveInt.min(100).max(60_000).default(2000),
    // Time-series store for readings (InfluxDB 2.x / 3, or anything taking line protocol on
    // /api/v2/write). Unset: readings are only in the primary store.
    RPM_TIMESERIES_URL: z.url().optional(),
    RPM_TIMESERIES_ORG: z.string().min(1).default('rpm'),
    RPM_TIMESERIES_BUCKET: z.string().min(1).default('rpm_readings'),
    RPM_TIMESERIES_TOKEN: z.string().min(1).optional(),
  });

/**
 * Rules that span several variables. Checked on the raw environment so that they are
 * reported together with the per-variable problems, not only after those are fixed.
 */
export function crossFieldProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  const twilio = ['RPM_TWILIO_ACCOUNT_SID', 'RPM_TWILIO_AUTH_TOKEN', 'RPM_TWILIO_FROM'] as const;
  const set = twilio.filter((k) => env[k] !== undefined);
  if (set.length > 0 && set.length < twilio.length) {
    for (const k of twilio) if (env[k] === undefined) problems.push(`${k}: required when any RPM_TWILIO_* is set`);
  }
  const retryBase = Number(env.RPM_FHIR_RETRY_BASE_MS ?? 1000);
  const retryMax = Number(env.RPM_FHIR_RETRY_MAX_MS ?? 300_000);
  if (Number.isFinite(retryBase) && Number.isFinite(retryMax) && retryMax < retryBase) {
    problems.push('RPM_FHIR_RETRY_MAX_MS: must not be below RPM_FHIR_RETRY_BASE_MS');
  }
  if (env.RPM_STORE === 'postgres' && env.RPM_DATABASE_URL === undefined) problems.push('RPM_DATABASE_URL: required when RPM_STORE=postgres');
  // A URL with the default store would silently keep patient data in local SQLite files.
  if (env.RPM_DATABASE_URL !== undefined && env.RPM_STORE !== 'postgres') {
    problems.push('RPM_DATABASE_URL: set, but RPM_STORE is not postgres (set RPM_STORE=postgres, or unset RPM_DATABASE_URL)');
  }
  const maxPending = Number(env.RPM_COMMIT_MAX_PENDING ?? 100_000);
  const perRequest = Number(env.RPM_MAX_READINGS_PER_REQUEST ?? 1000);
  if (Number.isFinite(maxPending) && Number.isFinite(perRequest) && maxPending < perRequest) {
    problems.push('RPM_COMMIT_MAX_PENDING: must be at least RPM_MAX_READINGS_PER_REQUEST (a full request must fit in the commit queue)');
  }
  const historyPerKind = Number(env.RPM_RULES_HISTORY_PER_KIND ?? 2000);
  const historyTotal = Number(env.RPM_RULES_HISTORY_TOTAL ?? 200_000);
  if (Number.isFinite(historyPerKind) && Number.isFinite(historyTotal) && historyTotal < historyPerKind) {
    problems.push('RPM_RULES_HISTORY_TOTAL: must be at least RPM_RULES_HISTORY_PER_KIND');
  }
  const pullBase = Number(env.RPM_VENDOR_PULL_RETRY_BASE_MS ?? 5000);
  const pullMax = Number(env.RPM_VENDOR_PULL_RETRY_MAX_MS ?? 900_000);
  if (Number.isFinite(pullBase) && Number.isFinite(pullMax) && pullMax < pullBase) {
    problems.push('RPM_VENDOR_PULL_RETRY_MAX_MS: must not be below RPM_VENDOR_PULL_RETRY_BASE_MS');
  }
  if (env.RPM_VIDEO_PROVIDER === 'livekit') {
    for (const k of ['RPM_LIVEKIT_URL', 'RPM_LIVEKIT_API_KEY', 'RPM_LIVEKIT_API_SECRET'] as const) if (env[k] === undefined) problems.push(`${k}: required when RPM_VIDEO_PROVIDER=livekit`);
  }
  if (env.RPM_VIDEO_PROVIDER === 'jitsi') {
    for (const k of ['RPM_JITSI_URL', 'RPM_JITSI_APP_ID'] as const) if (env[k] === undefined) problems.push(`${k}: required when RPM_VIDEO_PROVIDER=jitsi`);
    const hs = env.RPM_JITSI_APP_SECRET !== undefined;
    const rs = env.RPM_JITSI_PRIVATE_KEY_FILE !== undefined || env.RPM_JITSI_KID !== undefined;
    if (hs === rs) problems.push('RPM_JITSI_APP_SECRET: set either RPM_JITSI_APP_SECRET (self-hosted) or RPM_JITSI_KID and RPM_JITSI_PRIVATE_KEY_FILE (JaaS)');
    else if (rs && (env.RPM_JITSI_PRIVATE_KEY_FILE === undefined || env.RPM_JITSI_KID === undefined)) problems.push('RPM_JITSI_KID: RPM_JITSI_KID and RPM_JITSI_PRIVATE_KEY_FILE must be set together');
  }
  if (env.RPM_VIDEO_ICE_TRANSPORT_POLICY === 'relay' && !iceUrls(env.RPM_VIDEO_ICE_SERVERS ?? '').some((u) => u.startsWith('turn'))) {
    problems.push('RPM_VIDEO_ICE_TRANSPORT_POLICY: relay needs a turn: or turns: server in RPM_VIDEO_ICE_SERVERS');
  }
  if ((env.RPM_VIDEO_TURN_USERNAME === undefined) !== (env.RPM_VIDEO_TURN_CREDENTIAL === undefined)) {
    problems.push('RPM_VIDEO_TURN_USERNAME: RPM_VIDEO_TURN_USERNAME and RPM_VIDEO_TURN_CREDENTIAL must be set together');
  }
  if (env.RPM_VIDEO_TURN_SECRET !== undefined && env.RPM_VIDEO_TURN_USERNAME !== undefined) {
    problems.push('RPM_VIDEO_TURN_SECRET: set the TURN REST secret or a fixed username and credential, not both');
  }
  if (env.RPM_SECRET_KEYS !== undefined && env.RPM_SECRET_KEYS_FILE !== undefined) {
    problems.push('RPM_SECRET_KEYS_FILE: set RPM_SECRET_KEYS or RPM_SECRET_KEYS_FILE, not both');
  }
  if ((env.RPM_HTTP_TLS_CERT === undefined) !== (env.RPM_HTTP_TLS_KEY === undefined)) {
    const missing = env.RPM_HTTP_TLS_CERT === undefined ? 'RPM_HTTP_TLS_CERT' : 'RPM_HTTP_TLS_KEY';
    problems.push(`${missing}: RPM_HTTP_TLS_CERT and RPM_HTTP_TLS_KEY must be set together`);
  }
  if (env.RPM_HTTP_TLS_CA !== undefined && env.RPM_HTTP_TLS_CERT === undefined) problems.push('RPM_HTTP_TLS_CA: client certificates need HTTPS (RPM_HTTP_TLS_CERT and RPM_HTTP_TLS_KEY)');
  if (env.RPM_DEVICE_CLIENT_CERTS !== undefined && env.RPM_DEVICE_CLIENT_CERTS !== 'off' && env.RPM_HTTP_TLS_CA === undefined && env.RPM_MQTT_TLS_CA === undefined) {
    problems.push('RPM_DEVICE_CLIENT_CERTS: needs the CA that signs device certificates (RPM_HTTP_TLS_CA and/or RPM_MQTT_TLS_CA)');
  }
  if ((env.RPM_MQTT_TLS_CERT === undefined) !== (env.RPM_MQTT_TLS_KEY === undefined)) {
    const missing = env.RPM_MQTT_TLS_CERT === undefined ? 'RPM_MQTT_TLS_CERT' : 'RPM_MQTT_TLS_KEY';
    problems.push(`${missing}: RPM_MQTT_TLS_CERT and RPM_MQTT_TLS_KEY must be set together`);
  }
  return problems;
}

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimitBytes: number;
    readonly trustProxy: boolean;
    readonly rateLimitPerDevicePerMin: number;
    /** HTTPS on the HTTP listener when set. */
    readonly tls: { readonly certFile: string; readonly keyFile: string; readonly caFile?: string | undefined } | undefined;
    /** Strict-Transport-Security max-age (seconds) on answers to HTTPS requests; 0 = none. */
    readonly hstsMaxAgeS: number;
  };
  readonly mqtt: {
    readonly host: string;
    readonly port: number;
    readonly ws: { readonly enabled: boolean; readonly path: string };
    /** Packet size caps (packet-guard.ts): the CONNECT before authentication, any packet after. */
    readonly limits: { readonly connectMaxBytes: number; readonly packetMaxBytes: number };
    readonly tls: { readonly port: number; readonly certFile: string; readonly keyFile: string; readonly caFile: string | undefined } | undefined;
    /** Publishes to the readings topic per device per minute (the HTTP limit's number, counted on its own). */
    readonly publishRateLimitPerDevicePerMin: number;
  };
  readonly store: SqliteStoreConfig | PostgresStoreConfig;
  readonly dataDir: string;
  readonly adminToken: string | undefined;
  readonly logLevel: Env['RPM_LOG_LEVEL'];
  readonly ingest: {
    readonly maxReadingsPerRequest: number;
    readonly futureToleranceMs: number;
    readonly maxReadingAgeMs: number;
  };
  readonly commit: { readonly maxBatch: number; readonly maxPending: number; readonly lingerMs: number };
  readonly credentials: { readonly rotationGraceMs: number; readonly failuresPerSourcePerMin: number };
  readonly sessions: {
    readonly idleMs: number;
    readonly maxMs: number;
    readonly loginDelay: { readonly freeFailures: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
  };
  readonly breakGlass: { readonly defaultMinutes: number; readonly maxMinutes: number };
  /** Device client certificates on the TLS listeners (mutual TLS), and how often certificate files are checked. */
  readonly tls: { readonly deviceCerts: 'off' | 'accept' | 'require'; readonly reloadCheckMs: number };
  readonly rules: {
    readonly slaSweepMs: number;
    readonly missingDataSweepMs: number;
    /** The single process's rules engine runs in its own worker thread (RPM_RULES_THREAD), else on the main event loop. */
    readonly thread: boolean;
    /** Observations of reading history kept in memory: per patient and kind, and in total. */
    readonly history: { readonly perKind: number; readonly total: number };
    /** Rule partitions of the distributed mode (patients by hash). */
    readonly partitions: number;
  };
  /** Distributed mode: work between processes and MQTT sessions across gateways. */
  readonly redis: { readonly url: string; readonly prefix: string } | undefined;
  /** This process's name in logs, metrics and leases. */
  readonly nodeName: string;
  /** Work sharing among the processes of the distributed mode. */
  readonly cluster: { readonly roundMs: number };
  readonly timeSeries: { readonly url: string; readonly org: string; readonly bucket: string; readonly token: string | undefined } | undefined;
  readonly streams: { readonly recheckMs: number };
  readonly twilio: { readonly accountSid: string; readonly authToken: string; readonly from: string; readonly baseUrl: string } | undefined;
  readonly video: VideoConfig;
  readonly fhir: FhirForwardingConfig;
  readonly scheduling: { readonly publicUrl: string | undefined; readonly jobLeaseMs: number; readonly jobPollMs: number };
  readonly vendors: {
    readonly withingsApiUrl: string;
    readonly pullRetry: { readonly baseMs: number; readonly maxMs: number };
    readonly pullMaxAttempts: number;
  };
  /**
   * Where the keys that encrypt stored secrets come from (the text is parsed again at start-up;
   * a file is read then). Undefined: a generated key file in the data directory.
   */
  readonly secretKeys: { readonly from: 'env'; readonly text: string } | { readonly from: 'file'; readonly path: string } | undefined;
  readonly shutdownTimeoutMs: number;
  /** Directory of the built dashboard; undefined = the package's dist/dashboard. */
  readonly dashboardDir: string | undefined;
}

export interface SqliteStoreConfig {
  readonly kind: 'sqlite';
  readonly path: string;
  readonly synchronous: 'FULL' | 'NORMAL';
}

export interface PostgresStoreConfig {
  readonly kind: 'postgres';
  /** May carry a password: never log it. */
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
}

export interface FhirForwardingConfig {
  readonly systemBase: string;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly breaker: { readonly threshold: number; readonly cooldownMs: number };
  readonly pollMs: number;
  /** How often unknown patients are looked up again at the EHR. */
  readonly patientRecheckMs: number;
}

export interface VideoConfig {
  readonly provider: VideoProviderKind;
  /** Where patient links point (no trailing slash); undefined: the staff request's own origin. */
  readonly publicUrl: string | undefined;
  readonly linkTtlMs: number;
  readonly maxDurationMs: number;
  /** The embedded provider's ICE servers and how TURN credentials are given. */
  readonly ice: {
    readonly urls: readonly string[];
    /** `relay`: only TURN relays (the peers never see each other's addresses). */
    readonly transportPolicy: 'all' | 'relay';
    readonly turn: { readonly kind: 'rest'; readonly secret: string } | { readonly kind: 'static'; readonly username: string; readonly credential: string } | undefined;
  };
  readonly livekit: { readonly url: string; readonly apiKey: string; readonly apiSecret: string; readonly joinUrl: string | undefined; readonly webhooks: boolean } | undefined;
  readonly jitsi:
    | {
        readonly url: string;
        readonly appId: string;
        readonly signing: { readonly kind: 'hs256'; readonly secret: string } | { readonly kind: 'rs256'; readonly kid: string; readonly privateKeyFile: string };
      }
    | undefined;
}
