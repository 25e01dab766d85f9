import { describe, expect, it } from 'vitest';
import type { Alert, AlertSeverity } from '../core/model/alert.js';
import { alertPriority, SLA_MINUTES, slaMs } from './priority.js';

const MIN = 60_000;
const NOW = Date.UTC(2025, 2, 10, 9, 0, 0);

function alert(patch: Partial<Alert> = {}): Alert {
  return {
    id: 'alert-1',
    organizationId: null,
    patientId: 'patient-1',
    ruleId: 'spo2-low',
    ruleTitle: 'Low oxygen saturation',
    severity: 'high',
    status: 'open',
    version: 1,
    measuredAtMs: NOW,
    createdAtMs: NOW,
    updatedAtMs: NOW,
    readingId: 'r1',
    value: 90,
    detail: 'value 90',
    confirmation: null,
    inRange: false,
    flapping: false,
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
    slaDueAtMs: NOW + 60 * MIN,
    episode: null,
    rule: null,
    late: false,
    ...patch,
  };
}

describe('SLA', () => {
  it('gives critical 15 min, high 60 min, medium 4 h and low 24 h to acknowledge', () => {
    expect(SLA_MINUTES).toEqual({ critical: 15, high: 60, medium: 240, low: 1440 });
    expect(slaMs('critical')).toBe(15 * MIN);
    expect(slaMs('low')).toBe(1440 * MIN);
  });
});

describe('alert priority', () => {
  it.each([
    ['critical', 1000],
    ['high', 600],
    ['medium', 300],
    ['low', 100],
  ] as const)('scores a fresh %s alert %i severity points', (severity, points) => {
    expect(alertPriority(alert({ severity }), 1, NOW)).toBe(points);
  });

  it.each([
    [0, 0],
    [0.25, 50],
    [0.5, 100],
    [1, 200],
  ])('adds waiting points as the wait approaches the SLA (%s of the SLA → +%i)', (fraction, points) => {
    for (const severity of ['critical', 'high', 'medium', 'low'] as AlertSeverity[]) {
      const a = alert({ severity, createdAtMs: NOW - fraction * slaMs(severity) });
      expect(alertPriority(a, 1, NOW) - alertPriority(alert({ severity }), 1, NOW)).toBe(points);
    }
  });

  it('adds 200 more once the SLA is passed', () => {
    expect(alertPriority(alert({ severity: 'high', createdAtMs: NOW - 60 * MIN }), 1, NOW)).toBe(800);
    expect(alertPriority(alert({ severity: 'high', createdAtMs: NOW - 60 * MIN - 1 }), 1, NOW)).toBe(1000);
    expect(alertPriority(alert({ severity: 'high', createdAtMs: NOW - 10 * 60 * MIN }), 1, NOW)).toBe(1000);
  });

  it('ranks an overdue high alert level with a fresh critical one, and below a critical one that has waited', () => {
    const overdueHigh = alertPriority(alert({ severity: 'high', createdAtMs: NOW - 61 * MIN }), 1, NOW);
    expect(overdueHigh).toBe(alertPriority(alert({ severity: 'critical' }), 1, NOW));
    expect(overdueHigh).toBeLessThan(alertPriority(alert({ severity: 'critical', createdAtMs: NOW - 5 * MIN }), 1, NOW));
  });

  it('counts waiting from when the alert was raised, not from the measurement time of a backfilled reading', () => {
    const backfilled = alert({ measuredAtMs: NOW - 3 * 86_400_000, createdAtMs: NOW });
    expect(alertPriority(backfilled, 1, NOW)).toBe(600);
  });

  it('counts no waiting for an alert created after now (clock skew)', () => {
    expect(alertPriority(alert({ createdAtMs: NOW + 5 * MIN }), 1, NOW)).toBe(600);
  });

  it('counts waiting for claimed alerts but not once acknowledged', () => {
    const old = { createdAtMs: NOW - 120 * MIN };
    expect(alertPriority(alert({ ...old, status: 'claimed' }), 1, NOW)).toBe(1000);
    expect(alertPriority(alert({ ...old, status: 'acknowledged' }), 1, NOW)).toBe(600);
  });

  it('adds 50 when worsening or confirmed, once', () => {
    expect(alertPriority(alert({ worsening: true }), 1, NOW)).toBe(650);
    expect(alertPriority(alert({ confirmation: 'confirmed' }), 1, NOW)).toBe(650);
    expect(alertPriority(alert({ worsening: true, confirmation: 'confirmed' }), 1, NOW)).toBe(650);
    expect(alertPriority(alert({ confirmation: 'pending' }), 1, NOW)).toBe(600);
  });

  it('adds 75 per risk tier above 1', () => {
    expect(alertPriority(alert(), 1, NOW)).toBe(600);
    expect(alertPriority(alert(), 2, NOW)).toBe(675);
    expect(alertPriority(alert(), 3, NOW)).toBe(750);
  });

  it('sums every term', () => {
    const a = alert({ severity: 'medium', createdAtMs: NOW - 120 * MIN, worsening: true });
    expect(alertPriority(a, 3, NOW)).toBe(300 + 100 + 50 + 150);
  });

  it('scores a snoozed alert 0 until its snooze ends, then normally again', () => {
    const snoozed = alert({ severity: 'critical', worsening: true, snoozedUntilMs: NOW + 30 * MIN });
    expect(alertPriority(snoozed, 3, NOW)).toBe(0);
    expect(alertPriority(snoozed, 3, NOW + 30 * MIN)).toBeGreaterThan(0);
    expect(alertPriority(alert({ snoozedUntilMs: NOW }), 1, NOW)).toBe(600);
  });

  it('scores a resolved alert 0', () => {
    expect(alertPriority(alert({ status: 'resolved', severity: 'critical' }), 3, NOW)).toBe(0);
  });
});
