import type { Alert, AlertSeverity } from '../core/model/alert.js';

/**
 * SLA: how long an alert of each severity may wait for acknowledgement before it escalates
 * (to the charge nurse, and by SMS). Minutes.
 */
export const SLA_MINUTES: Readonly<Record<AlertSeverity, number>> = {
  critical: 15,
  high: 60,
  medium: 240,
  low: 1440,
};

export const slaMs = (severity: AlertSeverity): number => SLA_MINUTES[severity] * 60_000;

const SEVERITY_POINTS: Readonly<Record<AlertSeverity, number>> = { critical: 1000, high: 600, medium: 300, low: 100 };

/** One term of an alert's priority, so a nurse can see why it sits where it does. */
export interface PriorityReason {
  readonly code: 'severity' | 'waiting' | 'overdue' | 'worsening' | 'confirmed' | 'no-repeat' | 'risk-tier' | 'snoozed' | 'late-data';
  readonly points: number;
  readonly label: string;
}

const SEVERITY_LABEL: Readonly<Record<AlertSeverity, string>> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };

/**
 * Priority of an unresolved alert, higher first, as the sum of its reasons. Documented in README
 * ("Priority"):
 *   severity points (critical 1000, high 600, medium 300, low 100)
 * + waiting: up to 200 as the wait approaches the severity's SLA, +200 more once overdue
 *   (acknowledged alerts no longer wait)
 * + 50 when worsening, or confirmed by a repeat reading; + 50 when the repeat a severe reading
 *   asked for never came (someone must call the patient)
 * + 75 per patient risk tier above 1
 * A snoozed alert scores 0 until its snooze ends. Waiting is counted from when we raised the
 * alert, not from the measurement time, so a backfilled old reading does not jump the queue
 * (its row says "late data" instead, with 0 points).
 */
export function priorityReasons(alert: Alert, riskTier: 1 | 2 | 3, nowMs: number): PriorityReason[] {
  if (alert.status === 'resolved') return [];
  if (alert.snoozedUntilMs !== null && alert.snoozedUntilMs > nowMs) {
    return [{ code: 'snoozed', points: 0, label: 'Snoozed: scores 0 until the snooze ends' }];
  }
  const reasons: PriorityReason[] = [{ code: 'severity', points: SEVERITY_POINTS[alert.severity], label: `${SEVERITY_LABEL[alert.severity]} severity` }];
  if (alert.status !== 'acknowledged') {
    const f = Math.max(0, nowMs - alert.createdAtMs) / slaMs(alert.severity);
    const waited = Math.round(200 * Math.min(f, 1));
    if (waited > 0) reasons.push({ code: 'waiting', points: waited, label: `Waited ${Math.round(Math.max(0, nowMs - alert.createdAtMs) / 60_000)} of ${SLA_MINUTES[alert.severity]} min to be acknowledged` });
    if (f > 1) reasons.push({ code: 'overdue', points: 200, label: 'Past its response target' });
  }
  if (alert.worsening) reasons.push({ code: 'worsening', points: 50, label: 'Worse since it opened' });
  else if (alert.confirmation === 'confirmed') reasons.push({ code: 'confirmed', points: 50, label: 'Confirmed by a repeat reading' });
  if (alert.confirmation === 'expired') reasons.push({ code: 'no-repeat', points: 50, label: 'No repeat reading came: call the patient' });
  if (riskTier > 1) reasons.push({ code: 'risk-tier', points: (riskTier - 1) * 75, label: `Risk tier ${riskTier}` });
  if (alert.late) reasons.push({ code: 'late-data', points: 0, label: 'Raised from readings that arrived late' });
  return reasons;
}

export function alertPriority(alert: Alert, riskTier: 1 | 2 | 3, nowMs: number): number {
  return priorityReasons(alert, riskTier, nowMs).reduce((sum, r) => sum + r.points, 0);
}
