import type { Alert, AlertEvent } from '../core/model/alert.js';
import type { ConditionChange } from './conditions.js';
import { type RuleDefinition, severityRank } from './model.js';
import { slaMs } from './priority.js';

export interface AlertSyncContext {
  readonly patientId: string;
  readonly organizationId: string | null;
  readonly nowMs: number;
  /** Id for a new alert (the caller supplies it, so this stays pure). */
  readonly newId: string;
}

export interface AlertSync {
  readonly create?: Alert;
  readonly update?: Alert;
  readonly events: readonly AlertEvent[];
}

const ENGINE = 'rules-engine';

function event(alert: Alert, action: AlertEvent['action'], from: Alert['status'] | null, nowMs: number, note: string | null = null): AlertEvent {
  return { alertId: alert.id, version: alert.version, atMs: nowMs, actor: ENGINE, action, fromStatus: from, toStatus: alert.status, severity: alert.severity, note };
}

/**
 * Turn a condition change into alert writes. One unresolved alert per patient × rule: a breach
 * while one exists updates it (only when something a nurse cares about changed); a clear
 * auto-resolves it if the rule says so (not while flapping), otherwise marks it back in range.
 * A backfilled episode that opened and closed inside one batch becomes one alert stamped with
 * the reading's time: already resolved when the rule auto-resolves (and the condition is not
 * flapping), open and marked in range otherwise; if an unresolved alert of the rule exists, a
 * worse episode raises its severity instead.
 */
export function syncAlert(rule: RuleDefinition, change: ConditionChange, existing: Alert | undefined, ctx: AlertSyncContext): AlertSync {
  const s = change.state;
  if (change.type === 'transient') {
    const ep = change.episode;
    if (existing !== undefined) {
      // The patient still has an unresolved alert of this rule (back in range, or kept while
      // flapping): a worse episode that came and went inside the batch must show on it.
      if (severityRank(ep.severity) <= severityRank(existing.severity)) return { events: [] };
      const next: Alert = {
        ...existing,
        severity: ep.severity,
        worsening: true,
        inRange: true,
        flapping: s.flapping,
        readingId: ep.readingId,
        value: ep.value,
        detail: ep.detail,
        slaDueAtMs: Math.min(existing.slaDueAtMs, ctx.nowMs + slaMs(ep.severity)),
        version: existing.version + 1,
        updatedAtMs: ctx.nowMs,
      };
      return { update: next, events: [event(next, 'updated', existing.status, ctx.nowMs, `backfilled episode: ${ep.detail}`)] };
    }
    const autoResolved = rule.autoResolve && !s.flapping;
    const alert = newAlert(rule, ctx, { severity: ep.severity, measuredAtMs: ep.openedAtMs, readingId: ep.readingId, value: ep.value, detail: ep.detail, confirmation: s.confirmation, flapping: s.flapping });
    const done: Alert = autoResolved ? { ...alert, status: 'resolved', resolvedBy: ENGINE, resolvedAtMs: ctx.nowMs, outcome: 'auto-resolved', inRange: true, version: 2 } : { ...alert, inRange: true };
    const events = [event(alert, 'raised', null, ctx.nowMs, 'backfilled episode')];
    if (autoResolved) events.push(event(done, 'auto-resolved', 'open', ctx.nowMs));
    return { create: done, events };
  }
  if (change.type === 'opened' || change.type === 'updated') {
    if (s.severity === null) return { events: [] };
    // A nurse resolved this episode's alert while it was still breaching: only a worse
    // severity (or a new episode, after a clear inside the same batch) raises a new one.
    if (existing === undefined && change.type === 'updated' && !change.escalated && !change.newEpisode) return { events: [] };
    if (existing === undefined) {
      const alert = newAlert(rule, ctx, {
        severity: s.severity,
        measuredAtMs: s.openedAtMs ?? ctx.nowMs,
        readingId: s.lastReadingId,
        value: s.lastValue,
        detail: s.detail ?? rule.title,
        confirmation: s.confirmation,
        flapping: s.flapping,
      });
      return { create: alert, events: [event(alert, 'raised', null, ctx.nowMs)] };
    }
    const worsening = existing.worsening || severityRank(s.severity) > severityRank(existing.severity);
    const next: Alert = {
      ...existing,
      severity: s.severity,
      confirmation: s.confirmation,
      flapping: s.flapping,
      inRange: false,
      worsening,
      readingId: s.lastReadingId ?? existing.readingId,
      value: s.lastValue,
      detail: s.detail ?? existing.detail,
      // A more severe alert must be seen sooner.
      slaDueAtMs: Math.min(existing.slaDueAtMs, ctx.nowMs + slaMs(s.severity)),
      version: existing.version + 1,
      updatedAtMs: ctx.nowMs,
    };
    const changed =
      next.severity !== existing.severity || next.confirmation !== existing.confirmation || next.flapping !== existing.flapping || next.inRange !== existing.inRange;
    return changed ? { update: next, events: [event(next, 'updated', existing.status, ctx.nowMs, s.detail)] } : { events: [] };
  }
  // cleared
  if (existing === undefined) return { events: [] };
  if (rule.autoResolve && !s.flapping) {
    const next: Alert = {
      ...existing,
      status: 'resolved',
      resolvedBy: ENGINE,
      resolvedAtMs: ctx.nowMs,
      outcome: 'auto-resolved',
      inRange: true,
      value: s.lastValue,
      detail: s.detail ?? existing.detail,
      version: existing.version + 1,
      updatedAtMs: ctx.nowMs,
    };
    return { update: next, events: [event(next, 'auto-resolved', existing.status, ctx.nowMs, s.detail)] };
  }
  if (existing.inRange) return { events: [] };
  const next: Alert = { ...existing, inRange: true, flapping: s.flapping, version: existing.version + 1, updatedAtMs: ctx.nowMs };
  return { update: next, events: [event(next, 'in-range', existing.status, ctx.nowMs, s.detail)] };
}

function newAlert(
  rule: RuleDefinition,
  ctx: AlertSyncContext,
  f: Pick<Alert, 'severity' | 'measuredAtMs' | 'readingId' | 'value' | 'detail' | 'confirmation' | 'flapping'>,
): Alert {
  return {
    id: ctx.newId,
    organizationId: ctx.organizationId,
    patientId: ctx.patientId,
    ruleId: rule.id,
    ruleTitle: rule.title,
    status: 'open',
    version: 1,
    createdAtMs: ctx.nowMs,
    updatedAtMs: ctx.nowMs,
    inRange: false,
    worsening: false,
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
    ...f,
  };
}
