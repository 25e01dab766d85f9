import { describe, expect, it } from 'vitest';
import type { Alert } from '../core/model/alert.js';
import { syncAlert, type AlertSync, type AlertSyncContext } from './alert-sync.js';
import { type ConditionChange, type ConditionState, EMPTY_CONDITION, evaluateCondition } from './conditions.js';
import { type Program, type RuleDefinition, ruleDefinition, type Severity } from './model.js';
import { PROGRAM_RULES } from './programs.js';
import type { Verdict } from './verdicts.js';

const MIN = 60_000;
/** Measurement times are relative to T; the engine's clock (`now`) runs later. */
const T = Date.UTC(2025, 2, 10, 8, 0, 0);
const NOW = T + 2 * 60 * MIN;

function programRule(program: Program, id: string): RuleDefinition {
  const raw = PROGRAM_RULES[program].find((r) => r.id === id);
  if (raw === undefined) throw new Error(`no rule ${id} in ${program}`);
  return ruleDefinition.parse(raw);
}

/** Auto-resolving (SpO2 low) and nurse-closed (severe BP, with confirmation) rules. */
const autoRule = programRule('general', 'spo2-low');
const nurseRule = programRule('general', 'bp-severe');

const ctx = (nowMs = NOW, newId = 'alert-1'): AlertSyncContext => ({ patientId: 'patient-1', organizationId: 'org-1', nowMs, newId });

function v(atMin: number, severity: Severity | 'clear' | 'hold', value: number | null = null): Verdict {
  return {
    atMs: T + atMin * MIN,
    readingId: `r@${atMin}`,
    severity: severity === 'clear' || severity === 'hold' ? null : severity,
    clear: severity === 'clear',
    value,
    finding: { type: 'reading', kind: 'spo2', values: value === null ? {} : { value }, breached: severity === 'clear' || severity === 'hold' ? [] : ['value'] },
    // SpO2: the lower, the further past the limit.
    badness: severity === 'clear' || severity === 'hold' ? 0 : 1 + (100 - (value ?? 100)) / 100,
    late: false,
    detail: `reading at ${atMin}`,
  };
}

/** A severe BP verdict: the higher the systolic, the further past the limit. */
function bpv(atMin: number, systolic: number): Verdict {
  return { ...v(atMin, 'critical', systolic), finding: { type: 'reading', kind: 'blood-pressure', values: { systolic, diastolic: 100 }, breached: ['systolic'] }, badness: 1 + (systolic - 180) / 180 };
}

function changeOf(rule: RuleDefinition, start: ConditionState, verdicts: Verdict[]): { state: ConditionState; change: ConditionChange } {
  const r = evaluateCondition(rule, start, verdicts);
  if (r.change === null) throw new Error('expected a condition change');
  return { state: r.state, change: r.change };
}

function created(sync: AlertSync): Alert {
  if (sync.create === undefined) throw new Error('expected a created alert');
  return sync.create;
}
function updated(sync: AlertSync): Alert {
  if (sync.update === undefined) throw new Error('expected an updated alert');
  return sync.update;
}

/**
 * One patient × rule as the engine runs it: condition state, the alerts written, the unresolved
 * one passed back in. `nurseResolve` stands in for a nurse closing the alert.
 */
class Harness {
  state: ConditionState = EMPTY_CONDITION;
  readonly alerts: Alert[] = [];
  constructor(private readonly rule: RuleDefinition) {}

  get unresolved(): Alert | undefined {
    return this.alerts.find((a) => a.status !== 'resolved');
  }

  get lastResolved(): Alert | undefined {
    return this.alerts.filter((a) => a.status === 'resolved').sort((a, b) => (b.resolvedAtMs ?? 0) - (a.resolvedAtMs ?? 0))[0];
  }

  apply(verdicts: Verdict[], nowMs = NOW): AlertSync | null {
    const { state, change } = evaluateCondition(this.rule, this.state, verdicts);
    this.state = state;
    if (change === null) return null;
    const last = this.unresolved === undefined ? this.lastResolved : undefined;
    const sync = syncAlert(this.rule, change, this.unresolved, { ...ctx(nowMs, `alert-${this.alerts.length + 1}`), ...(last === undefined ? {} : { lastResolved: last }) });
    if (sync.create !== undefined) this.alerts.push(sync.create);
    if (sync.update !== undefined) {
      const next = sync.update;
      const i = this.alerts.findIndex((a) => a.id === next.id);
      this.alerts[i] = next;
    }
    return sync;
  }

