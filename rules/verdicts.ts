import type { ComponentName, ReadingKind } from '../core/model/reading-kinds.js';
import type { BaselineRule, Comparator, DurationRule, Limit, News2Rule, RollingMeanRule, RuleDefinition, Severity, ThresholdRule, TrendRule } from './model.js';
import { severityRank } from './model.js';
import { news2, type News2Result } from './news2.js';

/** The part of a reading the rules look at. Values are in canonical units. */
export interface Observation {
  readonly id: string;
  readonly kind: ReadingKind;
  readonly measuredAtMs: number;
  readonly values: Readonly<Partial<Record<ComponentName, number>>>;
}

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
  readonly detail: string;
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

function limitVerdict(limit: Limit, v: number): { severity: Severity | null; clear: boolean } {
  let severity: Severity | null = null;
  for (const t of limit.tiers) if (compare(v, limit.comparator, t.value)) severity = maxSeverity(severity, t.severity);
  if (severity !== null) return { severity, clear: false };
  // Hysteresis: back in range only past the clear threshold, in the safe direction.
  const clear = limit.clearAt === undefined ? true : upward(limit.comparator) ? v < limit.clearAt : v > limit.clearAt;
  return { severity: null, clear };
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

function ofKind(history: History, kind: ReadingKind, fromMs: number, toMs: number): Observation[] {
  return within(history, fromMs, toMs).filter((o) => o.kind === kind);
}

const fmt = (v: number): string => String(Math.round(v * 100) / 100);

export function thresholdVerdict(rule: ThresholdRule, o: Observation): Verdict | null {
  let severity: Severity | null = null;
  let clear = true;
  let value: number | null = null;
  const parts: string[] = [];
  let seen = false;
  for (const limit of rule.limits) {
    const v = o.values[limit.component];
    if (v === undefined) continue;
    seen = true;
    const r = limitVerdict(limit, v);
    if (r.severity !== null && (severity === null || severityRank(r.severity) > severityRank(severity))) value = v;
    severity = maxSeverity(severity, r.severity);
    clear &&= r.clear;
    // Two limits on one component (heart rate low and high) name it once: "value 117".
    const part = `${limit.component} ${fmt(v)}`;
    if (!parts.includes(part)) parts.push(part);
  }
  if (!seen) return null;
  return { atMs: o.measuredAtMs, readingId: o.id, severity, clear: severity === null && clear, value: value ?? o.values[rule.limits[0]?.component ?? 'value'] ?? null, detail: parts.join(', ') };
}

export function durationVerdict(rule: DurationRule, o: Observation, history: History): Verdict | null {
  if (o.values[rule.component] === undefined) return null;
  const window = ofKind(history, rule.kind, o.measuredAtMs - rule.withinHours * 3_600_000, o.measuredAtMs).filter((h) => h.values[rule.component] !== undefined);
  const lastM = window.slice(-rule.m);
  const breaches = lastM.filter((h) => compare(h.values[rule.component] as number, rule.comparator, rule.value)).length;
  const breach = breaches >= rule.n;
  return {
    atMs: o.measuredAtMs,
    readingId: o.id,
    severity: breach ? rule.severity : null,
    clear: !breach,
    value: o.values[rule.component] ?? null,
    detail: `${breaches} of the last ${lastM.length} ${rule.component} readings ${rule.comparator} ${rule.value}`,
  };
}

export function trendVerdict(rule: TrendRule, o: Observation, history: History): Verdict | null {
  const v = o.values[rule.component];
  if (v === undefined) return null;
  const target = o.measuredAtMs - rule.windowHours * 3_600_000;
  const earliest = o.measuredAtMs - rule.windowHours * (1 + rule.slack) * 3_600_000;
  const latest = o.measuredAtMs - rule.windowHours * (1 - rule.slack) * 3_600_000;
  // Only earlier readings: with slack 1 the window reaches the reading itself.
  const candidates = ofKind(history, rule.kind, earliest, latest).filter((h) => h.values[rule.component] !== undefined && h.measuredAtMs < o.measuredAtMs);
  if (candidates.length === 0) return null;
  let best = candidates[0] as Observation;
  for (const c of candidates) if (Math.abs(c.measuredAtMs - target) < Math.abs(best.measuredAtMs - target)) best = c;
  const delta = v - (best.values[rule.component] as number);
  const breach = compare(delta, rule.comparator, rule.delta);
  return {
    atMs: o.measuredAtMs,
    readingId: o.id,
    severity: breach ? rule.severity : null,
    clear: !breach,
    value: Math.round(delta * 1000) / 1000,
    detail: `${rule.component} changed by ${fmt(delta)} over ${fmt((o.measuredAtMs - best.measuredAtMs) / 3_600_000)} h`,
  };
}

export function rollingMeanVerdict(rule: RollingMeanRule, o: Observation, history: History): Verdict | null {
  const window = ofKind(history, rule.kind, o.measuredAtMs - rule.windowDays * 86_400_000 + 1, o.measuredAtMs);
  if (window.length < rule.minReadings) return null;
  let breach = false;
  const parts: string[] = [];
  let first: number | null = null;
  for (const l of rule.limits) {
    const vals = window.map((w) => w.values[l.component]).filter((x): x is number => x !== undefined);
    if (vals.length < rule.minReadings) continue;
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    first ??= mean;
    if (compare(mean, l.comparator, l.value)) breach = true;
    parts.push(`${l.component} mean ${fmt(mean)}`);
  }
  if (parts.length === 0) return null;
  return {
    atMs: o.measuredAtMs,
    readingId: o.id,
    severity: breach ? rule.severity : null,
    clear: !breach,
    value: first === null ? null : Math.round(first * 10) / 10,
    detail: `${parts.join(', ')} over ${rule.windowDays} days (${window.length} readings)`,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function baselineVerdict(rule: BaselineRule, o: Observation, history: History): Verdict | null {
  const v = o.values[rule.component];
  if (v === undefined) return null;
  const base = ofKind(history, rule.kind, o.measuredAtMs - rule.baselineFromDays * 86_400_000, o.measuredAtMs - rule.baselineToDays * 86_400_000)
    .map((h) => h.values[rule.component])
    .filter((x): x is number => x !== undefined);
  if (base.length < rule.minBaselineReadings) return null;
  const baseline = median(base);
  const deviation = v - baseline;
  const breach = compare(deviation, rule.comparator, rule.delta);
  return {
    atMs: o.measuredAtMs,
    readingId: o.id,
    severity: breach ? rule.severity : null,
    clear: !breach,
    value: Math.round(deviation * 100) / 100,
    detail: `${rule.component} ${fmt(v)} vs baseline ${fmt(baseline)} (${base.length} readings)`,
  };
}

const NEWS2_KINDS: ReadonlySet<ReadingKind> = new Set(['respiratory-rate', 'spo2', 'blood-pressure', 'heart-rate', 'body-temperature']);

/** Latest value of each NEWS2 parameter within the window ending at `atMs`. */
export function news2At(rule: Pick<News2Rule, 'windowMinutes' | 'spo2Scale'>, atMs: number, history: History): News2Result {
  const from = atMs - rule.windowMinutes * 60_000;
  let rr: number | undefined;
  let spo2: number | undefined;
  let sbp: number | undefined;
  let pulse: number | undefined;
  let temp: number | undefined;
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
      default:
        break;
    }
  }
  // Consciousness (ACVPU) and air-or-oxygen are not measured by home devices, so they stay
  // missing until a source for them exists; NEWS2 is then reported as incomplete.
  return news2(
    {
      ...(rr === undefined ? {} : { respiratoryRate: rr }),
      ...(spo2 === undefined ? {} : { spo2 }),
      ...(sbp === undefined ? {} : { systolic: sbp }),
      ...(pulse === undefined ? {} : { pulse }),
      ...(temp === undefined ? {} : { temperature: temp }),
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
  return { atMs: o.measuredAtMs, readingId: o.id, severity, clear: severity === null, value: result.total, detail: `NEWS2 ${result.total} (${result.risk})` };
}

/** Whether a reading of this kind can change the rule's verdict. */
export function ruleWatches(rule: RuleDefinition, kind: ReadingKind): boolean {
  return rule.type === 'news2' ? NEWS2_KINDS.has(kind) : rule.kind === kind;
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
      return { atMs: o.measuredAtMs, readingId: o.id, severity: null, clear: true, value: null, detail: `${rule.kind} received` };
  }
}
