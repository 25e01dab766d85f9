import type { RulePartition } from '../../core/cluster/partitions.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Alert, AlertEvent, AlertSeverity, AlertStatus, Episode, Finding, ResolutionOutcome } from '../../core/model/alert.js';
import { alertChanged, type AlertStore, type EvaluationWrite, expectedVersion, type NewNotification, type NewTimeEntry, type Notification, type StoredCarePlan, type TimeEntry, type TimeStopReason } from '../../core/ports/alert-store.js';
import { AlertNotes } from '../../core/crypto/clinical-text.js';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface AlertRow {
  id: string;
  organization_id: string | null;
  patient_id: string;
  rule_id: string;
  rule_title: string;
  severity: string;
  status: string;
  version: number;
  measured_at_ms: number;
  created_at_ms: number;
  updated_at_ms: number;
  reading_id: string | null;
  value: number | null;
  detail: string;
  confirmation: string | null;
  in_range: number;
  flapping: number;
  worsening: number;
  claimed_by: string | null;
  claimed_at_ms: number | null;
  acknowledged_by: string | null;
  acknowledged_at_ms: number | null;
  resolved_by: string | null;
  resolved_at_ms: number | null;
  outcome: string | null;
  note: string | null;
  snoozed_until_ms: number | null;
  escalation_level: number;
  escalated_at_ms: number | null;
  sla_due_at_ms: number;
  episode: string | null;
  rule: string | null;
  late: number;
}

const COLUMNS =
  'id, organization_id, patient_id, rule_id, rule_title, severity, status, version, measured_at_ms, created_at_ms, updated_at_ms, reading_id, value, detail, confirmation, in_range, flapping, worsening, claimed_by, claimed_at_ms, acknowledged_by, acknowledged_at_ms, resolved_by, resolved_at_ms, outcome, note, snoozed_until_ms, escalation_level, escalated_at_ms, sla_due_at_ms, episode, rule, late';

function toAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    organizationId: r.organization_id,
    patientId: r.patient_id,
    ruleId: r.rule_id,
    ruleTitle: r.rule_title,
    severity: r.severity as AlertSeverity,
    status: r.status as AlertStatus,
    version: r.version,
    measuredAtMs: r.measured_at_ms,
    createdAtMs: r.created_at_ms,
    updatedAtMs: r.updated_at_ms,
    readingId: r.reading_id,
    value: r.value,
    detail: r.detail,
    confirmation: r.confirmation as Alert['confirmation'],
    inRange: r.in_range === 1,
    flapping: r.flapping === 1,
    worsening: r.worsening === 1,
    claimedBy: r.claimed_by,
    claimedAtMs: r.claimed_at_ms,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAtMs: r.acknowledged_at_ms,
    resolvedBy: r.resolved_by,
    resolvedAtMs: r.resolved_at_ms,
    outcome: r.outcome as ResolutionOutcome | null,
    note: r.note,
    snoozedUntilMs: r.snoozed_until_ms,
    escalationLevel: r.escalation_level,
    escalatedAtMs: r.escalated_at_ms,
    slaDueAtMs: r.sla_due_at_ms,
    episode: r.episode === null ? null : (JSON.parse(r.episode) as Episode),
    rule: r.rule === null ? null : (JSON.parse(r.rule) as unknown),
    late: r.late === 1,
  };
}

function alertParams(a: Alert): unknown[] {
  return [
    a.id,
    a.organizationId,
    a.patientId,
    a.ruleId,
    a.ruleTitle,
    a.severity,
    a.status,
    a.version,
    a.measuredAtMs,
    a.createdAtMs,
    a.updatedAtMs,
    a.readingId,
    a.value,
    a.detail,
    a.confirmation,
    a.inRange ? 1 : 0,
    a.flapping ? 1 : 0,
    a.worsening ? 1 : 0,
    a.claimedBy,
    a.claimedAtMs,
    a.acknowledgedBy,
    a.acknowledgedAtMs,
    a.resolvedBy,
    a.resolvedAtMs,
    a.outcome,
    a.note,
    a.snoozedUntilMs,
    a.escalationLevel,
    a.escalatedAtMs,
    a.slaDueAtMs,
    a.episode === null ? null : JSON.stringify(a.episode),
    a.rule === null || a.rule === undefined ? null : JSON.stringify(a.rule),
    a.late ? 1 : 0,
  ];
}