  /** A nurse resolves the alert; `atMin` is the wall time of the resolve, on T's scale. */
  nurseResolve(atMin = 0): void {
    const a = this.unresolved;
    if (a === undefined) throw new Error('nothing to resolve');
    this.alerts[this.alerts.indexOf(a)] = { ...a, status: 'resolved', resolvedBy: 'nurse-a', resolvedAtMs: T + atMin * MIN, outcome: 'contacted-patient', version: a.version + 1 };
  }
}

describe('creating an alert', () => {
  it('raises an open alert when a condition opens, stamped with the breach’s measurement time, SLA counted from now', () => {
    const { change } = changeOf(autoRule, EMPTY_CONDITION, [v(0, 'high', 91)]);
    const sync = syncAlert(autoRule, change, undefined, ctx());
    const alert = created(sync);
    expect(alert).toMatchObject({
      id: 'alert-1',
      organizationId: 'org-1',
      patientId: 'patient-1',
      ruleId: 'spo2-low',
      ruleTitle: autoRule.title,
      severity: 'high',
      status: 'open',
      version: 1,
      measuredAtMs: T,
      createdAtMs: NOW,
      updatedAtMs: NOW,
      readingId: 'r@0',
      value: 91,
      detail: 'SpO2 91 %',
      confirmation: null,
      inRange: false,
      flapping: false,
      worsening: false,
      late: false,
      claimedBy: null,
      resolvedBy: null,
      snoozedUntilMs: null,
      escalationLevel: 0,
      slaDueAtMs: NOW + 60 * MIN,
      rule: autoRule,
    });
    // One consistent story: the first and the worst reading, each with its own time and values.
    expect(alert.episode?.first).toMatchObject({ readingId: 'r@0', atMs: T, value: 91, severity: 'high' });
    expect(alert.episode?.worst).toEqual(alert.episode?.first);
    expect(sync.update).toBeUndefined();
    expect(sync.events).toEqual([
      { alertId: 'alert-1', version: 1, atMs: NOW, actor: 'rules-engine', action: 'raised', fromStatus: null, toStatus: 'open', severity: 'high', note: null, finding: alert.episode?.first.finding },
    ]);
  });

  it('raises a first severe BP as a high alert pending confirmation, with the high SLA', () => {
    const { change } = changeOf(nurseRule, EMPTY_CONDITION, [v(0, 'critical', 185)]);
    const alert = created(syncAlert(nurseRule, change, undefined, ctx()));
    expect(alert).toMatchObject({ severity: 'high', confirmation: 'pending', slaDueAtMs: NOW + 60 * MIN });
  });

  it('raises a new alert when the condition opens again after its alert was resolved', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high')]);
    h.apply([v(30, 'clear')]);
    const sync = h.apply([v(60, 'medium')]);
    expect(created(sync as AlertSync)).toMatchObject({ id: 'alert-2', severity: 'medium', measuredAtMs: T + 60 * MIN });
    expect(h.alerts.map((a) => a.status)).toEqual(['resolved', 'open']);
  });
});

