import { randomUUID } from 'node:crypto';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { Alert, AlertAction, AlertActionBody } from '../../core/model/alert.js';
import type { Staff } from '../../core/model/staff.js';
import type { AlertStore, StoredCarePlan, TimeEntry, TimeModality, TimeStopReason } from '../../core/ports/alert-store.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { CarePlans } from '../care-plans.js';
import { isRefusal, transition } from '../../rules/alert-lifecycle.js';
import { CarePlanError, parseCarePlan, resolveRules } from '../../rules/care-plan.js';
import { type CarePlan, carePlanInput, type RuleDefinition } from '../../rules/model.js';
import { type PriorityReason, priorityReasons } from '../../rules/priority.js';
import type { WorklistHub } from './worklist-hub.js';

export interface RankedAlert {
  readonly alert: Alert;
  readonly priority: { readonly score: number; readonly reasons: readonly PriorityReason[] };
}

export interface WorklistRow {
  readonly patientId: string;
  readonly priority: number;
  readonly alerts: readonly RankedAlert[];
}

export interface Requester {
  readonly staff: Staff;
  readonly sourceIp: string | null;
}

/**
 * The nurse's side of alerts: the prioritized worklist, alert transitions, care plans and the
 * time log. Every read of patient data and every transition is audited; every route is scoped
 * to the staff member's patients (a patient out of scope answers 404, like a missing one).
 */
/** Entries are listed by start; a visit that began up to a day earlier can still overlap (visits end within RPM_VISIT_MAX_MINUTES). */
const DAY_MS = 86_400_000;

export class WorklistService {
  constructor(
    private readonly alerts: AlertStore,
    private readonly carePlans: CarePlans,
    /**
     * Whether a staff member may see a patient: `canSeePatient` for one patient she opens
     * (organization, then care teams for nurses, or her break-glass grant), `patientInOwnScope` for
     * what her worklist lists (the scope rule alone: break-glass opens a chart, it does not fill a worklist).
     */
    private readonly staff: { canSeePatient(staff: Staff, patientId: string): Promise<boolean>; patientInOwnScope(staff: Staff, patientId: string): Promise<boolean> },
    private readonly audit: AuditLog,
    private readonly hub: WorklistHub,
    private readonly clock: Clock,
    private readonly log: Logger,
    /**
     * The started, not yet ended video visits of a staff member with a patient (their minutes are
     * logged at the end): a timer or typed-in time over them would count the minutes twice.
     */
    private readonly runningVisits: (staff: Staff, patientId: string) => Promise<readonly { readonly id: string; readonly startedAtMs: number }[]> = async () => [],
  ) {}

  async worklist(req: Requester): Promise<WorklistRow[]> {
    const now = this.clock.now();
    const unresolved = await this.alerts.unresolvedAlerts({ organizationId: req.staff.organizationId });
    const visible = new Map<string, boolean>();
    const byPatient = new Map<string, RankedAlert[]>();
    for (const alert of unresolved) {
      let ok = visible.get(alert.patientId);
      if (ok === undefined) visible.set(alert.patientId, (ok = await this.staff.patientInOwnScope(req.staff, alert.patientId)));
      if (!ok) continue;
      let list = byPatient.get(alert.patientId);
      if (list === undefined) byPatient.set(alert.patientId, (list = []));
      list.push(await this.rank(alert, now));
    }
    const rows: WorklistRow[] = [];
    for (const [patientId, list] of byPatient) {
      list.sort((a, b) => b.priority.score - a.priority.score || b.alert.measuredAtMs - a.alert.measuredAtMs);
      rows.push({ patientId, priority: list[0]?.priority.score ?? 0, alerts: list });
    }
    rows.sort((a, b) => b.priority - a.priority || a.patientId.localeCompare(b.patientId));
    // Which patients the worklist showed, not only how many: each one's accounting of disclosures finds this read.
    await this.record(req, 'worklist.read', `organization:${req.staff.organizationId}`, 'success', { patients: rows.length }, rows.map((r) => r.patientId));
    return rows;
  }

