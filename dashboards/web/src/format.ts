import type { AlertStatus, Reading, ReadingKind, Severity } from './types.js';

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

const dateTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** Local date and wall time, for spans where "10:05" alone would be ambiguous (a chart's first and last reading). */
export function dateAndTime(iso: string): string {
  return dateTime.format(new Date(iso));
}

/** Local wall time; the date only when it is not today. */
export function when(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  return new Date(now).toDateString() === d.toDateString() ? timeOnly.format(d) : dateTime.format(d);
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
};

/** UCUM codes as people write them. */
export function unitLabel(ucum: string): string {
  switch (ucum) {
    case 'mm[Hg]':
      return 'mmHg';
    case 'Cel':
      return '°C';
    case '/min':
      return '/min';
    default:
      return ucum;
  }
}

const round = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));

export function readingValue(r: Reading): string {
  if (r.kind === 'blood-pressure') {
    const sys = r.components.find((c) => c.name === 'systolic');
    const dia = r.components.find((c) => c.name === 'diastolic');
    const pulse = r.components.find((c) => c.name === 'pulse');
    const bp = `${sys === undefined ? '?' : round(sys.value)}/${dia === undefined ? '?' : round(dia.value)} mmHg`;
    return pulse === undefined ? bp : `${bp}, pulse ${round(pulse.value)}`;
  }
  return r.value === undefined ? '—' : `${round(r.value)} ${unitLabel(r.unit ?? '')}`.trim();
}

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
