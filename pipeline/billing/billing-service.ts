import { createHash } from 'node:crypto';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Reading } from '../../core/model/reading.js';
import type { Assignment, Device, Patient } from '../../core/model/registry.js';
import type { Staff } from '../../core/model/staff.js';
import type { TimeEntry } from '../../core/ports/alert-store.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { BillingStore, SignOff, StoredEpisode } from '../../core/ports/billing-store.js';
import type { Clock } from '../../core/ports/clock.js';
import type { ReadingQuery } from '../../core/ports/reading-store.js';
import { addDays, isDate, isTimeZone, localDate, monthDates } from '../../rules/billing/calendar.js';
import {
  devicePeriods,
  managementMonth,
  monthBounds,
  periodBounds,
  periodIndexOn,
  periodsEndingIn,
  type BillingEpisode,
  type DevicePeriodLine,
  type LedgerLine,
  type ManagementMonthLine,
  type ReadingFact,
  type TimeFact,
} from '../../rules/billing/ledger.js';
import { scheduleOn, type BillingSchedule } from '../../rules/billing/schedule.js';

export interface BillingRequester {
  readonly staff: Staff;
  readonly sourceIp: string | null;
}

export interface BillingDeps {
  readonly store: BillingStore;
  readonly readings: { queryReadings(q: ReadingQuery): Promise<Reading[]> };
  readonly registry: {
    getPatient(id: string): Promise<Patient | undefined>;
    assignmentsOfPatient(patientId: string): Promise<Assignment[]>;
    getDevice(id: string): Promise<Device | undefined>;
  };
  readonly timeLog: { timeEntries(filter: { patientId?: string; fromMs?: number; toMs?: number }): Promise<TimeEntry[]> };
  readonly staff: {
    canSeePatient(staff: Staff, patientId: string): Promise<boolean>;
    visiblePatientIds(staff: Staff, options: { limit: number; afterId?: string }): Promise<string[]>;
    getStaffRecord(id: string): Promise<Staff | undefined>;
    /** The organization's time zone (display settings): patients without an episode or identity of their own live there. */
    organizationTimeZone(organizationId: string): Promise<string>;
  };
  /** The patient's own time zone (identity), when recorded. A system read: not a staff disclosure. */
  readonly patientTimeZone: (patientId: string) => Promise<string | undefined>;
  readonly schedules: readonly BillingSchedule[];
  readonly audit: AuditLog;
  readonly clock: Clock;
}

/** A ledger line as the report carries it: what was signed (frozen) or what is computed now. */
export interface ReportLine {
  readonly line: LedgerLine;
  /** The sign-off that froze the period, with its amendments; null while unsigned. */
  readonly signOff: SignOff | null;
  /** Signed, and the ledger computed now differs from what was signed (late data): an amendment is needed. */
  readonly changedSinceSignOff: boolean;
  /** The ledger as computed now, when it differs from the frozen line. */
  readonly computed: LedgerLine | null;
}

export interface BillingReport {
  readonly organizationId: string;
  readonly month: string;
  readonly generatedAtMs: number;
  readonly scheduleIds: readonly string[];
  readonly lines: readonly ReportLine[];
}

/** The billing summary of one patient today (the roster's columns). */
export interface PatientBillingNow {
  readonly episode: BillingEpisode | null;
  readonly devicePeriod: DevicePeriodLine | null;
  readonly month: ManagementMonthLine | null;
}

/** Canonical JSON (sorted keys): equal lines hash equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const lineSha256 = (line: LedgerLine): string => createHash('sha256').update(canonicalJson(line)).digest('hex');

const PAGE = 5000;

/**
 * The RPM billing ledger of an organization (rules/billing, data from the stores): the monthly
 * report, the physician's sign-off that freezes a period and its amendments, episodes of care.
 * Every read is audited with the patients it disclosed; every change is audited.
 */
export class BillingService {
  constructor(private readonly deps: BillingDeps) {}

