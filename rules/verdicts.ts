import { describeFinding } from '../core/display/describe.js';
import { DEFAULT_DISPLAY } from '../core/display/units.js';
import type { Finding } from '../core/model/alert.js';
import { ACVPU_LEVELS, type ComponentName, type ReadingKind } from '../core/model/reading-kinds.js';
import type { BaselineRule, Comparator, DurationRule, Limit, News2Rule, RollingMeanRule, RuleDefinition, Severity, ThresholdRule, TrendRule } from './model.js';
import { severityRank } from './model.js';
import { type Consciousness, news2, type News2Result } from './news2.js';

/** The part of a reading the rules look at. Values are in canonical units. */
export interface Observation {
  readonly id: string;
  readonly kind: ReadingKind;
  readonly measuredAtMs: number;
  readonly values: Readonly<Partial<Record<ComponentName, number>>>;
  /** The offset the device reported, so "a day" is the patient's local day (default UTC). */
  readonly utcOffsetMinutes?: number;
  /** When it reached us; a reading received long after it was measured is late data. */
  readonly receivedAtMs?: number;
}

/** Readings received this long after measurement are late (a backfill, an offline device). */
export const LATE_AFTER_MS = 60 * 60_000;

/**
 * A rule's judgement at one reading: breaching (with severity), safely back in range (`clear`),
 * or neither (between a limit and its clear threshold, or not enough data: hold the state).
 */
export interface Verdict {
  readonly atMs: number;
  readonly readingId: string;
  readonly severity: Severity | null;
  readonly clear: boolean;
  /** The value judged (reading, mean, change, deviation, score), for the alert summary. */
  readonly value: number | null;
  /** What the rule saw, structured (rendered per reader by core/display/describe.ts). */
  readonly finding: Finding;
  /** How far past the limit, on the rule's own scale (0 when not breaching): picks an episode's worst. */
  readonly badness: number;
  /** The reading arrived late (received more than LATE_AFTER_MS after it was measured). */
  readonly late: boolean;
  /** `finding` in canonical units with units, for logs and event notes. */
  readonly detail: string;
}

function verdict(o: Observation, severity: Severity | null, clear: boolean, value: number | null, finding: Finding, badness: number): Verdict {
  return {
    atMs: o.measuredAtMs,
    readingId: o.id,
    severity,
    clear,
    value,
    finding,
    badness: severity === null ? 0 : badness,
    late: o.receivedAtMs !== undefined && o.receivedAtMs - o.measuredAtMs > LATE_AFTER_MS,
    // Words are for people and logs: built only when read, not for every reading judged.
    get detail(): string {
      return describeFinding(finding, DEFAULT_DISPLAY);
    },
  };
}

/**
 * The value a rule on (kind, component) reads from an observation. A heart-rate rule also reads
 * the pulse that a BP cuff or an oximeter counts with its own reading.
 */
export function measureOf(kind: ReadingKind, component: ComponentName, o: Observation): number | undefined {
  if (o.kind === kind) return o.values[component];
  if (kind === 'heart-rate' && component === 'value' && (o.kind === 'blood-pressure' || o.kind === 'spo2')) return o.values.pulse;
  return undefined;
}

/** The component of `o` that a rule on (kind, component) reads. */
function sourceComponent(kind: ReadingKind, component: ComponentName, o: Observation): ComponentName {
  return o.kind === kind ? component : 'pulse';
}

export function compare(v: number, op: Comparator, limit: number): boolean {
  switch (op) {
    case '>':
      return v > limit;
    case '>=':
      return v >= limit;
    case '<':
      return v < limit;
    case '<=':
      return v <= limit;
  }
}

const upward = (op: Comparator): boolean => op === '>' || op === '>=';

function maxSeverity(a: Severity | null, b: Severity | null): Severity | null {
  if (a === null) return b;
  if (b === null) return a;
  return severityRank(a) >= severityRank(b) ? a : b;
}

function limitVerdict(limit: Limit, v: number): { severity: Severity | null; clear: boolean; badness: number } {
  let severity: Severity | null = null;
  for (const t of limit.tiers) if (compare(v, limit.comparator, t.value)) severity = maxSeverity(severity, t.severity);
  if (severity !== null) {
    // Relative distance past the least severe tier, in the breach direction.
    const base = (limit.tiers[0] as { value: number }).value;
    const past = upward(limit.comparator) ? v - base : base - v;
    return { severity, clear: false, badness: 1 + past / Math.max(1, Math.abs(base)) };
  }
  // Hysteresis: back in range only past the clear threshold, in the safe direction.
  const clear = limit.clearAt === undefined ? true : upward(limit.comparator) ? v < limit.clearAt : v > limit.clearAt;
  return { severity: null, clear, badness: 0 };
}

