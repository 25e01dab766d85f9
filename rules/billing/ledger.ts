import { addDays, dayNumber, localDate, monthDates, nextMonth, startOfLocalDay } from './calendar.js';
import type { TimeModality as RecordedModality } from '../../core/model/visit.js';
import { scheduleOn, type BillingSchedule } from './schedule.js';

/**
 * The RPM billing ledger, pure: two clocks (billing.md §3.2 "Design consequences").
 * - Device periods: 30-day periods anchored at the episode's monitoring start, counted in the
 *   patient's time zone; distinct local days with a qualifying automated reading decide the
 *   device-supply code (one per period), and the episode's first period that reaches the setup
 *   threshold carries the setup code (once per episode, a device swap changes nothing).
 * - Management months: local calendar months; minutes of every staff member on the patient, each
 *   minute counted once however many staff logged it, decide the management codes, only when the
 *   month holds a real-time interactive contact.
 * Codes, thresholds and exclusions all come from the `BillingSchedule` in force (data).
 */

/** An RPM episode of care (billing.md §3.1 99453: starts when RPM starts, ends when goals are met). */
export interface BillingEpisode {
  readonly patientId: string;
  /** Local date monitoring started: the first device period starts here. */
  readonly startDate: string;
  /** Last local date of the episode, null while it runs. */
  readonly endDate: string | null;
  /** The patient's IANA time zone: days and months are the patient's. */
  readonly timeZone: string;
  /** The one billing practitioner of the patient's periods (billing.md §3.2 rule 4). */
  readonly billingPractitionerId: string | null;
}

export interface ReadingFact {
  readonly readingId: string;
  readonly deviceId: string;
  readonly measuredAtMs: number;
  readonly entryMethod: 'device' | 'manual' | 'ambiguous-user';
  readonly flags: readonly string[];
  /** The measuring device is a simulator or test rig. */
  readonly simulatedDevice: boolean;
}

/** A time entry's recorded modality (core's TimeModality, shared with video visits), or 'unspecified' when none was recorded. */
export type TimeModality = RecordedModality | 'unspecified';

export interface TimeFact {
  readonly entryId: string;
  readonly staffId: string;
  readonly staffRole: 'nurse' | 'physician' | 'admin';
  readonly startedAtMs: number;
  /** null while the timer runs (not counted until stopped). */
  readonly endedAtMs: number | null;
  readonly interactive: boolean;
  /** How the interaction happened; entries without one recorded count as 'unspecified'. */
  readonly modality?: TimeModality | null;
}

export interface BilledCode {
  readonly code: string;
  readonly units: number;
  readonly source: string;
}

export interface DevicePeriodLine {
  readonly kind: 'device-period';
  readonly patientId: string;
  /** 0 for the episode's first period. */
  readonly index: number;
  /** `${patientId}/${start}`: names the period for sign-offs. */
  readonly periodKey: string;
  readonly start: string;
  /** Last local date of the period (inclusive). */
  readonly end: string;
  /** complete: the period's last day has passed (in the patient's zone) or the episode ended. */
  readonly status: 'complete' | 'in-progress';
  readonly scheduleId: string;
  readonly timeZone: string;
  readonly billingPractitionerId: string | null;
  /** Distinct local days with a qualifying reading, ascending. */
  readonly days: readonly string[];
  /** Devices whose readings counted, by id. */
  readonly devices: readonly string[];
  readonly counted: number;
  readonly excluded: { readonly manual: number; readonly simulated: number; readonly flagged: number };
  readonly codes: readonly BilledCode[];
  /** Why a code is not there, in words. */
  readonly notes: readonly string[];
  /** Days still needed to reach the top tier's minimum, and days the period has left (today included), for in-progress periods. */
  readonly progress: { readonly daysToTopTier: number; readonly daysLeft: number } | null;
}

