import { formatTime, formatValues } from '../../core/display/describe.js';
import type { DisplayPrefs } from '../../core/display/units.js';
import type { Alert, AlertSeverity } from '../../core/model/alert.js';
import type { ReadingKind } from '../../core/model/reading-kinds.js';
import type { Reading } from '../../core/model/reading.js';
import { DEVICE_KIND_MEASURES, type Assignment, type BatteryLevel, type Device } from '../../core/model/registry.js';
import type { CareTeam, Staff } from '../../core/model/staff.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { ReadingQuery } from '../../core/ports/reading-store.js';
import { deviceHealth, type Transmission } from '../../rules/panel/device-health.js';
import { applyRosterQuery, type RosterFacts, type RosterQuery } from '../../rules/panel/roster-query.js';
import type { PatientBillingNow } from '../billing/billing-service.js';

export interface RosterRequester {
  readonly staff: Staff;
  readonly sourceIp: string | null;
}

/** The patient header fields the roster shows (from issue 16's identity), when recorded. */
export interface RosterIdentity {
  readonly name: string;
  readonly birthDate: string;
  readonly ageYears: number;
  readonly mrn: string;
}

export interface RosterDeps {
  readonly staff: {
    visiblePatientIds(staff: Staff, options: { limit: number; afterId?: string }): Promise<string[]>;
    teamsOfPatient(patientId: string): Promise<CareTeam[]>;
    teamsOfStaff(staffId: string): Promise<CareTeam[]>;
    displayPrefs(staff: Staff): Promise<{ effective: DisplayPrefs }>;
  };
  readonly carePlan: (patientId: string) => Promise<{ programs: readonly string[]; riskTier: number }>;
  readonly readings: { queryReadings(q: ReadingQuery): Promise<Reading[]> };
  readonly registry: { assignmentsOfPatient(patientId: string): Promise<Assignment[]>; getDevice(id: string): Promise<Device | undefined> };
  readonly presence: { lastSeenOf(device: Device): number | null; batteryOf(device: Device): BatteryLevel | null };
  readonly alerts: { unresolvedAlerts(filter: { organizationId?: string }): Promise<Alert[]> };
  /** An alert's priority score (the worklist's). */
  readonly priorityOf: (alert: Alert, nowMs: number) => Promise<number>;
  readonly billing: { now(patientId: string, organizationId: string): Promise<PatientBillingNow>; managementMarks(date: string): readonly number[] };
  /** Identities of the patients, audited by the identity service as a read for this purpose. */
  readonly identities: (patientIds: readonly string[], by: RosterRequester) => Promise<Map<string, RosterIdentity>>;
  readonly audit: AuditLog;
  readonly clock: Clock;
}

export interface RosterDevice {
  readonly id: string;
  readonly kind: string;
  readonly transmission: Transmission;
  readonly lastContactAtMs: number | null;
  readonly lowBattery: boolean;
  readonly batteryPercent: number | null;
  readonly viaHub: string | null;
}

export interface RosterReading {
  readonly kind: ReadingKind;
  /** The values with their units, in the reader's display units. */
  readonly text: string;
  readonly measuredAtMs: number;
  readonly measuredAtText: string;
  readonly manual: boolean;
}

export interface RosterRow extends RosterFacts {
  readonly identity: RosterIdentity | null;
  readonly careTeams: readonly { id: string; name: string }[];
  readonly lastReadings: readonly RosterReading[];
  readonly devicePeriod: { start: string; end: string; days: number; target: number; daysToGo: number; daysLeft: number; codeSoFar: string | null } | null;
  readonly management: { month: string; minutes: number; interactiveContacts: number; marks: readonly number[]; codeSoFar: string | null } | null;
  readonly openAlerts: number;
  readonly topSeverity: AlertSeverity | null;
  readonly devices: readonly RosterDevice[];
}