const SET_ALL = COLUMNS.split(', ')
  .filter((c) => c !== 'id')
  .map((c) => `${c} = ?`)
  .join(', ');

interface TimeRow {
  id: string;
  organization_id: string | null;
  patient_id: string;
  staff_id: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  interactive: number;
  note: string | null;
  source: string;
  stop_reason: string | null;
  modality: string | null;
}

const toTime = (r: TimeRow): TimeEntry => ({
  id: r.id,
  organizationId: r.organization_id,
  patientId: r.patient_id,
  staffId: r.staff_id,
  startedAtMs: r.started_at_ms,
  endedAtMs: r.ended_at_ms,
  interactive: r.interactive === 1,
  modality: r.modality as TimeEntry['modality'],
  note: r.note,
  source: r.source as TimeEntry['source'],
  stopReason: r.stop_reason as TimeEntry['stopReason'],
});

/** AlertStore on the clinical SQLite database. Writes are small and run on this thread. */
export class SqliteAlertStore implements AlertStore {
  private readonly insertAlert;
  private readonly updateAlert;
  private readonly insertEvent;
  private readonly upsertCondition;
  private readonly setCursor;

  private readonly sql: (sql: string) => PreparedStatement;

  /** Nurses' notes sealed at rest (core/crypto/clinical-text.ts). */
  private readonly notes: AlertNotes;

  constructor(
    private readonly db: SqliteDatabase,
    cipher?: FieldCipher,
  ) {
    this.notes = new AlertNotes(cipher);
    this.sql = statementCache(db);
    this.insertAlert = db.prepare(`INSERT INTO alerts (${COLUMNS}) VALUES (${COLUMNS.split(', ').map(() => '?').join(', ')})`);
    this.updateAlert = db.prepare(`UPDATE alerts SET ${SET_ALL} WHERE id = ? AND version = ?`);
    this.insertEvent = db.prepare(
      'INSERT INTO alert_events (alert_id, version, at_ms, actor, action, from_status, to_status, severity, note, finding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.upsertCondition = db.prepare(
      'INSERT INTO rule_conditions (patient_id, rule_id, state) VALUES (?, ?, ?) ON CONFLICT (patient_id, rule_id) DO UPDATE SET state = excluded.state',
    );
    this.setCursor = db.prepare('UPDATE rule_cursor SET seq = max(seq, ?) WHERE id = 1');
  }

  async evaluationCursor(partition?: RulePartition): Promise<number> {
    return this.cursorOf(partition);
  }

  private cursorOf(partition: RulePartition | undefined): number {
    const single = (this.sql('SELECT seq FROM rule_cursor WHERE id = 1').get() as { seq: number }).seq;
    if (partition === undefined) return single;
    const row = this.sql('SELECT seq FROM rule_partition_cursors WHERE partitions = ? AND partition = ?').get(partition.count, partition.index) as { seq: number } | undefined;
    return row?.seq ?? single;
  }

  async conditionStates(patientId: string): Promise<Map<string, unknown>> {
    const rows = this.sql('SELECT rule_id, state FROM rule_conditions WHERE patient_id = ?').all(patientId) as { rule_id: string; state: string }[];
    return new Map(rows.map((r) => [r.rule_id, JSON.parse(r.state) as unknown]));
  }