export interface CountedTime {
  readonly entryId: string;
  readonly staffId: string;
  readonly staffRole: TimeFact['staffRole'];
  readonly startedAtMs: number;
  readonly endedAtMs: number | null;
  readonly interactive: boolean;
  readonly modality: TimeModality | null;
  /** Milliseconds of this entry counted in the month (not counted by an earlier entry, inside the month). */
  readonly countedMs: number;
  /** Why it counts less than its length, if it does. */
  readonly note: string | null;
}

export interface ManagementMonthLine {
  readonly kind: 'management-month';
  readonly patientId: string;
  readonly periodKey: string;
  readonly month: string;
  readonly status: 'complete' | 'in-progress';
  readonly scheduleId: string;
  readonly timeZone: string;
  readonly billingPractitionerId: string | null;
  /** Whole minutes counted (each minute once, across staff). */
  readonly minutes: number;
  readonly interactiveContacts: number;
  readonly entries: readonly CountedTime[];
  readonly codes: readonly BilledCode[];
  readonly notes: readonly string[];
}

export type LedgerLine = DevicePeriodLine | ManagementMonthLine;

function must(schedules: readonly BillingSchedule[], date: string): BillingSchedule {
  const s = scheduleOn(schedules, date);
  if (s === undefined) throw new Error(`no billing schedule in force on ${date}`);
  return s;
}

/** Exclusive code sets (schedule data) the codes break; empty when the line is consistent. */
export function exclusionViolations(codes: readonly BilledCode[], schedule: BillingSchedule): string[] {
  const present = new Set(codes.map((c) => c.code));
  return schedule.exclusive.filter((x) => x.codes.filter((c) => present.has(c)).length > 1).map((x) => `${x.codes.join(' / ')} billed together (${x.source})`);
}

/** Which readings count as device days, and why the others do not (billing.md §3.2 rule 2). */
function qualifies(r: ReadingFact, schedule: BillingSchedule): 'counted' | 'manual' | 'simulated' | 'flagged' {
  const d = schedule.deviceSupply;
  if (!d.countedEntryMethods.includes(r.entryMethod)) return 'manual';
  if (d.excludeSimulatedDevices && r.simulatedDevice) return 'simulated';
  if (r.flags.some((f) => d.excludedFlags.includes(f))) return 'flagged';
  return 'counted';
}

/** The device period holding a local date, or undefined before the episode starts. */
export function periodIndexOn(episode: Pick<BillingEpisode, 'startDate'>, date: string, periodDays: number): number | undefined {
  const offset = dayNumber(date) - dayNumber(episode.startDate);
  return offset < 0 ? undefined : Math.floor(offset / periodDays);
}

/**
 * Every device period of the episode from its start through the one holding `today` (the
 * patient's local date) or the episode's end, whichever is first.
 */