  /** An alert with its priority and the reasons for it (README, "Priority"). */
  async rank(alert: Alert, nowMs = this.clock.now()): Promise<RankedAlert> {
    const tier = (await this.carePlans.get(alert.patientId)).plan.riskTier;
    const reasons = priorityReasons(alert, tier, nowMs);
    return { alert, priority: { score: reasons.reduce((sum, r) => sum + r.points, 0), reasons } };
  }

  async alert(req: Requester, id: string): Promise<RankedAlert & { events: Awaited<ReturnType<AlertStore['events']>> }> {
    const alert = await this.visibleAlert(req, id);
    await this.record(req, 'alert.read', `alert:${id}`, 'success', { patient: alert.patientId });
    return { ...(await this.rank(alert)), events: await this.alerts.events(id) };
  }

  /** A patient's alerts, the unresolved ones with their priority and its reasons. */
  async patientAlerts(req: Requester, patientId: string, includeResolved: boolean): Promise<{ alert: Alert; priority?: RankedAlert['priority'] }[]> {
    await this.requirePatient(req, patientId);
    await this.record(req, 'alerts.read', `patient:${patientId}`, 'success', null);
    const alerts = await this.alerts.alertsOfPatient(patientId, { includeResolved, limit: 500 });
    const now = this.clock.now();
    const out: { alert: Alert; priority?: RankedAlert['priority'] }[] = [];
    for (const alert of alerts) out.push(alert.status === 'resolved' ? { alert } : await this.rank(alert, now));
    return out;
  }

  /** Apply a nurse action; exactly one of two concurrent actors wins, the other gets 409. */
  async act(req: Requester, id: string, action: AlertAction, body: AlertActionBody): Promise<Alert> {
    const alert = await this.visibleAlert(req, id);
    const now = this.clock.now();
    const result = transition(alert, action, req.staff.id, body, now);
    if (isRefusal(result)) {
      await this.record(req, `alert.${action}`, `alert:${id}`, 'denied', { reason: result.refused });
      throw new RpmError(result.refused === 'conflict' ? 'RPM_ERR_ALERT_CONFLICT' : 'RPM_ERR_ALERT_ACTION_INVALID', result.message, {
        details: { version: alert.version, alertStatus: alert.status, claimedBy: alert.claimedBy },
      });
    }
    const next = result.alert;
    const saved = await this.alerts.saveTransition(next, alert.version, {
      alertId: id,
      version: next.version,
      atMs: now,
      actor: `staff:${req.staff.id}`,
      action,
      fromStatus: alert.status,
      toStatus: next.status,
      severity: next.severity,
      note: result.note,
    });
    if (!saved) {
      await this.record(req, `alert.${action}`, `alert:${id}`, 'denied', { reason: 'conflict' });
      throw new RpmError('RPM_ERR_ALERT_CONFLICT', 'someone else changed this alert first; reload it');
    }
    await this.record(req, `alert.${action}`, `alert:${id}`, 'success', { patient: alert.patientId, version: next.version });
    this.hub.publish({ type: 'alert', change: 'transition', alert: next });
    return next;
  }

  async carePlan(req: Requester, patientId: string): Promise<{ stored: StoredCarePlan | undefined; effective: Awaited<ReturnType<CarePlans['get']>> }> {
    await this.requirePatient(req, patientId);
    await this.record(req, 'care-plan.read', `patient:${patientId}`, 'success', null);
    return { stored: await this.alerts.carePlan(patientId), effective: await this.carePlans.get(patientId) };
  }

