import { AlertNotes } from '../../core/crypto/clinical-text.js';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import type { RulePartition } from '../../core/cluster/partitions.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Alert, AlertEvent, AlertSeverity, AlertStatus, Episode, Finding, ResolutionOutcome } from '../../core/model/alert.js';
import {
  alertChanged,
  type AlertStore,
  type EvaluationWrite,
  expectedVersion,
  type NewNotification,
  type NewTimeEntry,
  type Notification,
  type StoredCarePlan,
  type TimeEntry,
  type TimeStopReason,
} from '../../core/ports/alert-store.js';
import { constraintOf, inTransaction, isUniqueViolation, lockFor, type Pool, type PoolClient } from './database.js';

/**
 * The alert columns with their types, in one place: the SELECT list, the record type that
 * `json_to_recordset` expands a JSON array of alerts into, and the SET list of updates all come
 * from it.
 */
const ALERT_FIELDS = [
  ['id', 'text'],
  ['organization_id', 'text'],
  ['patient_id', 'text'],
  ['rule_id', 'text'],
  ['rule_title', 'text'],
  ['severity', 'text'],
  ['status', 'text'],
  ['version', 'integer'],
  ['measured_at_ms', 'bigint'],
  ['created_at_ms', 'bigint'],
  ['updated_at_ms', 'bigint'],
  ['reading_id', 'text'],
  ['value', 'double precision'],
  ['detail', 'text'],
  ['confirmation', 'text'],
  ['in_range', 'boolean'],
  ['flapping', 'boolean'],
  ['worsening', 'boolean'],
  ['claimed_by', 'text'],
  ['claimed_at_ms', 'bigint'],
  ['acknowledged_by', 'text'],
  ['acknowledged_at_ms', 'bigint'],
  ['resolved_by', 'text'],
  ['resolved_at_ms', 'bigint'],
  ['outcome', 'text'],
  ['note', 'text'],
  ['snoozed_until_ms', 'bigint'],
  ['escalation_level', 'integer'],
  ['escalated_at_ms', 'bigint'],
  ['sla_due_at_ms', 'bigint'],
  ['episode', 'json'],
  ['rule', 'json'],
  ['late', 'boolean'],
] as const;

const COLUMNS = ALERT_FIELDS.map(([c]) => c).join(', ');
const ALERT_RECORD = ALERT_FIELDS.map(([c, t]) => `${c} ${t}`).join(', ');
const SET_FROM_X = ALERT_FIELDS.filter(([c]) => c !== 'id')
  .map(([c]) => `${c} = x.${c}`)
  .join(', ');

const INSERT_ALERTS = `INSERT INTO alerts (${COLUMNS}) SELECT ${COLUMNS} FROM json_to_recordset($1::json) AS x(${ALERT_RECORD}, i integer) ORDER BY x.i`;
// The engine's updates: each only where the alert is still at the version the pass read (expected_version).
const UPDATE_ALERTS = `UPDATE alerts a SET ${SET_FROM_X} FROM json_to_recordset($1::json) AS x(${ALERT_RECORD}, expected_version integer) WHERE a.id = x.id AND a.version = x.expected_version RETURNING a.id`;
const TRANSITION = `UPDATE alerts a SET ${SET_FROM_X} FROM json_to_recordset($1::json) AS x(${ALERT_RECORD}) WHERE a.id = x.id AND a.version = $2`;
const EVENT_RECORD =
  'alert_id text, version integer, at_ms bigint, actor text, action text, from_status text, to_status text, severity text, note text, finding json';