export function devicePeriods(episode: BillingEpisode, readings: readonly ReadingFact[], schedules: readonly BillingSchedule[], today: string): DevicePeriodLine[] {
  const lastDate = episode.endDate !== null && episode.endDate < today ? episode.endDate : today;
  if (lastDate < episode.startDate) return [];
  // Period length comes from the schedule in force at the episode's start; a later schedule with
  // another length would start its periods where the earlier ones end.
  const lines: DevicePeriodLine[] = [];
  const byDate = new Map<string, ReadingFact[]>();
  for (const r of readings) {
    const date = localDate(r.measuredAtMs, episode.timeZone);
    if (date < episode.startDate || date > lastDate) continue;
    const list = byDate.get(date);
    if (list === undefined) byDate.set(date, [r]);
    else list.push(r);
  }
  let setupBilled = false;
  let start = episode.startDate;
  for (let index = 0; start <= lastDate; index++) {
    const schedule = must(schedules, start);
    const d = schedule.deviceSupply;
    const end = addDays(start, d.periodDays - 1);
    const days = new Set<string>();
    const devices = new Set<string>();
    let counted = 0;
    const excluded = { manual: 0, simulated: 0, flagged: 0 };
    for (let day = start; day <= end && day <= lastDate; day = addDays(day, 1)) {
      for (const r of byDate.get(day) ?? []) {
        const q = qualifies(r, schedule);
        if (q === 'counted') {
          counted++;
          days.add(day);
          devices.add(r.deviceId);
        } else excluded[q]++;
      }
    }
    const complete = end < today || (episode.endDate !== null && episode.endDate < today && end >= episode.endDate);
    const n = days.size;
    const codes: BilledCode[] = [];
    const notes: string[] = [];
    const tier = d.tiers.find((t) => n >= t.minDays && n <= t.maxDays);
    if (tier !== undefined) codes.push({ code: tier.code, units: 1, source: tier.source });
    else {
      const lowest = Math.min(...d.tiers.map((t) => t.minDays));
      notes.push(`${n} day${n === 1 ? '' : 's'} with automated readings: fewer than ${lowest}, no device-supply code`);
    }
    if (!setupBilled && n >= schedule.setup.minDays) {
      codes.unshift({ code: schedule.setup.code, units: 1, source: schedule.setup.source });
      setupBilled = true;
    }
    if (excluded.manual > 0) notes.push(`${excluded.manual} manual reading${excluded.manual === 1 ? '' : 's'} not counted (billing.md §3.2 rule 2)`);
    if (excluded.simulated > 0) notes.push(`${excluded.simulated} reading${excluded.simulated === 1 ? '' : 's'} from simulated devices not counted`);
    if (excluded.flagged > 0) notes.push(`${excluded.flagged} reading${excluded.flagged === 1 ? '' : 's'} not known to be the patient's not counted`);
    if (devices.size > 1) notes.push(`${devices.size} devices: one device-supply code however many devices (billing.md §3.2 rule 4)`);
    if (episode.billingPractitionerId === null) notes.push('no billing practitioner named for the episode');
    for (const v of exclusionViolations(codes, schedule)) notes.push(v);
    const top = Math.max(...d.tiers.map((t) => t.minDays));
    const daysLeft = complete ? 0 : dayNumber(end) - dayNumber(today) + 1;
    lines.push({
      kind: 'device-period',
      patientId: episode.patientId,
      index,
      periodKey: `${episode.patientId}/device/${start}`,
      start,
      end,
      status: complete ? 'complete' : 'in-progress',
      scheduleId: schedule.id,
      timeZone: episode.timeZone,
      billingPractitionerId: episode.billingPractitionerId,
      days: [...days].sort(),
      devices: [...devices].sort(),
      counted,
      excluded,
      codes,
      notes,
      progress: complete ? null : { daysToTopTier: Math.max(0, top - n), daysLeft },
    });
    start = addDays(end, 1);
  }
  return lines;
}

/**
 * The management-time line of one local calendar month. Only entries of staff whose role counts
 * and that have stopped are counted; each millisecond is counted once across every staff member
 * (billing.md §3.2 rule 8), clipped to the month in the patient's zone; minutes are whole minutes
 * of the total.
 */
