import { describe, expect, it } from 'vitest';
import { advanceClock, type ConditionChange, type ConditionState, EMPTY_CONDITION, evaluateCondition, FLAP_TRANSITIONS, FLAP_WINDOW_MS } from './conditions.js';
import { type Program, type RuleDefinition, type RuleInput, ruleDefinition, type Severity } from './model.js';
import { PROGRAM_RULES } from './programs.js';
import { missingVerdict, type Observation, type Verdict, verdictAt } from './verdicts.js';

const MIN = 60_000;
const H = 3_600_000;
const T = Date.UTC(2025, 2, 10, 0, 0, 0);

function programRule(program: Program, id: string): RuleDefinition {
  const raw = PROGRAM_RULES[program].find((r) => r.id === id);
  if (raw === undefined) throw new Error(`no rule ${id} in ${program}`);
  return ruleDefinition.parse(raw);
}

const spo2Low = programRule('general', 'spo2-low');
const bpSevere = programRule('general', 'bp-severe');

/** A verdict `atMin` minutes after T: a breach at `severity`, or clear / hold. */
function v(atMin: number, severity: Severity | 'clear' | 'hold', value: number | null = null): Verdict {
  return {
    atMs: T + atMin * MIN,
    readingId: `r@${atMin}`,
    severity: severity === 'clear' || severity === 'hold' ? null : severity,
    clear: severity === 'clear',
    value,
    finding: { type: 'reading', kind: 'spo2', values: value === null ? {} : { value }, breached: severity === 'clear' || severity === 'hold' ? [] : ['value'] },
    badness: severity === 'clear' || severity === 'hold' ? 0 : 1,
    late: false,
    detail: `at ${atMin}`,
  };
}

let seq = 0;
/** The verdict of `rule` for a reading `atMin` minutes after T. */
function reading(rule: RuleDefinition, atMin: number, values: Observation['values']): Verdict {
  seq += 1;
  const kind = rule.type === 'news2' ? 'spo2' : rule.kind;
  const o: Observation = { id: `o${seq}`, kind, measuredAtMs: T + atMin * MIN, values };
  const verdict = verdictAt(rule, o, [o]);
  if (verdict === null) throw new Error('no verdict');
  return verdict;
}
const spo2 = (atMin: number, value: number) => reading(spo2Low, atMin, { value });
const bp = (atMin: number, systolic: number, diastolic: number) => reading(bpSevere, atMin, { systolic, diastolic });

/** Evaluate batches one after another, as the engine does; returns every change and the final state. */
function run(rule: RuleDefinition, batches: Verdict[][], start: ConditionState = EMPTY_CONDITION): { state: ConditionState; changes: (ConditionChange | null)[] } {
  let state = start;
  const changes: (ConditionChange | null)[] = [];
  for (const batch of batches) {
    const r = evaluateCondition(rule, state, batch);
    state = r.state;
    changes.push(r.change);
  }
  return { state, changes };
}

/** Apply verdicts one per batch (live readings). */
const live = (rule: RuleDefinition, verdicts: Verdict[], start?: ConditionState) => run(rule, verdicts.map((x) => [x]), start);

const types = (changes: (ConditionChange | null)[]) => changes.map((c) => c?.type ?? null);