  async applyEvaluation(w: EvaluationWrite): Promise<void> {
    this.db
      .transaction(() => {
        if (w.fence !== undefined && this.cursorOf(w.partition) !== w.fence) {
          throw new RpmError('RPM_ERR_CURSOR_MOVED', 'the rules cursor moved since this pass started; another worker holds the partition');
        }
        if (w.partition === undefined) this.setCursor.run(w.cursor);
        else {
          this.sql(
            `INSERT INTO rule_partition_cursors (partitions, partition, seq) VALUES (?, ?, max(?, (SELECT seq FROM rule_cursor WHERE id = 1)))
             ON CONFLICT (partitions, partition) DO UPDATE SET seq = max(seq, excluded.seq)`,
          ).run(w.partition.count, w.partition.index, w.cursor);
        }
        if (w.progress !== undefined) {
          this.sql('INSERT INTO log_progress (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)').run(w.progress.name, w.progress.seq);
        }
        for (const c of w.conditions) this.upsertCondition.run(c.patientId, c.ruleId, JSON.stringify(c.state));
        for (const a of w.created) this.insertAlert.run(...alertParams(this.notes.sealAlert(a)));
        for (const a of w.updated) {
          const [, ...rest] = alertParams(this.notes.sealAlert(a));
          if (this.updateAlert.run(...rest, a.id, expectedVersion(w, a.id)).changes !== 1) throw alertChanged(a.id);
        }
        for (const e of w.events) this.writeEvent(e);
      })
      .immediate();
  }

  async getAlert(id: string): Promise<Alert | undefined> {
    const row = this.sql(`SELECT ${COLUMNS} FROM alerts WHERE id = ?`).get(id) as AlertRow | undefined;
    return row === undefined ? undefined : this.notes.openAlert(toAlert(row));
  }

  async unresolvedAlert(patientId: string, ruleId: string): Promise<Alert | undefined> {
    const row = this.sql(`SELECT ${COLUMNS} FROM alerts WHERE patient_id = ? AND rule_id = ? AND status <> 'resolved'`).get(patientId, ruleId) as
      | AlertRow
      | undefined;
    return row === undefined ? undefined : this.notes.openAlert(toAlert(row));
  }

  async unresolvedAlerts(filter: { organizationId?: string; patientIds?: readonly string[] }): Promise<Alert[]> {
    const where = ["status <> 'resolved'"];
    const params: string[] = [];
    if (filter.organizationId !== undefined) {
      where.push('organization_id = ?');
      params.push(filter.organizationId);
    }
    if (filter.patientIds !== undefined) {
      if (filter.patientIds.length === 0) return [];
      where.push(`patient_id IN (SELECT value FROM json_each(?))`);
      params.push(JSON.stringify(filter.patientIds));
    }
    const rows = this.sql(`SELECT ${COLUMNS} FROM alerts WHERE ${where.join(' AND ')}`).all(...params) as AlertRow[];
    return rows.map((r) => this.notes.openAlert(toAlert(r)));
  }

  async moveUnresolvedAlerts(patientId: string, organizationId: string | null): Promise<Alert[]> {
    this.sql("UPDATE alerts SET organization_id = ? WHERE patient_id = ? AND status <> 'resolved'").run(organizationId, patientId);
    return (this.sql(`SELECT ${COLUMNS} FROM alerts WHERE patient_id = ? AND status <> 'resolved'`).all(patientId) as AlertRow[]).map(toAlert);
  }

  async alertsOfPatient(patientId: string, options: { includeResolved: boolean; limit: number }): Promise<Alert[]> {
    const rows = this.sql(`SELECT ${COLUMNS} FROM alerts WHERE patient_id = ? ${options.includeResolved ? '' : "AND status <> 'resolved'"} ORDER BY created_at_ms DESC LIMIT ?`)
      .all(patientId, options.limit) as AlertRow[];
    return rows.map((r) => this.notes.openAlert(toAlert(r)));
  }