const EVENT_COLUMNS = 'alert_id, version, at_ms, actor, action, from_status, to_status, severity, note, finding';
const INSERT_EVENTS = `INSERT INTO alert_events (${EVENT_COLUMNS}) SELECT ${EVENT_COLUMNS} FROM json_to_recordset($1::json) AS x(${EVENT_RECORD})`;
const UPSERT_CONDITIONS = `
  INSERT INTO rule_conditions (patient_id, rule_id, state)
  SELECT patient_id, rule_id, state FROM json_to_recordset($1::json) AS x(patient_id text, rule_id text, state json)
  ON CONFLICT (patient_id, rule_id) DO UPDATE SET state = excluded.state`;

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
  in_range: boolean;
  flapping: boolean;
  worsening: boolean;
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
  episode: Episode | null;
  rule: unknown;
  late: boolean;
}

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
    inRange: r.in_range,
    flapping: r.flapping,
    worsening: r.worsening,
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
    episode: r.episode,
    rule: r.rule ?? null,
    late: r.late,
  };
}

/** An alert as one element of a JSON array for `json_to_recordset` (keys are the column names). */
function alertRecord(a: Alert, i = 0): Record<string, unknown> {
  return {
    i,
    id: a.id,
    organization_id: a.organizationId,
    patient_id: a.patientId,
    rule_id: a.ruleId,
    rule_title: a.ruleTitle,
    severity: a.severity,
    status: a.status,
    version: a.version,
    measured_at_ms: a.measuredAtMs,
    created_at_ms: a.createdAtMs,
    updated_at_ms: a.updatedAtMs,
    reading_id: a.readingId,
    value: a.value,
    detail: a.detail,
    confirmation: a.confirmation,
    in_range: a.inRange,
    flapping: a.flapping,
    worsening: a.worsening,
    claimed_by: a.claimedBy,
    claimed_at_ms: a.claimedAtMs,
    acknowledged_by: a.acknowledgedBy,
    acknowledged_at_ms: a.acknowledgedAtMs,
    resolved_by: a.resolvedBy,
    resolved_at_ms: a.resolvedAtMs,
    outcome: a.outcome,
    note: a.note,
    snoozed_until_ms: a.snoozedUntilMs,
    escalation_level: a.escalationLevel,
    escalated_at_ms: a.escalatedAtMs,
    sla_due_at_ms: a.slaDueAtMs,
    episode: a.episode,
    rule: a.rule ?? null,
    late: a.late,
  };
}

const eventRecord = (e: AlertEvent): Record<string, unknown> => ({
  alert_id: e.alertId,
  version: e.version,
  at_ms: e.atMs,
  actor: e.actor,
  action: e.action,
  from_status: e.fromStatus,
  to_status: e.toStatus,
  severity: e.severity,
  note: e.note,
  finding: e.finding ?? null,
});

/** The last entry per key wins, as if the writes were applied one after the other. */
function lastPerKey<T>(items: readonly T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    byKey.delete(k);
    byKey.set(k, item);
  }
  return [...byKey.values()];
}

interface TimeRow {
  id: string;
  organization_id: string | null;
  patient_id: string;
  staff_id: string;
  started_at_ms: number;
  ended_at_ms: number | null;
  interactive: boolean;
  note: string | null;
  source: string;
  stop_reason: string | null;
  modality: string | null;
}

const TIME_COLUMNS = 'id, organization_id, patient_id, staff_id, started_at_ms, ended_at_ms, interactive, note, source, stop_reason, modality';

const toTime = (r: TimeRow): TimeEntry => ({
  id: r.id,
  organizationId: r.organization_id,
  patientId: r.patient_id,
  staffId: r.staff_id,
  startedAtMs: r.started_at_ms,
  endedAtMs: r.ended_at_ms,
  interactive: r.interactive,
  modality: r.modality as TimeEntry['modality'],
  note: r.note,
  source: r.source as TimeEntry['source'],
  stopReason: r.stop_reason as TimeEntry['stopReason'],
});

interface CarePlanRow {
  patient_id: string;
  version: number;
  plan: unknown;
  saved_by: string;
  saved_at_ms: number;
}

const toCarePlan = (r: CarePlanRow): StoredCarePlan => ({ patientId: r.patient_id, version: r.version, plan: r.plan, savedBy: r.saved_by, savedAtMs: r.saved_at_ms });

