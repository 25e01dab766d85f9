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
import { constraintOf, inTransaction, isForeignKeyViolation, isUniqueViolation, type Pool } from './database.js';
import { PREFIXED_READING_COLUMNS, type ReadingRow, toReading } from './reading-rows.js';

interface DestinationRow {
  id: string;
  organization_id: string;
  base_url: string;
  /** Encrypted JSON (or plain JSON of `none`). */
  auth: string;
  patient_mapping: PatientMapping;
  kinds: string[];
  enabled: boolean;
  batch_size: number | null;
  appointments: boolean;
  encounters: boolean;
  practitioners: Record<string, string>;
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
  outcome: unknown;
  refs: string[] | null;
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

const LINK_COLUMNS = 'destination_id, patient_id, identifier, reference, reference_source, updated_at_ms';
const DESTINATION_COLUMNS = 'id, organization_id, base_url, auth, patient_mapping, kinds, enabled, batch_size, appointments, created_at_ms, updated_at_ms, encounters, practitioners';
const OUTBOX_COLUMNS =
  'o.seq, o.destination_id, o.status, o.attempts, o.created_at_ms, o.next_attempt_at_ms, o.last_attempt_at_ms, o.delivered_at_ms, o.error_code, o.error_message, o.outcome, o.refs';

const toDestination = (r: DestinationRow, auth: DestinationAuth): Destination => ({
  id: r.id,
  organizationId: r.organization_id,
  baseUrl: r.base_url,
  auth,
  patientMapping: r.patient_mapping,
  kinds: r.kinds as ReadingKind[],
  enabled: r.enabled,
  batchSize: r.batch_size,
  appointments: r.appointments,
  encounters: r.encounters,
  practitioners: r.practitioners,
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
  outcome: r.outcome ?? null,
  refs: r.refs ?? [],
});

/** Readings per backfill transaction, so reading commits never wait long behind one. */
const BACKFILL_CHUNK = 5000;

/**
 * One statement records every attempt of a delivered chunk. Per status, as the SQLite store:
 * delivered clears the error and keeps the refs; failed sets the next attempt and the error;
 * dead keeps the error and the server's OperationOutcome.
 */
const RECORD_ATTEMPTS = `
  UPDATE fhir_outbox o SET
    status = u.status,
    attempts = o.attempts + 1,
    last_attempt_at_ms = u.at_ms,
    delivered_at_ms = CASE WHEN u.status = 'delivered' THEN u.at_ms ELSE o.delivered_at_ms END,
    refs = CASE WHEN u.status = 'delivered' THEN u.refs ELSE o.refs END,
    next_attempt_at_ms = CASE WHEN u.status = 'failed' THEN u.next_attempt_at_ms ELSE o.next_attempt_at_ms END,
    error_code = CASE WHEN u.status = 'delivered' THEN NULL ELSE u.code END,
    error_message = CASE WHEN u.status = 'delivered' THEN NULL ELSE u.message END,
    outcome = CASE WHEN u.status = 'delivered' THEN NULL WHEN u.status = 'dead' THEN u.outcome ELSE o.outcome END
  FROM json_to_recordset($1::json) AS u(seq bigint, status text, at_ms bigint, next_attempt_at_ms bigint, code text, message text, outcome json, refs json)
  WHERE o.seq = u.seq`;

/**
 * Destinations and the delivery outbox on PostgreSQL. Outbox rows are written by
 * PostgresReadingStore.commit inside the reading's transaction (and by late attribution and
 * backfill); this class reads them and records delivery attempts, one statement per delivered
 * chunk.
 *
 * Destination credentials (the whole `auth` JSON) and patients' identifiers at an EHR are stored
 * encrypted (core/crypto/destination-secrets.ts, shared with the SQLite store). Without a cipher
 * only credential-free destinations can be stored.
 */
export class PostgresForwardingStore implements ForwardingStore {
  private readonly secrets: DestinationSecrets;

  constructor(
    private readonly pool: Pool,
    cipher: FieldCipher | undefined = undefined,
  ) {
    this.secrets = new DestinationSecrets(cipher);
  }

