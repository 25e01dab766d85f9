import { type ComponentName, READING_KINDS, type ReadingKind } from '../core/model/reading-kinds.js';
import type { Reading } from '../core/model/reading.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import { lookbackMs } from '../rules/care-plan.js';
import type { RuleDefinition } from '../rules/model.js';
import { type History, type Observation, ruleWatches } from '../rules/verdicts.js';

/** One shared string per kind: a kind read back from the store is a new string per row otherwise. */
const KIND_NAMES: ReadonlyMap<string, ReadingKind> = new Map(READING_KINDS.map((k) => [k, k]));
import { heldFromRules } from './held-readings.js';

export function toObservation(r: Reading): Observation {
  const values: Partial<Record<ComponentName, number>> = {};
  for (const c of r.components) values[c.name] = c.value;
  return { id: r.id, kind: KIND_NAMES.get(r.kind) ?? r.kind, measuredAtMs: r.measuredAtMs, values, utcOffsetMinutes: r.utcOffsetMinutes, receivedAtMs: r.receivedAtMs };
}

/**
 * How far back each kind's history must reach for a care plan: for every kind, the longest window
 * among the rules that watch it. A CGM patient then keeps the hours of glucose its rules look at,
 * not the 14 days an SpO2 baseline needs. This relies on one property of the rules, checked by
 * patient-history.test.ts for every shipped rule: a rule reads history only of the kinds it
 * watches (`ruleWatches`), and only within `lookbackMs` of the reading it judges.
 */
export type KindLookback = ReadonlyMap<ReadingKind, number>;

export function kindLookback(rules: readonly RuleDefinition[]): KindLookback {
  const out = new Map<ReadingKind, number>();
  for (const kind of READING_KINDS) {
    for (const rule of rules) {
      if (ruleWatches(rule, kind)) out.set(kind, Math.max(out.get(kind) ?? 0, lookbackMs([rule])));
    }
  }
  return out;
}

/** How much history the rules engine keeps in memory (RPM_RULES_HISTORY_PER_KIND, RPM_RULES_HISTORY_TOTAL). */
export interface HistoryBudget {
  /**
   * Observations kept per patient and kind: the newest. A window holding more readings of one kind
   * than this (a continuous monitor's 14-day SpO2 baseline) is judged on its newest ones only.
   */
  readonly perKind: number;
  /** Observations kept across all patients; the patients evaluated least recently are dropped first. */
  readonly total: number;
}

export const DEFAULT_HISTORY_BUDGET: HistoryBudget = { perKind: 2000, total: 200_000 };

/**
 * Kept behind the newest evaluated reading beyond each kind's look-back, so a late reading (a hub
 * uploading its backlog) rarely makes the kind reload: as much again as the look-back, between an
 * hour and a day. A NEWS2 kind (60-min window) keeps 2 h, an SpO2 baseline (14 days) 15 days.
 */
const lateMarginMs = (lookbackMs: number): number => Math.min(86_400_000, Math.max(3_600_000, lookbackMs));
/** Evicted patients whose history size is remembered (a number each), for loadCost. */
const MAX_EVICTED_SIZES = 100_000;
/** Aged-out observations are dropped at most once per this much measurement time per patient. */
const TRIM_EVERY_MS = 15 * 60_000;

interface Entry {
  /** Every kept observation of the patient, ascending by measurement time. */
  observations: Observation[];
  /**
   * Per kind: every reading of the kind measured at or after this instant (committed up to the
   * log position of the load, plus those added since) is in `observations`. Kinds absent are not
   * loaded.
   */
  readonly coverage: Map<ReadingKind, number>;
  readonly counts: Map<ReadingKind, number>;
  /** Kinds whose window held more than `perKind` readings: only the newest are kept. */
  readonly capped: Set<ReadingKind>;
  /** The look-back of the last evaluation (a saved care plan changes it). */
  lookback: KindLookback | null;
  /** The newest reading time at the last pass over the list that dropped aged-out observations. */
  trimmedAtMs: number;
}