  async events(alertId: string): Promise<AlertEvent[]> {
    const rows = this.sql('SELECT * FROM alert_events WHERE alert_id = ? ORDER BY version').all(alertId) as {
      alert_id: string;
      version: number;
      at_ms: number;
      actor: string;
      action: string;
      from_status: string | null;
      to_status: string;
      severity: string;
      note: string | null;
      finding: string | null;
    }[];
    return rows.map((r) => this.notes.openEvent({
      alertId: r.alert_id,
      version: r.version,
      atMs: r.at_ms,
      actor: r.actor,
      action: r.action as AlertEvent['action'],
      fromStatus: r.from_status as AlertStatus | null,
      toStatus: r.to_status as AlertStatus,
      severity: r.severity as AlertSeverity,
      note: r.note,
      finding: r.finding === null ? null : (JSON.parse(r.finding) as Finding),
    }));
  }

  async saveTransition(next: Alert, expectedVersion: number, event: AlertEvent): Promise<boolean> {
    return this.db
      .transaction((): boolean => {
        const [, ...rest] = alertParams(this.notes.sealAlert(next));
        const changed = this.sql(`UPDATE alerts SET ${SET_ALL} WHERE id = ? AND version = ?`).run(...rest, next.id, expectedVersion).changes;
        if (changed !== 1) return false;
        this.writeEvent(event);
        return true;
      })
      .immediate();
  }

  async dueForEscalation(nowMs: number): Promise<Alert[]> {
    const rows = this.sql(
        `SELECT ${COLUMNS} FROM alerts WHERE status IN ('open', 'claimed') AND sla_due_at_ms <= ?
           AND (snoozed_until_ms IS NULL OR snoozed_until_ms <= ?)
           AND (escalated_at_ms IS NULL OR escalated_at_ms < sla_due_at_ms)`,
      )
      .all(nowMs, nowMs) as AlertRow[];
    return rows.map((r) => this.notes.openAlert(toAlert(r)));
  }

  async lastResolvedAlert(patientId: string, ruleId: string): Promise<Alert | undefined> {
    const row = this.sql(`SELECT ${COLUMNS} FROM alerts WHERE patient_id = ? AND rule_id = ? AND status = 'resolved' ORDER BY resolved_at_ms DESC LIMIT 1`).get(patientId, ruleId) as
      | AlertRow
      | undefined;
    return row === undefined ? undefined : this.notes.openAlert(toAlert(row));
  }

  async pendingConfirmations(): Promise<Alert[]> {
    return (this.sql(`SELECT ${COLUMNS} FROM alerts WHERE status <> 'resolved' AND confirmation = 'pending'`).all() as AlertRow[]).map((r) => this.notes.openAlert(toAlert(r)));
  }

  async snoozesEnded(nowMs: number): Promise<Alert[]> {
    return (this.sql(`SELECT ${COLUMNS} FROM alerts WHERE status <> 'resolved' AND snoozed_until_ms IS NOT NULL AND snoozed_until_ms <= ?`).all(nowMs) as AlertRow[]).map((r) => this.notes.openAlert(toAlert(r)));
  }

  async carePlan(patientId: string): Promise<StoredCarePlan | undefined> {
    const row = this.sql('SELECT * FROM care_plans WHERE patient_id = ? ORDER BY version DESC LIMIT 1').get(patientId) as CarePlanRow | undefined;
    return row === undefined ? undefined : toCarePlan(row);
  }

  async saveCarePlan(patientId: string, plan: unknown, expectedVersion: number | null, actor: string, atMs: number): Promise<StoredCarePlan> {
    return this.db
      .transaction((): StoredCarePlan => {
        const current = (this.sql('SELECT max(version) AS v FROM care_plans WHERE patient_id = ?').get(patientId) as { v: number | null }).v ?? 0;
        if (expectedVersion !== null && expectedVersion !== current) {
          throw new RpmError('RPM_ERR_CARE_PLAN_VERSION_CONFLICT', `care plan is at version ${current}, not ${expectedVersion}`);
        }
        const version = current + 1;
        this.sql('INSERT INTO care_plans (patient_id, version, plan, saved_by, saved_at_ms) VALUES (?, ?, ?, ?, ?)').run(patientId, version, JSON.stringify(plan), actor, atMs);
        return { patientId, version, plan, savedBy: actor, savedAtMs: atMs };
      })
      .immediate();
  }