  async createDestination(d: NewDestination): Promise<Destination> {
    try {
      const { rows } = await this.pool.query<DestinationRow>(
        `INSERT INTO fhir_destinations (${DESTINATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9, $11, $12) RETURNING ${DESTINATION_COLUMNS}`,
        [d.id, d.organizationId, d.baseUrl, this.secrets.sealAuth(d.id, d.auth), JSON.stringify(d.patientMapping), d.kinds, d.enabled, d.batchSize, d.createdAtMs, d.appointments === true, d.encounters === true, JSON.stringify(d.practitioners ?? {})],
      );
      const row = rows[0];
      if (row === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'destination vanished after insert');
      return this.toDestination(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_FHIR_DESTINATION_EXISTS', `FHIR destination '${d.id}' already exists`, { cause: err });
      if (isForeignKeyViolation(err)) {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${d.organizationId}' not found`, { cause: err, path: '/organizationId' });
      }
      throw err;
    }
  }

  async updateDestination(id: string, patch: DestinationPatch, atMs: number): Promise<Destination | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.baseUrl !== undefined) set('base_url', patch.baseUrl);
    if (patch.auth !== undefined) set('auth', this.secrets.sealAuth(id, patch.auth));
    if (patch.patientMapping !== undefined) set('patient_mapping', JSON.stringify(patch.patientMapping));
    if (patch.kinds !== undefined) set('kinds', patch.kinds);
    if (patch.enabled !== undefined) set('enabled', patch.enabled);
    if (patch.batchSize !== undefined) set('batch_size', patch.batchSize);
    if (patch.appointments !== undefined) set('appointments', patch.appointments);
    if (patch.encounters !== undefined) set('encounters', patch.encounters);
    if (patch.practitioners !== undefined) set('practitioners', JSON.stringify(patch.practitioners));
    set('updated_at_ms', atMs);
    params.push(id);
    const { rows } = await this.pool.query<DestinationRow>(
      `UPDATE fhir_destinations SET ${sets.join(', ')} WHERE id = $${params.length} RETURNING ${DESTINATION_COLUMNS}`,
      params,
    );
    const row = rows[0];
    return row === undefined ? undefined : this.toDestination(row);
  }

  async getDestination(id: string): Promise<Destination | undefined> {
    const { rows } = await this.pool.query<DestinationRow>(`SELECT ${DESTINATION_COLUMNS} FROM fhir_destinations WHERE id = $1`, [id]);
    const row = rows[0];
    return row === undefined ? undefined : this.toDestination(row);
  }

  async listDestinations(filter: { readonly organizationId?: string } = {}): Promise<Destination[]> {
    const { rows } =
      filter.organizationId === undefined
        ? await this.pool.query<DestinationRow>(`SELECT ${DESTINATION_COLUMNS} FROM fhir_destinations ORDER BY id`)
        : await this.pool.query<DestinationRow>(`SELECT ${DESTINATION_COLUMNS} FROM fhir_destinations WHERE organization_id = $1 ORDER BY id`, [filter.organizationId]);
    return rows.map((r) => this.toDestination(r));
  }

  async dueDeliveries(destinationId: string, nowMs: number, limit: number): Promise<DueDelivery[]> {
    const { rows } = await this.pool.query<ReadingRow & { o_seq: number; o_destination_id: string; o_attempts: number }>({
      name: 'rpm_due_deliveries',
      text: `SELECT o.seq AS o_seq, o.destination_id AS o_destination_id, o.attempts AS o_attempts, ${PREFIXED_READING_COLUMNS}
             FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
             WHERE o.destination_id = $1 AND o.status IN ('pending', 'failed') AND o.next_attempt_at_ms <= $2
             ORDER BY o.next_attempt_at_ms, o.seq LIMIT $3`,
      values: [destinationId, nowMs, limit],
    });
    return rows.map((r) => ({ seq: r.o_seq, destinationId: r.o_destination_id, attempts: r.o_attempts, reading: toReading(r) }));
  }

