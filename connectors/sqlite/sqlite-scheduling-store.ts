import { RpmError } from '../../core/errors/rpm-error.js';
import type { Appointment, AppointmentStatus, AppointmentType, Modality, PatientResponse, StaffAvailability } from '../../core/model/scheduling.js';
import type { DelayedJob, DelayedJobs, DelayedJobStatus, NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { AppointmentChange, AppointmentQuery, NewAppointment, SchedulingStore } from '../../core/ports/scheduling-store.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface AppointmentRow {
  id: string;
  organization_id: string;
  patient_id: string;
  staff_id: string;
  type_id: string;
  modality: string;
  start_ms: number;
  end_ms: number;
  status: string;
  version: number;
  patient_response: string | null;
  patient_responded_at_ms: number | null;
  created_at_ms: number;
  created_by: string;
  updated_at_ms: number;
  updated_by: string;
}

interface JobRow {
  id: string;
  kind: string;
  job_group: string;
  payload: string;
  due_at_ms: number;
  status: string;
  attempts: number;
  lease_owner: string | null;
  lease_until_ms: number | null;
  created_at_ms: number;
  finished_at_ms: number | null;
  result: string | null;
  last_error: string | null;
}

export const toAppointment = (r: AppointmentRow): Appointment => ({
  id: r.id,
  organizationId: r.organization_id,
  patientId: r.patient_id,
  staffId: r.staff_id,
  typeId: r.type_id,
  modality: r.modality as Modality,
  startMs: Number(r.start_ms),
  endMs: Number(r.end_ms),
  status: r.status as AppointmentStatus,
  version: r.version,
  patientResponse: r.patient_response as PatientResponse | null,
  patientRespondedAtMs: r.patient_responded_at_ms === null ? null : Number(r.patient_responded_at_ms),
  createdAtMs: Number(r.created_at_ms),
  createdBy: r.created_by,
  updatedAtMs: Number(r.updated_at_ms),
  updatedBy: r.updated_by,
});

export const toJob = (r: JobRow): DelayedJob => ({
  id: r.id,
  kind: r.kind,
  group: r.job_group,
  payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, string | number>,
  dueAtMs: Number(r.due_at_ms),
  createdAtMs: Number(r.created_at_ms),
  status: r.status as DelayedJobStatus,
  attempts: r.attempts,
  leaseOwner: r.lease_owner,
  leaseUntilMs: r.lease_until_ms === null ? null : Number(r.lease_until_ms),
  finishedAtMs: r.finished_at_ms === null ? null : Number(r.finished_at_ms),
  result: r.result,
  lastError: r.last_error,
});

/** Statuses whose appointment holds its time (HOLDS_TIME), as SQL. */
const HOLDING = "('booked', 'completed', 'no-show')";

/**
 * Scheduling and the delayed jobs behind reminders, in `clinical.sqlite`. Every write is one
 * IMMEDIATE transaction, so the overlap check and the insert it guards see the same rows: two
 * bookings of one slot cannot both pass.
 */
