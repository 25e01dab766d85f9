import type { NewVisit, Visit, VisitEndReason, VisitModality, VisitParticipation, VisitRole, VideoProviderKind } from '../../core/model/visit.js';
import type { NewTimeEntry } from '../../core/ports/alert-store.js';
import type { NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { VisitStore } from '../../core/ports/visit-store.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';
import { insertTimeEntry } from './sqlite-alert-store.js';
import { insertDelayedJobs } from './sqlite-scheduling-store.js';

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
  created_at_ms: number;
  started_at_ms: number | null;
  ended_at_ms: number | null;
  end_reason: string | null;
  link_expires_at_ms: number;
  link_used_at_ms: number | null;
  time_entry_id: string | null;
}

const COLUMNS =
  'id, organization_id, patient_id, staff_id, alert_id, appointment_id, provider, room, modality, created_at_ms, started_at_ms, ended_at_ms, end_reason, link_expires_at_ms, link_used_at_ms, time_entry_id';

export const toVisit = (r: VisitRow): Visit => ({
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
  startedAtMs: r.started_at_ms === null ? null : Number(r.started_at_ms),
  endedAtMs: r.ended_at_ms === null ? null : Number(r.ended_at_ms),
  endReason: r.end_reason as VisitEndReason | null,
  linkExpiresAtMs: Number(r.link_expires_at_ms),
  linkUsedAtMs: r.link_used_at_ms === null ? null : Number(r.link_used_at_ms),
  timeEntryId: r.time_entry_id,
});

/**
 * VisitStore on the clinical SQLite database (beside the time log, so a visit's end and its
 * time-log entry are one transaction). Writes are small and run on this thread.
 */