describe('opening, updating and clearing a condition', () => {
  it('opens on a first breach at its severity, stamped with the breach’s measurement time and reading', () => {
    const { state, change } = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(10, 'high', 91)]);
    expect(change?.type).toBe('opened');
    expect(state).toMatchObject({
      open: true,
      severity: 'high',
      openedAtMs: T + 10 * MIN,
      lastEvaluatedAtMs: T + 10 * MIN,
      lastBreachAtMs: T + 10 * MIN,
      lastReadingId: 'r@10',
      lastValue: 91,
      confirmation: null,
      pendingSinceMs: null,
      transitions: [T + 10 * MIN],
      flapping: false,
    });
  });

  it('reports a further breach at the same severity as continuing (nothing a nurse sees changed), and records the latest reading', () => {
    const { state, changes } = live(spo2Low, [v(0, 'high', 91), v(10, 'high', 90)]);
    expect(types(changes)).toEqual(['opened', 'continued']);
    expect(state).toMatchObject({ open: true, severity: 'high', openedAtMs: T, lastBreachAtMs: T + 10 * MIN, lastReadingId: 'r@10', lastValue: 90 });
  });

  it('reports a rise in severity as an update marked escalated', () => {
    const { changes } = live(spo2Low, [v(0, 'medium'), v(10, 'high')]);
    expect(changes[1]).toMatchObject({ type: 'updated', escalated: true, newEpisode: false, state: { severity: 'high', openedAtMs: T } });
  });

  it('lets the severity of an unconfirmed rule follow the latest breach down, as an update not marked escalated', () => {
    const { changes } = live(spo2Low, [v(0, 'high'), v(10, 'medium')]);
    expect(changes[1]).toMatchObject({ type: 'updated', escalated: false, state: { severity: 'medium' } });
  });

  it('holds an open condition open on a verdict that is neither breach nor clear', () => {
    const { state, changes } = live(spo2Low, [v(0, 'high'), v(10, 'hold')]);
    expect(types(changes)).toEqual(['opened', null]);
    expect(state).toMatchObject({ open: true, severity: 'high', lastEvaluatedAtMs: T + 10 * MIN, lastReadingId: 'r@0' });
  });

  it('holds a closed condition closed on a verdict that is neither breach nor clear', () => {
    const { state, change } = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(0, 'hold')]);
    expect(change).toBeNull();
    expect(state.open).toBe(false);
  });

  it('closes on a clear verdict, keeping when the episode opened and recording the reading that cleared it', () => {
    const { state, changes } = live(spo2Low, [v(0, 'high', 91), v(30, 'clear', 97)]);
    expect(types(changes)).toEqual(['opened', 'cleared']);
    expect(state).toMatchObject({ open: false, openedAtMs: T, lastReadingId: 'r@30', lastValue: 97, confirmation: null, transitions: [T, T + 30 * MIN] });
  });

  it('reports no change for a clear verdict on a closed condition, or for no verdicts at all', () => {
    expect(evaluateCondition(spo2Low, EMPTY_CONDITION, [v(0, 'clear')]).change).toBeNull();
    expect(evaluateCondition(spo2Low, EMPTY_CONDITION, [])).toEqual({ state: EMPTY_CONDITION, change: null });
  });
});

describe('missing-data conditions', () => {
  const weightMissing = programRule('heart-failure', 'weight-missing');

  it('open on the clock’s verdict at the deadline and close on the next reading of the kind', () => {
    const deadline: Verdict = missingVerdict('body-weight', 48, 'medium', T + 48 * H, T);
    const opened = evaluateCondition(weightMissing, EMPTY_CONDITION, [deadline]);
    expect(opened.change?.type).toBe('opened');
    expect(opened.state).toMatchObject({ open: true, severity: 'medium', openedAtMs: T + 48 * H });
    const weight = reading(weightMissing, 50 * 60, { value: 80 });
    expect(evaluateCondition(weightMissing, opened.state, [weight]).change?.type).toBe('cleared');
  });

  it('are not closed by a late reading measured before the deadline', () => {
    const deadline: Verdict = missingVerdict('body-weight', 48, 'medium', T + 48 * H, T);
    const opened = evaluateCondition(weightMissing, EMPTY_CONDITION, [deadline]).state;
    expect(evaluateCondition(weightMissing, opened, [reading(weightMissing, 47 * 60, { value: 80 })]).change).toBeNull();
  });
});

describe('hysteresis (SpO2 < 94 medium, < 92 high, clears above 95)', () => {
  it('stays open between the limit and the clear threshold and clears only past it', () => {
    const { state, changes } = live(spo2Low, [spo2(0, 91), spo2(10, 93), spo2(20, 94), spo2(30, 95), spo2(40, 96)]);
    expect(types(changes)).toEqual(['opened', 'updated', null, null, 'cleared']);
    expect(state.open).toBe(false);
  });

  it('does not reopen in the band between the clear threshold and the limit', () => {
    const { changes } = live(spo2Low, [spo2(0, 91), spo2(10, 96), spo2(20, 95), spo2(30, 94), spo2(40, 93)]);
    expect(types(changes)).toEqual(['opened', 'cleared', null, null, 'opened']);
  });
});