export class SqliteSchedulingStore implements SchedulingStore, DelayedJobs {
  private readonly sql: (sql: string) => PreparedStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
  }

  async putAvailability(a: Omit<StaffAvailability, 'version'>, expectedVersion?: number): Promise<StaffAvailability> {
    return this.db
      .transaction((): StaffAvailability => {
        const current = (this.sql('SELECT version FROM staff_availability WHERE staff_id = ?').get(a.staffId) as { version: number } | undefined)?.version ?? 0;
        if (expectedVersion !== undefined && expectedVersion !== current) throw new RpmError('RPM_ERR_AVAILABILITY_VERSION_CONFLICT', 'working hours changed since you read them', { details: { version: current } });
        const version = current + 1;
        this.sql(
          `INSERT INTO staff_availability (staff_id, organization_id, time_zone, weekly, exceptions, version, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (staff_id) DO UPDATE SET organization_id = excluded.organization_id, time_zone = excluded.time_zone, weekly = excluded.weekly,
             exceptions = excluded.exceptions, version = excluded.version, updated_at_ms = excluded.updated_at_ms`,
        ).run(a.staffId, a.organizationId, a.timeZone, JSON.stringify(a.weekly), JSON.stringify(a.exceptions), version, a.updatedAtMs);
        return { ...a, version };
      })
      .immediate();
  }

  async getAvailability(staffId: string): Promise<StaffAvailability | undefined> {
    const r = this.sql('SELECT * FROM staff_availability WHERE staff_id = ?').get(staffId) as
      | { staff_id: string; organization_id: string; time_zone: string; weekly: string; exceptions: string; version: number; updated_at_ms: number }
      | undefined;
    if (r === undefined) return undefined;
    return { staffId: r.staff_id, organizationId: r.organization_id, timeZone: r.time_zone, weekly: JSON.parse(r.weekly), exceptions: JSON.parse(r.exceptions), version: r.version, updatedAtMs: r.updated_at_ms };
  }

  async createAppointmentType(t: AppointmentType): Promise<AppointmentType> {
    try {
      this.sql('INSERT INTO appointment_types (organization_id, id, name, duration_minutes, modality, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)').run(
        t.organizationId,
        t.id,
        t.name,
        t.durationMinutes,
        t.modality,
        t.createdAtMs,
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new RpmError('RPM_ERR_APPOINTMENT_TYPE_EXISTS', `appointment type '${t.id}' already exists`);
      throw err;
    }
    return t;
  }

  async listAppointmentTypes(organizationId: string): Promise<AppointmentType[]> {
    const rows = this.sql('SELECT * FROM appointment_types WHERE organization_id = ? ORDER BY id').all(organizationId) as TypeRow[];
    return rows.map(toType);
  }

  async getAppointmentType(organizationId: string, id: string): Promise<AppointmentType | undefined> {
    const r = this.sql('SELECT * FROM appointment_types WHERE organization_id = ? AND id = ?').get(organizationId, id) as TypeRow | undefined;
    return r === undefined ? undefined : toType(r);
  }

  async book(a: NewAppointment, jobs: readonly NewDelayedJob[]): Promise<Appointment> {
    return this.db
      .transaction((): Appointment => {
        this.assertFree(a.id, a.staffId, a.patientId, a.startMs, a.endMs);
        this.sql(
          `INSERT INTO appointments (id, organization_id, patient_id, staff_id, type_id, modality, start_ms, end_ms, status, version, created_at_ms, created_by, updated_at_ms, updated_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
        ).run(a.id, a.organizationId, a.patientId, a.staffId, a.typeId, a.modality, a.startMs, a.endMs, a.status, a.createdAtMs, a.createdBy, a.createdAtMs, a.createdBy);
        this.insertJobs(jobs);
        return this.requireAppointment(a.id);
      })
      .immediate();
  }

  async change(id: string, expectedVersion: number, change: AppointmentChange, jobs: readonly NewDelayedJob[]): Promise<Appointment> {
    return this.db
      .transaction((): Appointment => {
        const current = this.requireAppointment(id);
        if (current.version !== expectedVersion) throw new RpmError('RPM_ERR_APPOINTMENT_VERSION_CONFLICT', 'the appointment changed since you read it', { details: { version: current.version } });
        if (change.kind === 'reschedule') {
          this.assertFree(id, change.staffId, current.patientId, change.startMs, change.endMs);
          this.sql(
            'UPDATE appointments SET start_ms = ?, end_ms = ?, staff_id = ?, version = version + 1, patient_response = NULL, patient_responded_at_ms = NULL, updated_at_ms = ?, updated_by = ? WHERE id = ?',
          ).run(change.startMs, change.endMs, change.staffId, change.atMs, change.by, id);
        } else {
          this.sql('UPDATE appointments SET status = ?, version = version + 1, updated_at_ms = ?, updated_by = ? WHERE id = ?').run(change.status, change.atMs, change.by, id);
        }
        this.cancelGroupSync(`appointment:${id}`, change.atMs);
        this.insertJobs(jobs);
        return this.requireAppointment(id);
      })
      .immediate();
  }

  async recordResponse(id: string, response: PatientResponse, atMs: number): Promise<Appointment | undefined> {
    this.sql('UPDATE appointments SET patient_response = ?, patient_responded_at_ms = ? WHERE id = ?').run(response, atMs, id);
    return this.getAppointment(id);
  }

  async getAppointment(id: string): Promise<Appointment | undefined> {
    const r = this.sql('SELECT * FROM appointments WHERE id = ?').get(id) as AppointmentRow | undefined;
    return r === undefined ? undefined : toAppointment(r);
  }

  async listAppointments(q: AppointmentQuery): Promise<Appointment[]> {
    const where = ['start_ms < ?', 'end_ms > ?'];
    const args: (string | number)[] = [q.toMs, q.fromMs];
    if (q.organizationId !== undefined) (where.push('organization_id = ?'), args.push(q.organizationId));
    if (q.staffId !== undefined) (where.push('staff_id = ?'), args.push(q.staffId));
    if (q.patientId !== undefined) (where.push('patient_id = ?'), args.push(q.patientId));
    if (q.statuses !== undefined) where.push(`status IN (${q.statuses.map(() => '?').join(', ') || "''"})`), args.push(...q.statuses);
    const order = q.descending === true ? 'DESC' : 'ASC';
    const rows = this.sql(`SELECT * FROM appointments WHERE ${where.join(' AND ')} ORDER BY start_ms ${order}, id ${order} LIMIT ?`).all(...args, q.limit) as AppointmentRow[];
    return rows.map(toAppointment);
  }

  async setFeedToken(staffId: string, tokenSha256: string, atMs: number): Promise<void> {
    this.sql(
      'INSERT INTO calendar_feed_tokens (staff_id, token_sha256, created_at_ms) VALUES (?, ?, ?) ON CONFLICT (staff_id) DO UPDATE SET token_sha256 = excluded.token_sha256, created_at_ms = excluded.created_at_ms',
    ).run(staffId, tokenSha256, atMs);
  }

  async staffOfFeedToken(tokenSha256: string): Promise<string | undefined> {
    return (this.sql('SELECT staff_id FROM calendar_feed_tokens WHERE token_sha256 = ?').get(tokenSha256) as { staff_id: string } | undefined)?.staff_id;
  }

  // DelayedJobs

  async schedule(jobs: readonly NewDelayedJob[]): Promise<void> {
    this.db.transaction(() => this.insertJobs(jobs)).immediate();
  }

  async cancelGroup(group: string, atMs: number): Promise<number> {
    return this.cancelGroupSync(group, atMs);
  }

  async claimDue(o: { nowMs: number; limit: number; owner: string; leaseMs: number; kinds?: readonly string[] }): Promise<DelayedJob[]> {
    return this.db
      .transaction((): DelayedJob[] => {
        const kinds = o.kinds === undefined ? '' : ` AND kind IN (${o.kinds.map(() => '?').join(', ') || "''"})`;
        const rows = this.sql(
          `SELECT * FROM delayed_jobs WHERE ((status = 'pending' AND due_at_ms <= ?) OR (status = 'running' AND lease_until_ms <= ?))${kinds} ORDER BY due_at_ms, id LIMIT ?`,
        ).all(o.nowMs, o.nowMs, ...(o.kinds ?? []), o.limit) as JobRow[];
        const claim = this.sql("UPDATE delayed_jobs SET status = 'running', lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1 WHERE id = ?");
        for (const r of rows) claim.run(o.owner, o.nowMs + o.leaseMs, r.id);
        return rows.map((r) => toJob({ ...r, status: 'running', lease_owner: o.owner, lease_until_ms: o.nowMs + o.leaseMs, attempts: r.attempts + 1 }));
      })
      .immediate();
  }

  async complete(id: string, owner: string, outcome: { atMs: number; result: string }): Promise<boolean> {
    const info = this.sql("UPDATE delayed_jobs SET status = 'done', finished_at_ms = ?, result = ?, lease_owner = NULL, lease_until_ms = NULL WHERE id = ? AND status = 'running' AND lease_owner = ?").run(
      outcome.atMs,
      outcome.result,
      id,
      owner,
    );
    return info.changes === 1;
  }

  async retry(id: string, owner: string, o: { atMs: number; nextAtMs: number; error: string; dead: boolean }): Promise<boolean> {
    const info = this.sql(
      'UPDATE delayed_jobs SET status = ?, due_at_ms = ?, last_error = ?, finished_at_ms = ?, lease_owner = NULL, lease_until_ms = NULL WHERE id = ? AND status = \'running\' AND lease_owner = ?',
    ).run(o.dead ? 'dead' : 'pending', o.dead ? o.atMs : o.nextAtMs, o.error, o.dead ? o.atMs : null, id, owner);
    return info.changes === 1;
  }

  async nextDueAt(): Promise<number | undefined> {
    const r = this.sql(
      "SELECT MIN(t) AS t FROM (SELECT MIN(due_at_ms) AS t FROM delayed_jobs WHERE status = 'pending' UNION ALL SELECT MIN(lease_until_ms) FROM delayed_jobs WHERE status = 'running')",
    ).get() as { t: number | null };
    return r.t ?? undefined;
  }

  async releaseAll(): Promise<number> {
    return this.sql("UPDATE delayed_jobs SET status = 'pending', lease_owner = NULL, lease_until_ms = NULL WHERE status = 'running'").run().changes;
  }

  async list(q: { group?: string; limit: number }): Promise<DelayedJob[]> {
    const rows = (q.group === undefined
      ? this.sql('SELECT * FROM delayed_jobs ORDER BY due_at_ms, id LIMIT ?').all(q.limit)
      : this.sql('SELECT * FROM delayed_jobs WHERE job_group = ? ORDER BY due_at_ms, id LIMIT ?').all(q.group, q.limit)) as JobRow[];
    return rows.map(toJob);
  }

  private insertJobs(jobs: readonly NewDelayedJob[]): void {
    insertDelayedJobs(this.db, jobs);
  }

  private cancelGroupSync(group: string, atMs: number): number {
    return this.sql("UPDATE delayed_jobs SET status = 'cancelled', finished_at_ms = ? WHERE job_group = ? AND status = 'pending'").run(atMs, group).changes;
  }

  private requireAppointment(id: string): Appointment {
    const r = this.sql('SELECT * FROM appointments WHERE id = ?').get(id) as AppointmentRow | undefined;
    if (r === undefined) throw new RpmError('RPM_ERR_APPOINTMENT_NOT_FOUND', 'appointment not found');
    return toAppointment(r);
  }

  private assertFree(id: string, staffId: string, patientId: string, startMs: number, endMs: number): void {
    const clash = this.sql(
      `SELECT 1 FROM appointments WHERE id <> ? AND status IN ${HOLDING} AND start_ms < ? AND end_ms > ? AND (staff_id = ? OR patient_id = ?) LIMIT 1`,
    ).get(id, endMs, startMs, staffId, patientId);
    if (clash !== undefined) throw new RpmError('RPM_ERR_APPOINTMENT_SLOT_TAKEN', 'the time overlaps another appointment of the staff member or the patient');
  }
}

interface TypeRow {
  organization_id: string;
  id: string;
  name: string;
  duration_minutes: number;
  modality: string;
  created_at_ms: number;
}

export const toType = (r: TypeRow): AppointmentType => ({
  organizationId: r.organization_id,
  id: r.id,
  name: r.name,
  durationMinutes: r.duration_minutes,
  modality: r.modality as Modality,
  createdAtMs: Number(r.created_at_ms),
});

/** Writes delayed jobs (idempotent on the id) on the caller's connection, inside its transaction (the visit store's changes too). */
export function insertDelayedJobs(db: SqliteDatabase, jobs: readonly NewDelayedJob[]): void {
  if (jobs.length === 0) return;
  const insert = db.prepare(
    "INSERT OR IGNORE INTO delayed_jobs (id, kind, job_group, payload, due_at_ms, status, attempts, created_at_ms) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)",
  );
  for (const j of jobs) insert.run(j.id, j.kind, j.group, JSON.stringify(j.payload), j.dueAtMs, j.createdAtMs);
}
