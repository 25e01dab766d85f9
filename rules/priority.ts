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

/**
 * Priority of an unresolved alert, higher first. Documented in README ("Priority"):
 *   severity points (critical 1000, high 600, medium 300, low 100)
 * + waiting: up to 200 as the wait approaches the severity's SLA, +200 more once overdue
 *   (acknowledged alerts no longer wait)
 * + 50 when worsening (severity rose since it opened) or confirmed by a repeat reading
 * + 75 per patient risk tier above 1
 * A snoozed alert scores 0 until its snooze ends. Waiting is counted from when we raised the
 * alert, not from the measurement time, so a backfilled old reading does not jump the queue.
 */
export function alertPriority(alert: Alert, riskTier: 1 | 2 | 3, nowMs: number): number {
  if (alert.status === 'resolved') return 0;
  if (alert.snoozedUntilMs !== null && alert.snoozedUntilMs > nowMs) return 0;
  let score = SEVERITY_POINTS[alert.severity];
  if (alert.status !== 'acknowledged') {
    const f = Math.max(0, nowMs - alert.createdAtMs) / slaMs(alert.severity);
    score += Math.round(200 * Math.min(f, 1)) + (f > 1 ? 200 : 0);
  }
  if (alert.worsening || alert.confirmation === 'confirmed') score += 50;
  score += (riskTier - 1) * 75;
  return score;
}
