import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Config } from '../core/config/schema.js';
import type { FieldCipher } from '../core/crypto/field-encryption.js';
import { PortUnavailableError, RpmError } from '../core/errors/rpm-error.js';
import { configSummary } from '../core/config/summary.js';
import { createLogger, type Logger } from '../core/logging.js';
import { type Clock, systemClock } from '../core/ports/clock.js';
import type { Reading } from '../core/model/reading.js';
import type { CommitOutcome } from '../core/ports/reading-store.js';
import { readingTraces, traceparentOf } from '../core/tracing.js';
import { exportRelayedSpan, tracingStarted } from '../connectors/telemetry/otel-sdk.js';
import type { RelayedSpan } from '../connectors/telemetry/span-relay.js';
import { randomUUID } from 'node:crypto';
import { logicalDeviceReference } from '../connectors/fhir/device-mapper.js';
import { fhirSystems } from '../connectors/fhir/fhir-codes.js';
import { FhirSink } from '../connectors/fhir/fhir-sink.js';
import { readingObservation } from '../connectors/fhir/observation-mapper.js';
import { openStores } from '../connectors/open-stores.js';
import { TwilioSmsNotifier, validTwilioSignature } from '../connectors/twilio/twilio-sms-notifier.js';
import { WithingsHttpApi } from '../connectors/withings/withings-http-api.js';
import { CarePlans } from '../pipeline/care-plans.js';
import { DeviceDirectory } from '../pipeline/device-directory.js';
import { ForwardingRoutes } from '../pipeline/forwarding-routes.js';
import { GroupCommitter } from '../pipeline/group-committer.js';
import { IngestService } from '../pipeline/ingest.js';
import { PatientIdentityService } from '../pipeline/patients/patient-identity-service.js';
import { ReminderWorker } from '../pipeline/scheduling/reminder-worker.js';
import { ReminderHandoff } from '../pipeline/cluster/reminder-handoff.js';
import { SchedulingService } from '../pipeline/scheduling/scheduling-service.js';
import { StoreHealth } from '../pipeline/store-health.js';
import { loadOrCreateAdminToken } from '../connectors/files/admin-token-file.js';
import { ensurePrivateDir } from '../connectors/files/data-files.js';
import { loadSecretKeys } from '../connectors/files/secret-keys-file.js';
import { CredentialGuard } from './auth/credential-guard.js';
import { AuditGuard } from './audit-guard.js';
import { DeviceAuthenticator } from './auth/device-authenticator.js';
import { DeviceSecretHasher } from './auth/device-secret.js';
import { SessionService } from './auth/session-service.js';
import type { EmbeddedRules, GatewayContext } from './context.js';
import { ForwardingService } from '../pipeline/forwarding/forwarding-service.js';
import { buildApp } from './http/app.js';
import { EventLoopMonitor } from './event-loop-monitor.js';
import { GatewayMetrics } from './metrics.js';
import { createMqttBroker, type MqttBroker } from './mqtt/broker.js';
import { PostgresLeases } from '../connectors/postgres/postgres-leases.js';
import { BullWorkBus } from '../connectors/redis/bullmq-work-bus.js';
import { createRedisMqttCluster } from '../connectors/redis/mqtt-cluster.js';
import { RedisClusterEvents } from '../connectors/redis/redis-cluster-events.js';
import { ClusterHubBridge } from '../pipeline/cluster/hub-bridge.js';
import { RemoteDeliveryControl } from '../pipeline/cluster/remote-delivery.js';
import { PortLink, SupervisedThread } from '../connectors/threads/port-link.js';
import { AlertingService, logRaisedAlerts } from '../pipeline/alerting-service.js';
import { observeEngine, type RulesObserver, type RulesPass } from '../pipeline/rules-observations.js';
import { CALLS, CHANNELS, MAIN_NODE, NOTES, type RulesThreadData } from './rules-thread-protocol.js';
import { EXIT_CODES } from '../core/exit-codes.js';
import { WorkHandoff } from '../pipeline/cluster/work-handoff.js';
import { InfluxSink } from '../connectors/timeseries/influx-sink.js';
import { TimeSeriesWriter } from '../pipeline/timeseries-writer.js';
import { type DeliveryControl, DeliveryWorker } from '../pipeline/delivery-worker.js';
import { EdgeEvents } from './cluster/edge-events.js';
import { requireClusterConfig } from '../core/config/cluster.js';
import { type GatewayCluster, gatewayCluster } from './cluster/gateway-cluster.js';
import { GuardedMqttConnection } from './mqtt/packet-guard.js';
import { PresenceTracker } from './presence.js';
import { OrgRegistryService } from './org-registry-service.js';
import { PatientTransfer } from './patient-transfer.js';
import { RegistryService } from './registry-service.js';
import { StaffService } from './staff-service.js';
import { VendorService } from './vendors/vendor-service.js';
import { WithingsPuller } from './vendors/withings-puller.js';
import { LogNotifier } from '../pipeline/worklist/log-notifier.js';
import { MfaService } from './auth/mfa-service.js';
import { SsoService } from './auth/sso-service.js';
import { OpenIdClientProvider } from '../connectors/oidc/openid-client-provider.js';
import { BreakGlassService } from './break-glass-service.js';
import { TlsReloader } from './tls/tls-reloader.js';
import { SlaEscalator } from '../pipeline/worklist/sla-escalator.js';
import { TimerGuard } from '../pipeline/worklist/timer-guard.js';
import { WorklistHub } from '../pipeline/worklist/worklist-hub.js';
import { WorklistService } from '../pipeline/worklist/worklist-service.js';
import type { PatientContacts } from '../core/ports/patient-contacts.js';
import type { VideoProvider } from '../core/ports/video-provider.js';
import { EmbeddedVideoProvider } from '../connectors/video/embedded-video-provider.js';
import { JitsiVideoProvider } from '../connectors/video/jitsi-video-provider.js';
import { LiveKitVideoProvider } from '../connectors/video/livekit-video-provider.js';
import { fhirJobHandlers } from '../pipeline/scheduling/fhir-job-handlers.js';
import { VisitService } from '../pipeline/video/visit-service.js';
import { SIGNALING_PATH, VisitSignaling } from './video/signaling.js';
import { clusterSignalingRelay } from './video/signaling-relay.js';
import { BillingService } from '../pipeline/billing/billing-service.js';
import { RosterService } from '../pipeline/roster/roster-service.js';
import { BILLING_SCHEDULES } from '../rules/billing/schedules/index.js';

