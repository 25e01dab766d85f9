import { describeFinding } from '../core/display/describe.js';
import { DEFAULT_DISPLAY } from '../core/display/units.js';
import type { Alert, AlertEvent, Episode, EpisodePoint, Finding } from '../core/model/alert.js';
import { type ConditionChange, type ConditionState, pointOf, worsePoint } from './conditions.js';
import { type RuleDefinition, type Severity, severityRank } from './model.js';
import { slaMs } from './priority.js';
import type { Verdict } from './verdicts.js';

export interface AlertSyncContext {
  readonly patientId: string;
  readonly organizationId: string | null;
  readonly nowMs: number;
  /** Id for a new alert (the caller supplies it, so this stays pure). */
  readonly newId: string;
  /**
   * The newest resolved alert of this patient × rule, when the condition is open without an
   * unresolved alert (a nurse resolved it while the patient was still breaching).
   */
  readonly lastResolved?: Alert;
}

export interface AlertSync {
  readonly create?: Alert;
  readonly update?: Alert;
  readonly events: readonly AlertEvent[];
}

export const ENGINE = 'rules-engine';

/**
 * After a nurse resolves an alert while the patient is still past the limit, how long the
 * breach must persist before a new alert is raised, by severity (unless the rule sets its own):
 * a critical reading cannot go unseen for more than half an hour.
 */
export const RENOTIFY_MINUTES: Readonly<Record<Severity, number>> = { critical: 30, high: 240, medium: 720, low: 1440 };

export function renotifyMs(rule: RuleDefinition, severity: Severity): number {
  return (rule.renotifyMinutes ?? RENOTIFY_MINUTES[severity]) * 60_000;
}

function event(alert: Alert, action: AlertEvent['action'], from: Alert['status'] | null, nowMs: number, note: string | null = null, finding: Finding | null = null): AlertEvent {
  return { alertId: alert.id, version: alert.version, atMs: nowMs, actor: ENGINE, action, fromStatus: from, toStatus: alert.status, severity: alert.severity, note, finding };
}

/** The headline of an alert is its worst reading: the values shown belong to the time shown. */
function headline(episode: Episode): Pick<Alert, 'readingId' | 'value' | 'detail'> {
  return { readingId: episode.worst.readingId, value: episode.worst.value, detail: describeFinding(episode.worst.finding, DEFAULT_DISPLAY) };
}

/**
 * `p` is materially worse than `base`: a higher severity, or a value past `base`'s by at least the
 * limit's `worsenBy` in the breach direction (re-raises a resolved alert at once, ends a snooze).
 */
export function materiallyWorse(rule: RuleDefinition, base: EpisodePoint, p: EpisodePoint): boolean {
  const rb = base.severity === null ? -1 : severityRank(base.severity);
  const rp = p.severity === null ? -1 : severityRank(p.severity);
  if (rp > rb) return true;
  if (rp < rb || rule.type !== 'threshold' || base.finding.type !== 'reading' || p.finding.type !== 'reading') return false;
  for (const limit of rule.limits) {
    if (limit.worsenBy === undefined) continue;
    const component = base.finding.breached.includes(limit.component) || p.finding.breached.includes(limit.component) ? limit.component : rule.kind === 'heart-rate' ? 'pulse' : limit.component;
    const a = base.finding.values[component] ?? (component === 'pulse' ? undefined : base.finding.values.value);
    const b = p.finding.values[component] ?? (component === 'pulse' ? undefined : p.finding.values.value);
    if (a === undefined || b === undefined) continue;
    const up = limit.comparator === '>' || limit.comparator === '>=';
    // Only worse in this limit's direction, and only while past it.
    const past = up ? b >= (limit.tiers[0]?.value ?? b) : b <= (limit.tiers[0]?.value ?? b);
    if (past && (up ? b - a : a - b) >= limit.worsenBy) return true;
  }
  return false;
}

function worstOf(start: EpisodePoint, breaches: readonly Verdict[], fromMs: number): EpisodePoint {
  let worst = start;
  for (const v of breaches) {
    if (v.atMs < fromMs) continue;
    const p = pointOf(v);
    if (worsePoint(p, worst)) worst = p;
  }
  return worst;
}

/**
 * Whether a breach measured after a nurse's resolve brings the alert back: the condition is still
 * breaching `renotifyMs` after the resolve, or a reading is materially worse than the worst the
 * nurse saw. Returns the breach that triggers it.
 */