describe('updating the unresolved alert', () => {
  it('raises the severity, marks the alert worsening and shortens its SLA when the condition escalates', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'medium')], NOW);
    expect(h.unresolved?.slaDueAtMs).toBe(NOW + 240 * MIN);
    const sync = h.apply([v(10, 'high', 90)], NOW + 10 * MIN) as AlertSync;
    expect(updated(sync)).toMatchObject({ severity: 'high', worsening: true, version: 2, updatedAtMs: NOW + 10 * MIN, slaDueAtMs: NOW + 70 * MIN, value: 90, readingId: 'r@10' });
    expect(sync.events).toMatchObject([
      { alertId: 'alert-1', version: 2, atMs: NOW + 10 * MIN, actor: 'rules-engine', action: 'updated', fromStatus: 'open', toStatus: 'open', severity: 'high', note: 'more severe', finding: { type: 'reading', values: { value: 90 } } },
    ]);
  });

  it('never lengthens the SLA when escalating late, and keeps the earlier deadline', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high')], NOW);
    const a = updated(h.apply([v(10, 'critical')], NOW + 50 * MIN) as AlertSync);
    expect(a.slaDueAtMs).toBe(NOW + 60 * MIN);
  });

  it('keeps the SLA and the worsening mark when the severity falls again', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'medium')], NOW);
    h.apply([v(10, 'high')], NOW + 10 * MIN);
    const a = updated(h.apply([v(20, 'medium')], NOW + 20 * MIN) as AlertSync);
    expect(a).toMatchObject({ severity: 'medium', worsening: true, slaDueAtMs: NOW + 70 * MIN, version: 3 });
  });

  it('does not mark the alert worsening when the severity falls', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high')]);
    expect(updated(h.apply([v(10, 'medium')]) as AlertSync).worsening).toBe(false);
  });

  it('confirms the alert at critical on a repeat severe BP, shortening the SLA to 15 minutes', () => {
    const h = new Harness(nurseRule);
    h.apply([bpv(0, 185)], NOW);
    const a = updated(h.apply([bpv(5, 190)], NOW + 5 * MIN) as AlertSync);
    expect(a).toMatchObject({ severity: 'critical', confirmation: 'confirmed', worsening: true, slaDueAtMs: NOW + 20 * MIN, value: 190, measuredAtMs: T });
    // Stamped with the first reading's time; the worst reading keeps its own time and values.
    expect(a.episode?.first).toMatchObject({ atMs: T, value: 185 });
    expect(a.episode?.worst).toMatchObject({ atMs: T + 5 * MIN, value: 190 });
  });

  it('confirms without marking worsening when the repeat is no worse than the first reading', () => {
    const h = new Harness(nurseRule);
    h.apply([bpv(0, 190)], NOW);
    const a = updated(h.apply([bpv(5, 185)], NOW + 5 * MIN) as AlertSync);
    expect(a).toMatchObject({ severity: 'critical', confirmation: 'confirmed', worsening: false, value: 190 });
    expect(a.episode?.worst).toMatchObject({ atMs: T, value: 190 });
  });

  it('follows a worse reading of the same episode: the value shown, its time, and worsening', () => {
    const h = new Harness(nurseRule);
    h.apply([bpv(0, 182)], NOW);
    h.apply([bpv(5, 183)], NOW + 5 * MIN);
    const a = updated(h.apply([bpv(20, 184)], NOW + 20 * MIN) as AlertSync);
    expect(a).toMatchObject({ value: 184, worsening: true, readingId: 'r@20', measuredAtMs: T });
    expect(a.episode?.worst.atMs).toBe(T + 20 * MIN);
  });

  it('writes nothing when no reading was worse and nothing else a nurse sees changed', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high', 91)]);
    const alert = h.unresolved as Alert;
    // A new episode at the same severity inside one batch, milder than the worst: nothing changed.
    const { change } = changeOf(autoRule, h.state, [v(10, 'clear', 97), v(20, 'high', 91.5)]);
    expect(change).toMatchObject({ type: 'updated', newEpisode: true });
    expect(syncAlert(autoRule, change, alert, ctx())).toEqual({ events: [] });
    // A worse one is shown.
    const worse = changeOf(autoRule, h.state, [v(10, 'clear', 97), v(20, 'high', 90)]).change;
    expect(updated(syncAlert(autoRule, worse, alert, ctx()))).toMatchObject({ value: 90, worsening: true, version: 2 });
    // An 'opened' change that matches the open alert exactly writes nothing either.
    const same: ConditionChange = { type: 'opened', state: { ...h.state, lastValue: 89 }, breaches: [] };
    expect(syncAlert(autoRule, same, alert, ctx())).toEqual({ events: [] });
  });

  it('updates the alert when the condition starts flapping', () => {
    const alert = created(syncAlert(autoRule, changeOf(autoRule, EMPTY_CONDITION, [v(0, 'high')]).change, undefined, ctx()));
    const flapping: ConditionChange = { type: 'updated', state: { ...EMPTY_CONDITION, open: true, severity: 'high', openedAtMs: T, flapping: true, episode: alert.episode }, escalated: false, newEpisode: false, breaches: [] };
    expect(updated(syncAlert(autoRule, flapping, alert, ctx()))).toMatchObject({ flapping: true, version: 2, severity: 'high' });
  });

  it('keeps the nurse’s status and claim on the updated alert', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'medium')]);
    const claimed: Alert = { ...(h.unresolved as Alert), status: 'claimed', claimedBy: 'nurse-a', claimedAtMs: NOW, version: 2 };
    const sync = syncAlert(autoRule, changeOf(autoRule, h.state, [v(10, 'high')]).change, claimed, ctx());
    expect(updated(sync)).toMatchObject({ status: 'claimed', claimedBy: 'nurse-a', version: 3, severity: 'high' });
    expect(sync.events[0]).toMatchObject({ fromStatus: 'claimed', toStatus: 'claimed', action: 'updated' });
  });

  it('takes an in-range alert back out of range when the condition opens again', () => {
    const h = new Harness(nurseRule);
    h.apply([v(0, 'critical')]);
    h.apply([v(5, 'clear')]);
    expect(h.unresolved).toMatchObject({ inRange: true, status: 'open', version: 2 });
    const a = updated(h.apply([v(30, 'critical')]) as AlertSync);
    expect(a).toMatchObject({ id: 'alert-1', inRange: false, version: 3, confirmation: 'pending' });
    expect(h.alerts).toHaveLength(1);
  });
});

