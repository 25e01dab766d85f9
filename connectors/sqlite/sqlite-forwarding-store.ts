import { DestinationSecrets } from '../../core/crypto/destination-secrets.js';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import type { RpmErrorCode } from '../../core/errors/codes.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { DeliveryStatus, Destination, DestinationAuth, PatientLink, PatientMapping } from '../../core/model/destination.js';
import type { ReadingKind } from '../../core/model/reading-kinds.js';
import type {
  BackfillQuery,
  DeliveryQuery,
  DeliveryRecord,
  DeliveryUpdate,
  DestinationPatch,
  DueDelivery,
  ForwardingStore,
  NewDestination,
  PatientLinkInput,
  QueueStats,
  RetrySelector,
} from '../../core/ports/forwarding-store.js';
import { READING_COLUMNS } from './batch-writer.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';
import { type ReadingRow, toReading } from './sqlite-reading-store.js';

interface DestinationRow {
  id: string;
  organization_id: string;
  base_url: string;
  auth: string;
  patient_mapping: string;
  kinds: string;
  enabled: number;
  batch_size: number | null;
  appointments: number;
  encounters: number;
  practitioners: string;
  created_at_ms: number;
  updated_at_ms: number;
}

interface OutboxRow {
  seq: number;
  destination_id: string;
  status: string;
  attempts: number;
  created_at_ms: number;
  next_attempt_at_ms: number;
  last_attempt_at_ms: number | null;
  delivered_at_ms: number | null;
  error_code: string | null;
  error_message: string | null;
  outcome: string | null;
  refs: string | null;
  reading_id: string;
  device_id: string;
  patient_id: string | null;
  kind: string;
}

interface PatientLinkRow {
  destination_id: string;
  patient_id: string;
  identifier: string | null;
  reference: string | null;
  reference_source: 'admin' | 'search' | null;
  updated_at_ms: number;
}

