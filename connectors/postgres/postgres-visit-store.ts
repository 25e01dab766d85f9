import type { NewVisit, Visit, VisitEndReason, VisitModality, VisitParticipation, VisitRole, VideoProviderKind } from '../../core/model/visit.js';
import type { NewTimeEntry } from '../../core/ports/alert-store.js';
import type { NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { VisitStore } from '../../core/ports/visit-store.js';
import { insertTimeEntry } from './postgres-alert-store.js';
import { insertDelayedJobs } from './postgres-scheduling-store.js';
import { inTransaction, type Pool } from './database.js';

interface VisitRow {
  id: string;
  organization_id: string;
  patient_id: string;
  staff_id: string;
  alert_id: string | null;
  appointment_id: string | null;
  provider: string;
  room: string;
  modality: string;
  created_at_ms: number | string;
  started_at_ms: number | string | null;
  ended_at_ms: number | string | null;
  end_reason: string | null;
  link_expires_at_ms: number | string;
  link_used_at_ms: number | string | null;
  time_entry_id: string | null;
}

const COLUMNS =
  'id, organization_id, patient_id, staff_id, alert_id, appointment_id, provider, room, modality, created_at_ms, started_at_ms, ended_at_ms, end_reason, link_expires_at_ms, link_used_at_ms, time_entry_id';

const ms = (v: number | string | null): number | null => (v === null ? null : Number(v));

const toVisit = (r: VisitRow): Visit => ({
  id: r.id,
  organizationId: r.organization_id,
  patientId: r.patient_id,
  staffId: r.staff_id,
  alertId: r.alert_id,
  appointmentId: r.appointment_id,
  provider: r.provider as VideoProviderKind,
  room: r.room,
  modality: r.modality as VisitModality,
  createdAtMs: Number(r.created_at_ms),
  startedAtMs: ms(r.started_at_ms),
  endedAtMs: ms(r.ended_at_ms),
  endReason: r.end_reason as VisitEndReason | null,
  linkExpiresAtMs: Number(r.link_expires_at_ms),
  linkUsedAtMs: ms(r.link_used_at_ms),
  timeEntryId: r.time_entry_id,
});

/** VisitStore on PostgreSQL: a visit's end and its time-log entry in one transaction. */
export class PostgresVisitStore implements VisitStore {
  constructor(private readonly pool: Pool) {}

  async create(v: NewVisit, linkHash: string): Promise<Visit> {
    await this.pool.query(
      'INSERT INTO visits (id, organization_id, patient_id, staff_id, alert_id, provider, room, modality, created_at_ms, link_hash, link_expires_at_ms, appointment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [v.id, v.organizationId, v.patientId, v.staffId, v.alertId, v.provider, v.room, v.modality, v.createdAtMs, linkHash, v.linkExpiresAtMs, v.appointmentId],
    );
    return { ...v, startedAtMs: null, endedAtMs: null, endReason: null, linkUsedAtMs: null, timeEntryId: null };
  }

  async get(id: string): Promise<Visit | undefined> {
    return this.one(`SELECT ${COLUMNS} FROM visits WHERE id = $1`, [id]);
  }

  async list(filter: { organizationId: string; patientId?: string; staffId?: string; appointmentId?: string; open?: boolean; limit: number }): Promise<Visit[]> {
    const params: unknown[] = [filter.organizationId];
    const where = ['organization_id = $1'];
    if (filter.patientId !== undefined) {
      params.push(filter.patientId);
      where.push(`patient_id = $${params.length}`);
    }
    if (filter.staffId !== undefined) {
      params.push(filter.staffId);
      where.push(`staff_id = $${params.length}`);
    }
    if (filter.appointmentId !== undefined) {
      params.push(filter.appointmentId);
      where.push(`appointment_id = $${params.length}`);
    }
    if (filter.open !== undefined) where.push(filter.open ? 'ended_at_ms IS NULL' : 'ended_at_ms IS NOT NULL');
    params.push(filter.limit);
    const { rows } = await this.pool.query<VisitRow>(`SELECT ${COLUMNS} FROM visits WHERE ${where.join(' AND ')} ORDER BY created_at_ms DESC, id DESC LIMIT $${params.length}`, params);
    return rows.map(toVisit);
  }

  async byRoom(room: string): Promise<Visit | undefined> {
    return this.one(`SELECT ${COLUMNS} FROM visits WHERE room = $1 ORDER BY created_at_ms DESC LIMIT 1`, [room]);
  }

  async openCreatedBefore(createdBeforeMs: number, limit: number): Promise<Visit[]> {
    const { rows } = await this.pool.query<VisitRow>(`SELECT ${COLUMNS} FROM visits WHERE ended_at_ms IS NULL AND created_at_ms < $1 ORDER BY created_at_ms LIMIT $2`, [createdBeforeMs, limit]);
    return rows.map(toVisit);
  }

  async renewLink(visitId: string, linkHash: string, expiresAtMs: number): Promise<boolean> {
    const r = await this.pool.query(
      'UPDATE visits SET link_hash = $1, link_expires_at_ms = $2, link_used_at_ms = NULL, patient_session_hash = NULL WHERE id = $3 AND ended_at_ms IS NULL',
      [linkHash, expiresAtMs, visitId],
    );
    return r.rowCount === 1;
  }

  async redeemLink(linkHash: string, nowMs: number, sessionHash: string): Promise<Visit | undefined> {
    // The row lock makes a second redemption at once re-check the WHERE and find the link used.
    return this.one(
      `UPDATE visits SET link_used_at_ms = $1, patient_session_hash = $2
       WHERE link_hash = $3 AND link_used_at_ms IS NULL AND link_expires_at_ms > $1 AND ended_at_ms IS NULL
       RETURNING ${COLUMNS}`,
      [nowMs, sessionHash, linkHash],
    );
  }

  async visitOfPatientSession(sessionHash: string): Promise<Visit | undefined> {
    return this.one(`SELECT ${COLUMNS} FROM visits WHERE patient_session_hash = $1 AND ended_at_ms IS NULL`, [sessionHash]);
  }

  async joined(visitId: string, role: VisitRole, actor: string, atMs: number): Promise<void> {
    await this.pool.query('INSERT INTO visit_participants (visit_id, role, actor, joined_at_ms) VALUES ($1, $2, $3, $4)', [visitId, role, actor, atMs]);
  }

  async left(visitId: string, actor: string, atMs: number): Promise<void> {
    await this.pool.query('UPDATE visit_participants SET left_at_ms = greatest($1, joined_at_ms) WHERE visit_id = $2 AND actor = $3 AND left_at_ms IS NULL', [atMs, visitId, actor]);
  }

  async participants(visitId: string): Promise<VisitParticipation[]> {
    const { rows } = await this.pool.query<{ role: string; actor: string; joined_at_ms: string | number; left_at_ms: string | number | null }>(
      'SELECT role, actor, joined_at_ms, left_at_ms FROM visit_participants WHERE visit_id = $1 ORDER BY seq',
      [visitId],
    );
    return rows.map((r) => ({ visitId, role: r.role as VisitRole, actor: r.actor, joinedAtMs: Number(r.joined_at_ms), leftAtMs: ms(r.left_at_ms) }));
  }

  async markStarted(visitId: string, atMs: number, jobs: readonly NewDelayedJob[] = []): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const r = await client.query('UPDATE visits SET started_at_ms = $1 WHERE id = $2 AND started_at_ms IS NULL AND ended_at_ms IS NULL', [atMs, visitId]);
      if (r.rowCount !== 1) return false;
      await insertDelayedJobs(client, jobs);
      return true;
    });
  }

  async end(
    visitId: string,
    endedAtMs: number,
    reason: VisitEndReason,
    timeEntry: (NewTimeEntry & { readonly endedAtMs: number }) | null,
    jobs: readonly NewDelayedJob[] = [],
  ): Promise<Visit | undefined> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<VisitRow>(
        `UPDATE visits SET ended_at_ms = $1, end_reason = $2, time_entry_id = $3, patient_session_hash = NULL WHERE id = $4 AND ended_at_ms IS NULL RETURNING ${COLUMNS}`,
        [endedAtMs, reason, timeEntry?.id ?? null, visitId],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      await client.query('UPDATE visit_participants SET left_at_ms = greatest($1, joined_at_ms) WHERE visit_id = $2 AND left_at_ms IS NULL', [endedAtMs, visitId]);
      if (timeEntry !== null) await insertTimeEntry(client, timeEntry);
      await insertDelayedJobs(client, jobs);
      return toVisit(row);
    });
  }

  private async one(sql: string, params: unknown[]): Promise<Visit | undefined> {
    const { rows } = await this.pool.query<VisitRow>(sql, params);
    const row = rows[0];
    return row === undefined ? undefined : toVisit(row);
  }
}