describe('clearing', () => {
  it('auto-resolves the alert when the rule auto-resolves and the condition is not flapping', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high')]);
    const sync = h.apply([v(30, 'clear', 97)], NOW + 30 * MIN) as AlertSync;
    expect(updated(sync)).toMatchObject({
      status: 'resolved',
      resolvedBy: 'rules-engine',
      resolvedAtMs: NOW + 30 * MIN,
      outcome: 'auto-resolved',
      inRange: true,
      // The alert's value is its episode's worst reading; the in-range one is in the readings.
      value: null,
      version: 2,
    });
    expect(sync.events).toEqual([
      { alertId: 'alert-1', version: 2, atMs: NOW + 30 * MIN, actor: 'rules-engine', action: 'auto-resolved', fromStatus: 'open', toStatus: 'resolved', severity: 'high', note: 'back in range', finding: null },
    ]);
  });

  it('marks the alert back in range, leaving it for a nurse, when the rule does not auto-resolve', () => {
    const h = new Harness(nurseRule);
    h.apply([v(0, 'critical')]);
    const sync = h.apply([v(5, 'clear')]) as AlertSync;
    expect(updated(sync)).toMatchObject({ status: 'open', inRange: true, resolvedBy: null, outcome: null, version: 2 });
    expect(sync.events[0]).toMatchObject({ action: 'in-range', fromStatus: 'open', toStatus: 'open' });
  });

  it('writes nothing when the alert is already marked in range', () => {
    const alert = created(syncAlert(nurseRule, changeOf(nurseRule, EMPTY_CONDITION, [v(0, 'critical')]).change, undefined, ctx()));
    const cleared: ConditionChange = { type: 'cleared', state: EMPTY_CONDITION, breaches: [] };
    expect(syncAlert(nurseRule, cleared, { ...alert, inRange: true }, ctx())).toEqual({ events: [] });
  });

  it('writes nothing when there is no unresolved alert (a nurse already resolved it)', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high')]);
    h.nurseResolve();
    const sync = h.apply([v(30, 'clear')]);
    expect(sync).toEqual({ events: [] });
  });

  it('refuses to auto-resolve while the condition flaps (4 transitions in 6 h): marks it in range and flapping', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high')]);
    h.apply([v(60, 'clear')]); // 2 transitions: auto-resolved
    expect(h.alerts[0]?.status).toBe('resolved');
    h.apply([v(120, 'high')]); // 3: a new alert
    const sync = h.apply([v(180, 'clear')]) as AlertSync; // 4: flapping
    expect(h.state.flapping).toBe(true);
    expect(updated(sync)).toMatchObject({ id: 'alert-2', status: 'open', inRange: true, flapping: true, outcome: null });
    expect(sync.events[0]?.action).toBe('in-range');
    // It stays with the nurse through further flaps.
    h.apply([v(240, 'high')]);
    h.apply([v(300, 'clear')]);
    expect(h.alerts.map((a) => a.status)).toEqual(['resolved', 'open']);
    expect(h.unresolved).toMatchObject({ id: 'alert-2', inRange: true, flapping: true });
  });
});