  async saveCarePlan(req: Requester, patientId: string, plan: unknown, expectedVersion: number | null): Promise<{ stored: StoredCarePlan; rules: RuleDefinition[] }> {
    await this.requirePatient(req, patientId);
    let rules: RuleDefinition[];
    let parsed;
    try {
      parsed = parseCarePlan(plan);
      parsed = await this.stampDecision(req, patientId, parsed);
      rules = resolveRules(parsed);
    } catch (err) {
      if (err instanceof CarePlanError) throw new RpmError('RPM_ERR_CARE_PLAN_INVALID', err.message, { details: { issues: err.issues } });
      throw err;
    }
    const stored = await this.alerts.saveCarePlan(patientId, parsed, expectedVersion, `staff:${req.staff.id}`, this.clock.now());
    this.carePlans.invalidate(patientId);
    await this.record(req, 'care-plan.update', `patient:${patientId}`, 'success', { version: stored.version });
    this.log.info({ version: stored.version }, 'care plan saved');
    return { stored, rules };
  }

  /**
   * The hypercapnic-risk decision is a clinician's, recorded with who and when from the session
   * that saves it (never from the request); a decision already on record keeps its stamp.
   */
  private async stampDecision(req: Requester, patientId: string, plan: CarePlan): Promise<CarePlan> {
    const decision = plan.hypercapnicRisk;
    if (decision === undefined) return plan;
    const previous = parseStored((await this.alerts.carePlan(patientId))?.plan)?.hypercapnicRisk;
    if (previous !== undefined && previous.reason === decision.reason && previous.decidedBy !== undefined) return { ...plan, hypercapnicRisk: previous };
    if (req.staff.role === 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'a hypercapnic-risk decision is recorded by a nurse or physician');
    return { ...plan, hypercapnicRisk: { reason: decision.reason, decidedBy: `staff:${req.staff.id}`, decidedAt: new Date(this.clock.now()).toISOString() } };
  }

  async startTimer(req: Requester, patientId: string, interactive: boolean, note: string | null, modality: TimeModality | null = null): Promise<TimeEntry> {
    await this.requirePatient(req, patientId);
    const visit = (await this.runningVisits(req.staff, patientId))[0];
    if (visit !== undefined) {
      await this.record(req, 'time.start', `patient:${patientId}`, 'denied', { reason: 'visit-running', visit: visit.id });
      throw new RpmError('RPM_ERR_TIME_OVERLAPS_VISIT', 'your video visit with this patient is running and logs this time already; its minutes go to your time log when it ends', {
        details: { visitId: visit.id },
      });
    }
    const entry = await this.alerts.startTime({
      id: randomUUID(),
      organizationId: req.staff.organizationId,
      patientId,
      staffId: req.staff.id,
      startedAtMs: this.clock.now(),
      interactive,
      modality,
      note,
      source: 'timer',
    });
    await this.record(req, 'time.start', `patient:${patientId}`, 'success', { interactive });
    return entry;
  }

  /** Stops her running timer now, or at `endedAtMs` (kept between its start and now) with the reason she gives. */
  async stopTimer(req: Requester, entryId: string, options: { reason?: TimeStopReason; endedAtMs?: number } = {}): Promise<TimeEntry> {
    const running = (await this.alerts.timeEntries({ staffId: req.staff.id, running: true })).find((e) => e.id === entryId);
    if (running === undefined) throw new RpmError('RPM_ERR_TIME_ENTRY_NOT_FOUND', 'no running timer with this id');
    const now = this.clock.now();
    const endedAt = Math.min(now, Math.max(running.startedAtMs, options.endedAtMs ?? now));
    const stopped = await this.alerts.stopTime(entryId, endedAt, options.reason ?? 'stopped');
    if (stopped === undefined) throw new RpmError('RPM_ERR_TIME_ENTRY_NOT_FOUND');
    await this.record(req, 'time.stop', `patient:${running.patientId}`, 'success', { minutes: Math.round(((stopped.endedAtMs ?? 0) - stopped.startedAtMs) / 60_000) });
    return stopped;
  }