  /** The patient's episode: the one recorded, else one from the first device assignment, in the patient's zone (identity) or else the organization's. */
  async episodeOf(patientId: string, organizationId: string): Promise<{ episode: BillingEpisode; stored: StoredEpisode | null } | null> {
    const stored = await this.deps.store.episode(patientId);
    if (stored !== undefined && stored.organizationId === organizationId) {
      return {
        episode: { patientId, startDate: stored.startDate, endDate: stored.endDate, timeZone: stored.timeZone, billingPractitionerId: stored.billingPractitionerId },
        stored,
      };
    }
    const assignments = await this.deps.registry.assignmentsOfPatient(patientId);
    // A device registered with its patient and no start is assigned "from the beginning" (0):
    // monitoring started no earlier than the device was registered.
    let startMs: number | undefined;
    for (const a of assignments) {
      if (a.deviceId.startsWith('manual:')) continue;
      const from = a.fromMs > 0 ? a.fromMs : ((await this.deps.registry.getDevice(a.deviceId))?.createdAtMs ?? a.fromMs);
      if (startMs === undefined || from < startMs) startMs = from;
    }
    if (startMs === undefined) return null;
    const timeZone = (await this.deps.patientTimeZone(patientId)) ?? (await this.deps.staff.organizationTimeZone(organizationId));
    return { episode: { patientId, startDate: localDate(startMs, timeZone), endDate: null, timeZone, billingPractitionerId: null }, stored: null };
  }

  async saveEpisode(
    req: BillingRequester,
    patientId: string,
    input: { startDate: string; endDate: string | null; timeZone: string; billingPractitionerId: string | null; reason: string | null },
  ): Promise<StoredEpisode> {
    this.requireRole(req, ['physician', 'admin']);
    await this.requirePatient(req, patientId);
    if (!isDate(input.startDate) || (input.endDate !== null && (!isDate(input.endDate) || input.endDate < input.startDate))) {
      throw new RpmError('RPM_ERR_BILLING_EPISODE_INVALID', 'startDate and endDate are dates (YYYY-MM-DD), the end not before the start');
    }
    if (!isTimeZone(input.timeZone)) throw new RpmError('RPM_ERR_BILLING_EPISODE_INVALID', `unknown time zone ${input.timeZone}`);
    if (input.billingPractitionerId !== null) {
      const p = await this.deps.staff.getStaffRecord(input.billingPractitionerId);
      if (p === undefined || p.organizationId !== req.staff.organizationId || p.role !== 'physician' || p.status !== 'active') {
        throw new RpmError('RPM_ERR_BILLING_EPISODE_INVALID', 'the billing practitioner must be an active physician of the organization');
      }
    }
    const saved = await this.deps.store.saveEpisode({ patientId, organizationId: req.staff.organizationId, ...input, savedBy: `staff:${req.staff.id}`, savedAtMs: this.deps.clock.now() });
    await this.record(req, 'billing.episode.save', `patient:${patientId}`, { startDate: input.startDate, endDate: input.endDate, practitioner: input.billingPractitionerId }, [patientId]);
    return saved;
  }

  async episode(req: BillingRequester, patientId: string): Promise<{ episode: BillingEpisode | null; stored: StoredEpisode | null; history: StoredEpisode[] }> {
    await this.requirePatient(req, patientId);
    const e = await this.episodeOf(patientId, req.staff.organizationId);
    const history = (await this.deps.store.episodeHistory(patientId)).filter((h) => h.organizationId === req.staff.organizationId);
    await this.record(req, 'billing.episode.read', `patient:${patientId}`, null, [patientId]);
    return { episode: e?.episode ?? null, stored: e?.stored ?? null, history };
  }

