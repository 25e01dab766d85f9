import type { Finding } from '../model/alert.js';
import { ACVPU_LABEL, ACVPU_LEVELS, type ComponentName, componentSpec, type ReadingKind } from '../model/reading-kinds.js';
import { type DisplayPrefs, formatQuantity } from './units.js';

/**
 * Findings, values and times as a person reads them: every value with its unit in the reader's
 * display units, every time in the clinic's time zone with the zone shown. Pure; the gateway
 * renders API answers with it and the rules engine writes its log lines and event notes with it.
 */

export const KIND_NAME: Readonly<Record<ReadingKind, string>> = {
  'blood-pressure': 'Blood pressure',
  'heart-rate': 'Heart rate',
  spo2: 'SpO2',
  'body-weight': 'Weight',
  'body-temperature': 'Temperature',
  'blood-glucose': 'Glucose',
  'respiratory-rate': 'Respiratory rate',
  consciousness: 'Consciousness',
  'supplemental-oxygen': 'Supplemental oxygen',
};

const COMPONENT_NAME: Readonly<Record<ComponentName, string>> = { systolic: 'systolic', diastolic: 'diastolic', mean: 'mean', pulse: 'pulse', value: 'value' };

/** One component's value with its unit: "186 mmHg", "81.4 kg", "179.5 lb", "Responds to voice". */
export function formatComponent(kind: ReadingKind, component: ComponentName, canonical: number, prefs: DisplayPrefs, options: { delta?: boolean; signed?: boolean } = {}): string {
  if (kind === 'consciousness') return ACVPU_LABEL[ACVPU_LEVELS[Math.round(canonical)] ?? 'alert'];
  if (kind === 'supplemental-oxygen' && options.delta !== true) return canonical === 0 ? 'room air' : `oxygen ${formatQuantity('flow', canonical, prefs)}`;
  const spec = componentSpec(kind, component);
  if (spec === undefined) return String(canonical);
  return formatQuantity(spec.quantity, canonical, prefs, options);
}

/** A reading's values: "186/104 mmHg, pulse 84 /min", "SpO2 91 %, pulse 150 /min", "Weight 81.4 kg". */
export function formatValues(kind: ReadingKind, values: Readonly<Partial<Record<ComponentName, number>>>, prefs: DisplayPrefs): string {
  const parts: string[] = [];
  if (kind === 'blood-pressure') {
    if (values.systolic !== undefined && values.diastolic !== undefined) parts.push(`BP ${Math.round(values.systolic)}/${Math.round(values.diastolic)} mmHg`);
    else if (values.systolic !== undefined) parts.push(`systolic ${formatComponent(kind, 'systolic', values.systolic, prefs)}`);
  } else if (values.value !== undefined) {
    parts.push(kind === 'consciousness' || kind === 'supplemental-oxygen' ? `${KIND_NAME[kind]}: ${formatComponent(kind, 'value', values.value, prefs)}` : `${KIND_NAME[kind]} ${formatComponent(kind, 'value', values.value, prefs)}`);
  }
  if (values.pulse !== undefined) parts.push(`pulse ${formatComponent(kind, 'pulse', values.pulse, prefs)}`);
  return parts.join(', ');
}

function list(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

const DAY_MS = 86_400_000;

function span(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours < 36) return `${Math.round(hours)} h`;
  return `${Math.round((ms / DAY_MS) * 10) / 10} days`;
}

/** A finding in words, values in the reader's units, times in her time zone. */
export function describeFinding(f: Finding, prefs: DisplayPrefs): string {
  switch (f.type) {
    case 'reading': {
      const values = formatValues(f.kind, f.values, prefs);
      // A pulse counted by a cuff or an oximeter judged by the heart-rate rule: say where it came from.
      const source = f.breached.length === 1 && f.breached[0] === 'pulse' ? ` (counted by the ${f.kind === 'blood-pressure' ? 'BP cuff' : 'oximeter'})` : '';
      const which = f.kind === 'blood-pressure' && f.breached.some((c) => c !== 'pulse') ? ` — ${list(f.breached.filter((c) => c !== 'pulse').map((c) => COMPONENT_NAME[c]))} past the limit` : '';
      return `${values}${source}${which}`;
    }
    case 'change': {
      const verb = f.delta >= 0 ? 'up' : 'down';
      return `${KIND_NAME[f.kind]} ${verb} ${formatComponent(f.kind, f.component, Math.abs(f.delta), prefs, { delta: true })} in ${span(Math.max(0, f.windowHours * 3_600_000))}: ${formatComponent(f.kind, f.component, f.from, prefs)} (${formatTime(f.fromAtMs, prefs)}) → ${formatComponent(f.kind, f.component, f.to, prefs)}`;
    }
    case 'mean': {
      const m = f.means;
      const value =
        f.kind === 'blood-pressure' && m.systolic !== undefined && m.diastolic !== undefined
          ? `${Math.round(m.systolic)}/${Math.round(m.diastolic)} mmHg`
          : list(Object.entries(m).map(([c, v]) => formatComponent(f.kind, c as ComponentName, v as number, prefs)));
      const which = f.breached.length > 0 && f.kind === 'blood-pressure' ? ` — ${list(f.breached.map((c) => COMPONENT_NAME[c]))} mean past the target` : '';
      return `${f.windowDays}-day mean ${value} (${f.readings} readings on ${f.days} days)${which}`;
    }
    case 'baseline':
      return `${KIND_NAME[f.kind]} ${formatComponent(f.kind, f.component, f.value, prefs)} vs the patient's baseline ${formatComponent(f.kind, f.component, f.baseline, prefs)} (median of ${f.baselineReadings} readings)`;
    case 'count':
      return `${f.breaches} of the last ${f.of} ${KIND_NAME[f.kind]} readings ${f.comparator} ${formatComponent(f.kind, f.component, f.limit, prefs)} (within ${f.withinHours} h)`;
    case 'news2':
      return `NEWS2 ${f.total} (${f.risk} risk)`;
    case 'missing':
      return f.lastAtMs === null ? `No ${KIND_NAME[f.kind].toLowerCase()} reading yet (expected every ${f.hours} h)` : `No ${KIND_NAME[f.kind].toLowerCase()} since ${formatTime(f.lastAtMs, prefs)} (expected every ${f.hours} h)`;
    case 'received':
      return `${KIND_NAME[f.kind]} received`;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** "Fri, Dec 4, 08:59 EST": the clinic's wall time with the zone, never a bare UTC string. */
export function formatTime(ms: number, prefs: Pick<DisplayPrefs, 'timeZone'>): string {
  let f = formatters.get(prefs.timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: prefs.timeZone,
      weekday: 'short',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(prefs.timeZone, f);
  }
  return f.format(new Date(ms));
}

/** `{{quantity:value}}` placeholders of a rule's action text in the reader's units. */
export function renderTemplate(text: string, prefs: DisplayPrefs): string {
  return text.replace(/\{\{(mass|temperature|glucose|pressure|rate|percent):(-?\d+(?:\.\d+)?)\}\}/g, (_m, q: string, v: string) =>
    formatQuantity(q as 'mass' | 'temperature' | 'glucose' | 'pressure' | 'rate' | 'percent', Number(v), prefs),
  );
}