describe('an episode a nurse already resolved', () => {
  it('is not re-raised while it keeps breaching at the same or a lower severity within the re-notify interval', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high', 91)]);
    h.nurseResolve(1);
    expect(h.apply([v(10, 'high', 91)])).toEqual({ events: [] });
    expect(h.apply([v(20, 'medium', 93)])).toEqual({ events: [] });
    expect(h.alerts).toHaveLength(1);
  });

  it('is re-raised as a new alert when it escalates, stamped with the breach that brought it back', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'medium', 93)]);
    h.nurseResolve(1);
    const sync = h.apply([v(10, 'high', 90)]) as AlertSync;
    const a = created(sync);
    expect(a).toMatchObject({ id: 'alert-2', severity: 'high', status: 'open', measuredAtMs: T + 10 * MIN, version: 1 });
    expect(sync.events[0]?.note).toBe('worse than when the last alert was resolved');
  });

  it('comes back when it is still breaching the re-notify interval after the resolve (critical: 30 min)', () => {
    const h = new Harness(nurseRule);
    h.apply([bpv(0, 196)]);
    h.apply([bpv(5, 198)]);
    h.nurseResolve(10);
    // Still ≥ 180 but no worse than what the nurse saw: quiet for 30 minutes after the resolve.
    expect(h.apply([bpv(20, 199)])).toEqual({ events: [] });
    expect(h.apply([bpv(35, 197)])).toEqual({ events: [] });
    const sync = h.apply([bpv(40, 198)]) as AlertSync;
    expect(created(sync)).toMatchObject({ id: 'alert-2', severity: 'critical', confirmation: 'confirmed', measuredAtMs: T + 40 * MIN });
    expect(sync.events[0]?.note).toBe('still past the limit 30 min after the last alert was resolved');
  });

  it('comes back at once when a reading is materially worse than the worst the nurse saw (systolic + 10 mmHg)', () => {
    const h = new Harness(nurseRule);
    h.apply([bpv(0, 186)]);
    h.apply([bpv(5, 188)]);
    h.nurseResolve(10);
    expect(h.apply([bpv(15, 195)])).toEqual({ events: [] });
    const a = created(h.apply([bpv(20, 215)]) as AlertSync);
    expect(a).toMatchObject({ id: 'alert-2', severity: 'critical', value: 215, measuredAtMs: T + 20 * MIN });
  });

  it('uses the rule’s own re-notify interval when it sets one', () => {
    const rule = { ...autoRule, renotifyMinutes: 10 };
    const h = new Harness(rule);
    h.apply([v(0, 'high', 91)]);
    h.nurseResolve(1);
    expect(h.apply([v(5, 'high', 91)])).toEqual({ events: [] });
    expect(created(h.apply([v(12, 'high', 91)]) as AlertSync)).toMatchObject({ id: 'alert-2', measuredAtMs: T + 12 * MIN });
  });

  it('does not come back for readings measured before the resolve', () => {
    const h = new Harness(nurseRule);
    h.apply([bpv(0, 186)]);
    h.nurseResolve(60);
    expect(h.apply([bpv(30, 230)])).toEqual({ events: [] });
  });

  it('is re-raised when it cleared and a new episode opened inside the same batch', () => {
    const h = new Harness(autoRule);
    h.apply([v(0, 'high')]);
    h.nurseResolve();
    const a = created(h.apply([v(10, 'clear'), v(20, 'medium', 93)]) as AlertSync);
    expect(a).toMatchObject({ id: 'alert-2', severity: 'medium', measuredAtMs: T + 20 * MIN });
  });
});

describe('a backfilled (transient) episode', () => {
  const transient = (rule: RuleDefinition) => changeOf(rule, EMPTY_CONDITION, [v(0, 'medium', 93), v(15, 'high', 91), v(30, 'clear', 97)]).change;

  it('becomes an already-resolved history alert when the rule auto-resolves', () => {
    const sync = syncAlert(autoRule, transient(autoRule), undefined, ctx());
    expect(created(sync)).toMatchObject({
      status: 'resolved',
      version: 2,
      severity: 'high',
      measuredAtMs: T,
      createdAtMs: NOW,
      readingId: 'r@15',
      value: 91,
      inRange: true,
      outcome: 'auto-resolved',
      resolvedBy: 'rules-engine',
      resolvedAtMs: NOW,
    });
    expect(sync.events.map((e) => [e.action, e.version, e.fromStatus, e.toStatus, e.note])).toEqual([
      ['raised', 1, null, 'open', 'an episode that came and went in a backfill'],
      ['auto-resolved', 2, 'open', 'resolved', null],
    ]);
  });

  it('stays open, marked in range, when the rule wants a nurse to close it', () => {
    const sync = syncAlert(nurseRule, transient(nurseRule), undefined, ctx());
    expect(created(sync)).toMatchObject({ status: 'open', version: 1, inRange: true, outcome: null, measuredAtMs: T });
    expect(sync.events.map((e) => e.action)).toEqual(['raised']);
  });

  it('stays open for a nurse when it flapped, even if the rule auto-resolves', () => {
    const { change } = changeOf(autoRule, EMPTY_CONDITION, [v(0, 'high'), v(15, 'clear'), v(30, 'high'), v(45, 'clear')]);
    expect(change).toMatchObject({ type: 'transient', state: { flapping: true } });
    const sync = syncAlert(autoRule, change, undefined, ctx());
    expect(created(sync)).toMatchObject({ status: 'open', inRange: true, flapping: true, outcome: null });
    expect(sync.events.map((e) => e.action)).toEqual(['raised']);
  });

  it('adds nothing while an unresolved alert for the rule exists', () => {
    const existing = created(syncAlert(nurseRule, changeOf(nurseRule, EMPTY_CONDITION, [v(-60, 'critical')]).change, undefined, ctx()));
    expect(syncAlert(nurseRule, transient(nurseRule), { ...existing, inRange: true }, ctx())).toEqual({ events: [] });
  });
});