  /** Every ledger line of a patient through `throughMonth` (device periods from the episode's start, management months). */
  private async ledger(episode: BillingEpisode, month: string): Promise<{ periods: DevicePeriodLine[]; management: ManagementMonthLine }> {
    const now = this.deps.clock.now();
    const today = localDate(now, episode.timeZone);
    const { last } = monthDates(month);
    const until = last < today ? last : today;
    const bounds = periodBounds(episode.startDate, until, episode.timeZone);
    const facts = await this.readingFacts(episode.patientId, bounds.fromMs, bounds.toMs);
    // Periods through the month's end (or today): a period ending on the month's last day is complete the day after.
    const periods = devicePeriods(episode, facts, this.deps.schedules, last < today ? addDays(last, 1) : today);
    const management = managementMonth(episode, month, await this.timeFacts(episode.patientId, month, episode.timeZone), this.deps.schedules, today);
    return { periods, management };
  }

  /**
   * Today's device period and this month's management time for a patient (the roster), unaudited:
   * the caller audits its read. Reads only the current period's readings (the set-up code, which
   * needs the episode's history, is the report's business).
   */
  async now(patientId: string, organizationId: string): Promise<PatientBillingNow> {
    const e = await this.episodeOf(patientId, organizationId);
    if (e === null) return { episode: null, devicePeriod: null, month: null };
    const ep = e.episode;
    const today = localDate(this.deps.clock.now(), ep.timeZone);
    if (today < ep.startDate || (ep.endDate !== null && ep.endDate < today)) return { episode: ep, devicePeriod: null, month: null };
    const schedule = scheduleOn(this.deps.schedules, today);
    if (schedule === undefined) return { episode: ep, devicePeriod: null, month: null };
    const index = periodIndexOn(ep, today, schedule.deviceSupply.periodDays) ?? 0;
    const current: BillingEpisode = { ...ep, startDate: addDays(ep.startDate, index * schedule.deviceSupply.periodDays) };
    const bounds = periodBounds(current.startDate, today, ep.timeZone);
    const [period] = devicePeriods(current, await this.readingFacts(patientId, bounds.fromMs, bounds.toMs), this.deps.schedules, today);
    const month = managementMonth(ep, today.slice(0, 7), await this.timeFacts(patientId, today.slice(0, 7), ep.timeZone), this.deps.schedules, today);
    return { episode: ep, devicePeriod: period === undefined ? null : { ...period, index }, month };
  }

  /** The management-time thresholds in force on a date (10 and 20 min in CY2026), for the roster's marks. */
  managementMarks(date: string): readonly number[] {
    return scheduleOn(this.deps.schedules, date)?.management.tiers.map((t) => t.minMinutes) ?? [];
  }

  /**
   * The organization's report for a month: device periods that end in the month and the month's
   * management time, one line each per patient, signed lines frozen as signed.
   */
  async report(req: BillingRequester, month: string): Promise<BillingReport> {
    this.requireRole(req, ['physician', 'admin']);
    const organizationId = req.staff.organizationId;
    const patients = await this.allVisible(req.staff);
    const lines: LedgerLine[] = [];
    for (const patientId of patients) {
      const e = await this.episodeOf(patientId, organizationId);
      if (e === null) continue;
      if (e.episode.startDate > monthDates(month).last) continue;
      if (e.episode.endDate !== null && e.episode.endDate < monthDates(month).first && !(await this.hasPeriodEndingIn(e.episode, month))) continue;
      const { periods, management } = await this.ledger(e.episode, month);
      lines.push(...periodsEndingIn(periods, month));
      // A month without any time logged has nothing to bill or to show.
      if (management.entries.length > 0) lines.push(management);
    }
    const signOffs = await this.deps.store.signOffs(organizationId, { periodKeys: lines.map((l) => l.periodKey) });
    const byKey = new Map(signOffs.map((s) => [s.periodKey, s]));
    const report: ReportLine[] = lines.map((line) => {
      const s = byKey.get(line.periodKey);
      if (s === undefined) return { line, signOff: null, changedSinceSignOff: false, computed: null };
      const newest = s.amendments[s.amendments.length - 1];
      const frozen = (newest?.line ?? s.line) as LedgerLine;
      const changed = (newest?.lineSha256 ?? s.lineSha256) !== lineSha256(line);
      return { line: frozen, signOff: s, changedSinceSignOff: changed, computed: changed ? line : null };
    });
    await this.record(req, 'billing.report.read', `organization:${organizationId}`, { month, lines: report.length }, [...new Set(lines.map((l) => l.patientId))]);
    return { organizationId, month, generatedAtMs: this.deps.clock.now(), scheduleIds: [...new Set(lines.map((l) => l.scheduleId))], lines: report };
  }

