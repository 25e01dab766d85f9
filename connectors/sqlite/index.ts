import path from 'node:path';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import type { AlertStore } from '../../core/ports/alert-store.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { BillingStore } from '../../core/ports/billing-store.js';
import type { ForwardingStore } from '../../core/ports/forwarding-store.js';
import type { PatientIdentityStore } from '../../core/ports/patient-identity-store.js';
import type { DelayedJobs } from '../../core/ports/delayed-jobs.js';
import type { SchedulingStore } from '../../core/ports/scheduling-store.js';
import type { ProgressStore } from '../../core/ports/progress-store.js';
import type { ReadingStore } from '../../core/ports/reading-store.js';
import type { RegistryStore } from '../../core/ports/registry-store.js';
import type { StaffStore } from '../../core/ports/staff-store.js';
import type { StaffSecurityStore } from '../../core/ports/staff-security-store.js';
import type { VendorStore } from '../../core/ports/vendor-store.js';
import type { VisitStore } from '../../core/ports/visit-store.js';
import { encodeBatch, prepareBatchWriter, prepareProbeWriter } from './batch-writer.js';
import { CLINICAL_MIGRATIONS } from './clinical-migrations.js';
import { openSqlite, type SqliteOptions } from './database.js';
import { SqliteAlertStore } from './sqlite-alert-store.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import { SqliteBillingStore } from './sqlite-billing-store.js';
import { SqliteForwardingStore } from './sqlite-forwarding-store.js';
import { SqlitePatientIdentityStore } from './sqlite-patient-identity-store.js';
import { SqliteSchedulingStore } from './sqlite-scheduling-store.js';
import { SqliteProgressStore } from './sqlite-progress-store.js';
import { type BatchWrite, SqliteReadingStore } from './sqlite-reading-store.js';
import { SqliteRegistryStore } from './sqlite-registry-store.js';
import { SqliteStaffStore } from './sqlite-staff-store.js';
import { SqliteStaffSecurityStore } from './sqlite-staff-security-store.js';
import { SqliteVendorStore } from './sqlite-vendor-store.js';
import { SqliteVisitStore } from './sqlite-visit-store.js';
import { WorkerWriter } from './worker-writer.js';

export interface SqliteStores {
  readonly readings: ReadingStore;
  readonly registry: RegistryStore;
  readonly audit: AuditLog;
  readonly staff: StaffStore;
  /** Second factors, access policies, password changes, break-glass grants. */
  readonly staffSecurity: StaffSecurityStore;
  readonly alerts: AlertStore;
  /** Positions of the reading log's followers (the time-series writer). */
  readonly progress: ProgressStore;
  /** FHIR destinations and the delivery outbox (filled by `readings.commit`, same transaction). */
  readonly forwarding: ForwardingStore;
  /** Vendor connections, bindings and pulls (Tenovi, Withings, …). */
  readonly vendors: VendorStore;
  /** Video visits, their patient links and participants, in clinical.sqlite beside the time log their minutes go to. */
  readonly visits: VisitStore;
  /** RPM billing episodes, sign-offs and amendments (clinical database). */
  readonly billing: BillingStore;
  /** Patients' identity and contact (encrypted) and telehealth consents. */
  readonly identities: PatientIdentityStore;
  /** Working hours, appointment types, appointments (clinical.sqlite). */
  readonly scheduling: SchedulingStore;
  /** Durable delayed jobs (visit reminders), beside the appointments they belong to. */
  readonly jobs: DelayedJobs;
  /** Stored secrets found in plain text or under an old key at open, and encrypted under the active key. */
  readonly sealedSecrets: number;
  close(): Promise<void>;
}

export interface SqliteStoreOptions extends SqliteOptions {
  /**
   * 'thread' commits reading batches in a writer thread so that inserts and fsync do not block
   * the event loop (the default for files); 'inline' commits on this thread (':memory:' must).
   */
  readonly writer?: 'thread' | 'inline';
  /** Encrypts destination credentials and patients' identifiers at EHRs (required to store any). */
  readonly secrets?: FieldCipher;
}

/**
 * The embedded default: readings, registry, staff and audit in one SQLite file (WAL), and the
 * clinical state (alerts, rule state, care plans, time log) in `clinical.sqlite` beside it, so
 * the two write paths never wait for each other's lock.
 */
export function createSqliteStores(options: SqliteStoreOptions): SqliteStores {
  const db = openSqlite(options);
  const inline = options.path === ':memory:' || options.writer === 'inline';
  const worker = inline ? undefined : new WorkerWriter({ path: options.path, synchronous: options.synchronous });
  let write: BatchWrite;
  if (worker === undefined) {
    // The writer takes flat row values (batch-writer.ts WireBatch); WorkerWriter encodes its own.
    const writeRows = prepareBatchWriter(db);
    write = (batch) => writeRows(encodeBatch(batch));
  } else write = (batch) => worker.commit(batch);
  const probe = worker === undefined ? prepareProbeWriter(db) : () => worker.probe();
  const clinicalPath = options.path === ':memory:' ? ':memory:' : path.join(path.dirname(options.path), 'clinical.sqlite');
  const clinical = openSqlite({ path: clinicalPath, synchronous: options.synchronous }, CLINICAL_MIGRATIONS);
  const forwarding = new SqliteForwardingStore(db, options.secrets);
  const vendors = new SqliteVendorStore(db, options.secrets);
  const alerts = new SqliteAlertStore(clinical, options.secrets);
  const identities = new SqlitePatientIdentityStore(db, options.secrets);
  let sealedSecrets: number;
  try {
    // A wrong or missing key stops the start here, with the key id it lacks, not at the first delivery.
    sealedSecrets = forwarding.sealSecrets() + vendors.sealSecrets() + identities.sealSecrets() + alerts.sealNotes();
  } catch (err) {
    void worker?.close();
    db.close();
    clinical.close();
    throw err;
  }
  let closed = false;
  const scheduling = new SqliteSchedulingStore(clinical);
  return {
    readings: new SqliteReadingStore(db, write, probe),
    registry: new SqliteRegistryStore(db),
    audit: new SqliteAuditLog(db),
    staff: new SqliteStaffStore(db),
    staffSecurity: new SqliteStaffSecurityStore(db),
    alerts,
    progress: new SqliteProgressStore(clinical),
    billing: new SqliteBillingStore(clinical),
    forwarding,
    vendors,
    visits: new SqliteVisitStore(clinical),
    identities,
    scheduling,
    jobs: scheduling,
    sealedSecrets,
    async close() {
      if (closed) return;
      closed = true;
      await worker?.close();
      db.close();
      clinical.close();
    },
  };
}