export interface RunningGateway {
  readonly ctx: GatewayContext;
  readonly httpPort: number;
  readonly mqttPort: number;
  readonly mqttTlsPort: number | undefined;
  /** Reads the TLS certificate files again and applies them to the HTTPS and MQTT-over-TLS listeners (SIGHUP); false if one could not be applied. */
  reloadTls(why?: string): boolean;
  /**
   * Graceful: stop accepting, drain in-flight requests and publishes, flush commits, close stores.
   * A step that fails (a store that cannot write) is logged and the shutdown goes on; the report
   * names what could not be done.
   */
  close(): Promise<ShutdownReport>;
}

export interface ShutdownReport {
  /** Every step done and all state written. False: something best-effort could not be saved. */
  readonly complete: boolean;
  /** What could not be done, e.g. `presence` (device last-seen and online flags not written). */
  readonly incomplete: readonly string[];
}

export interface StartOptions {
  readonly log?: Logger;
  readonly clock?: Clock;
  /**
   * `all` (default): the single process, everything here (`npm start`). `gateway`: the edge of the
   * distributed mode (`rpm gateway`); the background work goes to workers (`rpm worker`).
   */
  readonly role?: 'all' | 'gateway';
  /**
   * The rules thread of the single process kept ending and could not be kept running. Default: log
   * it and exit the process (code 1), so a supervisor restarts it; a silent dead rules engine must
   * never happen.
   */
  readonly onBackgroundBroken?: (err: Error) => void;
}

// Compiled, the rules thread is a .js file next to this one; run from TypeScript sources (tsx,
// vitest) a small .mjs entry registers tsx in the thread first.
const RULES_THREAD_URL = new URL(import.meta.url.endsWith('.ts') ? './rules-thread-source.mjs' : './rules-thread.js', import.meta.url);
/** Restarts of the rules thread allowed per minute before the process gives up. */
const RULES_THREAD_MAX_RESTARTS = 5;
/** How long the rules thread keeps judging its backlog at shutdown (the rest waits behind its cursor). */
const RULES_STOP_DRAIN_MS = 5000;

/**
 * The single process's rules engine in its own thread: started (its stores open) before this
 * resolves, restarted when it ends unexpectedly, and told of what changes here.
 */