describe('late and out-of-order data', () => {
  it('sorts a batch by measurement time: breach then clear is a transient episode', () => {
    const { change } = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(20, 'clear'), v(10, 'high')]);
    expect(change?.type).toBe('transient');
  });

  it('sorts a batch by measurement time: clear then breach opens', () => {
    const { change, state } = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(20, 'high'), v(10, 'clear')]);
    expect(change?.type).toBe('opened');
    expect(state.openedAtMs).toBe(T + 20 * MIN);
  });

  it('never reopens a cleared condition on a late breach measured before the clear', () => {
    const { state, changes } = live(spo2Low, [v(0, 'high'), v(30, 'clear'), v(20, 'critical')]);
    expect(types(changes)).toEqual(['opened', 'cleared', null]);
    expect(state.open).toBe(false);
    expect(state.lastEvaluatedAtMs).toBe(T + 30 * MIN);
  });

  it('never clears an open condition on a late in-range reading measured before the latest breach', () => {
    const { state, changes } = live(spo2Low, [v(0, 'high'), v(30, 'high'), v(20, 'clear')]);
    expect(types(changes)).toEqual(['opened', 'continued', null]);
    expect(state.open).toBe(true);
  });

  it('never re-raises (escalates) an open condition on a late, more severe breach', () => {
    const { state, changes } = live(spo2Low, [v(0, 'medium'), v(30, 'medium'), v(20, 'critical')]);
    expect(types(changes)).toEqual(['opened', 'continued', null]);
    expect(state.severity).toBe('medium');
  });

  it('never opens a transient episode from late readings older than the last applied verdict', () => {
    const { state, changes } = live(spo2Low, [v(60, 'clear'), v(10, 'high'), v(20, 'clear')]);
    expect(changes).toEqual([null, null, null]);
    expect(state).toMatchObject({ open: false, transitions: [], lastEvaluatedAtMs: T + 60 * MIN });
  });

  it('skips the stale verdicts of a batch and applies the fresh ones', () => {
    const start = live(spo2Low, [v(0, 'medium'), v(30, 'medium')]).state;
    const { state, change } = evaluateCondition(spo2Low, start, [v(20, 'clear'), v(40, 'high'), v(25, 'critical')]);
    expect(change).toMatchObject({ type: 'updated', escalated: true });
    expect(state).toMatchObject({ open: true, severity: 'high', lastEvaluatedAtMs: T + 40 * MIN });
  });

  it('treats a verdict measured at the same time as the last applied one as not late', () => {
    const start = live(spo2Low, [v(0, 'high'), v(30, 'hold')]).state;
    expect(evaluateCondition(spo2Low, start, [v(30, 'clear')]).change?.type).toBe('cleared');
  });
});