  async carePlanHistory(patientId: string): Promise<StoredCarePlan[]> {
    return (this.sql('SELECT * FROM care_plans WHERE patient_id = ? ORDER BY version').all(patientId) as CarePlanRow[]).map(toCarePlan);
  }

  async carePlanPatients(): Promise<string[]> {
    return (this.sql('SELECT DISTINCT patient_id FROM care_plans').all() as { patient_id: string }[]).map((r) => r.patient_id);
  }

  async startTime(e: NewTimeEntry): Promise<TimeEntry> {
    return this.db
      .transaction((): TimeEntry => {
        const running = this.sql('SELECT id FROM time_entries WHERE staff_id = ? AND ended_at_ms IS NULL').get(e.staffId);
        if (running !== undefined) throw new RpmError('RPM_ERR_TIME_ENTRY_RUNNING', 'stop the running timer first');
        this.insertTime({ ...e, endedAtMs: null });
        return { ...e, modality: e.modality ?? null, endedAtMs: null, stopReason: null };
      })
      .immediate();
  }

  async stopTime(id: string, endedAtMs: number, reason: TimeStopReason = 'stopped'): Promise<TimeEntry | undefined> {
    this.sql('UPDATE time_entries SET ended_at_ms = max(?, started_at_ms), stop_reason = ? WHERE id = ? AND ended_at_ms IS NULL').run(endedAtMs, reason, id);
    const row = this.sql('SELECT * FROM time_entries WHERE id = ?').get(id) as TimeRow | undefined;
    return row === undefined ? undefined : this.notes.openTime(toTime(row));
  }

  async addTime(e: NewTimeEntry & { endedAtMs: number }): Promise<TimeEntry> {
    this.insertTime(e);
    return { ...e, modality: e.modality ?? null, stopReason: null };
  }