/**
 * AlertStore on PostgreSQL. Every multi-row write (an evaluation pass) is one transaction whose
 * statements carry their rows as one JSON array each, so a pass costs the same few round trips
 * whether it touches one patient or thousands.
 *
 * Concurrency, which SQLite's single writer gave for free, comes from the database here: the
 * partial unique index keeps one unresolved alert per patient × rule, a transition updates only
 * `WHERE version = expected` (of two racing nurses the second finds the row changed and writes
 * nothing), care-plan saves of one patient serialise on an advisory lock, and a partial unique
 * index keeps one running timer per staff member.
 */
const PARTITION_CURSOR = `SELECT COALESCE(
  (SELECT seq FROM rule_partition_cursors WHERE partitions = $1 AND partition = $2),
  (SELECT seq FROM rule_cursor WHERE id = 1), 0) AS seq`;

const cursorMoved = (): RpmError => new RpmError('RPM_ERR_CURSOR_MOVED', 'the rules cursor moved since this pass started; another worker holds the partition');

export class PostgresAlertStore implements AlertStore {
  /** Nurses' notes sealed at rest (core/crypto/clinical-text.ts), as in the SQLite twin. */
  private readonly notes: AlertNotes;

  constructor(
    private readonly pool: Pool,
    cipher?: FieldCipher,
  ) {
    this.notes = new AlertNotes(cipher);
  }

  async evaluationCursor(partition?: RulePartition): Promise<number> {
    if (partition === undefined) {
      const { rows } = await this.pool.query<{ seq: number }>({ name: 'rpm_rule_cursor', text: 'SELECT seq FROM rule_cursor WHERE id = 1' });
      return rows[0]?.seq ?? 0;
    }
    const { rows } = await this.pool.query<{ seq: number }>({ name: 'rpm_partition_cursor', text: PARTITION_CURSOR, values: [partition.count, partition.index] });
    return rows[0]?.seq ?? 0;
  }

  async conditionStates(patientId: string): Promise<Map<string, unknown>> {
    const { rows } = await this.pool.query<{ rule_id: string; state: unknown }>({
      name: 'rpm_condition_states',
      text: 'SELECT rule_id, state FROM rule_conditions WHERE patient_id = $1',
      values: [patientId],
    });
    return new Map(rows.map((r) => [r.rule_id, r.state]));
  }