describe('backfill collapses to at most one change per condition', () => {
  /** A day of SpO2 readings every 15 minutes: 97 % except where `at` says otherwise. */
  function day(at: Record<number, number>): Verdict[] {
    return Array.from({ length: 96 }, (_, i) => spo2(i * 15, at[i * 15] ?? 97));
  }

  it('turns a day-long gap with one episode into one transient change: opened at the first breach, carrying its first and its worst reading', () => {
    const batch = day({ 600: 93, 615: 91, 630: 90, 645: 93, 660: 94 });
    const worst = batch.find((x) => x.atMs === T + 630 * MIN) as Verdict;
    const { state, change } = evaluateCondition(spo2Low, EMPTY_CONDITION, batch);
    expect(change?.type).toBe('transient');
    if (change?.type !== 'transient') return;
    expect(change.episode).toMatchObject({ severity: 'high', confirmation: null, late: false });
    expect(change.episode.episode.first).toMatchObject({ atMs: T + 600 * MIN, value: 93, severity: 'medium' });
    expect(change.episode.episode.worst).toMatchObject({ atMs: worst.atMs, readingId: worst.readingId, value: 90, severity: 'high' });
    expect(state.open).toBe(false);
  });

  it('turns several episodes in one backfill into one transient change for the worst episode', () => {
    const { change } = evaluateCondition(spo2Low, EMPTY_CONDITION, day({ 120: 93, 840: 91, 1200: 93 }));
    expect(change?.type).toBe('transient');
    if (change?.type !== 'transient') return;
    expect(change.episode).toMatchObject({ severity: 'high', episode: { first: { atMs: T + 840 * MIN, value: 91 }, worst: { value: 91 } } });
  });

  it('turns a backfill that ends in breach into one opened change stamped with the breach that opened the last episode', () => {
    const batch = [...day({ 120: 91, 300: 93, 1380: 93, 1395: 91, 1410: 92, 1425: 91 })];
    const { state, change } = evaluateCondition(spo2Low, EMPTY_CONDITION, batch);
    expect(change?.type).toBe('opened');
    expect(state).toMatchObject({ open: true, severity: 'high', openedAtMs: T + 1380 * MIN, lastBreachAtMs: T + 1425 * MIN });
  });

  it('turns a backfill of an open condition that ends in range into one cleared change', () => {
    const start = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(-60, 'high')]).state;
    const { change } = evaluateCondition(spo2Low, start, day({ 0: 91, 300: 91, 600: 93 }));
    expect(change?.type).toBe('cleared');
  });

  it('turns a backfill of an open condition that clears and opens again into one update marked as a new episode', () => {
    const start = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(-60, 'high', 90)]).state;
    const { state, change } = evaluateCondition(spo2Low, start, day({ 1380: 91, 1395: 91, 1410: 91, 1425: 91 }));
    expect(change).toMatchObject({ type: 'updated', escalated: false, newEpisode: true });
    expect(state.openedAtMs).toBe(T + 1380 * MIN);
  });

  it('reports no change for a backfilled day in range', () => {
    expect(evaluateCondition(spo2Low, EMPTY_CONDITION, day({})).change).toBeNull();
  });
});

describe('flapping (4 open/clear transitions within 6 h)', () => {
  it('uses 4 transitions in 6 hours', () => {
    expect(FLAP_TRANSITIONS).toBe(4);
    expect(FLAP_WINDOW_MS).toBe(6 * H);
  });

  it('marks the condition flapping on the fourth transition within 6 h', () => {
    const { state, changes } = live(spo2Low, [v(0, 'high'), v(60, 'clear'), v(120, 'high'), v(180, 'clear')]);
    expect(types(changes)).toEqual(['opened', 'cleared', 'opened', 'cleared']);
    expect(changes.map((c) => c?.state.flapping)).toEqual([false, false, false, true]);
    expect(state.transitions).toHaveLength(4);
  });

  it('does not mark three transitions as flapping', () => {
    expect(live(spo2Low, [v(0, 'high'), v(60, 'clear'), v(120, 'high')]).state.flapping).toBe(false);
  });

  it('no longer counts a transition exactly 6 h before the latest one', () => {
    const { state } = live(spo2Low, [v(0, 'high'), v(120, 'clear'), v(240, 'high'), v(360, 'clear')]);
    expect(state.flapping).toBe(false);
    expect(state.transitions).toEqual([T + 120 * MIN, T + 240 * MIN, T + 360 * MIN]);
    expect(live(spo2Low, [v(0, 'high'), v(120, 'clear'), v(240, 'high'), v(359, 'clear')]).state.flapping).toBe(true);
  });

  it('counts transitions inside a backfilled batch too', () => {
    const { state, change } = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(0, 'high'), v(15, 'clear'), v(30, 'high'), v(45, 'clear')]);
    expect(change?.type).toBe('transient');
    expect(state.flapping).toBe(true);
  });

  it('stops flapping once the transitions age out of the window, reported as an update while open', () => {
    const flapping = live(spo2Low, [v(0, 'high'), v(60, 'clear'), v(120, 'high'), v(180, 'clear'), v(240, 'high')]);
    expect(flapping.state).toMatchObject({ open: true, flapping: true });
    const later = evaluateCondition(spo2Low, flapping.state, [v(60 + 6 * 60 + 1, 'high')]);
    expect(later.change).toMatchObject({ type: 'updated', escalated: false, state: { flapping: false } });
  });

  it('reports starting to flap while open as an update', () => {
    const { changes } = live(spo2Low, [v(0, 'high'), v(60, 'clear'), v(120, 'high'), v(180, 'hold')]);
    expect(types(changes)).toEqual(['opened', 'cleared', 'opened', null]);
    // The fourth transition comes from a clear and reopen inside one batch.
    const r = evaluateCondition(spo2Low, EMPTY_CONDITION, [v(0, 'high'), v(60, 'clear'), v(120, 'high')]);
    const again = evaluateCondition(spo2Low, r.state, [v(180, 'clear'), v(190, 'high')]);
    expect(again.change).toMatchObject({ type: 'updated', newEpisode: true, state: { flapping: true, open: true } });
  });
});