const SEVERITY_ORDER: Record<AlertSeverity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/**
 * The nurse's whole panel: every patient she may see, enrolled or with alerts or neither, with
 * what decides her day: readings, device days toward 16 this period, minutes toward 10/20 this
 * month, open alerts, devices that went quiet. Filters and sort are rules/panel/roster-query.ts.
 * One audit entry names every patient the answer disclosed.
 */
export class RosterService {
  constructor(private readonly deps: RosterDeps) {}

  async roster(req: RosterRequester, query: RosterQuery): Promise<{ rows: RosterRow[]; total: number }> {
    const now = this.deps.clock.now();
    const staff = req.staff;
    const ids = await this.allVisible(staff);
    const prefs = (await this.deps.staff.displayPrefs(staff)).effective;
    const myTeams = new Set((await this.deps.staff.teamsOfStaff(staff.id)).map((t) => t.id));
    const unresolved = await this.deps.alerts.unresolvedAlerts({ organizationId: staff.organizationId });
    const alertsOf = new Map<string, Alert[]>();
    for (const a of unresolved) {
      const list = alertsOf.get(a.patientId) ?? [];
      list.push(a);
      alertsOf.set(a.patientId, list);
    }
    const identities = ids.length === 0 ? new Map<string, RosterIdentity>() : await this.deps.identities(ids, req);
    const rows: RosterRow[] = [];
    for (const patientId of ids) rows.push(await this.row(patientId, staff, prefs, myTeams, alertsOf.get(patientId) ?? [], identities.get(patientId) ?? null, now));
    const shown = applyRosterQuery(rows, query);
    await this.deps.audit.record({
      atMs: now,
      actor: `staff:${staff.id}`,
      action: 'roster.read',
      subject: `organization:${staff.organizationId}`,
      outcome: 'success',
      sourceIp: req.sourceIp,
      details: { patients: shown.length },
      patientIds: shown.map((r) => r.patientId),
    });
    return { rows: shown, total: rows.length };
  }