/**
 * Recent observations per patient for window rules (trends, means, baselines, NEWS2). A cache over
 * the reading store, which stays the source of truth: what is missing is loaded per kind, newest
 * first and at most `perKind` rows, so a restart loses nothing and no query asks for more than a
 * kind may keep. Bounded three ways: per kind by the look-back of the rules watching it, per
 * patient and kind by count, and in total by count with least-recently-used eviction.
 */
export class PatientHistory {
  private readonly entries = new Map<string, Entry>();
  /** How many observations evicted patients held: what loading them again will cost (bounded). */
  private readonly evictedSizes = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly readings: ReadingStore,
    private readonly budget: HistoryBudget = DEFAULT_HISTORY_BUDGET,
  ) {}

  /** Observations cached across all patients (metrics, tests). */
  get size(): number {
    return this.total;
  }

  /** Patients cached. */
  get patients(): number {
    return this.entries.size;
  }

  /** Whether the patient's history is cached (its next evaluation needs no full load). */
  has(patientId: string): boolean {
    return this.entries.has(patientId);
  }

  /**
   * Rows the next evaluation of the patient is expected to load from the store: 0 when cached,
   * what it held when it was evicted, or one full kind when it was never seen.
   */
  loadCost(patientId: string): number {
    if (this.entries.has(patientId)) return 0;
    return this.evictedSizes.get(patientId) ?? this.budget.perKind;
  }

  /**
   * History covering, for every kind in `lookback`, at least [atMs − look-back of the kind, now]:
   * readings up to log position `maxSeq` (those already evaluated, or being evaluated now) plus
   * `fresh`, never readings committed after the batch. Kinds no rule watches are left out.
   */
  async get(patientId: string, atMs: number, lookback: KindLookback, fresh: readonly Reading[], maxSeq: number): Promise<History> {
    let entry = this.entries.get(patientId);
    if (entry === undefined) {
      entry = { observations: [], coverage: new Map(), counts: new Map(), capped: new Set(), lookback: null, trimmedAtMs: Number.NEGATIVE_INFINITY };
    } else {
      this.entries.delete(patientId);
    }
    this.evictedSizes.delete(patientId);
    // Most recently used last; eviction takes from the front.
    this.entries.set(patientId, entry);
    const before = entry.observations.length;
    for (const [kind, back] of lookback) {
      const need = atMs - back;
      const covered = entry.coverage.get(kind);
      // A capped kind already holds the newest readings its budget allows; loading again would
      // answer the same rows.
      if (covered !== undefined && (covered <= need || entry.capped.has(kind))) continue;
      await this.load(patientId, entry, kind, need, maxSeq);
    }
    for (const r of fresh) {
      const kind = r.kind;
      const covered = entry.coverage.get(kind);
      if (covered === undefined || r.measuredAtMs < covered || heldFromRules(r)) continue;
      if (contains(entry.observations, r.measuredAtMs, r.id)) continue;
      insertInOrder(entry.observations, toObservation(r));
      const n = (entry.counts.get(kind) ?? 0) + 1;
      entry.counts.set(kind, n);
      if (n > this.budget.perKind) this.dropOldest(entry, kind);
    }
    this.total += entry.observations.length - before;
    this.evict(patientId);
    return entry.observations;
  }

  /**
   * Drop what no rule will look at again: per kind, what is older than its look-back (and a margin
   * for late readings) behind `newestMs`, the newest reading evaluated; and kinds no longer watched.
   */
  trim(patientId: string, lookback: KindLookback, newestMs: number): void {
    const entry = this.entries.get(patientId);
    if (entry === undefined) return;
    const planChanged = entry.lookback !== null && entry.lookback !== lookback;
    entry.lookback = lookback;
    // A pass over the list at most once per TRIM_EVERY_MS of measurement time (the margin absorbs
    // the delay), not on every evaluation.
    if (!planChanged && newestMs - entry.trimmedAtMs < TRIM_EVERY_MS) return;
    entry.trimmedAtMs = newestMs;
    const keepFrom = new Map<ReadingKind, number>();
    for (const [kind, back] of lookback) keepFrom.set(kind, newestMs - back - lateMarginMs(back));
    const before = entry.observations.length;
    entry.observations = entry.observations.filter((o) => {
      const from = keepFrom.get(o.kind);
      return from !== undefined && o.measuredAtMs >= from;
    });
    entry.counts.clear();
    for (const o of entry.observations) entry.counts.set(o.kind, (entry.counts.get(o.kind) ?? 0) + 1);
    for (const kind of [...entry.coverage.keys()]) {
      const from = keepFrom.get(kind);
      const covered = entry.coverage.get(kind) as number;
      if (from === undefined) {
        entry.coverage.delete(kind);
        entry.capped.delete(kind);
      } else if (from > covered) {
        // Everything from `from` on is still here; a capped kind that lost its older half is complete again.
        entry.coverage.set(kind, from);
        entry.capped.delete(kind);
      }
    }
    this.total -= before - entry.observations.length;
  }

  private async load(patientId: string, entry: Entry, kind: ReadingKind, fromMs: number, maxSeq: number): Promise<void> {
    const limit = this.budget.perKind;
    const rows = await this.readings.queryReadings({ patientId, kinds: [kind], fromMs, maxSeq, limit, newestFirst: true });
    const loaded: Observation[] = [];
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i] as Reading;
      // Held readings (user unconfirmed or rejected) never enter a history.
      if (!heldFromRules(r)) loaded.push(toObservation(r));
    }
    // Observations of the kind added since an earlier load are committed, so the store has them too
    // (up to maxSeq): the load replaces the kind's list.
    const others = entry.observations.filter((o) => o.kind !== kind);
    entry.observations = merge(others, loaded);
    entry.counts.set(kind, loaded.length);
    if (rows.length >= limit) {
      // More of the window may be in the store than fits: keep the newest, say from when.
      entry.capped.add(kind);
      entry.coverage.set(kind, (loaded[0] as Observation).measuredAtMs + 1);
    } else {
      entry.capped.delete(kind);
      entry.coverage.set(kind, fromMs);
    }
  }

  private dropOldest(entry: Entry, kind: ReadingKind): void {
    const list = entry.observations;
    const i = list.findIndex((o) => o.kind === kind);
    if (i < 0) return;
    const dropped = list[i] as Observation;
    list.splice(i, 1);
    entry.counts.set(kind, (entry.counts.get(kind) ?? 1) - 1);
    entry.capped.add(kind);
    entry.coverage.set(kind, Math.max(entry.coverage.get(kind) ?? 0, dropped.measuredAtMs + 1));
  }

  /** Least recently used patients go first; the one being evaluated stays whatever its size. */
  private evict(current: string): void {
    for (const [patientId, entry] of this.entries) {
      if (this.total <= this.budget.total) return;
      if (patientId === current) continue;
      this.entries.delete(patientId);
      this.total -= entry.observations.length;
      this.evictedSizes.set(patientId, entry.observations.length);
      if (this.evictedSizes.size > MAX_EVICTED_SIZES) this.evictedSizes.delete(this.evictedSizes.keys().next().value as string);
    }
  }
}

