import type { Config } from '../core/config/schema.js';
import type { Logger } from '../core/logging.js';
import type { AlertStore } from '../core/ports/alert-store.js';
import type { AuditLog } from '../core/ports/audit-log.js';
import type { Clock } from '../core/ports/clock.js';
import type { Reading } from '../core/model/reading.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import type { BillingService } from '../pipeline/billing/billing-service.js';
import type { RosterService } from '../pipeline/roster/roster-service.js';
import type { CarePlans } from '../pipeline/care-plans.js';
import type { GroupCommitter } from '../pipeline/group-committer.js';
import type { IngestService } from '../pipeline/ingest.js';
import type { PatientIdentityService } from '../pipeline/patients/patient-identity-service.js';
import type { ReminderWorker } from '../pipeline/scheduling/reminder-worker.js';
import type { SchedulingService } from '../pipeline/scheduling/scheduling-service.js';
import type { CredentialGuard } from './auth/credential-guard.js';
import type { StoreHealth } from '../pipeline/store-health.js';
import type { DeviceAuthenticator } from './auth/device-authenticator.js';
import type { SessionService } from './auth/session-service.js';
import type { MfaService } from './auth/mfa-service.js';
import type { SsoService } from './auth/sso-service.js';
import type { BreakGlassService } from './break-glass-service.js';
import type { ForwardingService } from '../pipeline/forwarding/forwarding-service.js';
import type { GatewayMetrics } from './metrics.js';
import type { PresenceTracker } from './presence.js';
import type { PatientTransfer } from './patient-transfer.js';
import type { RegistryService } from './registry-service.js';
import type { OrgRegistryService } from './org-registry-service.js';
import type { StaffService } from './staff-service.js';
import type { VendorService } from './vendors/vendor-service.js';
import type { SlaEscalator } from '../pipeline/worklist/sla-escalator.js';
import type { TimerGuard } from '../pipeline/worklist/timer-guard.js';
import type { WorklistHub } from '../pipeline/worklist/worklist-hub.js';
import type { WorklistService } from '../pipeline/worklist/worklist-service.js';
import type { VisitService } from '../pipeline/video/visit-service.js';

/**
 * A reading as a FHIR R4 Observation with the given id (FHIR in's read-back), mapped as the FHIR
 * connector maps it for EHRs; `withPatient: false` leaves out whose it is.
 */
export type ObservationView = (reading: Reading, options: { readonly id: string; readonly withPatient: boolean }) => Promise<Record<string, unknown>>;

/** Everything the protocol edges need, built once by the composition root. */
export interface GatewayContext {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly ingest: IngestService;
  readonly committer: GroupCommitter;
  /** Whether the reading store can commit (readiness, CONNACK 3). */
  readonly storeHealth: StoreHealth;
  readonly authenticator: DeviceAuthenticator;
  /** Wrong credentials by source: throttle and aggregated audit. */
  readonly credentialGuard: CredentialGuard;
  readonly registry: RegistryService;
  /** Moving a patient to another organization (operator, audited by the route). */
  readonly patientTransfer: PatientTransfer;
  readonly readings: ReadingStore;
  readonly audit: AuditLog;
  readonly presence: PresenceTracker;
  /** Organizations, staff, care teams and patient scope. */
  readonly staff: StaffService;
  /** Staff logins and sessions. */
  readonly sessions: SessionService;
  /** Staff second factors (TOTP, recovery codes). */
  readonly mfa: MfaService;
  /** OpenID Connect single sign-on per organization. */
  readonly sso: SsoService;
  /** Emergency access to a patient outside one's care teams. */
  readonly breakGlass: BreakGlassService;
  /** Alerts, rule state, care plans, time log. */
  readonly alerts: AlertStore;
  readonly carePlans: CarePlans;
  /**
   * The background work of the single process: the streaming rules engine (in its own thread,
   * `gateway/rules-thread.ts`), the SLA escalator and the timer guard. Undefined in a gateway of the
   * distributed mode, where workers run them.
   */
  readonly alerting: EmbeddedRules | undefined;
  readonly escalator: SlaEscalator | undefined;
  readonly timerGuard: TimerGuard | undefined;
  /**
   * Readings judged late (a nurse confirmed whose they are): the rules engine learns of them from
   * the attribution log; this wakes it (here, or the worker holding the patient) and, in the
   * single process, waits until they are judged.
   */
  readonly lateReadings: { confirmed(patientId: string): Promise<void> };
  /** Publishes a command to a device's MQTT commands topic (QoS 1); resolves with the topic once the broker took it. */
  readonly deviceCommands: { send(deviceId: string, body: Readonly<Record<string, unknown>>): Promise<string> };
  readonly worklist: WorklistService;
  /** Video visits: patient links, the embedded provider's signaling, minutes into the time log. */
  readonly visits: VisitService;
  /** The RPM billing ledger: monthly report, sign-offs, amendments, episodes. */
  readonly billing: BillingService;
  /** The nurse's whole panel. */
  readonly roster: RosterService;
  /** An organization admin's patients and devices. */
  readonly orgRegistry: OrgRegistryService;
  readonly worklistHub: WorklistHub;
  /** Prometheus metrics (GET /metrics). */
  readonly metrics: GatewayMetrics;
  /** FHIR destinations and the delivery outbox (operator API). */
  readonly forwarding: ForwardingService;
  readonly observationView: ObservationView;
  /** Vendor integrations (Tenovi, Withings, BodyTrace, Open mHealth, Validic, Nightscout). */
  readonly vendors: VendorService;
  /** Patient identity and contact (PHI, encrypted, every staff read audited) and telehealth consent. */
  readonly identities: PatientIdentityService;
  /** Working hours, appointment types, visits, the patient's SMS replies. */
  readonly scheduling: SchedulingService;
  /** Sends visit reminders from the durable job table (undefined where another process does). */
  readonly reminders: ReminderWorker | undefined;
  /** Whether an inbound webhook really comes from Twilio (X-Twilio-Signature); false without Twilio configured. */
  readonly verifyTwilio: (signature: string | undefined, url: string, params: Record<string, string>) => boolean;
  readonly adminToken: string;
  /** True once shutdown has begun: new work is refused with 503 / CONNACK 3. */
  readonly shuttingDown: () => boolean;
}

/** The single process's rules engine as the main thread sees it (it runs in the rules thread). */
export interface EmbeddedRules {
  /** Resolves once every reading and attribution committed so far has been judged; rejects if the last pass failed. */
  drain(): Promise<void>;
  /** The clock moved: waits for a repeat reading that expired are judged now (then the log is drained). */
  sweepClock(): Promise<void>;
  /** Missing-data rules now, for every patient with a care plan. */
  sweepMissing(): Promise<void>;
  /** Judges what is committed for at most a few seconds, writes it, and ends the thread; the rest waits behind the durable cursor. */
  stop(): Promise<void>;
  /** Ends the thread as a crash would (tests; diagnosis): it is started again and catches up from the store. */
  crash(): Promise<void>;
  /** Times the thread was started again after ending unexpectedly. */
  readonly restarts: number;
  /** Whether the thread runs now. */
  readonly running: boolean;
}
