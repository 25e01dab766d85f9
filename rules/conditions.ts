import type { ConfirmationState, Episode, EpisodePoint } from '../core/model/alert.js';
import { type RuleDefinition, type Severity, severityRank, type ThresholdRule } from './model.js';
import type { Verdict } from './verdicts.js';

/**
 * The state of one rule for one patient (a "condition"). Persisted with the alerts, so it
 * survives restarts; evaluation is a pure function of (state, verdicts, clock).
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
  /** Confirmation rules: where the first breach's wait for a repeat measurement stands. */
  readonly confirmation: ConfirmationState | null;
  /** Measurement time of the breach waiting for a repeat (pending or expired), else null. */
  readonly pendingSinceMs: number | null;
  /** Measurement times of recent open/clear transitions, for flapping detection. */
  readonly transitions: readonly number[];
  readonly flapping: boolean;
  /** The current (or last) episode's first and worst readings. */
  readonly episode: Episode | null;
  /** The episode was opened by a reading that reached us late. */
  readonly late: boolean;
}

export const EMPTY_CONDITION: ConditionState = {
  open: false,
  severity: null,
  openedAtMs: null,
  lastEvaluatedAtMs: null,
  lastBreachAtMs: null,
  lastReadingId: null,
  lastValue: null,
  confirmation: null,
  pendingSinceMs: null,
  transitions: [],
  flapping: false,
  episode: null,
  late: false,
};

/** A persisted state (JSON) as a full state: states written before a field existed get its default. */
export function conditionFromJson(raw: unknown): ConditionState {
  if (typeof raw !== 'object' || raw === null) return EMPTY_CONDITION;
  return { ...EMPTY_CONDITION, ...(raw as Partial<ConditionState>) };
}

/** Flapping: this many open/clear transitions within the window (RCP-style noise guard). */
export const FLAP_TRANSITIONS = 4;
export const FLAP_WINDOW_MS = 6 * 3_600_000;

/** An episode that opened and closed (in one batch), as the alert would tell it. */
export interface ClosedEpisode {
  readonly episode: Episode;
  readonly severity: Severity;
  readonly confirmation: ConfirmationState | null;
  readonly late: boolean;
}

/**
 * What one evaluation did to a condition, collapsed to at most one change per batch, so a
 * backfilled day of readings raises at most one alert per condition:
 * - opened: closed before, open now (stamped with the breach that opened the episode);
 * - updated: open before and after, with a different severity, confirmation, flapping, episode
 *   start (`newEpisode`: it cleared and opened again inside the batch) or worst reading;
 * - continued: open before and after and still breaching, nothing else changed (a nurse who
 *   resolved the alert meanwhile may need it back: alert-sync decides);
 * - cleared: open before, back in range now;
 * - transient: closed before and after, but breached in between (a backfilled episode).
 * `breaches` are the batch's breaching verdicts, oldest first.
 */
export type ConditionChange =
  | { readonly type: 'opened' | 'cleared'; readonly state: ConditionState; readonly breaches: readonly Verdict[] }
  | { readonly type: 'updated'; readonly state: ConditionState; readonly escalated: boolean; readonly newEpisode: boolean; readonly breaches: readonly Verdict[] }
  | { readonly type: 'continued'; readonly state: ConditionState; readonly breaches: readonly Verdict[] }
  | { readonly type: 'transient'; readonly state: ConditionState; readonly episode: ClosedEpisode; readonly breaches: readonly Verdict[] };

export function pointOf(v: Verdict): EpisodePoint {
  return { readingId: v.readingId === '' ? null : v.readingId, atMs: v.atMs, severity: v.severity, finding: v.finding, value: v.value, badness: v.badness };
}

/** Worse: a higher severity, else further past the limit. */
export function worsePoint(a: EpisodePoint, b: EpisodePoint): boolean {
  const ra = a.severity === null ? -1 : severityRank(a.severity);
  const rb = b.severity === null ? -1 : severityRank(b.severity);
  return ra > rb || (ra === rb && a.badness > b.badness);
}