/** Whether an observation with this time and id is in the (ascending) list. */
function contains(list: readonly Observation[], atMs: number, id: string): boolean {
  for (let i = lowerBound(list, atMs); i < list.length; i++) {
    const o = list[i] as Observation;
    if (o.measuredAtMs !== atMs) return false;
    if (o.id === id) return true;
  }
  return false;
}

/** First index whose measurement time is ≥ atMs. */
function lowerBound(list: readonly Observation[], atMs: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Observation).measuredAtMs < atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function merge(a: readonly Observation[], b: readonly Observation[]): Observation[] {
  const out: Observation[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    out[k++] = (a[i] as Observation).measuredAtMs <= (b[j] as Observation).measuredAtMs ? (a[i++] as Observation) : (b[j++] as Observation);
  }
  while (i < a.length) out[k++] = a[i++] as Observation;
  while (j < b.length) out[k++] = b[j++] as Observation;
  return out;
}

/**
 * Keep the history ordered by measurement time without re-sorting it: a new reading is almost
 * always the newest (appended); a late one goes after any reading of the same time.
 */
function insertInOrder(list: Observation[], o: Observation): void {
  const last = list[list.length - 1];
  if (last === undefined || last.measuredAtMs <= o.measuredAtMs) {
    list.push(o);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Observation).measuredAtMs <= o.measuredAtMs) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, o);
}
