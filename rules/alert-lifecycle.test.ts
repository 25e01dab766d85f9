import { describe, expect, it } from 'vitest';
import type { Alert, AlertAction, AlertActionBody } from '../core/model/alert.js';
import { isRefusal, transition, type TransitionRefusal, type TransitionResult } from './alert-lifecycle.js';

const MIN = 60_000;
const DAY = 86_400_000;
const NOW = Date.UTC(2025, 2, 10, 9, 0, 0);

const OPEN: Alert = {
  id: 'alert-1',
  organizationId: 'org-1',
  patientId: 'patient-1',
  ruleId: 'spo2-low',
  ruleTitle: 'Low oxygen saturation',
  severity: 'high',
  status: 'open',
  version: 1,
  measuredAtMs: NOW - 30 * MIN,
  createdAtMs: NOW - 20 * MIN,
  updatedAtMs: NOW - 20 * MIN,
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
  slaDueAtMs: NOW + 40 * MIN,
  episode: null,
  rule: null,
  late: false,
};

function ok(r: TransitionResult | TransitionRefusal): TransitionResult {
  if (isRefusal(r)) throw new Error(`refused (${r.refused}): ${r.message}`);
  return r;
}
function refused(r: TransitionResult | TransitionRefusal): TransitionRefusal {
  if (!isRefusal(r)) throw new Error('expected a refusal');
  return r;
}

const act = (alert: Alert, action: AlertAction, actor: string, body: AlertActionBody = {}, nowMs = NOW) => transition(alert, action, actor, body, nowMs);
const iso = (ms: number) => new Date(ms).toISOString();

const claimedByA = ok(act(OPEN, 'claim', 'nurse-a', { version: 1 })).alert;
const acknowledgedByA = ok(act(claimedByA, 'acknowledge', 'nurse-a')).alert;

describe('claiming', () => {
  it('claims an open alert for the nurse and bumps the version', () => {
    const r = ok(act(OPEN, 'claim', 'nurse-a', { version: 1, note: 'on it' }));
    expect(r.alert).toEqual({ ...OPEN, status: 'claimed', claimedBy: 'nurse-a', claimedAtMs: NOW, version: 2, updatedAtMs: NOW });
    expect(r.note).toBe('on it');
  });

  it('gives the second of two nurses claiming the same alert a conflict: the one who saw the old version', () => {
    const second = refused(act(claimedByA, 'claim', 'nurse-b', { version: 1 }));
    expect(second.refused).toBe('conflict');
    expect(second.message).toBe('alert is at version 2, not 1; reload it');
  });

  it('gives the second nurse a conflict naming the holder even without a version', () => {
    expect(refused(act(claimedByA, 'claim', 'nurse-b'))).toEqual({ refused: 'conflict', message: 'claimed by nurse-a' });
  });

  it('refuses a second claim by the nurse already holding the alert', () => {
    expect(refused(act(claimedByA, 'claim', 'nurse-a')).refused).toBe('conflict');
  });

  it('refuses any action with a stale version', () => {
    for (const action of ['claim', 'acknowledge', 'resolve', 'snooze', 'escalate', 'release'] as const) {
      expect(refused(act(OPEN, action, 'nurse-a', { version: 7, outcome: 'other', until: iso(NOW + 60 * MIN) }))).toEqual({
        refused: 'conflict',
        message: 'alert is at version 1, not 7; reload it',
      });
    }
  });

  it('accepts an action that carries the current version or none', () => {
    expect(isRefusal(act(OPEN, 'claim', 'nurse-a', { version: 1 }))).toBe(false);
    expect(isRefusal(act(OPEN, 'claim', 'nurse-a'))).toBe(false);
  });

  it('refuses another nurse’s claim on an alert someone else has acknowledged', () => {
    expect(refused(act(acknowledgedByA, 'claim', 'nurse-b')).message).toBe('claimed by nurse-a');
  });
});