function withWorst(episode: Episode | null, p: EpisodePoint): Episode {
  if (episode === null) return { first: p, worst: p };
  return worsePoint(p, episode.worst) ? { first: episode.first, worst: p } : episode;
}

function confirmationOf(rule: RuleDefinition): ThresholdRule['confirmation'] {
  return rule.type === 'threshold' ? rule.confirmation : undefined;
}

/**
 * The wait for a repeat ends when the window passes without one (measurement time, or the clock
 * for the last reading): the alert says so and the nurse calls the patient.
 */
function expire(rule: RuleDefinition, s: ConditionState, atMs: number): ConditionState {
  const confirm = confirmationOf(rule);
  if (confirm === undefined || !s.open || s.confirmation !== 'pending' || s.pendingSinceMs === null) return s;
  return atMs >= s.pendingSinceMs + confirm.withinMinutes * 60_000 ? { ...s, confirmation: 'expired' } : s;
}

function step(rule: RuleDefinition, start: ConditionState, v: Verdict): ConditionState {
  const s = expire(rule, start, v.atMs);
  const transitions = s.transitions.filter((t) => t > v.atMs - FLAP_WINDOW_MS);
  let next: ConditionState = { ...s, lastEvaluatedAtMs: v.atMs };
  const confirm = confirmationOf(rule);
  const waiting = confirm !== undefined && s.open && (s.confirmation === 'pending' || s.confirmation === 'expired') && s.pendingSinceMs !== null;
  // A repeat counts only as a distinct measurement at least `minMinutes` after the first
  // (re-measure after about 5 minutes): an immediate second press of the cuff is the same one.
  const isRepeat = waiting && confirm !== undefined && v.atMs - (s.pendingSinceMs as number) >= confirm.minMinutes * 60_000;
  if (v.severity !== null) {
    const point = pointOf(v);
    if (!s.open) {
      transitions.push(v.atMs);
      next = {
        ...next,
        open: true,
        openedAtMs: v.atMs,
        severity: confirm === undefined ? v.severity : lower(confirm.initialSeverity, v.severity),
        confirmation: confirm === undefined ? null : 'pending',
        pendingSinceMs: confirm === undefined ? null : v.atMs,
        episode: { first: point, worst: point },
        late: v.late,
      };
    } else if (waiting) {
      next = isRepeat ? { ...next, severity: v.severity, confirmation: 'confirmed', pendingSinceMs: null } : next;
      next = { ...next, episode: withWorst(s.episode, point) };
    } else if (confirm !== undefined && s.confirmation === 'confirmed') {
      next = { ...next, severity: higher(s.severity, v.severity), episode: withWorst(s.episode, point) };
    } else {
      next = { ...next, severity: v.severity, episode: withWorst(s.episode, point) };
    }
    next = { ...next, lastBreachAtMs: v.atMs, lastReadingId: v.readingId, lastValue: v.value };
  } else if (waiting) {
    if (isRepeat && confirm !== undefined) {
      // A repeat below the limit: not confirmed. One measured after the window passed is not the
      // repeat that was asked for (it stays expired); one measured within it counts even when it
      // reached us after the clock had expired the wait (a late upload).
      // The episode closes whatever the hysteresis says: the repeat was the answer asked for.
      const inWindow = v.atMs <= (s.pendingSinceMs as number) + confirm.withinMinutes * 60_000;
      transitions.push(v.atMs);
      next = {
        ...next,
        open: false,
        confirmation: inWindow ? 'not-confirmed' : 'expired',
        severity: inWindow ? lower(confirm.notConfirmedSeverity, s.severity ?? confirm.notConfirmedSeverity) : s.severity,
        pendingSinceMs: null,
        lastReadingId: v.readingId,
        lastValue: v.value,
      };
    }
    // Too soon to be a repeat: nothing changes.
  } else if (v.clear && s.open) {
    transitions.push(v.atMs);
    next = { ...next, open: false, pendingSinceMs: null, lastReadingId: v.readingId, lastValue: v.value };
  }
  // A reading that is neither breaching nor clear (hysteresis band) holds the state.
  return { ...next, transitions, flapping: transitions.length >= FLAP_TRANSITIONS };
}