export function renotifyTrigger(rule: RuleDefinition, state: ConditionState, breaches: readonly Verdict[], resolved: Alert | undefined): { trigger: Verdict; reason: string } | null {
  if (resolved === undefined || resolved.resolvedAtMs === null || resolved.resolvedBy === ENGINE || state.severity === null) return null;
  const resolvedAt = resolved.resolvedAtMs;
  const interval = renotifyMs(rule, state.severity);
  const seen = resolved.episode?.worst ?? null;
  for (const v of breaches) {
    if (v.atMs <= resolvedAt) continue;
    if (seen !== null && materiallyWorse(rule, seen, pointOf(v))) return { trigger: v, reason: 'worse than when the last alert was resolved' };
    if (v.atMs - resolvedAt >= interval) return { trigger: v, reason: `still past the limit ${Math.round(interval / 60_000)} min after the last alert was resolved` };
  }
  return null;
}

/** Does syncing this change need the newest resolved alert (the engine fetches it only then)? */
export function needsLastResolved(change: ConditionChange, existing: Alert | undefined): boolean {
  if (existing !== undefined) return false;
  return change.type === 'continued' || (change.type === 'updated' && !change.newEpisode);
}

/**
 * Turn a condition change into alert writes. One unresolved alert per patient × rule: a breach
 * while one exists updates it when something a nurse cares about changed (severity, confirmation,
 * flapping, back in range, a worse reading); a clear auto-resolves it if the rule says so (not
 * while flapping), otherwise marks it back in range. After a nurse resolved it while the patient
 * was still breaching, a new alert comes back when the breach persists past the rule's re-notify
 * interval or gets materially worse. A backfilled episode that opened and closed inside one batch
 * becomes one alert stamped with the reading's time: already resolved when the rule auto-resolves
 * (and the condition is not flapping), open and marked in range otherwise; if an unresolved alert
 * of the rule exists, a worse episode raises its severity instead.
 */
export function syncAlert(rule: RuleDefinition, change: ConditionChange, existing: Alert | undefined, ctx: AlertSyncContext): AlertSync {
  const s = change.state;
  if (change.type === 'transient') {
    const ep = change.episode;
    if (existing !== undefined) {
      // The patient still has an unresolved alert of this rule (back in range, or kept while
      // flapping): a worse episode that came and went inside the batch must show on it.
      if (severityRank(ep.severity) <= severityRank(existing.severity)) return { events: [] };
      const episode: Episode = { first: existing.episode?.first ?? ep.episode.first, worst: ep.episode.worst };
      const next: Alert = {
        ...existing,
        ...headline(episode),
        severity: ep.severity,
        worsening: true,
        inRange: true,
        flapping: s.flapping,
        episode,
        rule,
        late: existing.late || ep.late,
        slaDueAtMs: Math.min(existing.slaDueAtMs, ctx.nowMs + slaMs(ep.severity)),
        version: existing.version + 1,
        updatedAtMs: ctx.nowMs,
      };
      return { update: next, events: [event(next, 'updated', existing.status, ctx.nowMs, 'a worse episode came and went in a backfill', ep.episode.worst.finding)] };
    }
    const autoResolved = rule.autoResolve && !s.flapping;
    const alert = newAlert(rule, ctx, { severity: ep.severity, episode: ep.episode, confirmation: ep.confirmation, flapping: s.flapping, late: ep.late });
    const done: Alert = autoResolved ? { ...alert, status: 'resolved', resolvedBy: ENGINE, resolvedAtMs: ctx.nowMs, outcome: 'auto-resolved', inRange: true, version: 2 } : { ...alert, inRange: true };
    const events = [event(alert, 'raised', null, ctx.nowMs, 'an episode that came and went in a backfill', ep.episode.worst.finding)];
    if (autoResolved) events.push(event(done, 'auto-resolved', 'open', ctx.nowMs));
    return { create: done, events };
  }
  if (change.type === 'opened' || change.type === 'updated' || change.type === 'continued') {
    if (s.severity === null || s.episode === null) return { events: [] };
    if (existing === undefined) {
      if (change.type === 'opened' || (change.type === 'updated' && change.newEpisode)) {
        const alert = newAlert(rule, ctx, { severity: s.severity, episode: s.episode, confirmation: s.confirmation, flapping: s.flapping, late: s.late });
        return { create: alert, events: [event(alert, 'raised', null, ctx.nowMs, null, s.episode.first.finding)] };
      }
      // A nurse resolved this episode's alert while it was still breaching.
      const again = renotifyTrigger(rule, s, change.breaches, ctx.lastResolved);
      if (again === null) return { events: [] };
      const first = pointOf(again.trigger);
      const episode: Episode = { first, worst: worstOf(first, change.breaches, first.atMs) };
      const alert = newAlert(rule, ctx, { severity: s.severity, episode, confirmation: s.confirmation, flapping: s.flapping, late: again.trigger.late });
      return { create: alert, events: [event(alert, 'raised', null, ctx.nowMs, again.reason, first.finding)] };
    }
    const before = existing.episode;
    const first = before?.first ?? s.episode.first;
    const worst = worstOf(before?.worst ?? s.episode.worst, change.breaches, first.atMs);
    const episode: Episode = { first, worst };
    const snoozed = existing.snoozedUntilMs !== null && existing.snoozedUntilMs > ctx.nowMs;
    const worseNow = before !== null && change.breaches.some((v) => v.atMs >= first.atMs && materiallyWorse(rule, before.worst, pointOf(v)));
    const endSnooze = snoozed && (worseNow || severityRank(s.severity) > severityRank(existing.severity));
    const next: Alert = {
      ...existing,
      ...headline(episode),
      severity: s.severity,
      confirmation: s.confirmation,
      flapping: s.flapping,
      inRange: false,
      worsening: existing.worsening || worsePoint(worst, first),
      episode,
      rule,
      snoozedUntilMs: endSnooze ? null : existing.snoozedUntilMs,
      // A more severe alert must be seen sooner.
      slaDueAtMs: Math.min(existing.slaDueAtMs, ctx.nowMs + slaMs(s.severity)),
      version: existing.version + 1,
      updatedAtMs: ctx.nowMs,
    };
    const changed =
      next.severity !== existing.severity ||
      next.confirmation !== existing.confirmation ||
      next.flapping !== existing.flapping ||
      next.inRange !== existing.inRange ||
      next.snoozedUntilMs !== existing.snoozedUntilMs ||
      worst.readingId !== before?.worst.readingId ||
      worst.atMs !== before?.worst.atMs;
    if (!changed) return { events: [] };
    const note = endSnooze ? 'worse during the snooze: snooze ended' : reasonOfUpdate(existing, next);
    return { update: next, events: [event(next, 'updated', existing.status, ctx.nowMs, note, worst.finding)] };
  }
  // cleared
  if (existing === undefined) return { events: [] };
  const confirmationChanged = s.confirmation !== existing.confirmation && (s.confirmation === 'not-confirmed' || s.confirmation === 'expired');
  if (rule.autoResolve && !s.flapping) {
    const next: Alert = {
      ...existing,
      status: 'resolved',
      resolvedBy: ENGINE,
      resolvedAtMs: ctx.nowMs,
      outcome: 'auto-resolved',
      inRange: true,
      confirmation: confirmationChanged ? s.confirmation : existing.confirmation,
      rule,
      version: existing.version + 1,
      updatedAtMs: ctx.nowMs,
    };
    return { update: next, events: [event(next, 'auto-resolved', existing.status, ctx.nowMs, 'back in range')] };
  }
  if (existing.inRange && !confirmationChanged) return { events: [] };
  const next: Alert = {
    ...existing,
    inRange: true,
    flapping: s.flapping,
    // Not confirmed by the repeat: it stays for a nurse, at the lower severity the rule names.
    severity: confirmationChanged && s.severity !== null ? s.severity : existing.severity,
    confirmation: confirmationChanged ? s.confirmation : existing.confirmation,
    rule,
    version: existing.version + 1,
    updatedAtMs: ctx.nowMs,
  };
  const note = s.confirmation === 'not-confirmed' && confirmationChanged ? 'not confirmed: the repeat reading was below the limit' : 'back in range';
  return { update: next, events: [event(next, 'in-range', existing.status, ctx.nowMs, note)] };
}

