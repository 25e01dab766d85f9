import type { AlertStatus, Confirmation, Reading, ReadingKind, Severity } from './types.js';
import { dayKey } from './zoned-time.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** "4 min", "2 h 5 min", "3 d 4 h": waits and ages at a glance. */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MIN) return '< 1 min';
  if (abs < HOUR) return `${Math.floor(abs / MIN)} min`;
  if (abs < DAY) {
    const m = Math.floor((abs % HOUR) / MIN);
    return m === 0 ? `${Math.floor(abs / HOUR)} h` : `${Math.floor(abs / HOUR)} h ${m} min`;
  }
  const hrs = Math.floor((abs % DAY) / HOUR);
  return hrs === 0 ? `${Math.floor(abs / DAY)} d` : `${Math.floor(abs / DAY)} d ${hrs} h`;
}

export function ago(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  return ms < MIN ? 'just now' : `${duration(ms)} ago`;
}

/**
 * Every time a nurse reads is in the clinic's time zone (display settings: the organization's,
 * or her own choice), with the zone shown: "16:20 EST". Set at sign-in and when she changes it.
 */
let zone = 'UTC';

export function setTimeZone(timeZone: string): void {
  zone = timeZone;
  formatters.clear();
}

export function currentTimeZone(): string {
  return zone;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(kind: 'time' | 'date-time' | 'zone'): Intl.DateTimeFormat {
  let f = formatters.get(kind);
  if (f === undefined) {
    const base = { timeZone: zone, hourCycle: 'h23', timeZoneName: 'short' } as const;
    f =
      kind === 'time'
        ? new Intl.DateTimeFormat('en-US', { ...base, hour: '2-digit', minute: '2-digit' })
        : kind === 'date-time'
          ? new Intl.DateTimeFormat('en-US', { ...base, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
          : new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' });
    formatters.set(kind, f);
  }
  return f;
}

/** Date and wall time with the zone, "Dec 7, 16:20 EST": for spans where "16:20" alone would be ambiguous. */
export function dateAndTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? '—' : formatter('date-time').format(new Date(ms));
}

/** Wall time with the zone, "16:20 EST"; the date too when it is not today (in the clinic's zone). */
export function when(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '—';
  return dayKey(now, zone) === dayKey(ms, zone) ? formatter('time').format(new Date(ms)) : formatter('date-time').format(new Date(ms));
}

/** The zone's short name now, "EST" (or "UTC", "GMT+1" where no abbreviation exists). */
export function zoneName(now = Date.now()): string {
  return formatter('zone').formatToParts(new Date(now)).find((p) => p.type === 'timeZoneName')?.value ?? zone;
}

export const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };
/** A shape per severity, so severity never depends on colour alone. */
export const SEVERITY_ICON: Record<Severity, string> = { critical: '◆', high: '▲', medium: '●', low: '○' };

export const STATUS_LABEL: Record<AlertStatus, string> = { open: 'Open', claimed: 'Claimed', acknowledged: 'Acknowledged', resolved: 'Resolved' };

export const KIND_LABEL: Record<ReadingKind, string> = {
  'blood-pressure': 'Blood pressure',
  'heart-rate': 'Heart rate',
  spo2: 'SpO₂',
  'body-weight': 'Weight',
  'body-temperature': 'Temperature',
  'blood-glucose': 'Glucose',
  'respiratory-rate': 'Respiratory rate',
  consciousness: 'Consciousness (ACVPU)',
  'supplemental-oxygen': 'Supplemental oxygen',
};

/** UCUM codes as people write them (axis labels, form units). */
export function unitSymbol(ucum: string): string {
  switch (ucum) {
    case 'mm[Hg]':
      return 'mmHg';
    case 'Cel':
      return '°C';
    case '[degF]':
      return '°F';
    case '[lb_av]':
      return 'lb';
    case '{ACVPU}':
      return 'ACVPU';
    default:
      // kg, mg/dL, mmol/L, %, /min, L/min are written as they are.
      return ucum;
  }
}

/**
 * A reading as the nurse reads it: the server's text in her display units ("BP 186/100 mmHg,
 * pulse 84 /min", "Weight 179.5 lb", "Consciousness: Responds to voice"). Staff sessions always
 * get it; the canonical values are only a fallback.
 */
export function readingValue(r: Reading): string {
  if (r.display !== undefined) return r.display.text;
  return r.components.map((c) => `${c.name === 'value' ? '' : `${c.name} `}${c.value} ${unitSymbol(c.unit)}`).join(', ');
}

/** The confirmation state in a few words, for the row's tags (the full sentence is `confirmationText`). */
export const CONFIRMATION_TAG: Record<Confirmation, string> = {
  pending: 'awaiting repeat',
  confirmed: 'confirmed',
  'not-confirmed': 'not confirmed',
  expired: 'no repeat: call the patient',
};

export const settingLabel = (s: string): string => (s === 'clinic' ? 'Clinic' : 'Home');

export const OUTCOME_LABEL: Record<string, string> = {
  'contacted-patient': 'Contacted patient',
  'treated-at-home': 'Treated at home',
  'care-plan-changed': 'Care plan changed',
  'escalated-to-provider': 'Escalated to provider',
  'sent-to-emergency': 'Sent to emergency care',
  'false-alarm': 'False alarm',
  'device-issue': 'Device issue',
  'auto-resolved': 'Resolved by itself (back in range)',
  other: 'Other',
};

const round = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));

export function minutes(total: number): string {
  if (total < 60) return `${round(total)} min`;
  return `${Math.floor(total / 60)} h ${Math.round(total % 60)} min`;
}

/** mm:ss or h:mm:ss for a running timer. */
export function stopwatch(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}