  async applyEvaluation(w: EvaluationWrite): Promise<void> {
    const conditions = lastPerKey(w.conditions, (c) => `${c.patientId}\u0000${c.ruleId}`);
    const updated = lastPerKey(w.updated, (a) => a.id);
    await inTransaction(this.pool, async (client) => {
      if (w.partition === undefined) {
        // The single engine's row is locked by this UPDATE until COMMIT, so a fence read after it holds.
        const { rows } = await client.query<{ seq: number }>({ name: 'rpm_lock_cursor', text: 'SELECT seq FROM rule_cursor WHERE id = 1 FOR UPDATE' });
        if (w.fence !== undefined && rows[0]?.seq !== w.fence) throw cursorMoved();
        // Only forward: an older pass finishing late never moves the cursor back.
        await client.query({ name: 'rpm_set_cursor', text: 'UPDATE rule_cursor SET seq = GREATEST(seq, $1) WHERE id = 1', values: [w.cursor] });
      } else {
        const p = w.partition;
        // The partition's row exists from here on (starting where the single engine stood), locked until COMMIT.
        await client.query({
          name: 'rpm_ensure_partition_cursor',
          text: `INSERT INTO rule_partition_cursors (partitions, partition, seq) SELECT $1, $2, seq FROM rule_cursor WHERE id = 1 ON CONFLICT DO NOTHING`,
          values: [p.count, p.index],
        });
        const { rows } = await client.query<{ seq: number }>({
          name: 'rpm_lock_partition_cursor',
          text: 'SELECT seq FROM rule_partition_cursors WHERE partitions = $1 AND partition = $2 FOR UPDATE',
          values: [p.count, p.index],
        });
        if (w.fence !== undefined && rows[0]?.seq !== w.fence) throw cursorMoved();
        await client.query({
          name: 'rpm_set_partition_cursor',
          text: 'UPDATE rule_partition_cursors SET seq = GREATEST(seq, $3) WHERE partitions = $1 AND partition = $2',
          values: [p.count, p.index, w.cursor],
        });
      }
      if (w.progress !== undefined) {
        await client.query({
          name: 'rpm_progress_with_evaluation',
          text: 'INSERT INTO log_progress (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = GREATEST(log_progress.seq, excluded.seq)',
          values: [w.progress.name, w.progress.seq],
        });
      }
      if (conditions.length > 0) {
        const rows = conditions.map((c) => ({ patient_id: c.patientId, rule_id: c.ruleId, state: c.state }));
        await client.query({ name: 'rpm_upsert_conditions', text: UPSERT_CONDITIONS, values: [JSON.stringify(rows)] });
      }
      if (w.created.length > 0) await client.query({ name: 'rpm_insert_alerts', text: INSERT_ALERTS, values: [JSON.stringify(w.created.map((a) => alertRecord(this.notes.sealAlert(a))))] });
      if (updated.length > 0) {
        const records = updated.map((a) => ({ ...alertRecord(this.notes.sealAlert(a)), expected_version: expectedVersion(w, a.id) }));
        const { rows } = await client.query<{ id: string }>({ name: 'rpm_update_alerts', text: UPDATE_ALERTS, values: [JSON.stringify(records)] });
        if (rows.length !== updated.length) {
          const applied = new Set(rows.map((r) => r.id));
          throw alertChanged(updated.find((a) => !applied.has(a.id))?.id ?? '');
        }
      }
      if (w.events.length > 0) await insertEvents(client, w.events.map((e) => this.notes.sealEvent(e)));
    });
  }

  async getAlert(id: string): Promise<Alert | undefined> {
    return this.one(`SELECT ${COLUMNS} FROM alerts WHERE id = $1`, [id]);
  }

  async unresolvedAlert(patientId: string, ruleId: string): Promise<Alert | undefined> {
    return this.one(`SELECT ${COLUMNS} FROM alerts WHERE patient_id = $1 AND rule_id = $2 AND status <> 'resolved'`, [patientId, ruleId]);
  }

  async unresolvedAlerts(filter: { organizationId?: string; patientIds?: readonly string[] }): Promise<Alert[]> {
    const where = ["status <> 'resolved'"];
    const params: unknown[] = [];
    if (filter.organizationId !== undefined) {
      params.push(filter.organizationId);
      where.push(`organization_id = $${params.length}`);
    }
    if (filter.patientIds !== undefined) {
      if (filter.patientIds.length === 0) return [];
      params.push(filter.patientIds);
      where.push(`patient_id = ANY($${params.length}::text[])`);
    }
    return this.many(`SELECT ${COLUMNS} FROM alerts WHERE ${where.join(' AND ')} ORDER BY seq`, params);
  }

  async moveUnresolvedAlerts(patientId: string, organizationId: string | null): Promise<Alert[]> {
    return this.many(`UPDATE alerts SET organization_id = $2 WHERE patient_id = $1 AND status <> 'resolved' RETURNING ${COLUMNS}`, [patientId, organizationId]);
  }

  async alertsOfPatient(patientId: string, options: { includeResolved: boolean; limit: number }): Promise<Alert[]> {
    return this.many(
      `SELECT ${COLUMNS} FROM alerts WHERE patient_id = $1 ${options.includeResolved ? '' : "AND status <> 'resolved'"} ORDER BY created_at_ms DESC, seq DESC LIMIT $2`,
      [patientId, options.limit],
    );
  }

