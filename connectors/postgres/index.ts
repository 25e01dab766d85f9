import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { AlertStore } from '../../core/ports/alert-store.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { BillingStore } from '../../core/ports/billing-store.js';
import type { ProgressStore } from '../../core/ports/progress-store.js';
import type { ForwardingStore } from '../../core/ports/forwarding-store.js';
import type { PatientIdentityStore } from '../../core/ports/patient-identity-store.js';
import type { DelayedJobs } from '../../core/ports/delayed-jobs.js';
import type { SchedulingStore } from '../../core/ports/scheduling-store.js';
import type { ReadingStore } from '../../core/ports/reading-store.js';
import type { RegistryStore } from '../../core/ports/registry-store.js';
import type { StaffStore } from '../../core/ports/staff-store.js';
import type { StaffSecurityStore } from '../../core/ports/staff-security-store.js';
import type { VendorStore } from '../../core/ports/vendor-store.js';
import type { VisitStore } from '../../core/ports/visit-store.js';
import { createPool, describeTarget, migrate, type PostgresOptions, readDurability, type ServerDurability } from './database.js';
import { PostgresAlertStore } from './postgres-alert-store.js';
import { PostgresProgressStore } from './postgres-progress-store.js';
import { PostgresAuditLog } from './postgres-audit-log.js';
import { PostgresBillingStore } from './postgres-billing-store.js';
import { PostgresForwardingStore } from './postgres-forwarding-store.js';
import { PostgresPatientIdentityStore } from './postgres-patient-identity-store.js';
import { PostgresSchedulingStore } from './postgres-scheduling-store.js';
import { PostgresReadingStore } from './postgres-reading-store.js';
import { PostgresRegistryStore } from './postgres-registry-store.js';
import { PostgresStaffStore } from './postgres-staff-store.js';
import { PostgresStaffSecurityStore } from './postgres-staff-security-store.js';
import { PostgresVendorStore } from './postgres-vendor-store.js';
import { PostgresVisitStore } from './postgres-visit-store.js';

export type { PostgresOptions, ServerDurability } from './database.js';

export interface PostgresStores {
  readonly readings: ReadingStore;
  readonly registry: RegistryStore;
  readonly audit: AuditLog;
  readonly staff: StaffStore;
  /** Second factors, access policies, password changes, break-glass grants. */
  readonly staffSecurity: StaffSecurityStore;
  readonly alerts: AlertStore;
  /** Positions of the reading log's followers (time-series writer, the rules engine's place in the attribution log). */
  readonly progress: ProgressStore;
  /** FHIR destinations and the delivery outbox (filled by `readings.commit`, same transaction). */
  readonly forwarding: ForwardingStore;
  /** Vendor connections, bindings and pulls (Tenovi, Withings, …), credentials encrypted. */
  readonly vendors: VendorStore;
  /** Video visits, their patient links and participants (a visit's end writes its time-log entry). */
  readonly visits: VisitStore;
  /** RPM billing episodes, sign-offs and amendments. */
  readonly billing: BillingStore;
  /** Patients' identity and contact (encrypted) and telehealth consents. */
  readonly identities: PatientIdentityStore;
  /** Working hours, appointment types, appointments. */
  readonly scheduling: SchedulingStore;
  /** Durable delayed jobs (visit reminders). */
  readonly jobs: DelayedJobs;
  /** What the server promises about a COMMIT, as read at open. */
  readonly durability: ServerDurability;
  /** Migrations this open applied (empty when the schema was current). */
  readonly migrated: readonly number[];
  /** Stored secrets found in plain text or under an old key at open, and encrypted under the active key. */
  readonly sealedSecrets: number;
  close(): Promise<void>;
}

export interface PostgresStoreOptions extends PostgresOptions {
  /** Encrypts destination and vendor credentials and patients' identifiers at EHRs (required to store any). */
  readonly secrets?: FieldCipher;
}

/**
 * Every store on one PostgreSQL database through one connection pool: readings, registry, staff,
 * audit, FHIR forwarding, vendor integrations and the clinical state. Connects, applies pending migrations and reads
 * the server's durability settings before answering, so a gateway that starts is one whose
 * database is reachable and current. An unreachable server fails with RPM_ERR_STORE_FAILURE
 * naming host, port and database (never the password).
 */
export async function createPostgresStores(options: PostgresStoreOptions): Promise<PostgresStores> {
  const pool = createPool(options);
  let migrated: number[];
  let durability: ServerDurability;
  try {
    migrated = await migrate(pool, options.schema);
    durability = await readDurability(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof RpmError) throw err;
    const reason = reasonOf(err);
    throw new RpmError('RPM_ERR_STORE_FAILURE', `PostgreSQL at ${describeTarget(options.url)} could not be opened: ${reason}`, { cause: err });
  }
  const forwarding = new PostgresForwardingStore(pool, options.secrets);
  const vendors = new PostgresVendorStore(pool, options.secrets);
  const alerts = new PostgresAlertStore(pool, options.secrets);
  const identities = new PostgresPatientIdentityStore(pool, options.secrets);
  let sealedSecrets: number;
  try {
    // A wrong or missing key stops the start here, with the key id it lacks, not at the first
    // delivery or the first vendor webhook.
    sealedSecrets = (await forwarding.sealSecrets()) + (await vendors.sealSecrets()) + (await identities.sealSecrets()) + (await alerts.sealNotes());
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  let closed = false;
  const scheduling = new PostgresSchedulingStore(pool);
  return {
    readings: new PostgresReadingStore(pool),
    registry: new PostgresRegistryStore(pool),
    audit: new PostgresAuditLog(pool),
    staff: new PostgresStaffStore(pool),
    staffSecurity: new PostgresStaffSecurityStore(pool),
    alerts,
    progress: new PostgresProgressStore(pool),
    forwarding,
    vendors,
    visits: new PostgresVisitStore(pool),
    billing: new PostgresBillingStore(pool),
    identities,
    scheduling,
    jobs: scheduling,
    durability,
    migrated,
    sealedSecrets,
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** A readable reason; a refused connection to a dual-stack host is an AggregateError with no message of its own. */
function reasonOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(reasonOf).join('; ');
  if (err instanceof Error) return err.message !== '' ? err.message : ('code' in err && typeof err.code === 'string' ? err.code : err.name);
  return String(err);
}