  async timeEntries(filter: { patientId?: string; staffId?: string; fromMs?: number; toMs?: number; running?: boolean }): Promise<TimeEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.patientId !== undefined) {
      where.push('patient_id = ?');
      params.push(filter.patientId);
    }
    if (filter.staffId !== undefined) {
      where.push('staff_id = ?');
      params.push(filter.staffId);
    }
    if (filter.fromMs !== undefined) {
      where.push('started_at_ms >= ?');
      params.push(filter.fromMs);
    }
    if (filter.toMs !== undefined) {
      where.push('started_at_ms < ?');
      params.push(filter.toMs);
    }
    if (filter.running !== undefined) where.push(filter.running ? 'ended_at_ms IS NULL' : 'ended_at_ms IS NOT NULL');
    const rows = this.sql(`SELECT * FROM time_entries ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY started_at_ms`).all(...params) as TimeRow[];
    return rows.map((r) => this.notes.openTime(toTime(r)));
  }

  async enqueueNotification(n: NewNotification): Promise<void> {
    this.sql('INSERT INTO notifications (id, alert_id, channel, recipient_staff_id, body, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(n.id, n.alertId, n.channel, n.recipientStaffId, n.body, n.createdAtMs);
  }

  async openAlertCounts(): Promise<{ severity: AlertSeverity; status: AlertStatus; count: number }[]> {
    return this.sql("SELECT severity, status, count(*) AS count FROM alerts WHERE status <> 'resolved' GROUP BY severity, status ORDER BY severity, status").all() as {
      severity: AlertSeverity;
      status: AlertStatus;
      count: number;
    }[];
  }

  async pendingNotifications(limit: number): Promise<Notification[]> {
    const rows = this.sql("SELECT * FROM notifications WHERE status = 'pending' ORDER BY created_at_ms LIMIT ?").all(limit) as {
      id: string;
      alert_id: string;
      channel: string;
      recipient_staff_id: string;
      body: string;
      created_at_ms: number;
      status: string;
      attempts: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      alertId: r.alert_id,
      channel: 'sms',
      recipientStaffId: r.recipient_staff_id,
      body: r.body,
      createdAtMs: r.created_at_ms,
      status: r.status as Notification['status'],
      attempts: r.attempts,
    }));
  }

  async markNotification(id: string, status: 'pending' | 'sent' | 'failed', atMs: number, error: string | null): Promise<void> {
    this.sql('UPDATE notifications SET status = ?, attempts = attempts + 1, sent_at_ms = ?, error = ? WHERE id = ?').run(status, status === 'sent' ? atMs : null, error, id);
  }

  /**
   * Notes written before they were sealed (older installs) are sealed now, in one transaction;
   * secure_delete overwrites the old cells. Answers how many.
   */
  sealNotes(): number {
    if (!this.notes.sealing) return 0;
    const alerts = (this.sql('SELECT id, note FROM alerts WHERE note IS NOT NULL').all() as { id: string; note: string }[]).filter((r) => AlertNotes.isPlain(r.note));
    const events = (this.sql('SELECT alert_id, version, note FROM alert_events WHERE note IS NOT NULL').all() as { alert_id: string; version: number; note: string }[]).filter((r) => AlertNotes.isPlain(r.note));
    const times = (this.sql('SELECT id, note FROM time_entries WHERE note IS NOT NULL').all() as { id: string; note: string }[]).filter((r) => AlertNotes.isPlain(r.note));
    const n = alerts.length + events.length + times.length;
    if (n === 0) return 0;
    this.db.pragma('secure_delete = ON');
    this.db
      .transaction(() => {
        for (const r of alerts) this.sql('UPDATE alerts SET note = ? WHERE id = ?').run(this.notes.sealAlertNote(r.id, r.note), r.id);
        for (const r of events) this.sql('UPDATE alert_events SET note = ? WHERE alert_id = ? AND version = ?').run(this.notes.sealEventNote(r.alert_id, r.version, r.note), r.alert_id, r.version);
        for (const r of times) this.sql('UPDATE time_entries SET note = ? WHERE id = ?').run(this.notes.sealTimeNote(r.id, r.note), r.id);
      })
      .immediate();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  }

  async close(): Promise<void> {
    // The handle is owned by SqliteStores.
  }

  private writeEvent(event: AlertEvent): void {
    const e = this.notes.sealEvent(event);
    this.insertEvent.run(e.alertId, e.version, e.atMs, e.actor, e.action, e.fromStatus, e.toStatus, e.severity, e.note, e.finding === undefined || e.finding === null ? null : JSON.stringify(e.finding));
  }

  private insertTime(entry: NewTimeEntry & { endedAtMs: number | null }): void {
    // Video visits write their time entries (no note) through insertTimeEntry directly.
    insertTimeEntry(this.db, { ...entry, note: this.notes.sealTimeNote(entry.id, entry.note) });
  }
}

interface CarePlanRow {
  patient_id: string;
  version: number;
  plan: string;
  saved_by: string;
  saved_at_ms: number;
}

const toCarePlan = (r: CarePlanRow): StoredCarePlan => ({
  patientId: r.patient_id,
  version: r.version,
  plan: JSON.parse(r.plan) as unknown,
  savedBy: r.saved_by,
  savedAtMs: r.saved_at_ms,
});

/** One time-log row (shared with the visit store, whose `end` writes a visit's entry in its own transaction). */
export function insertTimeEntry(db: SqliteDatabase, e: NewTimeEntry & { endedAtMs: number | null }): void {
  db.prepare('INSERT INTO time_entries (id, organization_id, patient_id, staff_id, started_at_ms, ended_at_ms, interactive, note, source, modality) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    e.id,
    e.organizationId,
    e.patientId,
    e.staffId,
    e.startedAtMs,
    e.endedAtMs,
    e.interactive ? 1 : 0,
    e.note,
    e.source,
    e.modality ?? null,
  );
}