export class SqliteVisitStore implements VisitStore {
  private readonly sql: (sql: string) => PreparedStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
  }

  async create(v: NewVisit, linkHash: string): Promise<Visit> {
    this.sql(
      'INSERT INTO visits (id, organization_id, patient_id, staff_id, alert_id, appointment_id, provider, room, modality, created_at_ms, link_hash, link_expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(v.id, v.organizationId, v.patientId, v.staffId, v.alertId, v.appointmentId, v.provider, v.room, v.modality, v.createdAtMs, linkHash, v.linkExpiresAtMs);
    return { ...v, startedAtMs: null, endedAtMs: null, endReason: null, linkUsedAtMs: null, timeEntryId: null };
  }

  async get(id: string): Promise<Visit | undefined> {
    const row = this.sql(`SELECT ${COLUMNS} FROM visits WHERE id = ?`).get(id) as VisitRow | undefined;
    return row === undefined ? undefined : toVisit(row);
  }

  async list(filter: { organizationId: string; patientId?: string; staffId?: string; appointmentId?: string; open?: boolean; limit: number }): Promise<Visit[]> {
    const where = ['organization_id = ?'];
    const params: (string | number)[] = [filter.organizationId];
    if (filter.patientId !== undefined) {
      where.push('patient_id = ?');
      params.push(filter.patientId);
    }
    if (filter.staffId !== undefined) {
      where.push('staff_id = ?');
      params.push(filter.staffId);
    }
    if (filter.appointmentId !== undefined) {
      where.push('appointment_id = ?');
      params.push(filter.appointmentId);
    }
    if (filter.open !== undefined) where.push(filter.open ? 'ended_at_ms IS NULL' : 'ended_at_ms IS NOT NULL');
    const rows = this.sql(`SELECT ${COLUMNS} FROM visits WHERE ${where.join(' AND ')} ORDER BY created_at_ms DESC, id DESC LIMIT ?`).all(...params, filter.limit) as VisitRow[];
    return rows.map(toVisit);
  }

  async byRoom(room: string): Promise<Visit | undefined> {
    const row = this.sql(`SELECT ${COLUMNS} FROM visits WHERE room = ? ORDER BY created_at_ms DESC LIMIT 1`).get(room) as VisitRow | undefined;
    return row === undefined ? undefined : toVisit(row);
  }

  async openCreatedBefore(createdBeforeMs: number, limit: number): Promise<Visit[]> {
    const rows = this.sql(`SELECT ${COLUMNS} FROM visits WHERE ended_at_ms IS NULL AND created_at_ms < ? ORDER BY created_at_ms LIMIT ?`).all(createdBeforeMs, limit) as VisitRow[];
    return rows.map(toVisit);
  }

  async renewLink(visitId: string, linkHash: string, expiresAtMs: number): Promise<boolean> {
    // The patient's session from an earlier link ends too: whoever holds the new link is the one who joins.
    const r = this.sql(
      'UPDATE visits SET link_hash = ?, link_expires_at_ms = ?, link_used_at_ms = NULL, patient_session_hash = NULL WHERE id = ? AND ended_at_ms IS NULL',
    ).run(linkHash, expiresAtMs, visitId);
    return r.changes === 1;
  }

  async redeemLink(linkHash: string, nowMs: number, sessionHash: string): Promise<Visit | undefined> {
    // One statement: of two redemptions at once, one changes the row, the other finds it used.
    const row = this.sql(
      `UPDATE visits SET link_used_at_ms = ?, patient_session_hash = ?
       WHERE link_hash = ? AND link_used_at_ms IS NULL AND link_expires_at_ms > ? AND ended_at_ms IS NULL
       RETURNING ${COLUMNS}`,
    ).get(nowMs, sessionHash, linkHash, nowMs) as VisitRow | undefined;
    return row === undefined ? undefined : toVisit(row);
  }

  async visitOfPatientSession(sessionHash: string): Promise<Visit | undefined> {
    const row = this.sql(`SELECT ${COLUMNS} FROM visits WHERE patient_session_hash = ? AND ended_at_ms IS NULL`).get(sessionHash) as VisitRow | undefined;
    return row === undefined ? undefined : toVisit(row);
  }

  async joined(visitId: string, role: VisitRole, actor: string, atMs: number): Promise<void> {
    this.db
      .transaction(() => {
        const next = (this.sql('SELECT coalesce(max(seq), 0) + 1 AS n FROM visit_participants WHERE visit_id = ?').get(visitId) as { n: number }).n;
        this.sql('INSERT INTO visit_participants (visit_id, seq, role, actor, joined_at_ms) VALUES (?, ?, ?, ?, ?)').run(visitId, next, role, actor, atMs);
      })
      .immediate();
  }

  async left(visitId: string, actor: string, atMs: number): Promise<void> {
    this.sql('UPDATE visit_participants SET left_at_ms = max(?, joined_at_ms) WHERE visit_id = ? AND actor = ? AND left_at_ms IS NULL').run(atMs, visitId, actor);
  }

  async participants(visitId: string): Promise<VisitParticipation[]> {
    const rows = this.sql('SELECT role, actor, joined_at_ms, left_at_ms FROM visit_participants WHERE visit_id = ? ORDER BY seq').all(visitId) as {
      role: string;
      actor: string;
      joined_at_ms: number;
      left_at_ms: number | null;
    }[];
    return rows.map((r) => ({ visitId, role: r.role as VisitRole, actor: r.actor, joinedAtMs: r.joined_at_ms, leftAtMs: r.left_at_ms }));
  }

  async markStarted(visitId: string, atMs: number, jobs: readonly NewDelayedJob[] = []): Promise<boolean> {
    return this.db
      .transaction((): boolean => {
        const started = this.sql('UPDATE visits SET started_at_ms = ? WHERE id = ? AND started_at_ms IS NULL AND ended_at_ms IS NULL').run(atMs, visitId).changes === 1;
        if (started) insertDelayedJobs(this.db, jobs);
        return started;
      })
      .immediate();
  }

  async end(
    visitId: string,
    endedAtMs: number,
    reason: VisitEndReason,
    timeEntry: (NewTimeEntry & { readonly endedAtMs: number }) | null,
    jobs: readonly NewDelayedJob[] = [],
  ): Promise<Visit | undefined> {
    return this.db
      .transaction((): Visit | undefined => {
        const row = this.sql(
          `UPDATE visits SET ended_at_ms = ?, end_reason = ?, time_entry_id = ?, patient_session_hash = NULL WHERE id = ? AND ended_at_ms IS NULL RETURNING ${COLUMNS}`,
        ).get(endedAtMs, reason, timeEntry?.id ?? null, visitId) as VisitRow | undefined;
        if (row === undefined) return undefined;
        this.sql('UPDATE visit_participants SET left_at_ms = max(?, joined_at_ms) WHERE visit_id = ? AND left_at_ms IS NULL').run(endedAtMs, visitId);
        if (timeEntry !== null) insertTimeEntry(this.db, timeEntry);
        insertDelayedJobs(this.db, jobs);
        return toVisit(row);
      })
      .immediate();
  }
}