  private async row(
    patientId: string,
    staff: Staff,
    prefs: DisplayPrefs,
    myTeams: ReadonlySet<string>,
    alerts: readonly Alert[],
    identity: RosterIdentity | null,
    now: number,
  ): Promise<RosterRow> {
    const [plan, teams, devices, billing] = await Promise.all([
      this.deps.carePlan(patientId),
      this.deps.staff.teamsOfPatient(patientId),
      this.currentDevices(patientId),
      this.deps.billing.now(patientId, staff.organizationId),
    ]);
    const lastReadings = await this.lastReadings(patientId, devices, prefs);
    const deviceViews: RosterDevice[] = [];
    // Each device's newest reading among the patient's recent ones (a hub-relayed device never connects itself).
    const newestOf = new Map<string, number>();
    if (devices.length > 0) {
      for (const r of await this.deps.readings.queryReadings({ patientId, limit: 500, newestFirst: true, fromMs: now - 30 * 86_400_000 })) {
        if (!newestOf.has(r.deviceId)) newestOf.set(r.deviceId, r.measuredAtMs);
      }
    }
    for (const d of devices) {
      const battery = this.deps.presence.batteryOf(d);
      const health = deviceHealth({ lastSeenAtMs: this.deps.presence.lastSeenOf(d), newestReadingAtMs: newestOf.get(d.id) ?? null, battery, hubId: d.hubId, status: d.status }, now);
      deviceViews.push({
        id: d.id,
        kind: d.kind,
        transmission: health.transmission,
        lastContactAtMs: health.lastContactAtMs,
        lowBattery: health.lowBattery,
        batteryPercent: battery?.percent ?? null,
        viaHub: d.hubId,
      });
    }
    const p = billing.devicePeriod;
    const m = billing.month;
    let priority = 0;
    let top: AlertSeverity | null = null;
    for (const a of alerts) {
      priority = Math.max(priority, await this.deps.priorityOf(a, now));
      if (top === null || SEVERITY_ORDER[a.severity] > SEVERITY_ORDER[top]) top = a.severity;
    }
    const deviceProblem = deviceViews.some((d) => d.transmission === 'not-transmitting' || d.transmission === 'never-seen' || d.lowBattery);
    const codeOf = (codes: readonly { code: string; units: number }[], skip: string[] = []): string | null =>
      codes
        .filter((c) => !skip.includes(c.code))
        .map((c) => (c.units === 1 ? c.code : `${c.code}×${c.units}`))
        .join(' + ') || null;
    const daysToGo = p?.progress?.daysToTopTier ?? null;
    return {
      patientId,
      name: identity?.name ?? null,
      mrn: identity?.mrn ?? null,
      identity,
      programs: [...plan.programs],
      riskTier: plan.riskTier,
      careTeamIds: teams.map((t) => t.id),
      careTeams: teams.map((t) => ({ id: t.id, name: t.name })),
      mine: teams.some((t) => myTeams.has(t.id)),
      deviceProblem,
      days: p?.days.length ?? null,
      daysToGo,
      daysLeft: p?.progress?.daysLeft ?? null,
      minutes: m?.minutes ?? null,
      priority,
      lastReadingAtMs: lastReadings.reduce<number | null>((acc, r) => (acc === null || r.measuredAtMs > acc ? r.measuredAtMs : acc), null),
      lastReadings,
      devicePeriod:
        p === null
          ? null
          : { start: p.start, end: p.end, days: p.days.length, target: p.days.length + (daysToGo ?? 0), daysToGo: daysToGo ?? 0, daysLeft: p.progress?.daysLeft ?? 0, codeSoFar: codeOf(p.codes, ['99453']) },
      management:
        m === null
          ? null
          : { month: m.month, minutes: m.minutes, interactiveContacts: m.interactiveContacts, marks: this.deps.billing.managementMarks(`${m.month}-01`), codeSoFar: codeOf(m.codes) },
      openAlerts: alerts.length,
      topSeverity: top,
      devices: deviceViews,
    };
  }

  /** The newest reading of each kind: one newest-first page, then one look-up per kind a current device measures and the page missed. */
  private async lastReadings(patientId: string, devices: readonly Device[], prefs: DisplayPrefs): Promise<RosterReading[]> {
    const byKind = new Map<ReadingKind, Reading>();
    for (const r of await this.deps.readings.queryReadings({ patientId, limit: 200, newestFirst: true })) if (!byKind.has(r.kind)) byKind.set(r.kind, r);
    const expected = new Set<ReadingKind>();
    for (const d of devices) {
      const m = DEVICE_KIND_MEASURES[d.kind];
      if (m !== 'any') for (const k of m) expected.add(k);
    }
    for (const kind of expected) {
      if (byKind.has(kind)) continue;
      const [r] = await this.deps.readings.queryReadings({ patientId, kinds: [kind], limit: 1, newestFirst: true });
      if (r !== undefined) byKind.set(kind, r);
    }
    return [...byKind.values()]
      .filter((r) => !r.flags.includes('user-rejected'))
      .sort((a, b) => (a.kind < b.kind ? -1 : 1))
      .map((r) => {
        const values: Partial<Record<(typeof r.components)[number]['name'], number>> = {};
        for (const c of r.components) values[c.name] = c.value;
        return { kind: r.kind, text: formatValues(r.kind, values, prefs), measuredAtMs: r.measuredAtMs, measuredAtText: formatTime(r.measuredAtMs, prefs), manual: r.entryMethod === 'manual' };
      });
  }

  private async currentDevices(patientId: string): Promise<Device[]> {
    const open = (await this.deps.registry.assignmentsOfPatient(patientId)).filter((a) => a.toMs === null);
    const found = await Promise.all(open.map((a) => this.deps.registry.getDevice(a.deviceId)));
    return found.filter((d): d is Device => d !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
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
}