describe('confirmation by a repeat measurement (severe BP ≥ 180/120, repeat within 15 min)', () => {
  it('opens a first severe reading at the initial severity (high), pending a repeat', () => {
    const { state, change } = evaluateCondition(bpSevere, EMPTY_CONDITION, [bp(0, 185, 100)]);
    expect(change?.type).toBe('opened');
    expect(state).toMatchObject({ open: true, severity: 'high', confirmation: 'pending', pendingSinceMs: T, openedAtMs: T });
  });

  it('confirms at critical on a severe repeat within the window, as an escalation', () => {
    const { state, changes } = live(bpSevere, [bp(0, 185, 100), bp(5, 182, 95)]);
    expect(changes[1]).toMatchObject({ type: 'updated', escalated: true });
    expect(state).toMatchObject({ severity: 'critical', confirmation: 'confirmed', pendingSinceMs: null, openedAtMs: T });
  });

  it('confirms on a severe repeat exactly 15 minutes later', () => {
    expect(live(bpSevere, [bp(0, 185, 100), bp(15, 181, 90)]).state).toMatchObject({ severity: 'critical', confirmation: 'confirmed' });
  });

  it('confirms on a severe repeat that comes after the window passed: the wait had expired, the repeat still answers it', () => {
    const late = live(bpSevere, [bp(0, 185, 100), bp(16, 186, 100)]);
    expect(late.changes[1]).toMatchObject({ type: 'updated', escalated: true });
    expect(late.state).toMatchObject({ severity: 'critical', confirmation: 'confirmed', pendingSinceMs: null, openedAtMs: T });
  });

  it('keeps confirming on three severe readings 20 minutes apart (never "pending" forever)', () => {
    const { state } = live(bpSevere, [bp(0, 184, 100), bp(20, 186, 100), bp(40, 190, 100)]);
    expect(state).toMatchObject({ severity: 'critical', confirmation: 'confirmed' });
  });

  it('does not count a second reading less than 3 minutes after the first (the same sitting) as a repeat', () => {
    const quick = live(bpSevere, [bp(0, 185, 100), bp(1, 186, 101)]);
    expect(quick.state).toMatchObject({ severity: 'high', confirmation: 'pending', pendingSinceMs: T });
    const normal = live(bpSevere, [bp(0, 185, 100), bp(2, 140, 85)]);
    expect(normal.state).toMatchObject({ open: true, confirmation: 'pending' });
    // The worse second reading of the sitting is the episode's worst, without confirming it.
    expect(quick.state.episode?.worst.value).toBe(186);
  });

  it('is not confirmed by an in-range repeat: the episode closes as not confirmed, at the lower severity', () => {
    const { state, changes } = live(bpSevere, [bp(0, 185, 100), bp(5, 140, 85)]);
    expect(changes[1]?.type).toBe('cleared');
    expect(state).toMatchObject({ open: false, confirmation: 'not-confirmed', severity: 'medium', pendingSinceMs: null });
  });

  it('is not confirmed by a repeat below the limit even inside the hysteresis band', () => {
    const held = live(bpSevere, [bp(0, 185, 100), bp(5, 175, 100)]);
    expect(held.changes[1]?.type).toBe('cleared');
    expect(held.state).toMatchObject({ open: false, confirmation: 'not-confirmed' });
  });

  it('expires when no repeat comes within the window, on the clock', () => {
    const first = evaluateCondition(bpSevere, EMPTY_CONDITION, [bp(0, 185, 100)], T + MIN);
    expect(first.state.confirmation).toBe('pending');
    expect(advanceClock(bpSevere, first.state, T + 14 * MIN).change).toBeNull();
    const expired = advanceClock(bpSevere, first.state, T + 15 * MIN);
    expect(expired.change).toMatchObject({ type: 'updated', escalated: false });
    expect(expired.state).toMatchObject({ open: true, severity: 'high', confirmation: 'expired' });
  });

  it('marks a backfilled severe reading without a repeat as expired at once (its window passed long ago)', () => {
    const { state, change } = evaluateCondition(bpSevere, EMPTY_CONDITION, [bp(0, 190, 100)], T + 6 * 60 * MIN);
    expect(change?.type).toBe('opened');
    expect(state).toMatchObject({ open: true, severity: 'high', confirmation: 'expired' });
  });

  it('stays expired when a reading below the limit comes after the window: the repeat asked for never came', () => {
    const { state } = live(bpSevere, [bp(0, 185, 100), bp(60, 140, 85)]);
    expect(state).toMatchObject({ open: false, confirmation: 'expired', severity: 'high' });
  });

  it('waits for a new repeat after the condition cleared', () => {
    const { state } = live(bpSevere, [bp(0, 185, 100), bp(5, 140, 85), bp(10, 188, 100)]);
    expect(state).toMatchObject({ open: true, severity: 'high', confirmation: 'pending', pendingSinceMs: T + 10 * MIN, openedAtMs: T + 10 * MIN });
  });

  it('opens a severe pair backfilled in one batch directly as confirmed critical', () => {
    const { state, change } = evaluateCondition(bpSevere, EMPTY_CONDITION, [bp(5, 190, 100), bp(0, 185, 100)]);
    expect(change?.type).toBe('opened');
    expect(state).toMatchObject({ severity: 'critical', confirmation: 'confirmed', openedAtMs: T });
  });

  describe('with tiers below and above the initial severity', () => {
    const tiered = ruleDefinition.parse({
      id: 'bp-tiered',
      title: 'BP tiers',
      type: 'threshold',
      kind: 'blood-pressure',
      limits: [{ component: 'systolic', comparator: '>=', tiers: [{ severity: 'medium', value: 160 }, { severity: 'critical', value: 180 }], clearAt: 150 }],
      confirmation: { withinMinutes: 15, initialSeverity: 'high' },
    } satisfies RuleInput);
    const sbp = (atMin: number, systolic: number) => reading(tiered, atMin, { systolic });

    it('opens a first breach below the initial severity at its own lower tier', () => {
      expect(evaluateCondition(tiered, EMPTY_CONDITION, [sbp(0, 165)]).state).toMatchObject({ severity: 'medium', confirmation: 'pending' });
    });

    it('confirms at the repeat’s tier', () => {
      expect(live(tiered, [sbp(0, 185), sbp(5, 165)]).state).toMatchObject({ severity: 'medium', confirmation: 'confirmed' });
      expect(live(tiered, [sbp(0, 165), sbp(5, 185)]).state).toMatchObject({ severity: 'critical', confirmation: 'confirmed' });
    });

    it('keeps a confirmed severity when a later breach is milder', () => {
      const { state, changes } = live(tiered, [sbp(0, 185), sbp(5, 185), sbp(30, 165)]);
      expect(changes[2]?.type).toBe('continued');
      expect(state).toMatchObject({ severity: 'critical', confirmation: 'confirmed' });
    });

    it('raises a confirmed severity when a later breach is worse', () => {
      const { state } = live(tiered, [sbp(0, 165), sbp(5, 165), sbp(30, 185)]);
      expect(state).toMatchObject({ severity: 'critical', confirmation: 'confirmed' });
    });
  });
});