export function managementMonth(
  episode: Pick<BillingEpisode, 'patientId' | 'timeZone' | 'billingPractitionerId'>,
  month: string,
  entries: readonly TimeFact[],
  schedules: readonly BillingSchedule[],
  today: string,
): ManagementMonthLine {
  const { first, last } = monthDates(month);
  const schedule = must(schedules, first);
  const m = schedule.management;
  const fromMs = startOfLocalDay(first, episode.timeZone);
  const toMs = startOfLocalDay(`${nextMonth(month)}-01`, episode.timeZone);
  const sorted = [...entries].filter((e) => e.startedAtMs < toMs && (e.endedAtMs === null || e.endedAtMs > fromMs)).sort((a, b) => a.startedAtMs - b.startedAtMs || (a.entryId < b.entryId ? -1 : 1));
  let coveredUntil = fromMs;
  let totalMs = 0;
  let interactiveContacts = 0;
  let running = 0;
  const counted: CountedTime[] = [];
  for (const e of sorted) {
    const modality = e.interactive ? (e.modality ?? 'unspecified') : (e.modality ?? null);
    let countedMs = 0;
    let note: string | null = null;
    if (e.endedAtMs === null) {
      running++;
      note = 'still running: counted once stopped';
    } else if (!m.countedRoles.includes(e.staffRole)) {
      note = `${e.staffRole} time is not clinical-staff or practitioner time`;
    } else {
      const inStart = Math.max(e.startedAtMs, fromMs);
      const inEnd = Math.min(e.endedAtMs, toMs);
      const s = Math.max(inStart, coveredUntil);
      countedMs = Math.max(0, inEnd - s);
      const notes: string[] = [];
      if (inEnd - inStart < e.endedAtMs - e.startedAtMs) notes.push('partly in another month');
      if (countedMs < inEnd - inStart) notes.push('overlaps time already counted (each minute once)');
      note = notes.length > 0 ? notes.join('; ') : null;
      coveredUntil = Math.max(coveredUntil, inEnd);
      totalMs += countedMs;
      if (e.interactive && m.interactiveModalities.includes(modality ?? 'unspecified')) interactiveContacts++;
    }
    counted.push({ entryId: e.entryId, staffId: e.staffId, staffRole: e.staffRole, startedAtMs: e.startedAtMs, endedAtMs: e.endedAtMs, interactive: e.interactive, modality, countedMs, note });
  }
  const minutes = Math.floor(totalMs / 60_000);
  const codes: BilledCode[] = [];
  const notes: string[] = [];
  const tier = m.tiers.find((t) => minutes >= t.minMinutes && (t.maxMinutes === null || minutes <= t.maxMinutes));
  if (tier === undefined) {
    const lowest = Math.min(...m.tiers.map((t) => t.minMinutes));
    notes.push(`${minutes} min: under ${lowest} min, no management code`);
  } else if (m.requiresInteractive && interactiveContacts === 0) {
    notes.push(`${minutes} min but no real-time interactive audio/video contact this month: no management code (billing.md §3.2 rule 5)`);
  } else {
    codes.push({ code: tier.code, units: 1, source: tier.source });
    const a = m.addOn;
    if (a !== null && a.withCode === tier.code && minutes >= a.afterMinutes + a.unitMinutes) {
      let units = Math.floor((minutes - a.afterMinutes) / a.unitMinutes);
      if (a.maxUnits !== null && units > a.maxUnits) {
        notes.push(`${units} units of ${a.code} limited to ${a.maxUnits}`);
        units = a.maxUnits;
      }
      codes.push({ code: a.code, units, source: a.source });
    }
  }
  if (running > 0) notes.push(`${running} timer${running === 1 ? '' : 's'} still running: not counted yet`);
  if (episode.billingPractitionerId === null) notes.push('no billing practitioner named for the episode');
  for (const v of exclusionViolations(codes, schedule)) notes.push(v);
  return {
    kind: 'management-month',
    patientId: episode.patientId,
    periodKey: `${episode.patientId}/management/${month}`,
    month,
    status: last < today ? 'complete' : 'in-progress',
    scheduleId: schedule.id,
    timeZone: episode.timeZone,
    billingPractitionerId: episode.billingPractitionerId,
    minutes,
    interactiveContacts,
    entries: counted,
    codes,
    notes,
  };
}

/** The local instants bounding a month in a zone: [fromMs, toMs). */
export function monthBounds(month: string, timeZone: string): { fromMs: number; toMs: number } {
  return { fromMs: startOfLocalDay(`${month}-01`, timeZone), toMs: startOfLocalDay(`${nextMonth(month)}-01`, timeZone) };
}

/** The instants bounding a device period [start, end] in the zone: [fromMs, toMs). */
export function periodBounds(start: string, end: string, timeZone: string): { fromMs: number; toMs: number } {
  return { fromMs: startOfLocalDay(start, timeZone), toMs: startOfLocalDay(addDays(end, 1), timeZone) };
}

/** Device periods that end within the month: the ones a monthly report bills. */
export function periodsEndingIn(lines: readonly DevicePeriodLine[], month: string): DevicePeriodLine[] {
  const { first, last } = monthDates(month);
  return lines.filter((l) => l.end >= first && l.end <= last);
}