describe('acknowledging', () => {
  it('acknowledges the holder’s claimed alert', () => {
    const r = ok(act(claimedByA, 'acknowledge', 'nurse-a', {}, NOW + MIN));
    expect(r.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'nurse-a', acknowledgedAtMs: NOW + MIN, claimedBy: 'nurse-a', claimedAtMs: NOW, version: 3 });
  });

  it('acknowledges an unclaimed alert and claims it for the nurse at the same time', () => {
    const r = ok(act(OPEN, 'acknowledge', 'nurse-b'));
    expect(r.alert).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'nurse-b', claimedBy: 'nurse-b', claimedAtMs: NOW, version: 2 });
  });

  it('refuses to let a nurse acknowledge an alert claimed by someone else', () => {
    expect(refused(act(claimedByA, 'acknowledge', 'nurse-b'))).toEqual({ refused: 'conflict', message: 'claimed by nurse-a' });
  });

  it('refuses to acknowledge twice', () => {
    expect(refused(act(acknowledgedByA, 'acknowledge', 'nurse-a'))).toEqual({ refused: 'conflict', message: 'already acknowledged' });
  });
});

describe('resolving', () => {
  it('needs an outcome', () => {
    expect(refused(act(claimedByA, 'resolve', 'nurse-a', { note: 'called' }))).toEqual({ refused: 'invalid', message: 'resolving needs an outcome' });
  });

  it('resolves with the outcome and note, ending any snooze', () => {
    const snoozed = { ...acknowledgedByA, snoozedUntilMs: NOW + 60 * MIN };
    const r = ok(act(snoozed, 'resolve', 'nurse-a', { outcome: 'contacted-patient', note: 'called, feeling fine' }, NOW + 5 * MIN));
    expect(r.alert).toMatchObject({
      status: 'resolved',
      resolvedBy: 'nurse-a',
      resolvedAtMs: NOW + 5 * MIN,
      outcome: 'contacted-patient',
      note: 'called, feeling fine',
      snoozedUntilMs: null,
      version: snoozed.version + 1,
    });
    expect(r.note).toBe('called, feeling fine');
  });

  it('lets any nurse resolve an unclaimed alert', () => {
    expect(ok(act(OPEN, 'resolve', 'nurse-b', { outcome: 'false-alarm' })).alert).toMatchObject({ status: 'resolved', resolvedBy: 'nurse-b' });
  });

  it('refuses to let a nurse resolve an alert claimed by someone else', () => {
    expect(refused(act(claimedByA, 'resolve', 'nurse-b', { outcome: 'false-alarm' })).refused).toBe('conflict');
  });

  it('refuses every action on a resolved alert', () => {
    const resolved = ok(act(claimedByA, 'resolve', 'nurse-a', { outcome: 'treated-at-home' })).alert;
    for (const action of ['claim', 'acknowledge', 'resolve', 'snooze', 'escalate', 'release'] as const) {
      expect(refused(act(resolved, action, 'nurse-a', { outcome: 'other', until: iso(NOW + 60 * MIN) }))).toEqual({ refused: 'conflict', message: 'alert is already resolved' });
    }
  });
});

