import { RpmError } from '../../core/errors/rpm-error.js';
import type { Appointment, AppointmentType, PatientResponse, StaffAvailability } from '../../core/model/scheduling.js';
import type { DelayedJob, DelayedJobs, NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { AppointmentChange, AppointmentQuery, NewAppointment, SchedulingStore } from '../../core/ports/scheduling-store.js';
import { toAppointment, toJob, toType } from '../sqlite/sqlite-scheduling-store.js';
import { inTransaction, isUniqueViolation, lockFor, type Pool, type PoolClient } from './database.js';

const HOLDING = "('booked', 'completed', 'no-show')";

/**
 * Scheduling and the delayed jobs behind reminders on PostgreSQL. A booking or reschedule locks
 * the staff member and the patient (transaction advisory locks, in a fixed order) before checking
 * for overlap, so concurrent bookings of one slot are serialised and only the first passes.
 * Claims use `FOR UPDATE SKIP LOCKED`: concurrent claimers take different jobs.
 */
export class PostgresSchedulingStore implements SchedulingStore, DelayedJobs {
  constructor(private readonly pool: Pool) {}

  async putAvailability(a: Omit<StaffAvailability, 'version'>, expectedVersion?: number): Promise<StaffAvailability> {
    return inTransaction(this.pool, async (c) => {
      await lockFor(c, `availability:${a.staffId}`);
      const current = (await c.query<{ version: number }>('SELECT version FROM staff_availability WHERE staff_id = $1', [a.staffId])).rows[0]?.version ?? 0;
      if (expectedVersion !== undefined && expectedVersion !== current) throw new RpmError('RPM_ERR_AVAILABILITY_VERSION_CONFLICT', 'working hours changed since you read them', { details: { version: current } });
      const version = current + 1;
      await c.query(
        `INSERT INTO staff_availability (staff_id, organization_id, time_zone, weekly, exceptions, version, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (staff_id) DO UPDATE SET organization_id = excluded.organization_id, time_zone = excluded.time_zone, weekly = excluded.weekly,
           exceptions = excluded.exceptions, version = excluded.version, updated_at_ms = excluded.updated_at_ms`,
        [a.staffId, a.organizationId, a.timeZone, JSON.stringify(a.weekly), JSON.stringify(a.exceptions), version, a.updatedAtMs],
      );
      return { ...a, version };
    });
  }

  async getAvailability(staffId: string): Promise<StaffAvailability | undefined> {
    const r = (
      await this.pool.query<{ staff_id: string; organization_id: string; time_zone: string; weekly: StaffAvailability['weekly']; exceptions: StaffAvailability['exceptions']; version: number; updated_at_ms: number }>(
        'SELECT * FROM staff_availability WHERE staff_id = $1',
        [staffId],
      )
    ).rows[0];
    if (r === undefined) return undefined;
    return { staffId: r.staff_id, organizationId: r.organization_id, timeZone: r.time_zone, weekly: r.weekly, exceptions: r.exceptions, version: r.version, updatedAtMs: r.updated_at_ms };
  }

  async createAppointmentType(t: AppointmentType): Promise<AppointmentType> {
    try {
      await this.pool.query('INSERT INTO appointment_types (organization_id, id, name, duration_minutes, modality, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
        t.organizationId,
        t.id,
        t.name,
        t.durationMinutes,
        t.modality,
        t.createdAtMs,
      ]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_APPOINTMENT_TYPE_EXISTS', `appointment type '${t.id}' already exists`);
      throw err;
    }
    return t;
  }

  async listAppointmentTypes(organizationId: string): Promise<AppointmentType[]> {
    return (await this.pool.query('SELECT * FROM appointment_types WHERE organization_id = $1 ORDER BY id', [organizationId])).rows.map(toType);
  }

  async getAppointmentType(organizationId: string, id: string): Promise<AppointmentType | undefined> {
    const r = (await this.pool.query('SELECT * FROM appointment_types WHERE organization_id = $1 AND id = $2', [organizationId, id])).rows[0];
    return r === undefined ? undefined : toType(r);
  }

  async book(a: NewAppointment, jobs: readonly NewDelayedJob[]): Promise<Appointment> {
    return inTransaction(this.pool, async (c) => {
      await this.lockParties(c, a.staffId, a.patientId);
      await this.assertFree(c, a.id, a.staffId, a.patientId, a.startMs, a.endMs);
      await c.query(
        `INSERT INTO appointments (id, organization_id, patient_id, staff_id, type_id, modality, start_ms, end_ms, status, version, created_at_ms, created_by, updated_at_ms, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $10, $11)`,
        [a.id, a.organizationId, a.patientId, a.staffId, a.typeId, a.modality, a.startMs, a.endMs, a.status, a.createdAtMs, a.createdBy],
      );
      await this.insertJobs(c, jobs);
      return this.requireAppointment(c, a.id);
    });
  }

  async change(id: string, expectedVersion: number, change: AppointmentChange, jobs: readonly NewDelayedJob[]): Promise<Appointment> {
    return inTransaction(this.pool, async (c) => {
      const before = await this.requireAppointment(c, id);
      if (change.kind === 'reschedule') await this.lockParties(c, change.staffId, before.patientId);
      const current = await this.requireAppointment(c, id, true);
      if (current.version !== expectedVersion) throw new RpmError('RPM_ERR_APPOINTMENT_VERSION_CONFLICT', 'the appointment changed since you read it', { details: { version: current.version } });
      if (change.kind === 'reschedule') {
        await this.assertFree(c, id, change.staffId, current.patientId, change.startMs, change.endMs);
        await c.query(
          'UPDATE appointments SET start_ms = $1, end_ms = $2, staff_id = $3, version = version + 1, patient_response = NULL, patient_responded_at_ms = NULL, updated_at_ms = $4, updated_by = $5 WHERE id = $6',
          [change.startMs, change.endMs, change.staffId, change.atMs, change.by, id],
        );
      } else {
        await c.query('UPDATE appointments SET status = $1, version = version + 1, updated_at_ms = $2, updated_by = $3 WHERE id = $4', [change.status, change.atMs, change.by, id]);
      }
      await c.query("UPDATE delayed_jobs SET status = 'cancelled', finished_at_ms = $1 WHERE job_group = $2 AND status = 'pending'", [change.atMs, `appointment:${id}`]);
      await this.insertJobs(c, jobs);
      return this.requireAppointment(c, id);
    });
  }

  async recordResponse(id: string, response: PatientResponse, atMs: number): Promise<Appointment | undefined> {
    const r = (await this.pool.query('UPDATE appointments SET patient_response = $1, patient_responded_at_ms = $2 WHERE id = $3 RETURNING *', [response, atMs, id])).rows[0];
    return r === undefined ? undefined : toAppointment(r);
  }

  async getAppointment(id: string): Promise<Appointment | undefined> {
    const r = (await this.pool.query('SELECT * FROM appointments WHERE id = $1', [id])).rows[0];
    return r === undefined ? undefined : toAppointment(r);
  }

  async listAppointments(q: AppointmentQuery): Promise<Appointment[]> {
    const args: unknown[] = [q.toMs, q.fromMs];
    const where = ['start_ms < $1', 'end_ms > $2'];
    const add = (sql: string, v: unknown): void => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (q.organizationId !== undefined) add('organization_id = ?', q.organizationId);
    if (q.staffId !== undefined) add('staff_id = ?', q.staffId);
    if (q.patientId !== undefined) add('patient_id = ?', q.patientId);
    if (q.statuses !== undefined) add('status = ANY(?::text[])', [...q.statuses]);
    args.push(q.limit);
    const order = q.descending === true ? 'DESC' : 'ASC';
    return (await this.pool.query(`SELECT * FROM appointments WHERE ${where.join(' AND ')} ORDER BY start_ms ${order}, id ${order} LIMIT $${args.length}`, args)).rows.map(toAppointment);
  }

  async setFeedToken(staffId: string, tokenSha256: string, atMs: number): Promise<void> {
    await this.pool.query(
      'INSERT INTO calendar_feed_tokens (staff_id, token_sha256, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (staff_id) DO UPDATE SET token_sha256 = excluded.token_sha256, created_at_ms = excluded.created_at_ms',
      [staffId, tokenSha256, atMs],
    );
  }

  async staffOfFeedToken(tokenSha256: string): Promise<string | undefined> {
    return (await this.pool.query<{ staff_id: string }>('SELECT staff_id FROM calendar_feed_tokens WHERE token_sha256 = $1', [tokenSha256])).rows[0]?.staff_id;
  }

  // DelayedJobs

  async schedule(jobs: readonly NewDelayedJob[]): Promise<void> {
    await inTransaction(this.pool, (c) => this.insertJobs(c, jobs));
  }

  async cancelGroup(group: string, atMs: number): Promise<number> {
    return (await this.pool.query("UPDATE delayed_jobs SET status = 'cancelled', finished_at_ms = $1 WHERE job_group = $2 AND status = 'pending'", [atMs, group])).rowCount ?? 0;
  }

  async claimDue(o: { nowMs: number; limit: number; owner: string; leaseMs: number; kinds?: readonly string[] }): Promise<DelayedJob[]> {
    const { rows } = await this.pool.query(
      `UPDATE delayed_jobs SET status = 'running', lease_owner = $2, lease_until_ms = $3, attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM delayed_jobs
         WHERE ((status = 'pending' AND due_at_ms <= $1) OR (status = 'running' AND lease_until_ms <= $1)) AND ($5::text[] IS NULL OR kind = ANY($5::text[]))
         ORDER BY due_at_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [o.nowMs, o.owner, o.nowMs + o.leaseMs, o.limit, o.kinds === undefined ? null : [...o.kinds]],
    );
    return rows.map(toJob).sort((a, b) => a.dueAtMs - b.dueAtMs || (a.id < b.id ? -1 : 1));
  }

  async complete(id: string, owner: string, outcome: { atMs: number; result: string }): Promise<boolean> {
    const r = await this.pool.query(
      "UPDATE delayed_jobs SET status = 'done', finished_at_ms = $1, result = $2, lease_owner = NULL, lease_until_ms = NULL WHERE id = $3 AND status = 'running' AND lease_owner = $4",
      [outcome.atMs, outcome.result, id, owner],
    );
    return r.rowCount === 1;
  }

  async retry(id: string, owner: string, o: { atMs: number; nextAtMs: number; error: string; dead: boolean }): Promise<boolean> {
    const r = await this.pool.query(
      "UPDATE delayed_jobs SET status = $1, due_at_ms = $2, last_error = $3, finished_at_ms = $4, lease_owner = NULL, lease_until_ms = NULL WHERE id = $5 AND status = 'running' AND lease_owner = $6",
      [o.dead ? 'dead' : 'pending', o.dead ? o.atMs : o.nextAtMs, o.error, o.dead ? o.atMs : null, id, owner],
    );
    return r.rowCount === 1;
  }

  async nextDueAt(): Promise<number | undefined> {
    const r = await this.pool.query<{ t: number | null }>(
      "SELECT LEAST((SELECT MIN(due_at_ms) FROM delayed_jobs WHERE status = 'pending'), (SELECT MIN(lease_until_ms) FROM delayed_jobs WHERE status = 'running')) AS t",
    );
    const t = r.rows[0]?.t;
    return t === null || t === undefined ? undefined : Number(t);
  }

  async releaseAll(): Promise<number> {
    return (await this.pool.query("UPDATE delayed_jobs SET status = 'pending', lease_owner = NULL, lease_until_ms = NULL WHERE status = 'running'")).rowCount ?? 0;
  }

  async list(q: { group?: string; limit: number }): Promise<DelayedJob[]> {
    const { rows } =
      q.group === undefined
        ? await this.pool.query('SELECT * FROM delayed_jobs ORDER BY due_at_ms, id LIMIT $1', [q.limit])
        : await this.pool.query('SELECT * FROM delayed_jobs WHERE job_group = $1 ORDER BY due_at_ms, id LIMIT $2', [q.group, q.limit]);
    return rows.map(toJob);
  }

  private insertJobs(c: PoolClient, jobs: readonly NewDelayedJob[]): Promise<void> {
    return insertDelayedJobs(c, jobs);
  }

  private async lockParties(c: PoolClient, staffId: string, patientId: string): Promise<void> {
    for (const name of [`schedule:patient:${patientId}`, `schedule:staff:${staffId}`].sort()) await lockFor(c, name);
  }

  private async requireAppointment(c: PoolClient, id: string, forUpdate = false): Promise<Appointment> {
    const r = (await c.query(`SELECT * FROM appointments WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id])).rows[0];
    if (r === undefined) throw new RpmError('RPM_ERR_APPOINTMENT_NOT_FOUND', 'appointment not found');
    return toAppointment(r);
  }

  private async assertFree(c: PoolClient, id: string, staffId: string, patientId: string, startMs: number, endMs: number): Promise<void> {
    const { rows } = await c.query(
      `SELECT 1 FROM appointments WHERE id <> $1 AND status IN ${HOLDING} AND start_ms < $2 AND end_ms > $3 AND (staff_id = $4 OR patient_id = $5) LIMIT 1`,
      [id, endMs, startMs, staffId, patientId],
    );
    if (rows.length > 0) throw new RpmError('RPM_ERR_APPOINTMENT_SLOT_TAKEN', 'the time overlaps another appointment of the staff member or the patient');
  }
}

/** Writes delayed jobs (idempotent on the id) on the caller's client, inside its transaction (the visit store's changes too). */
export async function insertDelayedJobs(c: PoolClient, jobs: readonly NewDelayedJob[]): Promise<void> {
  for (const j of jobs) {
    await c.query(
      "INSERT INTO delayed_jobs (id, kind, job_group, payload, due_at_ms, status, attempts, created_at_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6) ON CONFLICT (id) DO NOTHING",
      [j.id, j.kind, j.group, JSON.stringify(j.payload), j.dueAtMs, j.createdAtMs],
    );
  }
}
