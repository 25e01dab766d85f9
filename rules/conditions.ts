import { type RuleDefinition, type Severity, severityRank } from './model.js';
import type { Verdict } from './verdicts.js';

/**
 * The state of one rule for one patient (a "condition"). Persisted with the alerts, so it
 * survives restarts; evaluation is a pure function of (state, verdicts).
 */
export interface ConditionState {
  readonly open: boolean;
  readonly severity: Severity | null;
  /** Measurement time of the breach that opened the current (or last) episode. */
  readonly openedAtMs: number | null;
  /** Measurement time of the latest verdict applied; older (late) verdicts cannot change the state. */
  readonly lastEvaluatedAtMs: number | null;
  readonly lastBreachAtMs: number | null;
  readonly lastReadingId: string | null;
  readonly lastValue: number | null;
  readonly detail: string | null;
  /** Confirmation rules: the first breach waits for a repeat measurement. */
  readonly confirmation: 'pending' | 'confirmed' | null;
  readonly pendingSinceMs: number | null;
  /** Measurement times of recent open/clear transitions, for flapping detection. */
  readonly transitions: readonly number[];
  readonly flapping: boolean;
}

export const EMPTY_CONDITION: ConditionState = {
  open: false,
  severity: null,
  openedAtMs: null,
  lastEvaluatedAtMs: null,
  lastBreachAtMs: null,
  lastReadingId: null,
  lastValue: null,
  detail: null,
  confirmation: null,
  pendingSinceMs: null,
  transitions: [],
  flapping: false,
};

/** Flapping: this many open/clear transitions within the window (RCP-style noise guard). */
export const FLAP_TRANSITIONS = 4;
export const FLAP_WINDOW_MS = 6 * 3_600_000;

/**
 * What one evaluation did to a condition, collapsed to at most one change per batch, so a
 * backfilled day of readings raises at most one alert per condition:
 * - opened: closed before, open now (stamped with the breach that opened the episode);
 * - updated: open before and after, with a different severity, confirmation, flapping or episode
 *   (`newEpisode`: it cleared and opened again inside the batch);
 * - cleared: open before, back in range now;
 * - transient: closed before and after, but breached in between (a backfilled episode).
 */
export type ConditionChange =
  | { readonly type: 'opened' | 'cleared'; readonly state: ConditionState }
  | { readonly type: 'updated'; readonly state: ConditionState; readonly escalated: boolean; readonly newEpisode: boolean }
  | { readonly type: 'transient'; readonly state: ConditionState; readonly episode: { readonly openedAtMs: number; readonly severity: Severity; readonly readingId: string; readonly value: number | null; readonly detail: string } };

function step(rule: RuleDefinition, s: ConditionState, v: Verdict): ConditionState {
  const transitions = s.transitions.filter((t) => t > v.atMs - FLAP_WINDOW_MS);
  let next: ConditionState = { ...s, lastEvaluatedAtMs: v.atMs };
  if (v.severity !== null) {
    const confirm = rule.type === 'threshold' ? rule.confirmation : undefined;
    if (!s.open) {
      transitions.push(v.atMs);
      next = {
        ...next,
        open: true,
        openedAtMs: v.atMs,
        severity: confirm === undefined ? v.severity : lower(confirm.initialSeverity, v.severity),
        confirmation: confirm === undefined ? null : 'pending',
        pendingSinceMs: confirm === undefined ? null : v.atMs,
      };
    } else if (confirm !== undefined && s.confirmation === 'pending' && s.pendingSinceMs !== null) {
      if (v.atMs - s.pendingSinceMs <= confirm.withinMinutes * 60_000) {
        next = { ...next, severity: v.severity, confirmation: 'confirmed', pendingSinceMs: null };
      } else {
        // The repeat came too late to confirm: it starts a new wait for confirmation.
        next = { ...next, pendingSinceMs: v.atMs };
      }
    } else if (s.confirmation !== 'confirmed' || confirm === undefined) {
      next = { ...next, severity: v.severity };
    } else {
      next = { ...next, severity: higher(s.severity, v.severity) };
    }
    next = { ...next, lastBreachAtMs: v.atMs, lastReadingId: v.readingId, lastValue: v.value, detail: v.detail };
  } else if (v.clear && s.open) {
    transitions.push(v.atMs);
    next = { ...next, open: false, confirmation: null, pendingSinceMs: null, lastReadingId: v.readingId, lastValue: v.value, detail: v.detail };
  }
  // A repeat that is neither breaching nor clear leaves a pending confirmation as it is.
  return { ...next, transitions, flapping: transitions.length >= FLAP_TRANSITIONS };
}

function lower(a: Severity, b: Severity): Severity {
  return severityRank(a) <= severityRank(b) ? a : b;
}
function higher(a: Severity | null, b: Severity): Severity {
  return a === null || severityRank(b) > severityRank(a) ? b : a;
}

/**
 * Apply verdicts (any order; they are sorted by measurement time) to a condition. Verdicts older
 * than the last one applied are stale: a late reading never reopens, clears or re-raises an
 * alert that newer readings have already decided.
 */
export function evaluateCondition(rule: RuleDefinition, start: ConditionState, verdicts: readonly Verdict[]): { state: ConditionState; change: ConditionChange | null } {
  const sorted = [...verdicts].sort((a, b) => a.atMs - b.atMs);
  let s = start;
  let worst: { openedAtMs: number; severity: Severity; readingId: string; value: number | null; detail: string } | null = null;
  for (const v of sorted) {
    if (s.lastEvaluatedAtMs !== null && v.atMs < s.lastEvaluatedAtMs) continue;
    s = step(rule, s, v);
    if (s.open && s.severity !== null && (worst === null || severityRank(s.severity) > severityRank(worst.severity))) {
      worst = { openedAtMs: s.openedAtMs ?? v.atMs, severity: s.severity, readingId: v.readingId, value: v.value, detail: v.detail };
    }
  }
  if (!start.open && s.open) return { state: s, change: { type: 'opened', state: s } };
  if (start.open && !s.open) return { state: s, change: { type: 'cleared', state: s } };
  if (start.open && s.open) {
    const changed = start.severity !== s.severity || start.confirmation !== s.confirmation || start.openedAtMs !== s.openedAtMs || start.flapping !== s.flapping;
    const escalated = s.severity !== null && (start.severity === null || severityRank(s.severity) > severityRank(start.severity));
    return { state: s, change: changed ? { type: 'updated', state: s, escalated, newEpisode: start.openedAtMs !== s.openedAtMs } : null };
  }
  if (worst !== null) return { state: s, change: { type: 'transient', state: s, episode: worst } };
  return { state: s, change: null };
}