  async events(alertId: string): Promise<AlertEvent[]> {
    const { rows } = await this.pool.query<{
      alert_id: string;
      version: number;
      at_ms: number;
      actor: string;
      action: string;
      from_status: string | null;
      to_status: string;
      severity: string;
      note: string | null;
      finding: Finding | null;
    }>(`SELECT ${EVENT_COLUMNS} FROM alert_events WHERE alert_id = $1 ORDER BY version`, [alertId]);
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
      finding: r.finding,
    }));
  }

  async saveTransition(next: Alert, expectedVersion: number, event: AlertEvent): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      // Under READ COMMITTED a racing transition waits for the row lock, then re-checks the
      // version on the row as the winner left it, finds it changed and updates nothing.
      const res = await client.query({ name: 'rpm_alert_transition', text: TRANSITION, values: [JSON.stringify([alertRecord(this.notes.sealAlert(next))]), expectedVersion] });
      if (res.rowCount !== 1) return false;
      await insertEvents(client, [this.notes.sealEvent(event)]);
      return true;
    });
  }

  async dueForEscalation(nowMs: number): Promise<Alert[]> {
    return this.many(
      `SELECT ${COLUMNS} FROM alerts WHERE status IN ('open', 'claimed') AND sla_due_at_ms <= $1
         AND (snoozed_until_ms IS NULL OR snoozed_until_ms <= $1)
         AND (escalated_at_ms IS NULL OR escalated_at_ms < sla_due_at_ms)
       ORDER BY seq`,
      [nowMs],
    );
  }

  async lastResolvedAlert(patientId: string, ruleId: string): Promise<Alert | undefined> {
    return this.one(
      `SELECT ${COLUMNS} FROM alerts WHERE patient_id = $1 AND rule_id = $2 AND status = 'resolved' ORDER BY resolved_at_ms DESC, seq DESC LIMIT 1`,
      [patientId, ruleId],
    );
  }

  async pendingConfirmations(): Promise<Alert[]> {
    return this.many(`SELECT ${COLUMNS} FROM alerts WHERE status <> 'resolved' AND confirmation = 'pending' ORDER BY seq`, []);
  }

  async snoozesEnded(nowMs: number): Promise<Alert[]> {
    return this.many(`SELECT ${COLUMNS} FROM alerts WHERE status <> 'resolved' AND snoozed_until_ms IS NOT NULL AND snoozed_until_ms <= $1 ORDER BY seq`, [nowMs]);
  }

  async carePlan(patientId: string): Promise<StoredCarePlan | undefined> {
    const { rows } = await this.pool.query<CarePlanRow>({
      name: 'rpm_care_plan',
      text: 'SELECT patient_id, version, plan, saved_by, saved_at_ms FROM care_plans WHERE patient_id = $1 ORDER BY version DESC LIMIT 1',
      values: [patientId],
    });
    const row = rows[0];
    return row === undefined ? undefined : toCarePlan(row);
  }

  async saveCarePlan(patientId: string, plan: unknown, expectedVersion: number | null, actor: string, atMs: number): Promise<StoredCarePlan> {
    return inTransaction(this.pool, async (client) => {
      // Two saves of one patient's plan run one after the other; the second sees the first's version.
      await lockFor(client, `rpm.care-plan:${patientId}`);
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM care_plans WHERE patient_id = $1', [patientId]);
      const current = rows[0]?.v ?? 0;
      if (expectedVersion !== null && expectedVersion !== current) {
        throw new RpmError('RPM_ERR_CARE_PLAN_VERSION_CONFLICT', `care plan is at version ${current}, not ${expectedVersion}`);
      }
      const version = current + 1;
      await client.query('INSERT INTO care_plans (patient_id, version, plan, saved_by, saved_at_ms) VALUES ($1, $2, $3, $4, $5)', [
        patientId,
        version,
        JSON.stringify(plan),
        actor,
        atMs,
      ]);
      return { patientId, version, plan, savedBy: actor, savedAtMs: atMs };
    });
  }

  async carePlanHistory(patientId: string): Promise<StoredCarePlan[]> {
    const { rows } = await this.pool.query<CarePlanRow>(
      'SELECT patient_id, version, plan, saved_by, saved_at_ms FROM care_plans WHERE patient_id = $1 ORDER BY version',
      [patientId],
    );
    return rows.map(toCarePlan);
  }

  async carePlanPatients(): Promise<string[]> {
    const { rows } = await this.pool.query<{ patient_id: string }>('SELECT DISTINCT patient_id FROM care_plans ORDER BY patient_id');
    return rows.map((r) => r.patient_id);
  }

  async startTime(e: NewTimeEntry): Promise<TimeEntry> {
    try {
      await this.insertTime({ ...e, endedAtMs: null });
    } catch (err) {
      // time_entries_one_running: the staff member already has a running timer.
      if (isUniqueViolation(err) && constraintOf(err) === 'time_entries_one_running') {
        throw new RpmError('RPM_ERR_TIME_ENTRY_RUNNING', 'stop the running timer first', { cause: err });
      }
      throw err;
    }
    return { ...e, modality: e.modality ?? null, endedAtMs: null, stopReason: null };
  }

  async stopTime(id: string, endedAtMs: number, reason: TimeStopReason = 'stopped'): Promise<TimeEntry | undefined> {
    await this.pool.query('UPDATE time_entries SET ended_at_ms = GREATEST($1, started_at_ms), stop_reason = $2 WHERE id = $3 AND ended_at_ms IS NULL', [
      endedAtMs,
      reason,
      id,
    ]);
    const { rows } = await this.pool.query<TimeRow>(`SELECT ${TIME_COLUMNS} FROM time_entries WHERE id = $1`, [id]);
    const row = rows[0];
    return row === undefined ? undefined : this.notes.openTime(toTime(row));
  }

  async addTime(e: NewTimeEntry & { endedAtMs: number }): Promise<TimeEntry> {
    await this.insertTime(e);
    return { ...e, modality: e.modality ?? null, stopReason: null };
  }

  async timeEntries(filter: { patientId?: string; staffId?: string; fromMs?: number; toMs?: number; running?: boolean }): Promise<TimeEntry[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.patientId !== undefined) where.push(`patient_id = ${param(filter.patientId)}`);
    if (filter.staffId !== undefined) where.push(`staff_id = ${param(filter.staffId)}`);
    if (filter.fromMs !== undefined) where.push(`started_at_ms >= ${param(filter.fromMs)}`);
    if (filter.toMs !== undefined) where.push(`started_at_ms < ${param(filter.toMs)}`);
    if (filter.running !== undefined) where.push(filter.running ? 'ended_at_ms IS NULL' : 'ended_at_ms IS NOT NULL');
    const { rows } = await this.pool.query<TimeRow>(
      `SELECT ${TIME_COLUMNS} FROM time_entries ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY started_at_ms, seq`,
      params,
    );
    return rows.map((r) => this.notes.openTime(toTime(r)));
  }

  async enqueueNotification(n: NewNotification): Promise<void> {
    await this.pool.query('INSERT INTO notifications (id, alert_id, channel, recipient_staff_id, body, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
      n.id,
      n.alertId,
      n.channel,
      n.recipientStaffId,
      n.body,
      n.createdAtMs,
    ]);
  }

  async openAlertCounts(): Promise<{ severity: AlertSeverity; status: AlertStatus; count: number }[]> {
    const { rows } = await this.pool.query<{ severity: AlertSeverity; status: AlertStatus; count: string }>(
      "SELECT severity, status, count(*) AS count FROM alerts WHERE status <> 'resolved' GROUP BY severity, status ORDER BY severity, status",
    );
    return rows.map((r) => ({ severity: r.severity, status: r.status, count: Number(r.count) }));
  }

  async pendingNotifications(limit: number): Promise<Notification[]> {
    const { rows } = await this.pool.query<{
      id: string;
      alert_id: string;
      recipient_staff_id: string;
      body: string;
      created_at_ms: number;
      status: string;
      attempts: number;
    }>(
      "SELECT id, alert_id, recipient_staff_id, body, created_at_ms, status, attempts FROM notifications WHERE status = 'pending' ORDER BY created_at_ms, seq LIMIT $1",
      [limit],
    );
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
    await this.pool.query('UPDATE notifications SET status = $1, attempts = attempts + 1, sent_at_ms = $2, error = $3 WHERE id = $4', [
      status,
      status === 'sent' ? atMs : null,
      error,
      id,
    ]);
  }

  async close(): Promise<void> {
    // The pool is owned and closed by PostgresStores.
  }

  private async one(sql: string, params: unknown[]): Promise<Alert | undefined> {
    const { rows } = await this.pool.query<AlertRow>(sql, params);
    const row = rows[0];
    return row === undefined ? undefined : this.notes.openAlert(toAlert(row));
  }

  private async many(sql: string, params: unknown[]): Promise<Alert[]> {
    const { rows } = await this.pool.query<AlertRow>(sql, params);
    return rows.map((r) => this.notes.openAlert(toAlert(r)));
  }

  /** Notes written before they were sealed (older installs) are sealed now, in one transaction. Answers how many. */
  async sealNotes(): Promise<number> {
    if (!this.notes.sealing) return 0;
    return inTransaction(this.pool, async (client) => {
      const alerts = (await client.query<{ id: string; note: string }>('SELECT id, note FROM alerts WHERE note IS NOT NULL FOR UPDATE')).rows.filter((r) => AlertNotes.isPlain(r.note));
      const events = (await client.query<{ alert_id: string; version: number; note: string }>('SELECT alert_id, version, note FROM alert_events WHERE note IS NOT NULL FOR UPDATE')).rows.filter((r) => AlertNotes.isPlain(r.note));
      const times = (await client.query<{ id: string; note: string }>('SELECT id, note FROM time_entries WHERE note IS NOT NULL FOR UPDATE')).rows.filter((r) => AlertNotes.isPlain(r.note));
      for (const r of alerts) await client.query('UPDATE alerts SET note = $1 WHERE id = $2', [this.notes.sealAlertNote(r.id, r.note), r.id]);
      for (const r of events) await client.query('UPDATE alert_events SET note = $1 WHERE alert_id = $2 AND version = $3', [this.notes.sealEventNote(r.alert_id, r.version, r.note), r.alert_id, r.version]);
      for (const r of times) await client.query('UPDATE time_entries SET note = $1 WHERE id = $2', [this.notes.sealTimeNote(r.id, r.note), r.id]);
      return alerts.length + events.length + times.length;
    });
  }

  private async insertTime(e: NewTimeEntry & { endedAtMs: number | null }): Promise<void> {
    await insertTimeEntry(this.pool, { ...e, note: this.notes.sealTimeNote(e.id, e.note) });
  }
}

async function insertEvents(client: PoolClient, events: readonly AlertEvent[]): Promise<void> {
  await client.query({ name: 'rpm_insert_events', text: INSERT_EVENTS, values: [JSON.stringify(events.map(eventRecord))] });
}

/** One time-log row (shared with the visit store, whose `end` writes a visit's entry in its own transaction). */
export async function insertTimeEntry(db: Pick<Pool, 'query'> | PoolClient, e: NewTimeEntry & { endedAtMs: number | null }): Promise<void> {
  await db.query(
    'INSERT INTO time_entries (id, organization_id, patient_id, staff_id, started_at_ms, ended_at_ms, interactive, note, source, modality) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
    [e.id, e.organizationId, e.patientId, e.staffId, e.startedAtMs, e.endedAtMs, e.interactive, e.note, e.source, e.modality ?? null],
  );
}
