import { describe, expect, it } from 'vitest';
import { parseSseBlock } from '../web/src/stream.js';
import type { Alert } from '../web/src/types.js';
import { WorklistModel } from '../web/src/worklist-model.js';

const alert = (over: Partial<Alert>): Alert => ({
  id: 'a-1',
  patientId: 'p-1',
  rule: 'bp-severe',
  title: 'Severe hypertension (systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg)',
  name: 'Severe hypertension',
  criteria: 'systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg',
  severity: 'high',
  status: 'open',
  version: 1,
  measuredAt: '2026-01-01T10:00:00.000Z',
  measuredAtText: 'Thu, Jan 1, 05:00 EST',
  raisedAt: '2026-01-01T10:00:01.000Z',
  updatedAt: '2026-01-01T10:00:01.000Z',
  detail: 'BP 186/100 mmHg — systolic past the limit',
  value: 186,
  episode: null,
  confirmation: 'pending',
  confirmationText: 'Waiting for a repeat reading (at least 5 min after the first, within 15 min).',
  action: null,
  afterResolve: 'If readings stay past the limit, a new alert is raised 30 min after you resolve this one, or at once if they get worse.',
  late: false,
  inRange: false,
  flapping: false,
  worsening: false,
  claimedBy: null,
  acknowledgedBy: null,
  resolvedBy: null,
  outcome: null,
  note: null,
  snoozedUntil: null,
  escalationLevel: 0,
  slaDueAt: '2026-01-01T11:00:01.000Z',
  timeZone: 'America/New_York',
  priority: 700,
  ...over,
});

describe('WorklistModel (the dashboard’s merge of snapshot and live events)', () => {
  it('groups by patient, orders rows by their top alert’s priority, then patient id', () => {
    const m = new WorklistModel();
    m.replaceAll({
      generatedAt: '',
      patients: [
        { patientId: 'p-2', priority: 300, alerts: [alert({ id: 'b', patientId: 'p-2', priority: 300 })] },
        { patientId: 'p-1', priority: 1000, alerts: [alert({ id: 'a', priority: 1000 }), alert({ id: 'c', priority: 100 })] },
      ],
    });
    m.apply(alert({ id: 'd', patientId: 'p-0', priority: 300 }));
    expect(m.rows().map((r) => [r.patientId, r.top.id, r.alerts.length])).toEqual([
      ['p-1', 'a', 2],
      ['p-0', 'd', 1],
      ['p-2', 'b', 1],
    ]);
  });

  it('keeps the newest version whatever the arrival order, and never resurrects a resolved alert', () => {
    const m = new WorklistModel();
    expect(m.apply(alert({ version: 2, claimedBy: 's-1', status: 'claimed' }))).toBe('added');
    expect(m.apply(alert({ version: 1 }))).toBe('stale');
    expect(m.get('a-1')?.claimedBy).toBe('s-1');
    expect(m.apply(alert({ version: 3, status: 'resolved' }))).toBe('removed');
    expect(m.apply(alert({ version: 2, status: 'claimed' }))).toBe('stale');
    // A snapshot fetched before the resolution still lists it: the tombstone wins.
    m.replaceAll({ generatedAt: '', patients: [{ patientId: 'p-1', priority: 700, alerts: [alert({ version: 2 })] }] });
    expect(m.size).toBe(0);
  });

  it('keeps the last known priority and its reasons for an action’s answer (which has none) until the event brings them', () => {
    const m = new WorklistModel();
    const reasons = [{ code: 'severity', points: 600, label: 'High severity' }];
    m.apply(alert({ version: 1, priority: 950, priorityReasons: reasons }));
    const { priority: _p, priorityReasons: _r, ...answer } = alert({ version: 2, status: 'claimed', claimedBy: 'me' });
    expect(m.apply(answer)).toBe('changed');
    expect(m.get('a-1')?.priority).toBe(950);
    expect(m.get('a-1')?.priorityReasons).toEqual(reasons);
    expect(m.apply(alert({ version: 2, status: 'claimed', claimedBy: 'me', priority: 960 }))).toBe('changed');
    expect(m.get('a-1')?.priority).toBe(960);
  });
});

describe('parseSseBlock', () => {
  it('reads event and data lines and ignores comments', () => {
    expect(parseSseBlock('id: 3\nevent: alert\ndata: {"a":1}')).toEqual({ event: 'alert', data: '{"a":1}' });
    expect(parseSseBlock(': keep-alive')).toBeNull();
    expect(parseSseBlock('data: one\ndata: two')).toEqual({ event: 'message', data: 'one\ntwo' });
  });
});