function lower(a: Severity, b: Severity): Severity {
  return severityRank(a) <= severityRank(b) ? a : b;
}
function higher(a: Severity | null, b: Severity): Severity {
  return a === null || severityRank(b) > severityRank(a) ? b : a;
}

function worseEpisode(a: ClosedEpisode, b: ClosedEpisode | null): boolean {
  if (b === null) return true;
  const d = severityRank(a.severity) - severityRank(b.severity);
  return d > 0 || (d === 0 && worsePoint(a.episode.worst, b.episode.worst));
}

/**
 * Apply verdicts (any order; they are sorted by measurement time) to a condition, then the clock
 * (`nowMs`: a wait for a repeat whose window has passed expires). Verdicts older than the last one
 * applied are stale: a late reading never reopens, clears or re-raises an alert that newer
 * readings have already decided.
 */
export function evaluateCondition(rule: RuleDefinition, start: ConditionState, verdicts: readonly Verdict[], nowMs?: number): { state: ConditionState; change: ConditionChange | null } {
  const sorted = [...verdicts].sort((a, b) => a.atMs - b.atMs);
  let s = start;
  let closed: ClosedEpisode | null = null;
  const breaches: Verdict[] = [];
  for (const v of sorted) {
    if (s.lastEvaluatedAtMs !== null && v.atMs < s.lastEvaluatedAtMs) continue;
    const before = s;
    s = step(rule, s, v);
    if (v.severity !== null) breaches.push(v);
    if (before.open && !s.open && s.episode !== null && s.severity !== null) {
      // The episode's worst severity, except where confirmation decided it (a severe reading not
      // confirmed by its repeat is reported at the lower severity the rule names).
      const severity = confirmationOf(rule) === undefined ? (s.episode.worst.severity ?? s.severity) : s.severity;
      const ep: ClosedEpisode = { episode: s.episode, severity, confirmation: s.confirmation, late: s.late };
      if (worseEpisode(ep, closed)) closed = ep;
    }
  }
  if (nowMs !== undefined) s = expire(rule, s, nowMs);
  return { state: s, change: changeOf(start, s, closed, breaches) };
}

/** Only the clock moved: a wait for a repeat may have expired. */
export function advanceClock(rule: RuleDefinition, start: ConditionState, nowMs: number): { state: ConditionState; change: ConditionChange | null } {
  const s = expire(rule, start, nowMs);
  return { state: s, change: changeOf(start, s, null, []) };
}

function changeOf(start: ConditionState, s: ConditionState, closed: ClosedEpisode | null, breaches: readonly Verdict[]): ConditionChange | null {
  if (!start.open && s.open) return { type: 'opened', state: s, breaches };
  if (start.open && !s.open) return { type: 'cleared', state: s, breaches };
  if (start.open && s.open) {
    const changed =
      start.severity !== s.severity ||
      start.confirmation !== s.confirmation ||
      start.openedAtMs !== s.openedAtMs ||
      start.flapping !== s.flapping ||
      start.episode?.worst.readingId !== s.episode?.worst.readingId;
    const escalated = s.severity !== null && (start.severity === null || severityRank(s.severity) > severityRank(start.severity));
    if (changed) return { type: 'updated', state: s, escalated, newEpisode: start.openedAtMs !== s.openedAtMs, breaches };
    return breaches.length > 0 ? { type: 'continued', state: s, breaches } : null;
  }
  if (closed !== null) return { type: 'transient', state: s, episode: closed, breaches };
  return null;
}