  async addTime(req: Requester, patientId: string, startedAtMs: number, minutes: number, interactive: boolean, note: string | null, modality: TimeModality | null = null): Promise<TimeEntry> {
    await this.requirePatient(req, patientId);
    if (startedAtMs > this.clock.now()) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'time cannot be logged in the future', { path: '/startedAt' });
    await this.refuseVisitOverlap(req, patientId, startedAtMs, startedAtMs + minutes * 60_000);
    const entry = await this.alerts.addTime({
      id: randomUUID(),
      organizationId: req.staff.organizationId,
      patientId,
      staffId: req.staff.id,
      startedAtMs,
      endedAtMs: startedAtMs + minutes * 60_000,
      interactive,
      modality,
      note,
      source: 'manual',
    });
    await this.record(req, 'time.add', `patient:${patientId}`, 'success', { minutes, interactive });
    return entry;
  }

  /**
   * Typed-in time over a span one of her video visits with the patient logs (ended, or running)
   * is refused, naming the visit's span: the visit's interactive entry owns its minutes.
   */
  private async refuseVisitOverlap(req: Requester, patientId: string, fromMs: number, toMs: number): Promise<void> {
    const now = this.clock.now();
    const logged = (await this.alerts.timeEntries({ staffId: req.staff.id, patientId, fromMs: fromMs - DAY_MS, toMs })).filter((e) => e.source === 'visit');
    const spans = [
      ...logged.map((e) => ({ startedAtMs: e.startedAtMs, endedAtMs: e.endedAtMs ?? now })),
      ...(await this.runningVisits(req.staff, patientId)).map((v) => ({ startedAtMs: v.startedAtMs, endedAtMs: now })),
    ];
    const hit = spans.find((s) => s.startedAtMs < toMs && s.endedAtMs > fromMs);
    if (hit === undefined) return;
    await this.record(req, 'time.add', `patient:${patientId}`, 'denied', { reason: 'visit-overlap' });
    const iso = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16)}Z`;
    throw new RpmError(
      'RPM_ERR_TIME_OVERLAPS_VISIT',
      `your video visit with this patient logged ${iso(hit.startedAtMs)}–${iso(hit.endedAtMs)} (UTC) already; log only the time outside it`,
      { details: { visitStartedAt: new Date(hit.startedAtMs).toISOString(), visitEndedAt: new Date(hit.endedAtMs).toISOString() } },
    );
  }

  async timeLog(req: Requester, patientId: string, fromMs: number, toMs: number): Promise<TimeEntry[]> {
    await this.requirePatient(req, patientId);
    await this.record(req, 'time.read', `patient:${patientId}`, 'success', null);
    return this.alerts.timeEntries({ patientId, fromMs, toMs });
  }

  async runningTimer(req: Requester): Promise<TimeEntry | undefined> {
    return (await this.alerts.timeEntries({ staffId: req.staff.id, running: true }))[0];
  }

  async requirePatient(req: Requester, patientId: string): Promise<void> {
    if (!(await this.staff.canSeePatient(req.staff, patientId))) {
      await this.record(req, 'patient.access', `patient:${patientId}`, 'denied', null);
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
    }
  }

  private async visibleAlert(req: Requester, id: string): Promise<Alert> {
    const alert = await this.alerts.getAlert(id);
    if (alert === undefined || alert.organizationId !== req.staff.organizationId || !(await this.staff.canSeePatient(req.staff, alert.patientId))) {
      await this.record(req, 'alert.access', `alert:${id}`, 'denied', null);
      throw new RpmError('RPM_ERR_ALERT_NOT_FOUND', 'alert not found');
    }
    return alert;
  }

  private record(
    req: Requester,
    action: string,
    subject: string,
    outcome: 'success' | 'denied',
    details: Record<string, string | number | boolean | null> | null,
    patientIds?: readonly string[],
  ): Promise<void> {
    return this.audit.record({ atMs: this.clock.now(), actor: `staff:${req.staff.id}`, action, subject, outcome, sourceIp: req.sourceIp, details, ...(patientIds === undefined ? {} : { patientIds }) });
  }
}

function parseStored(plan: unknown): CarePlan | undefined {
  const parsed = carePlanInput.safeParse(plan);
  return parsed.success ? parsed.data : undefined;
}