  /** The physician's sign-off: freezes the period's line as computed now. One per period; the signer is its billing practitioner. */
  async signOff(req: BillingRequester, periodKey: string): Promise<SignOff> {
    this.requireRole(req, ['physician']);
    const line = await this.computeLine(req, periodKey);
    if (line.status !== 'complete') throw new RpmError('RPM_ERR_BILLING_PERIOD_OPEN', `the period ends ${line.kind === 'device-period' ? line.end : monthDates(line.month).last}`);
    if (line.billingPractitionerId !== null && line.billingPractitionerId !== req.staff.id) {
      await this.record(req, 'billing.sign-off', `patient:${line.patientId}`, { periodKey, refused: 'not-the-billing-practitioner' }, [line.patientId], 'denied');
      throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'only the billing practitioner named for the episode signs its periods');
    }
    const frozen: LedgerLine = { ...line, billingPractitionerId: req.staff.id };
    const signed = await this.deps.store.signOff({
      organizationId: req.staff.organizationId,
      patientId: line.patientId,
      periodKey,
      signedBy: req.staff.id,
      signedAtMs: this.deps.clock.now(),
      line: frozen,
      lineSha256: lineSha256(line),
    });
    await this.record(req, 'billing.sign-off', `patient:${line.patientId}`, { periodKey, codes: line.codes.map((c) => `${c.code}x${c.units}`).join(' ') }, [line.patientId]);
    return signed;
  }

  /** A change to a signed period: the line as computed now, with why; numbered, never rewriting the sign-off. */
  async amend(req: BillingRequester, periodKey: string, reason: string, expectedRevision: number): Promise<SignOff> {
    this.requireRole(req, ['physician']);
    const line = await this.computeLine(req, periodKey);
    const [current] = await this.deps.store.signOffs(req.staff.organizationId, { periodKeys: [periodKey] });
    if (current === undefined) throw new RpmError('RPM_ERR_BILLING_NOT_SIGNED', 'sign the period off first');
    if (current.signedBy !== req.staff.id) {
      await this.record(req, 'billing.amend', `patient:${line.patientId}`, { periodKey, refused: 'not-the-billing-practitioner' }, [line.patientId], 'denied');
      throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'only the practitioner who signed the period amends it');
    }
    const amended = await this.deps.store.amend(
      {
        organizationId: req.staff.organizationId,
        periodKey,
        amendedBy: req.staff.id,
        amendedAtMs: this.deps.clock.now(),
        reason,
        line: { ...line, billingPractitionerId: current.signedBy },
        lineSha256: lineSha256(line),
      },
      expectedRevision,
    );
    await this.record(req, 'billing.amend', `patient:${line.patientId}`, { periodKey, revision: amended.revision }, [line.patientId]);
    return amended;
  }

  private async computeLine(req: BillingRequester, periodKey: string): Promise<LedgerLine> {
    const m = /^(.+)\/(device|management)\/(\d{4}-\d{2}(?:-\d{2})?)$/.exec(periodKey);
    if (m === null) throw new RpmError('RPM_ERR_BILLING_PERIOD_NOT_FOUND', 'not a period key');
    const [, patientId = '', kind, when = ''] = m;
    if (!(await this.deps.staff.canSeePatient(req.staff, patientId))) throw new RpmError('RPM_ERR_BILLING_PERIOD_NOT_FOUND');
    const e = await this.episodeOf(patientId, req.staff.organizationId);
    if (e === null) throw new RpmError('RPM_ERR_BILLING_PERIOD_NOT_FOUND');
    if (kind === 'management') {
      if (when.length !== 7) throw new RpmError('RPM_ERR_BILLING_PERIOD_NOT_FOUND');
      const { management } = await this.ledger(e.episode, when);
      return management;
    }
    if (!isDate(when)) throw new RpmError('RPM_ERR_BILLING_PERIOD_NOT_FOUND');
    const { periods } = await this.ledger(e.episode, localDate(this.deps.clock.now(), e.episode.timeZone).slice(0, 7));
    const line = periods.find((p) => p.start === when);
    if (line === undefined) throw new RpmError('RPM_ERR_BILLING_PERIOD_NOT_FOUND');
    return line;
  }

  private async hasPeriodEndingIn(episode: BillingEpisode, month: string): Promise<boolean> {
    const { periods } = await this.ledger(episode, month);
    return periodsEndingIn(periods, month).length > 0;
  }

  private async readingFacts(patientId: string, fromMs: number, toMs: number): Promise<ReadingFact[]> {
    const facts: ReadingFact[] = [];
    const simulated = new Map<string, boolean>();
    let after: ReadingQuery['after'];
    for (;;) {
      const page = await this.deps.readings.queryReadings({ patientId, fromMs, toMs, limit: PAGE, ...(after === undefined ? {} : { after }) });
      for (const r of page) {
        let sim = simulated.get(r.deviceId);
        if (sim === undefined) simulated.set(r.deviceId, (sim = r.entryMethod === 'manual' ? false : ((await this.deps.registry.getDevice(r.deviceId))?.simulated ?? false)));
        facts.push({ readingId: r.id, deviceId: r.deviceId, measuredAtMs: r.measuredAtMs, entryMethod: r.entryMethod, flags: r.flags, simulatedDevice: sim });
      }
      const last = page[page.length - 1];
      if (page.length < PAGE || last === undefined) return facts;
      after = { measuredAtMs: last.measuredAtMs, id: last.id };
    }
  }

  private async timeFacts(patientId: string, month: string, timeZone: string): Promise<TimeFact[]> {
    const { fromMs, toMs } = monthBounds(month, timeZone);
    // An entry lasts at most a day: the ones started the day before may reach into the month.
    const entries = await this.deps.timeLog.timeEntries({ patientId, fromMs: fromMs - 86_400_000, toMs });
    const roles = new Map<string, Staff['role']>();
    const facts: TimeFact[] = [];
    for (const e of entries) {
      let role = roles.get(e.staffId);
      if (role === undefined) roles.set(e.staffId, (role = (await this.deps.staff.getStaffRecord(e.staffId))?.role ?? 'admin'));
      facts.push({ entryId: e.id, staffId: e.staffId, staffRole: role, startedAtMs: e.startedAtMs, endedAtMs: e.endedAtMs, interactive: e.interactive, modality: e.modality });
    }
    return facts;
  }

  private async allVisible(staff: Staff): Promise<string[]> {
    const ids: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await this.deps.staff.visiblePatientIds(staff, { limit: 1000, ...(afterId === undefined ? {} : { afterId }) });
      ids.push(...page);
      if (page.length < 1000) return ids;
      afterId = page[page.length - 1];
    }
  }

  private requireRole(req: BillingRequester, roles: readonly Staff['role'][]): void {
    if (!roles.includes(req.staff.role)) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', `only ${roles.join(' or ')} staff may do this`);
  }

  private async requirePatient(req: BillingRequester, patientId: string): Promise<void> {
    if (!(await this.deps.staff.canSeePatient(req.staff, patientId))) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND');
  }

  private async record(req: BillingRequester, action: string, subject: string, details: Readonly<Record<string, string | number | boolean | null>> | null, patientIds: readonly string[], outcome: 'success' | 'denied' = 'success'): Promise<void> {
    await this.deps.audit.record({ atMs: this.deps.clock.now(), actor: `staff:${req.staff.id}`, action, subject, outcome, sourceIp: req.sourceIp, details, patientIds });
  }
}