function startRulesThread(
  config: Config,
  clock: Clock,
  log: Logger,
  onBroken: (err: Error) => void,
): { rules: EmbeddedRules; observer: RulesObserver; link: PortLink; relayClock(): void; started: Promise<void>; tracing: boolean } {
  const link = new PortLink(log);
  // Lines the thread logs come out of this thread's logger (its level, its destination).
  link.onNote(NOTES.log, (line) => {
    if (typeof line !== 'string') return;
    try {
      const { level, time: _time, pid: _pid, hostname: _hostname, service: _service, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const label = log.levels.labels[typeof level === 'number' ? level : 30] ?? 'info';
      const write = (log as unknown as Record<string, (o: object, m?: string) => void>)[label];
      write?.call(log, rest, typeof msg === 'string' ? msg : undefined);
    } catch {
      // A line that is not JSON is not ours to log.
    }
  });
  const listeners: Array<(pass: RulesPass) => void> = [];
  let historyObservations = 0;
  link.onNote(NOTES.pass, (value) => {
    const pass = value as RulesPass;
    historyObservations = pass.historyObservations;
    for (const l of listeners) l(pass);
  });
  const relayed = clock !== systemClock;
  let lastRelayed = Number.NaN;
  // A clock injected here (tests) is the thread's clock too: its time goes before each message.
  const relayClock = (): void => {
    if (!relayed) return;
    const now = clock.now();
    if (now === lastRelayed) return;
    lastRelayed = now;
    link.note(NOTES.clock, now);
  };
  // Traced here, traced there: the thread's finished spans come to this thread's exporter.
  const tracing = tracingStarted();
  if (tracing) link.onNote(NOTES.span, (span) => exportRelayedSpan(span as RelayedSpan));
  const workerData: RulesThreadData = { config, clock: relayed ? { kind: 'relayed', nowMs: clock.now() } : { kind: 'system' }, tracing };
  const thread = new SupervisedThread({
    url: RULES_THREAD_URL,
    workerData,
    link,
    log,
    maxRestarts: RULES_THREAD_MAX_RESTARTS,
    windowMs: 60_000,
    startedCall: CALLS.started,
    onBroken,
  });
  // The thread boots (modules, its own connections) while this thread wires the rest; awaited before listening.
  const started = thread.start();
  started.catch(() => undefined);
  const call = async (name: string): Promise<void> => {
    relayClock();
    await link.call(name);
  };
  const rules: EmbeddedRules = {
    drain: () => call(CALLS.drain),
    sweepClock: () => call(CALLS.sweepClock),
    sweepMissing: () => call(CALLS.sweepMissing),
    stop: async () => {
      relayClock();
      await thread.stop(CALLS.stop, { drainForMs: RULES_STOP_DRAIN_MS });
    },
    crash: () => thread.terminate(),
    get restarts() {
      return thread.restarts;
    },
    get running() {
      return thread.running;
    },
  };
  const observer: RulesObserver = {
    onPass: (l) => listeners.push(l),
    get historyObservations() {
      return historyObservations;
    },
  };
  return { rules, observer, link, relayClock, started, tracing };
}

/** The traced readings of a commit, reading id → traceparent, to the rules thread (nothing when none was traced). */
function tellReadingTraces(link: PortLink, readings: readonly Reading[], outcomes: readonly CommitOutcome[]): void {
  let traces: Record<string, string> | undefined;
  for (let i = 0; i < outcomes.length; i++) {
    const reading = readings[i];
    if (outcomes[i]?.status !== 'accepted' || reading === undefined) continue;
    const traceparent = traceparentOf(readingTraces.get(reading.id));
    if (traceparent !== undefined) (traces ??= {})[reading.id] = traceparent;
  }
  if (traces !== undefined) link.note(NOTES.readingTraces, traces);
}

/**
 * The single process's rules engine on the main event loop (RPM_RULES_THREAD=false):
 * it follows the commits in memory, and its clock and missing-data sweeps run on timers started
 * with `start` after the gateway listens.
 */
function rulesOnMainLoop(engine: AlertingService, carePlanPatients: () => Promise<string[]>, config: Config, log: Logger): { rules: EmbeddedRules; start(): void; stopTimers(): void } {
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  const rules: EmbeddedRules = {
    drain: () => engine.drain(),
    sweepClock: () => engine.sweepClock(),
    sweepMissing: async () => engine.sweepMissing(await carePlanPatients()),
    stop: async () => {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await engine.stop();
    },
    crash: () => Promise.reject(new Error('the rules engine runs on the main event loop (RPM_RULES_THREAD=false): there is no thread to end')),
    restarts: 0,
    get running() {
      return !stopped;
    },
  };
  const start = (): void => {
    // Catch up on readings committed before a crash or restart, then follow the log.
    engine.kick();
    // Waits for a repeat reading expire on the clock, not only when the next reading comes.
    const clock = setInterval(() => {
      engine.sweepClock().catch((err: unknown) => log.error({ err }, 'confirmation sweep failed'));
    }, config.rules.slaSweepMs);
    const missing = setInterval(() => {
      rules.sweepMissing().catch((err: unknown) => log.error({ err }, 'missing-data sweep failed'));
    }, config.rules.missingDataSweepMs);
    clock.unref();
    missing.unref();
    timers.push(clock, missing);
  };
  return { rules, start, stopTimers: () => timers.forEach((t) => clearInterval(t)) };
}

/** Where the background work runs: here (the single process), or in the workers. */
type Background =
  | {
      readonly kind: 'embedded';
      readonly rules: EmbeddedRules;
      readonly observer: RulesObserver;
      /** The rules thread's link: nudges, events and calls (the distributed mode's WorkBus and ClusterEvents, in process); undefined when the engine runs on the main event loop. */
      readonly link: PortLink | undefined;
      /** The engine on the main event loop (RPM_RULES_THREAD=false): its follow and sweeps start after listening. */
      readonly mainLoop: { readonly engine: AlertingService; start(): void; stopTimers(): void } | undefined;
      readonly escalator: SlaEscalator;
      readonly deliveries: DeliveryWorker;
      readonly timeSeries: TimeSeriesWriter | undefined;
    }
  | { readonly kind: 'remote'; readonly handoff: WorkHandoff };

/** How often open visits past RPM_VISIT_MAX_MINUTES are looked for. */
const VISIT_SWEEP_MS = 60_000;

/** The connections a gateway of the distributed mode shares with the cluster (the adapters are chosen here). */
async function openGatewayCluster(config: Config, log: Logger): Promise<GatewayCluster> {
  const { redis, databaseUrl } = requireClusterConfig(config, 'gateway');
  const onError = (err: Error): void => log.warn({ err: err.message }, 'Redis connection problem (work and events resume when it is back)');
  const mqtt = createRedisMqttCluster({ url: redis.url, keyPrefix: `${redis.prefix}:mqtt:`, onError });
  return gatewayCluster(
    {
      bus: new BullWorkBus({ url: redis.url, prefix: redis.prefix, onError }),
      events: new RedisClusterEvents({ url: redis.url, prefix: redis.prefix, onError }),
      leases: new PostgresLeases({ url: databaseUrl, applicationName: `rpm-gateway:${config.nodeName}` }),
      mqtt,
    },
    log,
  );
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Runs a listen; a port in use or not ours to open becomes a PortUnavailableError (exit 78). */
async function bindOrExplain<T>(bind: () => Promise<T>, what: string, host: string, port: number, variable: string): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PortUnavailableError(what, host, port, variable, 'in-use', err);
    if (code === 'EACCES') throw new PortUnavailableError(what, host, port, variable, 'not-allowed', err);
    throw err;
  }
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The video provider named by RPM_VIDEO_PROVIDER (load-config checked that its settings are there). */
async function openVideoProvider(config: Config): Promise<VideoProvider> {
  const video = config.video;
  if (video.provider === 'livekit' && video.livekit !== undefined) return new LiveKitVideoProvider(video.livekit);
  if (video.provider === 'jitsi' && video.jitsi !== undefined) {
    const jitsi = new JitsiVideoProvider(video.jitsi);
    // A JaaS key file that cannot be read stops the start here, not at the first visit.
    await jitsi.ready();
    return jitsi;
  }
  return new EmbeddedVideoProvider({ ice: video.ice, signalingPath: SIGNALING_PATH });
}

/**
 * The composition root: picks the adapters named by the configuration, wires them into the
 * pipeline and the protocol edges, and starts listening. The only module that imports
 * connectors/.
 */
export async function startGateway(config: Config, options: StartOptions = {}): Promise<RunningGateway> {
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const role = options.role ?? 'all';
  // Refused before anything is opened: a gateway of the distributed mode needs the shared store and Redis.
  if (role === 'gateway') requireClusterConfig(config, 'gateway');
  // PHI and credentials live here: only our user may enter (0700); every file in it is 0600.
  const dataDir = ensurePrivateDir(config.dataDir);
  if (dataDir === 'tightened') log.warn({ dataDir: config.dataDir }, 'the data directory was readable by others; made it private (0700)');
  if (dataDir === 'not-ours') log.warn({ dataDir: config.dataDir }, 'the data directory is readable by others and not ours to change; make it 0700');
  const secretKeys = loadSecretKeys(config);
  if (secretKeys.source === 'generated' || secretKeys.source === 'data-dir') {
    log.warn({ file: secretKeys.file }, 'RPM_SECRET_KEYS not set; stored secrets are encrypted with the key file in the data directory (set RPM_SECRET_KEYS or RPM_SECRET_KEYS_FILE from a secret store)');
  }
  // What an operator checks first, from an allow-list: never a secret (core/config/summary.ts).
  log.info({ config: configSummary(config), role }, 'configuration');
  const stores = await openStores(config, secretKeys.cipher, log);
  if (stores.sealedSecrets > 0) log.info({ values: stores.sealedSecrets, keyId: secretKeys.cipher.activeKeyId }, 'encrypted stored secrets under the active key');

  const directory = new DeviceDirectory(stores.registry);
  const committer = new GroupCommitter(stores.readings, config.commit, log);
  const storeHealth = new StoreHealth(committer, stores.readings, clock, log);
  // FHIR forwarding: ingest adds outbox rows for the destinations of each reading (from memory).
  const forwardingRoutes = new ForwardingRoutes(stores.forwarding, stores.registry);
  const presence = new PresenceTracker(stores.registry, log);
  const ingest = new IngestService({
    directory,
    committer,
    clock,
    limits: { ...config.ingest },
    routes: forwardingRoutes,
    deviceStatus: presence,
  });
  const deviceSecrets = new DeviceSecretHasher(secretKeys.cipher);
  const authenticator = new DeviceAuthenticator(stores.registry, directory, clock, deviceSecrets, log);
  const registry = new RegistryService(stores.registry, stores.readings, directory, authenticator, deviceSecrets, clock, config.credentials.rotationGraceMs, forwardingRoutes);
  const mfa = new MfaService(stores.staffSecurity, secretKeys.cipher, clock);
  const sessions = new SessionService(stores.staff, clock, config.sessions, { secondFactor: mfa, passwords: stores.staffSecurity });
  const credentialGuard = new CredentialGuard(stores.audit, clock, log, { maxFailures: config.credentials.failuresPerSourcePerMin, windowMs: 60_000 });
  const staff = new StaffService(stores.staff, sessions, clock, stores.staffSecurity, mfa);
  const carePlans = new CarePlans(stores.alerts);
  const worklistHub = new WorklistHub();
  // Requests whose audit record cannot be written are refused with 503 and Retry-After.
  const audit = new AuditGuard(stores.audit, log);
  // The FHIR connector: readings and visits to EHRs, and patients' demographics from them.
  const fhirSink = new FhirSink({ systemBase: config.fhir.systemBase, timeoutMs: config.fhir.timeoutMs, log });
  const identities = new PatientIdentityService({
    store: stores.identities,
    audit,
    clock,
    ehr: {
      patients: fhirSink,
      destination: (id) => stores.forwarding.getDestination(id),
      organizationOf: async (patientId) => (await stores.registry.getPatient(patientId))?.organizationId,
    },
  });
  const identityContacts: PatientContacts = {
    phoneOf: async (patientId) => (await identities.contactOf(patientId))?.phone ?? null,
    telehealthConsent: async (patientId) => ((await identities.hasTelehealthConsent(patientId)) ? 'given' : 'absent'),
  };
  // SMS to staff (escalations, break-glass notices to admins) and patients (visit reminders, video visit links): Twilio when configured, else the log (no PHI either way; links left out).
  const notifier = config.twilio === undefined ? new LogNotifier(log) : new TwilioSmsNotifier(config.twilio);
  const breakGlass = new BreakGlassService({
    store: stores.staffSecurity,
    staff,
    patientOrganization: async (patientId) => (await stores.registry.getPatient(patientId))?.organizationId,
    audit,
    notifier,
    clock,
    log,
    options: config.breakGlass,
    cipher: secretKeys.cipher,
  });
  staff.useEmergencyAccess(breakGlass);
  const sso = new SsoService({
    security: stores.staffSecurity,
    accounts: stores.staff,
    staff,
    sessions,
    provider: new OpenIdClientProvider(),
    cipher: secretKeys.cipher,
    audit,
    clock,
    hasOwnFactor: (staffId) => mfa.enrolled(staffId),
  });
  // Visits to EHRs as FHIR Appointments and Encounters, through the destinations that take them (same jobs table).
  const appointmentVisits = (a: { organizationId: string; id: string }, limit: number) => stores.visits.list({ organizationId: a.organizationId, appointmentId: a.id, limit });
  const { appointments: appointmentForwarder, encounters: encounterForwarder } = fhirJobHandlers({
    forwarding: stores.forwarding,
    scheduling: stores.scheduling,
    visits: stores.visits,
    staff: stores.staff,
    sink: fhirSink,
    audit,
    clock,
    patientRecheckMs: config.fhir.patientRecheckMs,
  });
  const scheduling = new SchedulingService({
    store: stores.scheduling,
    patients: stores.registry,
    staff: stores.staff,
    identities,
    audit,
    clock,
    log,
    newId: randomUUID,
    jobs: stores.jobs,
    jobsFor: (organizationId, appointmentId, version, nowMs) => appointmentForwarder.jobsFor(organizationId, appointmentId, version, nowMs),
    visitsOf: (a) => appointmentVisits(a, 20),
  });
  // Scheduling's durable jobs run here in the single process; in the distributed mode a worker holding
  // the `reminders` unit runs them, woken by BullMQ delayed jobs this gateway posts after each commit.
  const reminders = role === 'gateway' ? undefined : new ReminderWorker({
    jobs: stores.jobs,
    store: stores.scheduling,
    identities,
    notifier,
    audit,
    clock,
    log,
    owner: `${config.nodeName}:${process.pid}:${randomUUID()}`,
    leaseMs: config.scheduling.jobLeaseMs,
    pollMs: config.scheduling.jobPollMs,
    handlers: [appointmentForwarder, encounterForwarder],
  });
  // A booking or a change may bring a reminder due sooner than the worker's next look.
  if (reminders !== undefined) scheduling.onChanged(() => reminders.kick());
  const twilioAuthToken = config.twilio?.authToken;
  const verifyTwilio: GatewayContext['verifyTwilio'] = (signature, url, params) =>
    twilioAuthToken !== undefined && validTwilioSignature(twilioAuthToken, signature, url, params);
  const worklist = new WorklistService(stores.alerts, carePlans, staff, audit, worklistHub, clock, log, async (s, patientId) =>
    (await stores.visits.list({ organizationId: s.organizationId, patientId, staffId: s.id, open: true, limit: 5 })).flatMap((v) => (v.startedAtMs === null ? [] : [{ id: v.id, startedAtMs: v.startedAtMs }])),
  );
  const billing = new BillingService({
    store: stores.billing,
    readings: stores.readings,
    registry: stores.registry,
    timeLog: stores.alerts,
    staff: {
      canSeePatient: (s, patientId) => staff.canSeePatient(s, patientId),
      visiblePatientIds: (s, options) => staff.visiblePatientIds(s, options),
      getStaffRecord: (id) => stores.staff.getStaff(id),
      organizationTimeZone: async (organizationId) => (await stores.staff.displaySettings(organizationId, null)).organization?.timeZone ?? 'UTC',
    },
    patientTimeZone: async (patientId) => (await identities.contactOf(patientId))?.timeZone,
    schedules: BILLING_SCHEDULES,
    audit,
    clock,
  });
  const roster = new RosterService({
    staff: {
      visiblePatientIds: (s, options) => staff.visiblePatientIds(s, options),
      teamsOfPatient: (patientId) => stores.staff.teamsOfPatient(patientId),
      teamsOfStaff: (staffId) => staff.teamsOfStaff(staffId),
      displayPrefs: (s) => staff.displayPrefs(s),
    },
    carePlan: async (patientId) => (await carePlans.get(patientId)).plan,
    readings: stores.readings,
    registry: stores.registry,
    presence,
    alerts: stores.alerts,
    priorityOf: async (alert, nowMs) => (await worklist.rank(alert, nowMs)).priority.score,
    billing,
    identities: async (patientIds, by) => {
      const found = await identities.readMany(patientIds, { actor: `staff:${by.staff.id}`, sourceIp: by.sourceIp }, `organization:${by.staff.organizationId}`);
      return new Map([...found].map(([id, i]) => [id, { name: `${i.givenName} ${i.familyName}`, birthDate: i.birthDate, ageYears: i.ageYears, mrn: i.mrn }]));
    },
    audit,
    clock,
  });
  // Stops a nurse's running timer at once when her session ends here (logout, disable).
  const timerGuard = new TimerGuard(stores.alerts, sessions, clock, log);
  timerGuard.watch(sessions);
  // Video visits: the patient's number (read when sending, never kept elsewhere) and telehealth
  // consent come from the patient identity module.
  const visits = new VisitService({
    visits: stores.visits,
    provider: await openVideoProvider(config),
    contacts: identityContacts,
    notifier,
    staff,
    alerts: stores.alerts,
    audit,
    clock,
    log,
    options: { linkTtlMs: config.video.linkTtlMs, maxDurationMs: config.video.maxDurationMs, publicUrl: config.video.publicUrl },
    // A start or an end: the Encounter (and the linked Appointment, arrived) to the EHRs that take them, in the change's transaction.
    jobsFor: async (visit, change, nowMs) => {
      const jobs = await encounterForwarder.jobsFor(visit, change, nowMs);
      const appointment = visit.appointmentId === null || change !== 'started' ? undefined : await stores.scheduling.getAppointment(visit.appointmentId);
      return appointment === undefined ? jobs : [...jobs, ...(await appointmentForwarder.jobsFor(appointment.organizationId, appointment.id, appointment.version, nowMs))];
    },
    appointments: { getAppointment: (id) => scheduling.getAppointment(id), visitCompleted: (id, visit) => scheduling.visitCompleted(id, visit) },
    timeLog: stores.alerts,
  });
  // A visit's start or end may bring jobs due at once (FHIR Encounters, the linked Appointment).
  if (reminders !== undefined) visits.onChanged(() => reminders.kick());

  // The background work: in the single process it runs here (rules, escalation, delivery); a gateway
  // of the distributed mode hands it to the workers (README "Distributed mode").
  let background: Background;
  /** The rules thread's start (single process): its stores open and its engine following the log before the gateway listens. */
  let rulesStarted: Promise<void> = Promise.resolve();
  let deliveryControl: DeliveryControl;
  let cluster: GatewayCluster | undefined;
  let edgeEvents: EdgeEvents | undefined;
  if (role === 'all') {
    let rules: EmbeddedRules;
    let observer: RulesObserver;
    let link: PortLink | undefined;
    let mainLoop: { engine: AlertingService; start(): void; stopTimers(): void } | undefined;
    if (config.rules.thread) {
      // The rules engine runs in its own thread (gateway/rules-thread.ts) with its own connections:
      // after each commit this thread posts a nudge (the log position), never the readings; alert
      // changes come back as ids and are read here for the worklist streams (ClusterHubBridge).
      const onBroken =
        options.onBackgroundBroken ??
        ((err: Error): void => {
          log.fatal({ err }, 'the rules thread cannot be kept running; exiting so that a supervisor restarts the gateway');
          process.exit(EXIT_CODES.failed);
        });
      const thread = startRulesThread(config, clock, log, onBroken);
      ({ rules, observer, link } = thread);
      const { relayClock } = thread;
      const threadLink = thread.link;
      rulesStarted = thread.started;
      const handoff = new WorkHandoff({ bus: link, log, partitions: 1, destinations: () => [], timeSeries: false });
      // Rules run after each commit, beside ingest, never in front of an acknowledgement.
      committer.onCommitted((readings, outcomes) => {
        relayClock();
        // Before the nudge (one port, in order): the thread's verdicts join their readings' traces.
        if (thread.tracing) tellReadingTraces(threadLink, readings, outcomes);
        handoff.committed(readings, outcomes);
      });
      registry.onAttributed(async () => {
        // The assignment and the attribution stand; the rules judge them before the answer when they can.
        await rules.drain().catch((err: unknown) => log.error({ err }, 'rule evaluation of attributed readings failed'));
      });
      await new ClusterHubBridge(worklistHub, threadLink, stores.alerts, MAIN_NODE, log).start();
      // A care plan saved here: the thread's cached plan goes too.
      carePlans.onInvalidated((patientId) => void threadLink.publish(CHANNELS.carePlans, { origin: MAIN_NODE, patientId }));
    } else {
      // The engine on this event loop, beside ingest (RPM_RULES_THREAD=false).
      const engine = new AlertingService({
        readings: stores.readings,
        progress: stores.progress,
        alerts: stores.alerts,
        registry: stores.registry,
        carePlans,
        clock,
        log,
        newId: randomUUID,
        historyBudget: config.rules.history,
      });
      engine.onAlertChange((alert, change) => worklistHub.publish({ type: 'alert', change, alert }));
      logRaisedAlerts(engine, log);
      // Rules run after each commit, beside ingest, never in front of an acknowledgement.
      committer.onCommitted((readings, outcomes) => engine.committed(readings, outcomes));
      registry.onAttributed((a) =>
        engine.evaluateAttributed(a).catch((err: unknown) => {
          // The assignment and the attribution stand; only their late evaluation failed.
          log.error({ err }, 'rule evaluation of attributed readings failed');
        }),
      );
      const here = rulesOnMainLoop(engine, () => stores.alerts.carePlanPatients(), config, log);
      rules = here.rules;
      observer = observeEngine(engine, clock);
      mainLoop = { engine, start: here.start, stopTimers: here.stopTimers };
    }
    const escalator = new SlaEscalator({
      alerts: stores.alerts,
      hub: worklistHub,
      notifier,
      clock,
      log,
      chargeNurses: (organizationId) => staff.chargeNurses(organizationId),
      phoneOf: async (staffId) => (await stores.staff.getStaff(staffId))?.phone ?? null,
      // Counted on /metrics (created below, before the first sweep).
      observer: {
        escalated: (level, severity) => metrics.escalated(level, severity),
        notification: (channel, outcome, reason) => metrics.notification(channel, outcome, reason),
        undeliverable: (reason) => metrics.undeliverable(reason),
      },
    });
    const deliveries = new DeliveryWorker({
      store: stores.forwarding,
      sink: fhirSink,
      device: (id) => directory.device(id),
      audit: stores.audit,
      clock,
      log,
      options: config.fhir,
    });
    // Delivery runs after each commit, beside ingest, never in front of an acknowledgement.
    committer.onCommitted(() => deliveries.kick());
    // Readings attributed by a later assignment got their deliveries with the attribution.
    registry.onAttributed(async () => deliveries.kick());
    deliveryControl = deliveries;
    // Readings into the time-series store (RPM_TIMESERIES_URL), after each commit, from a durable position.
    const timeSeries =
      config.timeSeries === undefined
        ? undefined
        : new TimeSeriesWriter({ readings: stores.readings, progress: stores.progress, sink: new InfluxSink({ ...config.timeSeries, timeoutMs: 10_000 }), registry: stores.registry, log });
    if (timeSeries !== undefined) {
      committer.onCommitted(() => timeSeries.kick());
      registry.onAttributed(async () => timeSeries.kick());
    }
    background = { kind: 'embedded', rules, observer, link, mainLoop, escalator, deliveries, timeSeries };
  } else {
    cluster = await openGatewayCluster(config, log);
    const destinations = (): string[] => [...enabledDestinations];
    const handoff = new WorkHandoff({ bus: cluster.bus, log, partitions: config.rules.partitions, destinations, timeSeries: config.timeSeries !== undefined });
    const events = cluster.events;
    // A care plan saved here: the workers' cached plan of the patient goes too.
    carePlans.onInvalidated((patientId) => {
      events.publish('care-plans', { origin: config.nodeName, patientId }).catch((err: unknown) => log.warn({ err }, 'a care-plan change could not be told to the workers'));
    });
    committer.onCommitted((readings, outcomes) => handoff.committed(readings, outcomes));
    registry.onAttributed(async (a) => {
      handoff.attributed(a.patientId);
      deliveryControl.kick();
    });
    deliveryControl = new RemoteDeliveryControl(stores.forwarding, handoff, clock, destinations);
    // After a booking's commit: BullMQ delayed jobs wake the worker holding the reminders at each due time.
    const reminderHandoff = new ReminderHandoff({ bus: cluster.bus, jobs: stores.jobs, clock, log });
    scheduling.onChanged((appointment) => reminderHandoff.changed(appointment.id));
    // A visit's start or end may bring jobs due at once (FHIR Encounters, the linked Appointment): the holder runs them now.
    visits.onChanged(() => reminderHandoff.dueNow());
    background = { kind: 'remote', handoff };
    await new ClusterHubBridge(worklistHub, cluster.events, stores.alerts, config.nodeName, log).start();
    edgeEvents = new EdgeEvents(
      cluster.events,
      config.nodeName,
      { registry, sessions, staff, routes: forwardingRoutes, forgetAllDevices: () => directory.invalidateAll(), destinationsChanged: () => void refreshDestinations().catch(() => undefined) },
      log,
    );
    await edgeEvents.start();
  }
  // The embedded provider's signaling; in the distributed mode the two sides of a call may be at
  // different gateways, relayed over the cluster's events (no sticky routing needed).
  const signaling =
    config.video.provider === 'embedded'
      ? new VisitSignaling({ visits, sessions, credentialGuard, log, ...(cluster === undefined ? {} : { relay: clusterSignalingRelay(cluster.events, config.nodeName, log) }) })
      : undefined;
  await signaling?.start();
  const enabledDestinations = new Set<string>();
  const refreshDestinations = async (): Promise<void> => {
    const list = await stores.forwarding.listDestinations();
    enabledDestinations.clear();
    for (const d of list) if (d.enabled) enabledDestinations.add(d.id);
  };
  await refreshDestinations();
  const forwarding = new ForwardingService(stores.forwarding, forwardingRoutes, deliveryControl, fhirSink, staff, clock, registry);

  const loop = new EventLoopMonitor();
  const metrics = new GatewayMetrics({
    committer,
    alerting: background.kind === 'embedded' ? background.observer : undefined,
    ...(background.kind === 'embedded' && background.link !== undefined ? { rulesThread: background.rules } : {}),
    readings: stores.readings,
    alerts: stores.alerts,
    hub: worklistHub,
    clock,
    maxPendingRows: config.commit.maxPending,
    loop,
    storeHealth,
    liveSessions: () => stores.staff.countLiveSessions(clock.now(), clock.now() - config.sessions.idleMs),
  });
  // Capped listings, not counts: a count of the outbox would scan every delivered row on each scrape.
  metrics.watchBacklog('fhir', async (cap) => ({
    waiting: (await stores.forwarding.listDeliveries({ statuses: ['pending', 'failed'], limit: cap })).length,
    dead: (await stores.forwarding.listDeliveries({ statuses: ['dead'], limit: cap })).length,
  }));

  metrics.watchDestinations(async (cap) =>
    (await forwarding.queues(cap)).map((q) => ({
      id: q.destination.id,
      paused: !q.destination.enabled,
      waiting: q.queue.waiting,
      oldestWaitingSinceMs: q.queue.oldestWaitingSinceMs,
      dead: q.queue.dead,
      circuit: q.circuit?.state,
    })),
  );

  // Vendor integrations: their payloads take the same ingest path; Withings measures are pulled.
  const vendors = new VendorService({ store: stores.vendors, directory, ingest, presence, clock, log, metrics });
  const withingsPuller = new WithingsPuller({
    vendors,
    store: stores.vendors,
    api: new WithingsHttpApi({ timeoutMs: config.fhir.timeoutMs }),
    clock,
    log,
    metrics,
    options: {
      defaultBaseUrl: config.vendors.withingsApiUrl,
      retryBaseMs: config.vendors.pullRetry.baseMs,
      retryMaxMs: config.vendors.pullRetry.maxMs,
      maxAttempts: config.vendors.pullMaxAttempts,
      pollMs: Math.min(config.vendors.pullRetry.baseMs, 30_000),
    },
  });
  vendors.onPullQueued(() => withingsPuller.kick());
  metrics.watchVendorPulls((cap) => stores.vendors.pullStats(cap));

  let adminToken = config.adminToken;
  if (adminToken === undefined) {
    const generated = loadOrCreateAdminToken(config.dataDir);
    adminToken = generated.token;
    log.warn({ file: generated.file }, generated.created ? 'RPM_ADMIN_TOKEN not set; generated an admin token' : 'RPM_ADMIN_TOKEN not set; using the admin token file');
  }

  // FHIR in's read-back: the connector's mapping, devices by identifier, our patient id under our system.
  const systems = fhirSystems(config.fhir.systemBase);
  const observationView: GatewayContext['observationView'] = async (reading, view) => {
    const device = await directory.device(reading.deviceId);
    const hub = reading.hubId === null ? undefined : await directory.device(reading.hubId);
    const o = readingObservation(reading, {
      id: view.id,
      systems,
      patient: { identifier: { system: systems.patient, value: reading.patientId ?? '' } },
      device: device === undefined ? undefined : logicalDeviceReference(device, systems),
      hub: hub === undefined ? undefined : logicalDeviceReference(hub, systems),
      simulated: device?.simulated === true,
    });
    if (view.withPatient && reading.patientId !== null) return { ...o };
    const { subject: _subject, performer: _performer, ...anonymous } = o;
    return anonymous;
  };

  const patientTransfer = new PatientTransfer({
    registry: stores.registry,
    teams: stores.staff,
    alerts: stores.alerts,
    staff,
    forget: [
      (id) => forwardingRoutes.forgetPatient(id),
      ...(background.kind === 'embedded'
        ? [
            (id: string) => {
              const { link, mainLoop } = background;
              if (link !== undefined) void link.publish(CHANNELS.patients, { origin: MAIN_NODE, patientId: id });
              else mainLoop?.engine.forgetOrganization(id);
            },
            (id: string) => background.timeSeries?.forgetOrganization(id),
          ]
        : []),
      // The other gateways and the workers of the distributed mode.
      (id) => edgeEvents?.patientMoved(id),
    ],
    alertMoved: (alert) => worklistHub.publish({ type: 'alert', change: 'updated', alert }),
  });

  let shuttingDown = false;
  // The broker is created after the HTTP app (it needs the context); commands wait for it.
  let brokerRef: MqttBroker | undefined;
  const ctx: GatewayContext = {
    config,
    log,
    clock,
    ingest,
    committer,
    storeHealth,
    authenticator,
    credentialGuard,
    registry,
    patientTransfer,
    readings: stores.readings,
    audit,
    presence,
    staff,
    sessions,
    mfa,
    sso,
    breakGlass,
    alerts: stores.alerts,
    carePlans,
    alerting: background.kind === 'embedded' ? background.rules : undefined,
    escalator: background.kind === 'embedded' ? background.escalator : undefined,
    timerGuard: background.kind === 'embedded' ? timerGuard : undefined,
    lateReadings: {
      confirmed: async (patientId) => {
        // The decision is committed whatever happens here; its evaluation follows from the attribution log.
        if (background.kind === 'embedded' && background.link === undefined) await background.rules.drain();
        else if (background.kind === 'embedded') await background.rules.drain().catch((err: unknown) => log.error({ err }, 'rule evaluation of confirmed readings failed'));
        else background.handoff.attributed(patientId);
      },
    },
    deviceCommands: {
      send: async (deviceId, body) => {
        if (brokerRef === undefined) throw new RpmError('RPM_ERR_BROKER_UNAVAILABLE', 'the MQTT broker is not running yet');
        return brokerRef.sendCommand(deviceId, body);
      },
    },
    worklist,
    visits,
    billing,
    roster,
    orgRegistry: new OrgRegistryService({ registry, store: stores.registry, readings: stores.readings, staff, presence, clock }),
    worklistHub,
    metrics,
    forwarding,
    observationView,
    vendors,
    identities,
    scheduling,
    reminders,
    verifyTwilio,
    adminToken,
    shuttingDown: () => shuttingDown,
  };

  // TLS material read now and again when the files change or on SIGHUP (tls-reloader.ts).
  const reloaders: TlsReloader[] = [];
  const httpTls = config.http.tls === undefined ? undefined : new TlsReloader('https', config.http.tls, log, config.tls.reloadCheckMs);
  if (httpTls !== undefined) reloaders.push(httpTls);
  try {
    await rulesStarted;
  } catch (err) {
    await committer.close().catch(() => undefined);
    loop.stop();
    storeHealth.stop();
    await stores.close().catch(() => undefined);
    throw err;
  }
  const app = await buildApp(ctx, httpTls?.initial());
  if (httpTls !== undefined) httpTls.attach(app.server as unknown as tls.Server);
  const broker = await createMqttBroker(ctx, cluster?.mqtt);
  brokerRef = broker;
  metrics.watchMqtt(broker);

  // Every MQTT transport handed to aedes. aedes.close() ends only sessions that completed
  // CONNECT; a socket that has not (a slow or stuck device, a bare TCP probe) would otherwise
  // hold server.close() open until aedes' 30 s connect timeout, past the shutdown deadline.
  const mqttSockets = new Set<net.Socket>();
  // Every transport goes through the packet-size guard before aedes sees a byte.
  const guarded = (transport: Duplex): GuardedMqttConnection =>
    new GuardedMqttConnection(transport, config.mqtt.limits, (reason) => log.info({ reason }, 'mqtt connection closed: packet too large'));
  const handleMqtt = (socket: net.Socket): void => {
    mqttSockets.add(socket);
    socket.once('close', () => mqttSockets.delete(socket));
    broker.handle(guarded(socket));
  };

  const wss = config.mqtt.ws.enabled ? new WebSocketServer({ noServer: true, maxPayload: config.http.bodyLimitBytes }) : undefined;
  wss?.on('connection', (socket, req) => {
    broker.handle(guarded(createWebSocketStream(socket)), req);
  });
  // WebSockets on the HTTP port: MQTT (RPM_MQTT_WS_PATH) and the video visits' signaling.
  app.server.on('upgrade', (req, socket, head) => {
    const pathname = (req.url ?? '').split('?')[0];
    if (shuttingDown) socket.destroy();
    else if (wss !== undefined && pathname === config.mqtt.ws.path) wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    else if (signaling !== undefined && pathname === SIGNALING_PATH) signaling.handleUpgrade(req, socket, head);
    else socket.destroy();
  });

  // A port another process holds (a system Mosquitto on 1883 is common) is a configuration
  // problem: one line naming the port and its variable, exit 78 (core/process-runner.ts), nothing left open.
  const tcp = net.createServer(handleMqtt);
  let tlsServer: tls.Server | undefined;
  let httpPort: number;
  let mqttPort: number;
  let mqttTlsPort: number | undefined;
  try {
    await bindOrExplain(() => app.listen({ host: config.http.host, port: config.http.port }), 'HTTP', config.http.host, config.http.port, 'RPM_HTTP_PORT');
    httpPort = (app.server.address() as net.AddressInfo).port;
    mqttPort = await bindOrExplain(() => listen(tcp, config.mqtt.port, config.mqtt.host), 'MQTT', config.mqtt.host, config.mqtt.port, 'RPM_MQTT_PORT');
    if (config.mqtt.tls !== undefined) {
      const t = config.mqtt.tls;
      const mqttTls = new TlsReloader('mqtts', t, log, config.tls.reloadCheckMs);
      reloaders.push(mqttTls);
      const material = mqttTls.initial();
      // Device certificates are asked for when configured; unverified ones name no device (certifiedDeviceIds).
      const askClientCert = material.ca !== undefined && config.tls.deviceCerts !== 'off';
      tlsServer = tls.createServer({ ...material, minVersion: 'TLSv1.2', requestCert: askClientCert, rejectUnauthorized: false }, handleMqtt);
      mqttTls.attach(tlsServer);
      const server = tlsServer;
      mqttTlsPort = await bindOrExplain(() => listen(server, t.port, config.mqtt.host), 'MQTT TLS', config.mqtt.host, t.port, 'RPM_MQTT_TLS_PORT');
    }
  } catch (err) {
    // Nothing has run yet but the stores and the broker: close them so the process can exit cleanly.
    shuttingDown = true;
    for (const r of reloaders) r.close();
    await app.close().catch(() => undefined);
    if (tcp.listening) await closeServer(tcp);
    if (tlsServer?.listening === true) await closeServer(tlsServer);
    signaling?.close();
    await broker.close().catch(() => undefined);
    await committer.close().catch(() => undefined);
    await credentialGuard.stop().catch(() => undefined);
    loop.stop();
    storeHealth.stop();
    if (background.kind === 'embedded' && background.link !== undefined) await background.rules.stop().catch(() => undefined);
    await cluster?.close().catch(() => undefined);
    await stores.close().catch(() => undefined);
    throw err;
  }

  presence.start();
  // The single process's background work; a gateway of the distributed mode has none (workers do it).
  let clockSweep: NodeJS.Timeout | undefined;
  if (background.kind === 'embedded') {
    const { escalator, deliveries } = background;
    // The rules thread caught up on its own at its start and runs its clock sweeps itself; the
    // engine on this event loop catches up now and starts its sweeps.
    background.mainLoop?.start();
    escalator.start(config.rules.slaSweepMs);
    // Timers of nurses whose sessions ended without a logout (idle, absolute expiry).
    clockSweep = setInterval(() => {
      timerGuard.sweep().catch((err: unknown) => log.error({ err }, 'timer sweep failed'));
    }, config.rules.slaSweepMs);
    clockSweep.unref();
    // Deliver what the outbox holds from before a crash or restart, then follow new commits.
    deliveries.start();
    // Pulls queued before a crash or restart run now.
    withingsPuller.start();
    background.timeSeries?.kick();
    // Reminders held when the process died run again at once; the rest when due.
    await reminders?.start({ recover: true });
    // Open visits past RPM_VISIT_MAX_MINUTES end.
    visits.startSweep(VISIT_SWEEP_MS);
  } else if (cluster !== undefined) {
    // Pulling from vendor clouds is ingest, done by one gateway at a time (a Withings refresh token
    // is single-use): whichever holds the lease.
    cluster.singleton('vendor-pulls', () => withingsPuller.start(), () => withingsPuller.stop());
    // Open visits past RPM_VISIT_MAX_MINUTES end, swept by one gateway at a time (a visit's end is
    // told to every gateway, whose signaling closes its sockets). Reminders run in the workers.
    cluster.singleton('visit-sweep', () => visits.startSweep(VISIT_SWEEP_MS), () => visits.stop());
  }
  log.info(
    { httpPort, mqttPort, mqttTlsPort, mqttWebSocketPath: wss === undefined ? null : config.mqtt.ws.path, store: config.store.kind, dataDir: config.dataDir },
    'gateway started',
  );

  let closing: Promise<ShutdownReport> | undefined;
  const close = (): Promise<ShutdownReport> => {
    closing ??= (async () => {
      shuttingDown = true;
      const incomplete: string[] = [];
      // One failing step (the store refusing writes) must not leave the rest undone.
      const step = async (what: string, run: () => Promise<unknown>): Promise<void> => {
        try {
          await run();
        } catch (err) {
          incomplete.push(what);
          log.error({ err }, `shutdown: ${what} failed; going on`);
        }
      };
      log.info('shutting down: no new connections; draining in-flight work');
      const stopTcp = closeServer(tcp);
      for (const r of reloaders) r.close();
      const stopTls = tlsServer === undefined ? Promise.resolve() : closeServer(tlsServer);
      // Stops listening and waits for in-flight HTTP requests (which need the committer).
      const stopHttp = app.close();
      // app.close() reaps idle keep-alive connections only once. A connection whose request was
      // in flight turns idle only after its answer, and a client that then keeps it open would
      // hold the listener (and this shutdown) until the 72 s keep-alive timeout, past the
      // shutdown deadline. Keep reaping until the HTTP server has closed.
      const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
      reaper.unref();
      if (clockSweep !== undefined) clearInterval(clockSweep);
      if (background.kind === 'embedded') background.mainLoop?.stopTimers();
      worklistHub.closeAll();
      signaling?.close();
      await broker.drained();
      await committer.close();
      if (background.kind === 'embedded') {
        const { rules, escalator, deliveries } = background;
        // Exchanges in flight are cancelled; their deliveries stay in the outbox for the next start.
        await step('fhir-delivery', () => deliveries.stop());
        // A pull in flight finishes its page (its commit is durable); what remains stays queued.
        await step('withings-pulls', () => withingsPuller.stop());
        await step('visit-reminders', async () => reminders?.stop());
        // The rules thread finishes its pass, judges at most 5 s more of its backlog, writes, and ends
        // (on the main event loop: the engine finishes its pass and stops).
        await step('rules', () => rules.stop());
        await step('escalation', () => escalator.stop());
        const timeSeries = background.timeSeries;
        if (timeSeries !== undefined) await step('time-series', () => timeSeries.stop());
      } else {
        await step('withings-pulls', () => withingsPuller.stop());
        // Nudges already posted stay with Redis; the cluster connections end after the last commit.
      }
      await broker.close();
      // Nothing acknowledged is pending now (publishes drained, committer closed), so whatever
      // transport aedes left open carries no work: end it, so the listeners can close.
      for (const socket of mqttSockets) socket.destroy();
      for (const ws of wss?.clients ?? []) ws.terminate();
      wss?.close();
      await Promise.all([stopHttp, stopTcp, stopTls]).finally(() => clearInterval(reaper));
      await step('presence', async () => {
        const { unsaved } = await presence.stop();
        if (unsaved > 0) throw new Error(`${unsaved} devices' presence not written`);
      });
      await step('visits', () => visits.stop());
      await step('credential guard', () => credentialGuard.stop());
      loop.stop();
      storeHealth.stop();
      const clusterToClose = cluster;
      if (clusterToClose !== undefined) await step('cluster', () => clusterToClose.close());
      await step('stores', () => stores.close());
      const report: ShutdownReport = { complete: incomplete.length === 0, incomplete };
      log.info({ commits: committer.stats.commits, rows: committer.stats.committedRows, incomplete }, report.complete ? 'shutdown complete' : 'shutdown done; some state could not be written');
      return report;
    })();
    return closing;
  };

  const reloadTls = (why = 'SIGHUP'): boolean => reloaders.map((r) => r.reload(why)).every(Boolean);
  return { ctx, httpPort, mqttPort, mqttTlsPort, reloadTls, close };
}