function reasonOfUpdate(before: Alert, after: Alert): string {
  if (before.confirmation !== after.confirmation) {
    switch (after.confirmation) {
      case 'confirmed':
        return 'confirmed by a repeat reading';
      case 'expired':
        return 'no repeat reading within the confirmation window: call the patient';
      case 'pending':
        return 'a new episode: waiting for a repeat reading';
      default:
        break;
    }
  }
  if (severityRank(after.severity) > severityRank(before.severity)) return 'more severe';
  if (before.inRange && !after.inRange) return 'past the limit again';
  if (after.flapping !== before.flapping) return after.flapping ? 'flapping: in and out of range' : 'no longer flapping';
  return 'a worse reading';
}

function newAlert(rule: RuleDefinition, ctx: AlertSyncContext, f: Pick<Alert, 'severity' | 'confirmation' | 'flapping' | 'late'> & { episode: Episode }): Alert {
  return {
    id: ctx.newId,
    organizationId: ctx.organizationId,
    patientId: ctx.patientId,
    ruleId: rule.id,
    ruleTitle: rule.title,
    status: 'open',
    version: 1,
    measuredAtMs: f.episode.first.atMs,
    createdAtMs: ctx.nowMs,
    updatedAtMs: ctx.nowMs,
    inRange: false,
    worsening: worsePoint(f.episode.worst, f.episode.first),
    claimedBy: null,
    claimedAtMs: null,
    acknowledgedBy: null,
    acknowledgedAtMs: null,
    resolvedBy: null,
    resolvedAtMs: null,
    outcome: null,
    note: null,
    snoozedUntilMs: null,
    escalationLevel: 0,
    escalatedAtMs: null,
    slaDueAtMs: ctx.nowMs + slaMs(f.severity),
    rule,
    ...headline(f.episode),
    ...f,
  };
}