/** History of one patient, ascending by measurement time. */
export type History = readonly Observation[];

/** First index whose measurement time is ≥ atMs (or > atMs when `after`), by binary search. */
function boundary(history: History, atMs: number, after: boolean): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = (history[mid] as Observation).measuredAtMs;
    if (t < atMs || (after && t === atMs)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The readings measured in [fromMs, toMs]. Histories of busy patients (a CGM every 5 minutes, a
 * hub's backlog) hold thousands of readings, and every reading asks for its windows: a binary
 * search keeps that logarithmic instead of a scan of the whole history per reading.
 */
function within(history: History, fromMs: number, toMs: number): History {
  return history.slice(boundary(history, fromMs, false), boundary(history, toMs, true));
}

/** Readings in [fromMs, toMs] that carry the value a rule on (kind, component) reads. */
function ofKind(history: History, kind: ReadingKind, fromMs: number, toMs: number, component: ComponentName): Observation[] {
  return within(history, fromMs, toMs).filter((o) => measureOf(kind, component, o) !== undefined);
}

export function thresholdVerdict(rule: ThresholdRule, o: Observation): Verdict | null {
  let severity: Severity | null = null;
  let clear = true;
  let value: number | null = null;
  let badness = 0;
  const breached: ComponentName[] = [];
  let seen = false;
  for (const limit of rule.limits) {
    const v = measureOf(rule.kind, limit.component, o);
    if (v === undefined) continue;
    seen = true;
    const r = limitVerdict(limit, v);
    if (r.severity !== null) {
      if (severity === null || severityRank(r.severity) > severityRank(severity) || (r.severity === severity && r.badness > badness)) value = v;
      const c = sourceComponent(rule.kind, limit.component, o);
      if (!breached.includes(c)) breached.push(c);
      badness = Math.max(badness, r.badness);
    }
    severity = maxSeverity(severity, r.severity);
    clear &&= r.clear;
  }
  if (!seen) return null;
  const first = rule.limits[0]?.component ?? 'value';
  return verdict(o, severity, severity === null && clear, value ?? measureOf(rule.kind, first, o) ?? null, { type: 'reading', kind: o.kind, values: o.values, breached }, badness);
}

export function durationVerdict(rule: DurationRule, o: Observation, history: History): Verdict | null {
  const current = measureOf(rule.kind, rule.component, o);
  if (current === undefined) return null;
  const window = ofKind(history, rule.kind, o.measuredAtMs - rule.withinHours * 3_600_000, o.measuredAtMs, rule.component).filter((h) => measureOf(rule.kind, rule.component, h) !== undefined);
  const lastM = window.slice(-rule.m);
  const breaches = lastM.filter((h) => compare(measureOf(rule.kind, rule.component, h) as number, rule.comparator, rule.value)).length;
  const breach = breaches >= rule.n;
  const finding: Finding = { type: 'count', kind: rule.kind, component: rule.component, breaches, of: lastM.length, comparator: rule.comparator, limit: rule.value, withinHours: rule.withinHours };
  return verdict(o, breach ? rule.severity : null, !breach, current, finding, breaches);
}

export function trendVerdict(rule: TrendRule, o: Observation, history: History): Verdict | null {
  const v = measureOf(rule.kind, rule.component, o);
  if (v === undefined) return null;
  const valueOf = (h: Observation): number | undefined => measureOf(rule.kind, rule.component, h);
  let best: Observation | undefined;
  if (rule.reference === 'extreme') {
    // The lowest (for a rise) or highest (for a fall) earlier reading anywhere in the window.
    const rise = upward(rule.comparator) ? rule.delta >= 0 : rule.delta > 0;
    const from = o.measuredAtMs - (rule.windowHours + rule.graceHours) * 3_600_000;
    for (const c of ofKind(history, rule.kind, from, o.measuredAtMs, rule.component)) {
      const cv = valueOf(c);
      if (cv === undefined || c.measuredAtMs >= o.measuredAtMs) continue;
      const bv = best === undefined ? undefined : valueOf(best);
      if (bv === undefined || (rise ? cv < bv : cv > bv)) best = c;
    }
  } else {
    const target = o.measuredAtMs - rule.windowHours * 3_600_000;
    const earliest = o.measuredAtMs - rule.windowHours * (1 + rule.slack) * 3_600_000;
    const latest = o.measuredAtMs - rule.windowHours * (1 - rule.slack) * 3_600_000;
    // Only earlier readings: with slack 1 the window reaches the reading itself.
    for (const c of ofKind(history, rule.kind, earliest, latest, rule.component)) {
      if (valueOf(c) === undefined || c.measuredAtMs >= o.measuredAtMs) continue;
      if (best === undefined || Math.abs(c.measuredAtMs - target) < Math.abs(best.measuredAtMs - target)) best = c;
    }
  }
  if (best === undefined) return null;
  const from = valueOf(best) as number;
  const delta = Math.round((v - from) * 10_000) / 10_000;
  const breach = compare(delta, rule.comparator, rule.delta);
  const finding: Finding = {
    type: 'change',
    kind: rule.kind,
    component: rule.component,
    delta,
    from,
    fromAtMs: best.measuredAtMs,
    to: v,
    windowHours: (o.measuredAtMs - best.measuredAtMs) / 3_600_000,
  };
  return verdict(o, breach ? rule.severity : null, !breach, Math.round(delta * 1000) / 1000, finding, Math.abs(delta - rule.delta));
}

/** The patient's local calendar day of an observation (from the offset its device reported). */
function localDay(o: Observation): number {
  return Math.floor((o.measuredAtMs + (o.utcOffsetMinutes ?? 0) * 60_000) / 86_400_000);
}

export function rollingMeanVerdict(rule: RollingMeanRule, o: Observation, history: History): Verdict | null {
  const window = within(history, o.measuredAtMs - rule.windowDays * 86_400_000 + 1, o.measuredAtMs).filter((w) => w.kind === rule.kind);
  if (window.length < rule.minReadings) return null;
  const days = new Set(window.map(localDay));
  // A mean needs readings spread over several days: a burst on one day is one day, not a week.
  if (days.size < rule.minDays) return null;
  let breach = false;
  let badness = 0;
  const means: Partial<Record<ComponentName, number>> = {};
  const breached: ComponentName[] = [];
  let first: number | null = null;
  for (const l of rule.limits) {
    // Each local day's readings are averaged first; then every day weighs the same.
    const perDay = new Map<number, { sum: number; n: number }>();
    for (const w of window) {
      const x = w.values[l.component];
      if (x === undefined) continue;
      const d = localDay(w);
      const acc = perDay.get(d) ?? { sum: 0, n: 0 };
      acc.sum += x;
      acc.n += 1;
      perDay.set(d, acc);
    }
    if (perDay.size < rule.minDays) continue;
    let total = 0;
    for (const { sum, n } of perDay.values()) total += sum / n;
    const mean = Math.round((total / perDay.size) * 10) / 10;
    means[l.component] = mean;
    first ??= mean;
    if (compare(mean, l.comparator, l.value)) {
      breach = true;
      breached.push(l.component);
      badness = Math.max(badness, 1 + Math.abs(mean - l.value) / Math.max(1, Math.abs(l.value)));
    }
  }
  if (first === null) return null;
  const finding: Finding = { type: 'mean', kind: rule.kind, means, breached, days: days.size, readings: window.length, windowDays: rule.windowDays };
  return verdict(o, breach ? rule.severity : null, !breach, first, finding, badness);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function baselineVerdict(rule: BaselineRule, o: Observation, history: History): Verdict | null {
  const v = measureOf(rule.kind, rule.component, o);
  if (v === undefined) return null;
  const base = ofKind(history, rule.kind, o.measuredAtMs - rule.baselineFromDays * 86_400_000, o.measuredAtMs - rule.baselineToDays * 86_400_000, rule.component)
    .map((h) => measureOf(rule.kind, rule.component, h))
    .filter((x): x is number => x !== undefined);
  if (base.length < rule.minBaselineReadings) return null;
  const baseline = median(base);
  const deviation = v - baseline;
  const breach = compare(deviation, rule.comparator, rule.delta);
  const finding: Finding = { type: 'baseline', kind: rule.kind, component: rule.component, value: v, baseline, baselineReadings: base.length };
  return verdict(o, breach ? rule.severity : null, !breach, Math.round(deviation * 100) / 100, finding, Math.abs(deviation));
}

const NEWS2_KINDS: ReadonlySet<ReadingKind> = new Set(['respiratory-rate', 'spo2', 'blood-pressure', 'heart-rate', 'body-temperature', 'consciousness', 'supplemental-oxygen']);

/**
 * Latest value of each NEWS2 parameter within the window ending at `atMs`. Consciousness (ACVPU)
 * and air-or-oxygen come from what staff record (no home device measures them).
 */
export function news2At(rule: Pick<News2Rule, 'windowMinutes' | 'spo2Scale'>, atMs: number, history: History): News2Result {
  const from = atMs - rule.windowMinutes * 60_000;
  let rr: number | undefined;
  let spo2: number | undefined;
  let sbp: number | undefined;
  let pulse: number | undefined;
  let temp: number | undefined;
  let consciousness: Consciousness | undefined;
  let onOxygen: boolean | undefined;
  for (const h of within(history, from, atMs)) {
    switch (h.kind) {
      case 'respiratory-rate':
        rr = h.values.value ?? rr;
        break;
      case 'spo2':
        spo2 = h.values.value ?? spo2;
        pulse = h.values.pulse ?? pulse;
        break;
      case 'blood-pressure':
        sbp = h.values.systolic ?? sbp;
        pulse = h.values.pulse ?? pulse;
        break;
      case 'heart-rate':
        pulse = h.values.value ?? pulse;
        break;
      case 'body-temperature':
        temp = h.values.value ?? temp;
        break;
      case 'consciousness':
        if (h.values.value !== undefined) consciousness = ACVPU_LEVELS[Math.round(h.values.value)] ?? consciousness;
        break;
      case 'supplemental-oxygen':
        if (h.values.value !== undefined) onOxygen = h.values.value > 0;
        break;
      default:
        break;
    }
  }
  return news2(
    {
      ...(rr === undefined ? {} : { respiratoryRate: rr }),
      ...(spo2 === undefined ? {} : { spo2 }),
      ...(sbp === undefined ? {} : { systolic: sbp }),
      ...(pulse === undefined ? {} : { pulse }),
      ...(temp === undefined ? {} : { temperature: temp }),
      ...(consciousness === undefined ? {} : { consciousness }),
      ...(onOxygen === undefined ? {} : { onOxygen }),
    },
    rule.spo2Scale,
  );
}

export function news2Verdict(rule: News2Rule, o: Observation, history: History): Verdict | null {
  if (!NEWS2_KINDS.has(o.kind)) return null;
  const result = news2At(rule, o.measuredAtMs, history);
  if (result.status === 'incomplete') return null;
  let severity: Severity | null = null;
  for (const t of rule.tiers) if (result.total >= t.total) severity = maxSeverity(severity, t.severity);
  if (result.anyThree && rule.singleParameterThreeSeverity !== undefined) severity = maxSeverity(severity, rule.singleParameterThreeSeverity);
  return verdict(o, severity, severity === null, result.total, { type: 'news2', total: result.total, risk: result.risk, scores: { ...result.scores } }, result.total);
}

/** Whether a reading of this kind can change the rule's verdict. */
export function ruleWatches(rule: RuleDefinition, kind: ReadingKind): boolean {
  if (rule.type === 'news2') return NEWS2_KINDS.has(kind);
  if (rule.kind === kind) return true;
  // The pulse of a BP cuff or an oximeter reaches heart-rate rules.
  return rule.kind === 'heart-rate' && rule.type !== 'missing' && (kind === 'blood-pressure' || kind === 'spo2');
}

/** The verdict of a reading-driven rule at observation `o`, given history up to and including it. */
export function verdictAt(rule: RuleDefinition, o: Observation, history: History): Verdict | null {
  switch (rule.type) {
    case 'threshold':
      return thresholdVerdict(rule, o);
    case 'n-of-m':
      return durationVerdict(rule, o, history);
    case 'change':
      return trendVerdict(rule, o, history);
    case 'rolling-mean':
      return rollingMeanVerdict(rule, o, history);
    case 'baseline':
      return baselineVerdict(rule, o, history);
    case 'news2':
      return news2Verdict(rule, o, history);
    case 'missing':
      // A reading of the watched kind ends a missing-data condition.
      return o.kind === rule.kind ? verdict(o, null, true, null, { type: 'received', kind: rule.kind }, 0) : null;
  }
}

/** A missing-data verdict on the clock: no reading of the kind since `lastAtMs`. */
export function missingVerdict(kind: ReadingKind, hours: number, severity: Severity | null, atMs: number, lastAtMs: number | null): Verdict {
  const finding: Finding = severity === null ? { type: 'received', kind } : { type: 'missing', kind, lastAtMs, hours };
  const o: Observation = { id: '', kind, measuredAtMs: atMs, values: {} };
  return verdict(o, severity, severity === null, null, finding, lastAtMs === null ? 0 : (atMs - lastAtMs) / 3_600_000);
}