describe('snoozing', () => {
  it('snoozes until the given time, taking the note or else the reason', () => {
    const r = ok(act(claimedByA, 'snooze', 'nurse-a', { until: iso(NOW + 60 * MIN), reason: 'patient at clinic' }));
    expect(r.alert).toMatchObject({ snoozedUntilMs: NOW + 60 * MIN, status: 'claimed', version: 3 });
    expect(r.note).toBe('patient at clinic');
    expect(ok(act(claimedByA, 'snooze', 'nurse-a', { until: iso(NOW + 60 * MIN), reason: 'r', note: 'n' })).note).toBe('n');
  });

  it('needs `until`', () => {
    expect(refused(act(OPEN, 'snooze', 'nurse-a'))).toEqual({ refused: 'invalid', message: 'snoozing needs `until` in the future' });
  });

  it('refuses `until` now or in the past', () => {
    expect(refused(act(OPEN, 'snooze', 'nurse-a', { until: iso(NOW) })).refused).toBe('invalid');
    expect(refused(act(OPEN, 'snooze', 'nurse-a', { until: iso(NOW - MIN) })).refused).toBe('invalid');
  });

  it('accepts 1 ms ahead and exactly 7 days, refuses 7 days and 1 ms', () => {
    expect(ok(act(OPEN, 'snooze', 'nurse-a', { until: iso(NOW + 1) })).alert.snoozedUntilMs).toBe(NOW + 1);
    expect(ok(act(OPEN, 'snooze', 'nurse-a', { until: iso(NOW + 7 * DAY) })).alert.snoozedUntilMs).toBe(NOW + 7 * DAY);
    expect(refused(act(OPEN, 'snooze', 'nurse-a', { until: iso(NOW + 7 * DAY + 1) }))).toEqual({ refused: 'invalid', message: 'snooze at most 7 days' });
  });

  it('accepts `until` with a time-zone offset', () => {
    expect(ok(act(OPEN, 'snooze', 'nurse-a', { until: '2025-03-10T12:00:00+02:00' })).alert.snoozedUntilMs).toBe(Date.UTC(2025, 2, 10, 10, 0, 0));
  });

  it('refuses an unparsable `until` instead of snoozing forever', () => {
    expect(refused(act(OPEN, 'snooze', 'nurse-a', { until: 'tomorrow' })).refused).toBe('invalid');
  });

  it('refuses to let a nurse snooze (hide) an alert claimed by someone else', () => {
    expect(refused(act(claimedByA, 'snooze', 'nurse-b', { until: iso(NOW + 60 * MIN) }))).toEqual({ refused: 'conflict', message: 'claimed by nurse-a' });
  });

  it('lets any nurse snooze an unclaimed alert', () => {
    expect(isRefusal(act(OPEN, 'snooze', 'nurse-b', { until: iso(NOW + 60 * MIN) }))).toBe(false);
  });
});

describe('releasing', () => {
  it('returns the holder’s claimed alert to the open queue', () => {
    const r = ok(act(claimedByA, 'release', 'nurse-a', { note: 'end of shift' }));
    expect(r.alert).toMatchObject({ status: 'open', claimedBy: null, claimedAtMs: null, version: 3 });
    expect(r.note).toBe('end of shift');
    // Another nurse can now claim it.
    expect(ok(act(r.alert, 'claim', 'nurse-b')).alert.claimedBy).toBe('nurse-b');
  });

  it('releases an acknowledged alert without taking back the acknowledgement', () => {
    expect(ok(act(acknowledgedByA, 'release', 'nurse-a')).alert).toMatchObject({ status: 'acknowledged', claimedBy: null, acknowledgedBy: 'nurse-a' });
  });

  it('returns a claimed, unacknowledged alert to the open queue', () => {
    expect(ok(act(claimedByA, 'release', 'nurse-a')).alert).toMatchObject({ status: 'open', claimedBy: null });
  });

  it('is for the holder only', () => {
    expect(refused(act(claimedByA, 'release', 'nurse-b'))).toEqual({ refused: 'conflict', message: 'only the nurse holding the alert can release it' });
    expect(refused(act(OPEN, 'release', 'nurse-a')).refused).toBe('conflict');
  });
});

describe('escalating', () => {
  it('raises the escalation level and records when, taking the reason as the note', () => {
    const r = ok(act(claimedByA, 'escalate', 'nurse-a', { reason: 'no answer by phone' }, NOW + MIN));
    expect(r.alert).toMatchObject({ escalationLevel: 1, escalatedAtMs: NOW + MIN, status: 'claimed', version: 3 });
    expect(r.note).toBe('no answer by phone');
    expect(ok(act(r.alert, 'escalate', 'nurse-a', {}, NOW + 2 * MIN)).alert.escalationLevel).toBe(2);
  });

  it('is open to any nurse, even on an alert someone else holds (a safety action)', () => {
    expect(ok(act(claimedByA, 'escalate', 'nurse-b')).alert).toMatchObject({ escalationLevel: 1, claimedBy: 'nurse-a' });
  });
});

describe('isRefusal', () => {
  it('tells refusals from results', () => {
    expect(isRefusal({ refused: 'invalid', message: 'x' })).toBe(true);
    expect(isRefusal({ alert: OPEN, note: null })).toBe(false);
  });
});