  async nextDueAt(destinationId: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ t: number | null }>({
      name: 'rpm_next_due',
      text: "SELECT min(next_attempt_at_ms) AS t FROM fhir_outbox WHERE destination_id = $1 AND status IN ('pending', 'failed')",
      values: [destinationId],
    });
    return rows[0]?.t ?? undefined;
  }

  async recordAttempts(updates: readonly DeliveryUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    // One row per outbox position: the last update of a position wins, as if applied in order.
    const last = new Map<number, DeliveryUpdate>();
    for (const u of updates) last.set(u.seq, u);
    const rows = [...last.values()].map((u) => ({
      seq: u.seq,
      status: u.status,
      at_ms: u.atMs,
      next_attempt_at_ms: u.status === 'failed' ? u.nextAttemptAtMs : null,
      code: u.status === 'delivered' ? null : u.code,
      message: u.status === 'delivered' ? null : u.message,
      outcome: u.status === 'dead' ? (u.outcome ?? null) : null,
      refs: u.status === 'delivered' ? u.refs : null,
    }));
    await this.pool.query({ name: 'rpm_record_attempts', text: RECORD_ATTEMPTS, values: [JSON.stringify(rows)] });
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const params: unknown[] = [q.afterSeq ?? 0];
    const where = ['o.seq > $1'];
    if (q.destinationId !== undefined) {
      params.push(q.destinationId);
      where.push(`o.destination_id = $${params.length}`);
    }
    if (q.statuses !== undefined && q.statuses.length > 0) {
      params.push(q.statuses);
      where.push(`o.status = ANY($${params.length}::text[])`);
    }
    params.push(q.limit);
    const { rows } = await this.pool.query<OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS}, r.id AS reading_id, r.device_id, r.patient_id, r.kind FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
       WHERE ${where.join(' AND ')} ORDER BY o.seq LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  async countDeliveries(destinationId: string): Promise<Record<DeliveryStatus, number>> {
    const counts: Record<DeliveryStatus, number> = { pending: 0, failed: 0, delivered: 0, dead: 0 };
    const { rows } = await this.pool.query<{ status: DeliveryStatus; n: number }>(
      'SELECT status, count(*) AS n FROM fhir_outbox WHERE destination_id = $1 GROUP BY status',
      [destinationId],
    );
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async retryDeliveries(selector: RetrySelector, nowMs: number): Promise<number> {
    if (selector.statuses.length === 0 || (selector.seqs !== undefined && selector.seqs.length === 0)) return 0;
    const params: unknown[] = [nowMs, selector.statuses];
    const where = ['status = ANY($2::text[])'];
    if (selector.destinationId !== undefined) {
      params.push(selector.destinationId);
      where.push(`destination_id = $${params.length}`);
    }
    if (selector.seqs !== undefined) {
      params.push(selector.seqs);
      where.push(`seq = ANY($${params.length}::bigint[])`);
    }
    if (selector.codes !== undefined) {
      if (selector.codes.length === 0) return 0;
      params.push(selector.codes);
      where.push(`error_code = ANY($${params.length}::text[])`);
    }
    if (selector.patientId !== undefined) {
      params.push(selector.patientId);
      where.push(`reading_seq IN (SELECT seq FROM readings WHERE patient_id = $${params.length})`);
    }
    const res = await this.pool.query(`UPDATE fhir_outbox SET status = 'pending', next_attempt_at_ms = $1 WHERE ${where.join(' AND ')}`, params);
    return res.rowCount ?? 0;
  }

  async backfill(destinationId: string, q: BackfillQuery, nowMs: number): Promise<number> {
    const { rows: found } = await this.pool.query<{ organization_id: string }>('SELECT organization_id FROM fhir_destinations WHERE id = $1', [destinationId]);
    const destination = found[0];
    if (destination === undefined) throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${destinationId}' not found`);
    if (q.kinds.length === 0) return 0;
    // Patient by patient over (patient_id, measured_at_ms), in chunks of readings, each chunk one
    // short statement. A reading committed meanwhile either got its delivery at commit or is
    // seen by a later chunk; the unique (destination, reading) index makes both safe.
    const { rows: patients } = await this.pool.query<{ id: string }>('SELECT id FROM patients WHERE organization_id = $1 ORDER BY id', [destination.organization_id]);
    const until = q.toMs ?? Number.MAX_SAFE_INTEGER;
    let queued = 0;
    for (const { id: patientId } of patients) {
      let after = { t: Number.MIN_SAFE_INTEGER, id: '' };
      for (;;) {
        const { rows } = await this.pool.query<{ measured_at_ms: number; id: string; queued: number }>(
          `WITH page AS (
             SELECT seq, measured_at_ms, id FROM readings
             WHERE patient_id = $1 AND kind = ANY($2::text[]) AND measured_at_ms >= $3 AND measured_at_ms < $4 AND (measured_at_ms, id) > ($5, $6)
             ORDER BY measured_at_ms, id LIMIT $7
           ), ins AS (
             INSERT INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms)
             SELECT $8, seq, 'pending', 0, $9, $9 FROM page
             ON CONFLICT (destination_id, reading_seq) DO NOTHING
             RETURNING 1
           )
           SELECT last.measured_at_ms, last.id, (SELECT count(*) FROM ins) AS queued, (SELECT count(*) FROM page) AS n
           FROM (SELECT measured_at_ms, id FROM page ORDER BY measured_at_ms DESC, id DESC LIMIT 1) last`,
          [patientId, q.kinds, q.fromMs, until, after.t, after.id, BACKFILL_CHUNK, destinationId, nowMs],
        );
        const last = rows[0] as { measured_at_ms: number; id: string; queued: number; n: number } | undefined;
        if (last === undefined) break;
        queued += last.queued;
        after = { t: last.measured_at_ms, id: last.id };
        if (last.n < BACKFILL_CHUNK) break;
      }
    }
    return queued;
  }

  async queueStats(destinationId: string, cap: number): Promise<QueueStats> {
    const { rows } = await this.pool.query<{ pending: number; failed: number; dead: number; oldest: number | null }>(
      `SELECT
         (SELECT count(*) FROM (SELECT 1 FROM fhir_outbox WHERE destination_id = $1 AND status = 'pending' LIMIT $2) x) AS pending,
         (SELECT count(*) FROM (SELECT 1 FROM fhir_outbox WHERE destination_id = $1 AND status = 'failed' LIMIT $2) x) AS failed,
         (SELECT count(*) FROM (SELECT 1 FROM fhir_outbox WHERE destination_id = $1 AND status = 'dead' LIMIT $2) x) AS dead,
         -- Outbox positions grow with time: the lowest waiting one is the oldest queued.
         LEAST(
           (SELECT created_at_ms FROM fhir_outbox WHERE destination_id = $1 AND status = 'pending' ORDER BY seq LIMIT 1),
           (SELECT created_at_ms FROM fhir_outbox WHERE destination_id = $1 AND status = 'failed' ORDER BY seq LIMIT 1)
         ) AS oldest`,
      [destinationId, cap],
    );
    const r = rows[0] ?? { pending: 0, failed: 0, dead: 0, oldest: null };
    return { waiting: Math.min(cap, r.pending + r.failed), oldestWaitingSinceMs: r.oldest ?? undefined, dead: r.dead };
  }

  async patientsWithDeadLetters(destinationId: string, codes: readonly RpmErrorCode[], limit: number): Promise<string[]> {
    if (codes.length === 0) return [];
    const { rows } = await this.pool.query<{ patient_id: string }>(
      `SELECT DISTINCT r.patient_id FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
       WHERE o.destination_id = $1 AND o.status = 'dead' AND o.error_code = ANY($2::text[]) AND r.patient_id IS NOT NULL
       ORDER BY r.patient_id LIMIT $3`,
      [destinationId, codes, limit],
    );
    return rows.map((r) => r.patient_id);
  }

  async getPatientLink(destinationId: string, patientId: string): Promise<PatientLink | undefined> {
    const { rows } = await this.pool.query<PatientLinkRow>(`SELECT ${LINK_COLUMNS} FROM fhir_patient_links WHERE destination_id = $1 AND patient_id = $2`, [destinationId, patientId]);
    const row = rows[0];
    return row === undefined ? undefined : this.toLink(row);
  }

  async listPatientLinks(destinationId: string, page: { readonly limit: number; readonly afterPatientId?: string }): Promise<PatientLink[]> {
    const { rows } = await this.pool.query<PatientLinkRow>(
      `SELECT ${LINK_COLUMNS} FROM fhir_patient_links WHERE destination_id = $1 AND patient_id > $2 ORDER BY patient_id LIMIT $3`,
      [destinationId, page.afterPatientId ?? '', page.limit],
    );
    return rows.map((r) => this.toLink(r));
  }

  async setPatientLink(destinationId: string, patientId: string, link: PatientLinkInput, atMs: number): Promise<PatientLink> {
    try {
      const row = await inTransaction(this.pool, async (client) => {
        // The row (if any) stays as read until this transaction ends: a search recorded meanwhile waits.
        const { rows } = await client.query<PatientLinkRow>(`SELECT ${LINK_COLUMNS} FROM fhir_patient_links WHERE destination_id = $1 AND patient_id = $2 FOR UPDATE`, [
          destinationId,
          patientId,
        ]);
        const current = rows[0] === undefined ? undefined : this.toLink(rows[0]);
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
        const sealed = identifier === null ? null : this.secrets.sealIdentifier(destinationId, patientId, identifier);
        const { rows: saved } = await client.query<PatientLinkRow>(
          `INSERT INTO fhir_patient_links (destination_id, patient_id, identifier, reference, reference_source, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (destination_id, patient_id) DO UPDATE SET identifier = excluded.identifier, reference = excluded.reference,
             reference_source = excluded.reference_source, updated_at_ms = excluded.updated_at_ms
           RETURNING ${LINK_COLUMNS}`,
          [destinationId, patientId, sealed, reference, source, atMs],
        );
        return saved[0] as PatientLinkRow;
      });
      return this.toLink(row);
    } catch (err) {
      if (isForeignKeyViolation(err)) {
        if (constraintOf(err) === 'fhir_patient_links_destination_id_fkey') {
          throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${destinationId}' not found`, { cause: err });
        }
        throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { cause: err });
      }
      throw err;
    }
  }

  async recordResolvedPatient(destinationId: string, patientId: string, reference: string, atMs: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO fhir_patient_links (destination_id, patient_id, identifier, reference, reference_source, updated_at_ms) VALUES ($1, $2, NULL, $3, 'search', $4)
       ON CONFLICT (destination_id, patient_id) DO UPDATE SET reference = excluded.reference, reference_source = 'search', updated_at_ms = excluded.updated_at_ms
       WHERE fhir_patient_links.reference_source IS DISTINCT FROM 'admin'`,
      [destinationId, patientId, reference, atMs],
    );
  }

  async deletePatientLink(destinationId: string, patientId: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM fhir_patient_links WHERE destination_id = $1 AND patient_id = $2', [destinationId, patientId]);
    return (res.rowCount ?? 0) > 0;
  }

  /**
   * Encrypts credentials and identifiers stored in plain text, and re-encrypts those under a key
   * other than the active one (key rotation), in one transaction. Run at open; returns how many
   * values changed. (Old row versions stay in the table's dead tuples until VACUUM reclaims them.)
   */
  async sealSecrets(): Promise<number> {
    const secrets = this.secrets;
    if (!secrets.canSeal) return 0;
    return inTransaction(this.pool, async (client) => {
      const { rows: destinations } = await client.query<{ id: string; auth: string }>('SELECT id, auth FROM fhir_destinations FOR UPDATE');
      const { rows: links } = await client.query<{ destination_id: string; patient_id: string; identifier: string }>(
        'SELECT destination_id, patient_id, identifier FROM fhir_patient_links WHERE identifier IS NOT NULL FOR UPDATE',
      );
      let changed = 0;
      for (const r of destinations.filter((d) => secrets.needsRotation(d.auth))) {
        await client.query('UPDATE fhir_destinations SET auth = $1 WHERE id = $2', [secrets.sealAuth(r.id, secrets.openAuth(r.id, r.auth)), r.id]);
        changed++;
      }
      for (const r of links.filter((l) => secrets.needsRotation(l.identifier))) {
        const plain = secrets.openIdentifier(r.destination_id, r.patient_id, r.identifier);
        await client.query('UPDATE fhir_patient_links SET identifier = $1 WHERE destination_id = $2 AND patient_id = $3', [
          secrets.sealIdentifier(r.destination_id, r.patient_id, plain),
          r.destination_id,
          r.patient_id,
        ]);
        changed++;
      }
      return changed;
    });
  }

  private toDestination(row: DestinationRow): Destination {
    return toDestination(row, this.secrets.openAuth(row.id, row.auth));
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