const toDestination = (r: DestinationRow, auth: DestinationAuth): Destination => ({
  id: r.id,
  organizationId: r.organization_id,
  baseUrl: r.base_url,
  auth,
  patientMapping: JSON.parse(r.patient_mapping) as PatientMapping,
  kinds: r.kinds.split(',') as ReadingKind[],
  enabled: r.enabled === 1,
  batchSize: r.batch_size,
  appointments: r.appointments === 1,
  encounters: r.encounters === 1,
  practitioners: JSON.parse(r.practitioners) as Record<string, string>,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

const toRecord = (r: OutboxRow): DeliveryRecord => ({
  seq: r.seq,
  destinationId: r.destination_id,
  readingId: r.reading_id,
  deviceId: r.device_id,
  patientId: r.patient_id,
  kind: r.kind as ReadingKind,
  status: r.status as DeliveryStatus,
  attempts: r.attempts,
  createdAtMs: r.created_at_ms,
  lastAttemptAtMs: r.last_attempt_at_ms,
  nextAttemptAtMs: r.status === 'pending' || r.status === 'failed' ? r.next_attempt_at_ms : null,
  deliveredAtMs: r.delivered_at_ms,
  errorCode: r.error_code as RpmErrorCode | null,
  errorMessage: r.error_message,
  outcome: r.outcome === null ? null : (JSON.parse(r.outcome) as unknown),
  refs: r.refs === null ? [] : (JSON.parse(r.refs) as string[]),
});

function constraintCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Rows per transaction when backfilling, so ingest's writer never waits long for the lock. */
const BACKFILL_CHUNK = 5000;

const PREFIXED_READING_COLUMNS = READING_COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ');

/**
 * Destinations and the delivery outbox, in the readings database: the outbox rows are written by
 * the reading writer (batch-writer.ts) inside the reading's transaction; this class reads them and
 * records delivery attempts on the main connection, one small transaction per delivered chunk.
 *
 * Destination credentials (the whole `auth` JSON) and patients' identifiers at an EHR are stored
 * encrypted with `secrets` (AES-256-GCM, key id kept with each value). Without a cipher only
 * credential-free destinations (`auth: none`) can be stored.
 */
export class SqliteForwardingStore implements ForwardingStore {
  private readonly due;
  private readonly nextDue;
  private readonly attemptDelivered;
  private readonly attemptFailed;
  private readonly attemptDead;

  private readonly sql: (sql: string) => PreparedStatement;

  private readonly secrets: DestinationSecrets;

  constructor(
    private readonly db: SqliteDatabase,
    cipher: FieldCipher | undefined = undefined,
  ) {
    this.secrets = new DestinationSecrets(cipher);
    this.sql = statementCache(db);
    this.due = db.prepare(
      `SELECT o.seq AS o_seq, o.destination_id AS o_destination_id, o.attempts AS o_attempts, ${PREFIXED_READING_COLUMNS}
       FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
       WHERE o.destination_id = ? AND o.status IN ('pending', 'failed') AND o.next_attempt_at_ms <= ?
       ORDER BY o.next_attempt_at_ms, o.seq LIMIT ?`,
    );
    this.nextDue = db.prepare(
      "SELECT min(next_attempt_at_ms) AS t FROM fhir_outbox WHERE destination_id = ? AND status IN ('pending', 'failed')",
    );
    this.attemptDelivered = db.prepare(
      "UPDATE fhir_outbox SET status = 'delivered', attempts = attempts + 1, last_attempt_at_ms = ?, delivered_at_ms = ?, refs = ?, error_code = NULL, error_message = NULL, outcome = NULL WHERE seq = ?",
    );
    this.attemptFailed = db.prepare(
      "UPDATE fhir_outbox SET status = 'failed', attempts = attempts + 1, last_attempt_at_ms = ?, next_attempt_at_ms = ?, error_code = ?, error_message = ? WHERE seq = ?",
    );
    this.attemptDead = db.prepare(
      "UPDATE fhir_outbox SET status = 'dead', attempts = attempts + 1, last_attempt_at_ms = ?, error_code = ?, error_message = ?, outcome = ? WHERE seq = ?",
    );
  }

  async createDestination(d: NewDestination): Promise<Destination> {
    try {
      this.sql(
          `INSERT INTO fhir_destinations (id, organization_id, base_url, auth, patient_mapping, kinds, enabled, batch_size, appointments, encounters, practitioners, created_at_ms, updated_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          d.id,
          d.organizationId,
          d.baseUrl,
          this.secrets.sealAuth(d.id, d.auth),
          JSON.stringify(d.patientMapping),
          d.kinds.join(','),
          d.enabled ? 1 : 0,
          d.batchSize,
          d.appointments === true ? 1 : 0,
          d.encounters === true ? 1 : 0,
          JSON.stringify(d.practitioners ?? {}),
          d.createdAtMs,
          d.createdAtMs,
        );
    } catch (err) {
      const code = constraintCode(err);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new RpmError('RPM_ERR_FHIR_DESTINATION_EXISTS', `FHIR destination '${d.id}' already exists`, { cause: err });
      if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${d.organizationId}' not found`, { cause: err, path: '/organizationId' });
      }
      throw err;
    }
    const created = await this.getDestination(d.id);
    if (created === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'destination vanished after insert');
    return created;
  }

  async updateDestination(id: string, patch: DestinationPatch, atMs: number): Promise<Destination | undefined> {
    const sets: string[] = [];
    const params: (string | number | null)[] = [];
    const set = (column: string, value: string | number | null): void => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (patch.baseUrl !== undefined) set('base_url', patch.baseUrl);
    if (patch.auth !== undefined) set('auth', this.secrets.sealAuth(id, patch.auth));
    if (patch.patientMapping !== undefined) set('patient_mapping', JSON.stringify(patch.patientMapping));
    if (patch.kinds !== undefined) set('kinds', patch.kinds.join(','));
    if (patch.enabled !== undefined) set('enabled', patch.enabled ? 1 : 0);
    if (patch.batchSize !== undefined) set('batch_size', patch.batchSize);
    if (patch.appointments !== undefined) set('appointments', patch.appointments ? 1 : 0);
    if (patch.encounters !== undefined) set('encounters', patch.encounters ? 1 : 0);
    if (patch.practitioners !== undefined) set('practitioners', JSON.stringify(patch.practitioners));
    set('updated_at_ms', atMs);
    const changed = this.sql(`UPDATE fhir_destinations SET ${sets.join(', ')} WHERE id = ?`).run(...params, id).changes;
    return changed === 0 ? undefined : this.getDestination(id);
  }

  async getDestination(id: string): Promise<Destination | undefined> {
    const row = this.sql('SELECT * FROM fhir_destinations WHERE id = ?').get(id) as DestinationRow | undefined;
    return row === undefined ? undefined : toDestination(row, this.openAuth(row));
  }

  async listDestinations(filter: { readonly organizationId?: string } = {}): Promise<Destination[]> {
    const rows = (
      filter.organizationId === undefined
        ? this.sql('SELECT * FROM fhir_destinations ORDER BY id').all()
        : this.sql('SELECT * FROM fhir_destinations WHERE organization_id = ? ORDER BY id').all(filter.organizationId)
    ) as DestinationRow[];
    return rows.map((r) => toDestination(r, this.openAuth(r)));
  }

  async dueDeliveries(destinationId: string, nowMs: number, limit: number): Promise<DueDelivery[]> {
    const rows = this.due.all(destinationId, nowMs, limit) as (ReadingRow & { o_seq: number; o_destination_id: string; o_attempts: number })[];
    return rows.map((r) => ({ seq: r.o_seq, destinationId: r.o_destination_id, attempts: r.o_attempts, reading: toReading(r) }));
  }

  async nextDueAt(destinationId: string): Promise<number | undefined> {
    return (this.nextDue.get(destinationId) as { t: number | null }).t ?? undefined;
  }

  async recordAttempts(updates: readonly DeliveryUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    this.db
      .transaction(() => {
        for (const u of updates) {
          if (u.status === 'delivered') this.attemptDelivered.run(u.atMs, u.atMs, JSON.stringify(u.refs), u.seq);
          else if (u.status === 'failed') this.attemptFailed.run(u.atMs, u.nextAttemptAtMs, u.code, u.message, u.seq);
          else this.attemptDead.run(u.atMs, u.code, u.message, u.outcome === undefined || u.outcome === null ? null : JSON.stringify(u.outcome), u.seq);
        }
      })
      .immediate();
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const where = ['o.seq > ?'];
    const params: (string | number)[] = [q.afterSeq ?? 0];
    if (q.destinationId !== undefined) {
      where.push('o.destination_id = ?');
      params.push(q.destinationId);
    }
    if (q.statuses !== undefined && q.statuses.length > 0) {
      where.push(`o.status IN (${q.statuses.map(() => '?').join(', ')})`);
      params.push(...q.statuses);
    }
    params.push(q.limit);
    const rows = this.sql(
        `SELECT o.*, r.id AS reading_id, r.device_id, r.patient_id, r.kind FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
         WHERE ${where.join(' AND ')} ORDER BY o.seq LIMIT ?`,
      )
      .all(...params) as OutboxRow[];
    return rows.map(toRecord);
  }

  async countDeliveries(destinationId: string): Promise<Record<DeliveryStatus, number>> {
    const counts: Record<DeliveryStatus, number> = { pending: 0, failed: 0, delivered: 0, dead: 0 };
    const rows = this.sql('SELECT status, count(*) AS n FROM fhir_outbox WHERE destination_id = ? GROUP BY status').all(destinationId) as {
      status: DeliveryStatus;
      n: number;
    }[];
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async retryDeliveries(selector: RetrySelector, nowMs: number): Promise<number> {
    if (selector.statuses.length === 0 || (selector.seqs !== undefined && selector.seqs.length === 0)) return 0;
    const where = [`status IN (${selector.statuses.map(() => '?').join(', ')})`];
    const params: (string | number)[] = [...selector.statuses];
    if (selector.destinationId !== undefined) {
      where.push('destination_id = ?');
      params.push(selector.destinationId);
    }
    if (selector.seqs !== undefined) {
      where.push(`seq IN (${selector.seqs.map(() => '?').join(', ')})`);
      params.push(...selector.seqs);
    }
    if (selector.codes !== undefined) {
      if (selector.codes.length === 0) return 0;
      where.push(`error_code IN (${selector.codes.map(() => '?').join(', ')})`);
      params.push(...selector.codes);
    }
    if (selector.patientId !== undefined) {
      where.push('reading_seq IN (SELECT seq FROM readings WHERE patient_id = ?)');
      params.push(selector.patientId);
    }
    return this.sql(`UPDATE fhir_outbox SET status = 'pending', next_attempt_at_ms = ? WHERE ${where.join(' AND ')}`).run(nowMs, ...params).changes;
  }

  async backfill(destinationId: string, q: BackfillQuery, nowMs: number): Promise<number> {
    const d = this.sql('SELECT organization_id FROM fhir_destinations WHERE id = ?').get(destinationId) as { organization_id: string } | undefined;
    if (d === undefined) throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${destinationId}' not found`);
    if (q.kinds.length === 0) return 0;
    const kinds = q.kinds.map(() => '?').join(', ');
    // Patient by patient over (patient_id, measured_at_ms), in chunks of readings: each chunk is
    // one short transaction, so ingest's writer thread never waits long for the lock. A reading
    // committed meanwhile either got its delivery at commit or is seen by a later chunk; the
    // unique (destination, reading) index makes both safe.
    const patients = this.sql('SELECT id FROM patients WHERE organization_id = ? ORDER BY id').pluck().all(d.organization_id) as string[];
    const page = this.sql(
      `SELECT seq, measured_at_ms, id FROM readings WHERE patient_id = ? AND kind IN (${kinds}) AND measured_at_ms >= ? AND measured_at_ms < ?
       AND (measured_at_ms > ? OR (measured_at_ms = ? AND id > ?)) ORDER BY measured_at_ms, id LIMIT ?`,
    );
    const insert = this.sql("INSERT OR IGNORE INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms) VALUES (?, ?, 'pending', 0, ?, ?)");
    const until = q.toMs ?? Number.MAX_SAFE_INTEGER;
    let queued = 0;
    for (const patientId of patients) {
      let after = { t: Number.MIN_SAFE_INTEGER, id: '' };
      for (;;) {
        const rows = page.all(patientId, ...q.kinds, q.fromMs, until, after.t, after.t, after.id, BACKFILL_CHUNK) as { seq: number; measured_at_ms: number; id: string }[];
        if (rows.length === 0) break;
        queued += this.db
          .transaction(() => {
            let n = 0;
            for (const r of rows) n += insert.run(destinationId, r.seq, nowMs, nowMs).changes;
            return n;
          })
          .immediate();
        const last = rows[rows.length - 1] as { measured_at_ms: number; id: string };
        after = { t: last.measured_at_ms, id: last.id };
        if (rows.length < BACKFILL_CHUNK) break;
        // Let ingest and the delivery worker run between chunks of a long backfill.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return queued;
  }

  async queueStats(destinationId: string, cap: number): Promise<QueueStats> {
    const capped = (status: string): number =>
      (this.sql('SELECT count(*) AS n FROM (SELECT 1 FROM fhir_outbox WHERE destination_id = ? AND status = ? LIMIT ?)').get(destinationId, status, cap) as { n: number }).n;
    const waiting = Math.min(cap, capped('pending') + capped('failed'));
    // Outbox positions grow with time: the lowest waiting one is the oldest queued.
    const oldest = this.sql(
      `SELECT min(created_at_ms) AS t FROM (
         SELECT created_at_ms FROM (SELECT created_at_ms FROM fhir_outbox WHERE destination_id = ? AND status = 'pending' ORDER BY seq LIMIT 1)
         UNION ALL
         SELECT created_at_ms FROM (SELECT created_at_ms FROM fhir_outbox WHERE destination_id = ? AND status = 'failed' ORDER BY seq LIMIT 1))`,
    ).get(destinationId, destinationId) as { t: number | null };
    return { waiting, oldestWaitingSinceMs: oldest.t ?? undefined, dead: capped('dead') };
  }

  async patientsWithDeadLetters(destinationId: string, codes: readonly RpmErrorCode[], limit: number): Promise<string[]> {
    if (codes.length === 0) return [];
    return this.sql(
      `SELECT DISTINCT r.patient_id FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
       WHERE o.destination_id = ? AND o.status = 'dead' AND o.error_code IN (${codes.map(() => '?').join(', ')}) AND r.patient_id IS NOT NULL
       ORDER BY r.patient_id LIMIT ?`,
    )
      .pluck()
      .all(destinationId, ...codes, limit) as string[];
  }

  async getPatientLink(destinationId: string, patientId: string): Promise<PatientLink | undefined> {
    const row = this.sql('SELECT * FROM fhir_patient_links WHERE destination_id = ? AND patient_id = ?').get(destinationId, patientId) as PatientLinkRow | undefined;
    return row === undefined ? undefined : this.toLink(row);
  }

  async listPatientLinks(destinationId: string, page: { readonly limit: number; readonly afterPatientId?: string }): Promise<PatientLink[]> {
    const rows = this.sql('SELECT * FROM fhir_patient_links WHERE destination_id = ? AND patient_id > ? ORDER BY patient_id LIMIT ?').all(
      destinationId,
      page.afterPatientId ?? '',
      page.limit,
    ) as PatientLinkRow[];
    return rows.map((r) => this.toLink(r));
  }

  async setPatientLink(destinationId: string, patientId: string, link: PatientLinkInput, atMs: number): Promise<PatientLink> {
    const current = await this.getPatientLink(destinationId, patientId);
    const identifier = link.identifier === undefined ? (current?.identifier ?? null) : link.identifier;
    let reference = current?.reference ?? null;
    let source = current?.referenceSource ?? null;
    if (link.reference !== undefined) {
      reference = link.reference;
      source = link.reference === null ? null : 'admin';
    } else if (source === 'search' && identifier !== (current?.identifier ?? null)) {
      // Found under the old identifier: look again under the new one.
      reference = null;
      source = null;
    }
    try {
      this.sql(
        `INSERT INTO fhir_patient_links (destination_id, patient_id, identifier, reference, reference_source, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (destination_id, patient_id) DO UPDATE SET identifier = excluded.identifier, reference = excluded.reference,
           reference_source = excluded.reference_source, updated_at_ms = excluded.updated_at_ms`,
      ).run(destinationId, patientId, identifier === null ? null : this.secrets.sealIdentifier(destinationId, patientId, identifier), reference, source, atMs);
    } catch (err) {
      if (constraintCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        const destination = this.sql('SELECT 1 FROM fhir_destinations WHERE id = ?').get(destinationId);
        if (destination === undefined) throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${destinationId}' not found`, { cause: err });
        throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { cause: err });
      }
      throw err;
    }
    return (await this.getPatientLink(destinationId, patientId)) as PatientLink;
  }

  async recordResolvedPatient(destinationId: string, patientId: string, reference: string, atMs: number): Promise<void> {
    this.sql(
      `INSERT INTO fhir_patient_links (destination_id, patient_id, identifier, reference, reference_source, updated_at_ms) VALUES (?, ?, NULL, ?, 'search', ?)
       ON CONFLICT (destination_id, patient_id) DO UPDATE SET reference = excluded.reference, reference_source = 'search', updated_at_ms = excluded.updated_at_ms
       WHERE fhir_patient_links.reference_source IS NOT 'admin'`,
    ).run(destinationId, patientId, reference, atMs);
  }

  async deletePatientLink(destinationId: string, patientId: string): Promise<boolean> {
    return this.sql('DELETE FROM fhir_patient_links WHERE destination_id = ? AND patient_id = ?').run(destinationId, patientId).changes > 0;
  }

  /**
   * Encrypts credentials stored in plain text by an older version, and re-encrypts those under a
   * key other than the active one (key rotation). Run at start-up; returns how many rows changed.
   */
  sealSecrets(): number {
    const secrets = this.secrets;
    if (!secrets.canSeal) return 0;
    const destinations = (this.sql('SELECT id, auth FROM fhir_destinations').all() as { id: string; auth: string }[]).filter((r) => secrets.needsRotation(r.auth));
    const links = (
      this.sql('SELECT destination_id, patient_id, identifier FROM fhir_patient_links WHERE identifier IS NOT NULL').all() as {
        destination_id: string;
        patient_id: string;
        identifier: string;
      }[]
    ).filter((r) => secrets.needsRotation(r.identifier));
    if (destinations.length + links.length === 0) return 0;
    // secure_delete overwrites the old cells instead of leaving them in free pages; the WAL
    // holding the old pages is checkpointed and truncated afterwards.
    this.db.pragma('secure_delete = ON');
    try {
      this.db
        .transaction(() => {
          for (const r of destinations) this.sql('UPDATE fhir_destinations SET auth = ? WHERE id = ?').run(secrets.sealAuth(r.id, secrets.openAuth(r.id, r.auth)), r.id);
          for (const r of links) {
            const plain = secrets.openIdentifier(r.destination_id, r.patient_id, r.identifier);
            this.sql('UPDATE fhir_patient_links SET identifier = ? WHERE destination_id = ? AND patient_id = ?').run(
              secrets.sealIdentifier(r.destination_id, r.patient_id, plain),
              r.destination_id,
              r.patient_id,
            );
          }
        })
        .immediate();
    } finally {
      this.db.pragma('secure_delete = OFF');
    }
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return destinations.length + links.length;
  }

  private openAuth(row: DestinationRow): DestinationAuth {
    return this.secrets.openAuth(row.id, row.auth);
  }

  private toLink(r: PatientLinkRow): PatientLink {
    return {
      destinationId: r.destination_id,
      patientId: r.patient_id,
      identifier: r.identifier === null ? null : this.secrets.openIdentifier(r.destination_id, r.patient_id, r.identifier),
      reference: r.reference,
      referenceSource: r.reference_source,
      updatedAtMs: r.updated_at_ms,
    };
  }
}
