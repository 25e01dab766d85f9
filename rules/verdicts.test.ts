import { describe, expect, it } from 'vitest';
import type { ComponentName, ReadingKind } from '../core/model/reading-kinds.js';
import { type Comparator, type Program, type RuleDefinition, type RuleInput, ruleDefinition, type Severity } from './model.js';
import { PROGRAM_RULES } from './programs.js';
import { compare, type History, news2At, type Observation, ruleWatches, type Verdict, verdictAt } from './verdicts.js';

const MIN = 60_000;
const H = 3_600_000;
const DAY = 86_400_000;
const T = Date.UTC(2025, 2, 10, 8, 0, 0);

type RuleOf<K extends RuleDefinition['type']> = Extract<RuleDefinition, { type: K }>;

function parse<K extends RuleDefinition['type']>(input: Extract<RuleInput, { type: K }>): RuleOf<K> {
  return ruleDefinition.parse(input) as RuleOf<K>;
}

function programRule<K extends RuleDefinition['type']>(program: Program, id: string, type: K): RuleOf<K> {
  const raw = PROGRAM_RULES[program].find((r) => r.id === id);
  if (raw === undefined) throw new Error(`no rule ${id} in ${program}`);
  const rule = ruleDefinition.parse(raw);
  if (rule.type !== type) throw new Error(`${id} is a ${rule.type} rule`);
  return rule as RuleOf<K>;
}

let seq = 0;
function obs(kind: ReadingKind, atMs: number, values: Partial<Record<ComponentName, number>>): Observation {
  seq += 1;
  return { id: `r${seq}`, kind, measuredAtMs: atMs, values };
}

/** History ascending by measurement time, as the engine supplies it. */
function history(...observations: Observation[]): History {
  return [...observations].sort((a, b) => a.measuredAtMs - b.measuredAtMs);
}

/** The verdict at `o`, with `o` in its own history (history up to and including it). */
function at(rule: RuleDefinition, o: Observation, earlier: Observation[] = []): Verdict | null {
  return verdictAt(rule, o, history(...earlier, o));
}

function judged(v: Verdict | null): { severity: Severity | null; clear: boolean } | null {
  return v === null ? null : { severity: v.severity, clear: v.clear };
}

const BREACH = (severity: Severity) => ({ severity, clear: false });
const HOLD = { severity: null, clear: false };
const CLEAR = { severity: null, clear: true };

describe('compare', () => {
  it.each([
    [5, '>', 5, false],
    [5.0001, '>', 5, true],
    [5, '>=', 5, true],
    [4.9999, '>=', 5, false],
    [5, '<', 5, false],
    [4.9999, '<', 5, true],
    [5, '<=', 5, true],
    [5.0001, '<=', 5, false],
  ] as const)('%s %s %s is %s', (v, op, limit, result) => {
    expect(compare(v, op, limit)).toBe(result);
  });
});

describe('threshold verdicts', () => {
  function threshold(comparator: Comparator, tiers: { severity: Severity; value: number }[], clearAt?: number): RuleOf<'threshold'> {
    return parse<'threshold'>({
      id: 'hr',
      title: 'Heart rate',
      type: 'threshold',
      kind: 'heart-rate',
      limits: [{ component: 'value', comparator, tiers, ...(clearAt === undefined ? {} : { clearAt }) }],
    });
  }
  const up = (op: Comparator) => threshold(op, [{ severity: 'medium', value: 100 }, { severity: 'high', value: 120 }], 90);
  const down = (op: Comparator) => threshold(op, [{ severity: 'medium', value: 60 }, { severity: 'high', value: 40 }], 70);

  it.each([
    // '>' : strictly above the limit breaches; exactly at the limit does not.
    ['>', 100, HOLD],
    ['>', 100.1, BREACH('medium')],
    ['>', 120, BREACH('medium')],
    ['>', 120.1, BREACH('high')],
    ['>', 95, HOLD],
    ['>', 90, HOLD],
    ['>', 89.9, CLEAR],
    // '>=' : exactly at the limit breaches.
    ['>=', 99.9, HOLD],
    ['>=', 100, BREACH('medium')],
    ['>=', 119.9, BREACH('medium')],
    ['>=', 120, BREACH('high')],
    ['>=', 90, HOLD],
    ['>=', 89.9, CLEAR],
  ] as const)('an upward %s rule (medium 100, high 120, clear at 90) judges %s as %o', (op, value, expected) => {
    expect(judged(at(up(op), obs('heart-rate', T, { value })))).toEqual(expected);
  });

  it.each([
    ['<', 60, HOLD],
    ['<', 59.9, BREACH('medium')],
    ['<', 40, BREACH('medium')],
    ['<', 39.9, BREACH('high')],
    ['<', 70, HOLD],
    ['<', 70.1, CLEAR],
    ['<=', 60.1, HOLD],
    ['<=', 60, BREACH('medium')],
    ['<=', 40.1, BREACH('medium')],
    ['<=', 40, BREACH('high')],
    ['<=', 70, HOLD],
    ['<=', 70.1, CLEAR],
  ] as const)('a downward %s rule (medium 60, high 40, clear at 70) judges %s as %o', (op, value, expected) => {
    expect(judged(at(down(op), obs('heart-rate', T, { value })))).toEqual(expected);
  });

  it('clears as soon as the value is back inside the limit when the limit has no clearAt', () => {
    const rule = threshold('>', [{ severity: 'high', value: 100 }]);
    expect(judged(at(rule, obs('heart-rate', T, { value: 100 })))).toEqual(CLEAR);
    expect(judged(at(rule, obs('heart-rate', T, { value: 101 })))).toEqual(BREACH('high'));
  });

  it('picks the most severe tier met even when tiers are listed most severe first', () => {
    const rule = threshold('>', [{ severity: 'critical', value: 150 }, { severity: 'medium', value: 100 }]);
    expect(at(rule, obs('heart-rate', T, { value: 160 }))?.severity).toBe('critical');
    expect(at(rule, obs('heart-rate', T, { value: 120 }))?.severity).toBe('medium');
  });

  it('reports the reading, its id and measurement time, and the judged value', () => {
    const o = obs('heart-rate', T, { value: 125 });
    expect(at(up('>'), o)).toEqual({
      atMs: T,
      readingId: o.id,
      severity: 'high',
      clear: false,
      value: 125,
      finding: { type: 'reading', kind: 'heart-rate', values: { value: 125 }, breached: ['value'] },
      badness: 1.25,
      late: false,
      detail: 'Heart rate 125 /min',
    });
  });

  describe('with two limits (severe BP ≥ 180/≥ 120, clear below 170/110)', () => {
    const bp = programRule('general', 'bp-severe', 'threshold');

    it('breaches on the systolic alone and reports the systolic value', () => {
      const v = at(bp, obs('blood-pressure', T, { systolic: 185, diastolic: 90 }));
      expect(judged(v)).toEqual(BREACH('critical'));
      expect(v?.value).toBe(185);
      expect(v?.detail).toBe('BP 185/90 mmHg — systolic past the limit');
    });

    it('breaches on the diastolic alone and reports the diastolic value', () => {
      const v = at(bp, obs('blood-pressure', T, { systolic: 150, diastolic: 121 }));
      expect(judged(v)).toEqual(BREACH('critical'));
      expect(v?.value).toBe(121);
    });

    it('holds (neither breach nor clear) while one component is between its limit and its clear threshold', () => {
      expect(judged(at(bp, obs('blood-pressure', T, { systolic: 175, diastolic: 80 })))).toEqual(HOLD);
      expect(judged(at(bp, obs('blood-pressure', T, { systolic: 130, diastolic: 115 })))).toEqual(HOLD);
    });

    it('clears only when every component is past its clear threshold', () => {
      expect(judged(at(bp, obs('blood-pressure', T, { systolic: 169, diastolic: 109 })))).toEqual(CLEAR);
      expect(judged(at(bp, obs('blood-pressure', T, { systolic: 170, diastolic: 100 })))).toEqual(HOLD);
    });

    it('judges a reading that carries only one of the limited components on that component', () => {
      expect(judged(at(bp, obs('blood-pressure', T, { systolic: 181 })))).toEqual(BREACH('critical'));
      expect(judged(at(bp, obs('blood-pressure', T, { diastolic: 100 })))).toEqual(CLEAR);
    });

    it('gives no verdict for a reading without any limited component', () => {
      expect(at(bp, obs('blood-pressure', T, { pulse: 80 }))).toBeNull();
    });
  });

  it('reports the value of the limit with the most severe breach', () => {
    const rule = parse<'threshold'>({
      id: 'bp',
      title: 'BP',
      type: 'threshold',
      kind: 'blood-pressure',
      limits: [
        { component: 'systolic', comparator: '>', tiers: [{ severity: 'medium', value: 160 }] },
        { component: 'diastolic', comparator: '>', tiers: [{ severity: 'high', value: 110 }] },
      ],
    });
    const v = at(rule, obs('blood-pressure', T, { systolic: 170, diastolic: 115 }));
    expect(v?.severity).toBe('high');
    expect(v?.value).toBe(115);
  });
});

describe('n-of-m verdicts (COPD: 3 of the last 5 SpO2 below 88 % within 24 h)', () => {
  const rule = programRule('copd', 'spo2-sustained-low', 'n-of-m');
  /** Earlier readings one hour apart, oldest first, ending an hour before T. */
  const series = (...values: number[]) => values.map((value, i) => obs('spo2', T - (values.length - i) * H, { value }));

  it('does not breach with 2 of the last 5 below the limit, and clears', () => {
    const v = at(rule, obs('spo2', T, { value: 90 }), series(87, 90, 86, 90));
    expect(judged(v)).toEqual(CLEAR);
    expect(v?.detail).toBe('2 of the last 5 SpO2 readings < 88 % (within 24 h)');
  });

  it('breaches with 3 of the last 5 below the limit', () => {
    const v = at(rule, obs('spo2', T, { value: 87 }), series(87, 90, 86, 90));
    expect(judged(v)).toEqual(BREACH('high'));
    expect(v?.value).toBe(87);
  });

  it('keeps breaching while 3 of the last 5 are low even if the latest reading is in range', () => {
    expect(judged(at(rule, obs('spo2', T, { value: 95 }), series(87, 86, 85, 90)))).toEqual(BREACH('high'));
  });

  it('does not count a reading exactly at the limit (88 is not < 88)', () => {
    expect(judged(at(rule, obs('spo2', T, { value: 88 }), series(88, 88, 87, 86)))).toEqual(CLEAR);
  });

  it('looks only at the last m readings', () => {
    // Three lows, then five in range: the lows are no longer among the last 5.
    expect(judged(at(rule, obs('spo2', T, { value: 93 }), series(85, 85, 85, 93, 93, 93, 93)))).toEqual(CLEAR);
    expect(judged(at(rule, obs('spo2', T, { value: 93 }), series(85, 85, 85, 93, 93, 93)))).toEqual(CLEAR);
    expect(judged(at(rule, obs('spo2', T, { value: 93 }), series(85, 85, 85, 93)))).toEqual(BREACH('high'));
  });

  it('breaches with n low readings even when fewer than m readings exist', () => {
    expect(judged(at(rule, obs('spo2', T, { value: 85 }), series(86, 87)))).toEqual(BREACH('high'));
  });

  it('counts a reading exactly withinHours old but not one older', () => {
    const edge = [obs('spo2', T - 24 * H, { value: 80 }), obs('spo2', T - 2 * H, { value: 80 })];
    expect(judged(at(rule, obs('spo2', T, { value: 80 }), edge))).toEqual(BREACH('high'));
    const older = [obs('spo2', T - 24 * H - 1, { value: 80 }), obs('spo2', T - 2 * H, { value: 80 })];
    expect(judged(at(rule, obs('spo2', T, { value: 80 }), older))).toEqual(CLEAR);
  });

  it('ignores readings measured after the one judged (backfill judges each reading in its own past)', () => {
    const later = [obs('spo2', T + H, { value: 80 }), obs('spo2', T + 2 * H, { value: 80 })];
    expect(judged(at(rule, obs('spo2', T, { value: 80 }), later))).toEqual(CLEAR);
  });

  it('gives no verdict for a reading without the component', () => {
    expect(at(rule, obs('spo2', T, { pulse: 70 }), series(80, 80, 80))).toBeNull();
  });
});

describe('change verdicts', () => {
  const day = programRule('heart-failure', 'weight-gain-day', 'change');
  const week = programRule('heart-failure', 'weight-gain-week', 'change');
  const w = (atMs: number, value: number) => obs('body-weight', atMs, { value });

  it('breaches when the gain since about a day earlier exceeds 2 lb (0.907 kg)', () => {
    const v = at(day, w(T, 81), [w(T - 24 * H, 80)]);
    expect(judged(v)).toEqual(BREACH('high'));
    expect(v?.value).toBe(1);
    expect(v?.detail).toBe('Weight up 1.0 kg in 24 h: 80.0 kg (Sun, Mar 9, 08:00 UTC) → 81.0 kg');
  });

  it('clears on a gain below the delta and on a loss', () => {
    expect(judged(at(day, w(T, 80.8), [w(T - 24 * H, 80)]))).toEqual(CLEAR);
    expect(judged(at(day, w(T, 79), [w(T - 24 * H, 80)]))).toEqual(CLEAR);
  });

  it('alerts on a gain of exactly 2.0 lb from an lb scale (0.907 kg is 2 lb rounded down: conservative)', () => {
    // 180.0 lb → 81.6466 kg and 182.0 lb → 82.5538 kg, as stored (kg, 4 decimals).
    expect(judged(at(day, w(T, 82.5538), [w(T - 24 * H, 81.6466)]))).toEqual(BREACH('high'));
    // 1.8 lb → 82.4631 kg does not.
    expect(judged(at(day, w(T, 82.4631), [w(T - 24 * H, 81.6466)]))).toEqual(CLEAR);
  });

  it.each([
    ['>', 2, CLEAR],
    ['>', 2.5, BREACH('high')],
    ['>=', 2, BREACH('high')],
    ['>=', 1.5, CLEAR],
    ['<', -2, CLEAR],
    ['<', -2.5, BREACH('high')],
    ['<=', -2, BREACH('high')],
    ['<=', -1.5, CLEAR],
  ] as const)('with comparator %s and a ±2 delta judges a change of %s as %o', (comparator, change, expected) => {
    const rule = parse<'change'>({
      id: 'c',
      title: 'Change',
      type: 'change',
      kind: 'body-weight',
      component: 'value',
      windowHours: 24,
      comparator,
      delta: comparator.startsWith('>') ? 2 : -2,
      severity: 'high',
    });
    expect(judged(at(rule, w(T, 100 + change), [w(T - 24 * H, 100)]))).toEqual(expected);
  });

  it.each([
    ['exactly 28 h (24 h + 4 h grace)', 28 * H, true],
    ['2 h', 2 * H, true],
    ['28 h and 1 ms', 28 * H + 1, false],
  ])('the daily rule (lowest of the last 24 h + 4 h) compares with a reading %s earlier: %s', (_label, ago, used) => {
    const v = at(day, w(T, 82), [w(T - ago, 80)]);
    expect(v === null ? null : v.severity).toBe(used ? 'high' : null);
    expect(v === null).toBe(!used);
  });

  it.each([
    ['exactly 172 h (7 days + 4 h grace)', 172 * H, true],
    ['1 day', 24 * H, true],
    ['172 h and 1 ms', 172 * H + 1, false],
  ])('the weekly rule compares with a reading %s earlier: %s', (_label, ago, used) => {
    expect(at(week, w(T, 83), [w(T - ago, 80)]) !== null).toBe(used);
  });

  it('gives no verdict (holds the state) when there is no earlier reading in the window', () => {
    expect(at(day, w(T, 90), [])).toBeNull();
    expect(at(day, w(T, 90), [w(T - 30 * H, 80), w(T - 48 * H, 80)])).toBeNull();
  });

  it('compares a gain with the lowest reading of the window (a fall: the highest)', () => {
    // 26 h ago 80.5 kg, 20 h ago 79.8 kg: the gain counts from the lower one.
    const v = at(day, w(T, 81), [w(T - 26 * H, 80.5), w(T - 20 * H, 79.8)]);
    expect(v?.value).toBe(1.2);
    expect(judged(v)).toEqual(BREACH('high'));
    const loss = parse<'change'>({ id: 'loss', title: 'Weight loss', type: 'change', kind: 'body-weight', component: 'value', windowHours: 48, comparator: '<=', delta: -0.9, severity: 'medium' });
    expect(at(loss, w(T, 79), [w(T - 40 * H, 80.2), w(T - 30 * H, 79.6)])?.value).toBe(-1.2);
  });

  it('with reference "closest", compares with the reading closest to windowHours earlier, within the slack', () => {
    const closest = parse<'change'>({ id: 'c', title: 'Change', type: 'change', kind: 'body-weight', component: 'value', reference: 'closest', windowHours: 27, slack: 1 / 3, comparator: '>', delta: 0.907, severity: 'high' });
    // 35 h ago 78 kg, 26 h ago 80.5 kg: the 26 h one is about a day earlier.
    const v = at(closest, w(T, 81), [w(T - 35 * H, 78), w(T - 26 * H, 80.5)]);
    expect(v?.value).toBe(0.5);
    expect(judged(v)).toEqual(CLEAR);
    expect(at(closest, w(T, 82), [w(T - 18 * H + 1, 80)])).toBeNull();
    expect(at(closest, w(T, 82), [w(T - 18 * H, 80)])?.severity).toBe('high');
  });

  it('alerts on a weekly gain of exactly 5 lb from an lb scale even after kg rounding', () => {
    // 150 lb → 68.0389 kg, 155 lb → 70.3068 kg (stored to 4 decimals): a 2.2679 kg difference.
    expect(judged(at(week, w(T, 70.3068), [w(T - 7 * DAY, 68.0389)]))).toEqual(BREACH('high'));
    // 154.9 lb → 70.2615 kg: 4.9 lb is below the limit.
    expect(judged(at(week, w(T, 70.2615), [w(T - 7 * DAY, 68.0389)]))).toEqual(CLEAR);
  });

  it('never compares a reading with itself, even with slack 1 (window reaching the reading)', () => {
    const rule = parse<'change'>({ id: 'c', title: 'Change', type: 'change', kind: 'body-weight', component: 'value', reference: 'closest', windowHours: 24, slack: 1, comparator: '<', delta: 1, severity: 'low' });
    expect(at(rule, w(T, 80), [])).toBeNull();
    expect(at(rule, w(T, 80), [w(T - 1 * H, 79.5)])?.value).toBe(0.5);
  });

  it('ignores readings of other kinds and readings without the component', () => {
    expect(at(day, w(T, 90), [obs('blood-glucose', T - 24 * H, { value: 80 }), obs('body-weight', T - 24 * H, { pulse: 1 })])).toBeNull();
    expect(at(day, obs('body-weight', T, { pulse: 1 }), [w(T - 24 * H, 80)])).toBeNull();
  });
});

describe('rolling-mean verdicts (home BP 7-day mean ≥ 130/80, at least 6 readings)', () => {
  const rule = programRule('hypertension', 'bp-mean-7d', 'rolling-mean');
  const bp = (atMs: number, systolic: number, diastolic: number) => obs('blood-pressure', atMs, { systolic, diastolic });
  /** One reading a day for the `n - 1` days before T. */
  const daily = (n: number, systolic: number, diastolic: number) => Array.from({ length: n - 1 }, (_, i) => bp(T - (i + 1) * DAY, systolic, diastolic));

  it('gives no verdict with fewer than minReadings readings in the window', () => {
    expect(at(rule, bp(T, 160, 100), daily(5, 160, 100))).toBeNull();
  });

  it('breaches with minReadings readings whose systolic mean is exactly at the limit', () => {
    const v = at(rule, bp(T, 130, 70), daily(6, 130, 70));
    expect(judged(v)).toEqual(BREACH('low'));
    expect(v?.value).toBe(130);
    expect(v?.detail).toBe('7-day mean 130/70 mmHg (6 readings on 6 days) — systolic mean past the target');
  });

  it('breaches on the diastolic mean alone', () => {
    expect(judged(at(rule, bp(T, 118, 80), daily(6, 118, 80)))).toEqual(BREACH('low'));
  });

  it('clears when both means are below the limits, reporting the systolic mean to one decimal', () => {
    const v = at(rule, bp(T, 129, 79), daily(6, 130, 80));
    expect(judged(v)).toEqual(CLEAR);
    expect(v?.value).toBe(129.8);
  });

  it('judges the mean, not single readings: one very high reading among normal ones does not breach', () => {
    // (6 × 120 + 180) / 7 = 128.6 and (6 × 75 + 100) / 7 = 78.6
    expect(judged(at(rule, bp(T, 180, 100), daily(7, 120, 75)))).toEqual(CLEAR);
  });

  it('excludes a reading exactly windowDays old but includes one a millisecond younger', () => {
    const five = Array.from({ length: 5 }, (_, i) => bp(T - (i + 1) * DAY, 140, 90));
    expect(at(rule, bp(T, 140, 90), [...five.slice(0, 4), bp(T - 7 * DAY, 140, 90)])).toBeNull();
    expect(at(rule, bp(T, 140, 90), [...five.slice(0, 4), bp(T - 7 * DAY + 1, 140, 90)])).not.toBeNull();
  });

  it('counts only readings of the rule’s kind', () => {
    const others = Array.from({ length: 6 }, (_, i) => obs('heart-rate', T - i * H, { value: 150 }));
    expect(at(rule, bp(T, 160, 100), [...daily(5, 160, 100), ...others])).toBeNull();
  });

  it('skips a limit whose component has fewer than minReadings values', () => {
    const pulse = parse<'rolling-mean'>({
      id: 'm',
      title: 'Mean',
      type: 'rolling-mean',
      kind: 'blood-pressure',
      windowDays: 7,
      minReadings: 4,
      minDays: 4,
      limits: [
        { component: 'pulse', comparator: '>', value: 100 },
        { component: 'systolic', comparator: '>', value: 140 },
      ],
      severity: 'medium',
    });
    const readings = [0, 1, 2].map((i) => obs('blood-pressure', T - (i + 1) * DAY, { systolic: 120, pulse: 130 }));
    const v = at(pulse, obs('blood-pressure', T, { systolic: 120 }), readings);
    expect(judged(v)).toEqual(CLEAR);
    expect(v?.detail).toBe('7-day mean 120 mmHg (4 readings on 4 days)');
    expect(v?.value).toBe(120);
  });
});

describe('baseline verdicts (SpO2 3 points below the median of 14 to 1 days earlier, at least 3 readings)', () => {
  const rule = programRule('general', 'spo2-drop', 'baseline');
  const s = (atMs: number, value: number) => obs('spo2', atMs, { value });
  const base = (...values: number[]) => values.map((v, i) => s(T - (i + 2) * DAY, v));

  it('breaches on a drop of exactly 3 points from the baseline median', () => {
    const v = at(rule, s(T, 94), base(97, 98, 96));
    expect(judged(v)).toEqual(BREACH('medium'));
    expect(v?.value).toBe(-3);
    expect(v?.detail).toBe("SpO2 94 % vs the patient's baseline 97 % (median of 3 readings)");
  });

  it('clears on a drop of 2 points', () => {
    expect(judged(at(rule, s(T, 95), base(97, 98, 96)))).toEqual(CLEAR);
  });

  it('gives no verdict with fewer than minBaselineReadings readings in the baseline window', () => {
    expect(at(rule, s(T, 80), base(97, 98))).toBeNull();
  });

  it('uses the median, so one outlier does not move the baseline', () => {
    // Mean of 97, 97, 70 is 88; the median stays 97.
    expect(judged(at(rule, s(T, 94), base(97, 70, 97)))).toEqual(BREACH('medium'));
  });

  it('uses the mean of the two middle values for an even number of readings', () => {
    // 96, 97, 98, 99 → 97.5
    expect(at(rule, s(T, 94.5), base(99, 96, 98, 97))?.value).toBe(-3);
    expect(judged(at(rule, s(T, 94.5), base(99, 96, 98, 97)))).toEqual(BREACH('medium'));
    expect(judged(at(rule, s(T, 94.6), base(99, 96, 98, 97)))).toEqual(CLEAR);
  });

  it('leaves readings of the last day out of the baseline', () => {
    expect(at(rule, s(T, 90), [...base(97, 97), s(T - 12 * H, 97), s(T - 1 * H, 97)])).toBeNull();
  });

  it('includes readings exactly baselineFromDays and baselineToDays old, not beyond', () => {
    const edges = [s(T - 14 * DAY, 97), s(T - 1 * DAY, 97), s(T - 5 * DAY, 97)];
    expect(judged(at(rule, s(T, 94), edges))).toEqual(BREACH('medium'));
    const outside = [s(T - 14 * DAY - 1, 97), s(T - 1 * DAY + 1, 97), s(T - 5 * DAY, 97)];
    expect(at(rule, s(T, 94), outside)).toBeNull();
  });

  it('gives no verdict for a reading without the component', () => {
    expect(at(rule, obs('spo2', T, { pulse: 80 }), base(97, 97, 97))).toBeNull();
  });
});

describe('missing-data verdicts', () => {
  const rule = programRule('heart-failure', 'weight-missing', 'missing');

  it('judges any reading of the watched kind as clear (data arrived)', () => {
    const o = obs('body-weight', T, { value: 80 });
    expect(verdictAt(rule, o, [o])).toEqual({ atMs: T, readingId: o.id, severity: null, clear: true, value: null, finding: { type: 'received', kind: 'body-weight' }, badness: 0, late: false, detail: 'Weight received' });
  });

  it('watches only its own kind', () => {
    expect(ruleWatches(rule, 'body-weight')).toBe(true);
    expect(ruleWatches(rule, 'blood-glucose')).toBe(false);
  });
});

describe('NEWS2 verdicts from home readings', () => {
  const rule = programRule('general', 'news2', 'news2');
  const vitals = (atMs: number) => [
    obs('respiratory-rate', atMs, { value: 30 }),
    obs('spo2', atMs, { value: 85 }),
    obs('blood-pressure', atMs, { systolic: 85, diastolic: 50 }),
    obs('heart-rate', atMs, { value: 140 }),
    obs('body-temperature', atMs, { value: 34 }),
  ];

  it('is incomplete without consciousness and air-or-oxygen, listing exactly those, even with all five vitals', () => {
    expect(news2At(rule, T, history(...vitals(T - 10 * MIN)))).toEqual({ status: 'incomplete', missing: ['onOxygen', 'consciousness'] });
  });

  it('gives no verdict for an incomplete score, however abnormal the vitals (never labels a partial score NEWS2)', () => {
    const h = history(...vitals(T - 10 * MIN));
    const last = h[h.length - 1] as Observation;
    expect(verdictAt(rule, last, h)).toBeNull();
  });

  it('uses only readings within windowMinutes before the time scored (edge included)', () => {
    const h = history(
      obs('respiratory-rate', T - 60 * MIN, { value: 16 }),
      obs('spo2', T - 60 * MIN - 1, { value: 97 }),
      obs('heart-rate', T + 1, { value: 70 }),
      obs('body-temperature', T, { value: 37 }),
    );
    const r = news2At(rule, T, h);
    expect(r.status === 'incomplete' ? r.missing : []).toEqual(['spo2', 'onOxygen', 'systolic', 'pulse', 'consciousness']);
  });

  it('takes the pulse from a blood-pressure or SpO2 reading when there is no heart-rate reading', () => {
    const fromBp = news2At(rule, T, history(obs('blood-pressure', T, { systolic: 120, diastolic: 80, pulse: 70 })));
    expect(fromBp.status === 'incomplete' ? fromBp.missing : []).not.toContain('pulse');
    expect(fromBp.status === 'incomplete' ? fromBp.missing : []).not.toContain('systolic');
    const fromOximeter = news2At(rule, T, history(obs('spo2', T, { value: 97, pulse: 70 })));
    expect(fromOximeter.status === 'incomplete' ? fromOximeter.missing : []).not.toContain('pulse');
  });

  it('gives no verdict for readings NEWS2 does not use', () => {
    expect(verdictAt(rule, obs('body-weight', T, { value: 80 }), history(...vitals(T)))).toBeNull();
  });

  it('watches respiratory rate, SpO2, blood pressure, heart rate and temperature only', () => {
    const watched = (['blood-pressure', 'heart-rate', 'spo2', 'body-weight', 'body-temperature', 'blood-glucose', 'respiratory-rate'] as const).filter((k) => ruleWatches(rule, k));
    expect(watched.sort()).toEqual(['blood-pressure', 'body-temperature', 'heart-rate', 'respiratory-rate', 'spo2']);
  });
});

describe('ruleWatches for reading-driven rules', () => {
  it('watches the rule’s own kind only', () => {
    const rule = programRule('general', 'spo2-low', 'threshold');
    expect(ruleWatches(rule, 'spo2')).toBe(true);
    expect(ruleWatches(rule, 'heart-rate')).toBe(false);
  });
});

describe('issue 10: windows, means and pulses as a clinician reads them', () => {
  const week = programRule('heart-failure', 'weight-gain-week', 'change');
  const day = programRule('heart-failure', 'weight-gain-day', 'change');

  it('compares a weight gain with the lowest weight anywhere in the window, not a reading about a week back', () => {
    const earlier = [obs('body-weight', T - 5 * DAY, { value: 80 }), obs('body-weight', T - 3 * DAY, { value: 81 }), obs('body-weight', T - 1 * DAY, { value: 81.9 })];
    const v = at(week, obs('body-weight', T, { value: 82.35 }), earlier);
    expect(v).toMatchObject({ severity: 'high', value: 2.35 });
    expect(v?.finding).toMatchObject({ type: 'change', from: 80, fromAtMs: T - 5 * DAY, to: 82.35 });
  });

  it('counts yesterday morning’s weight when today’s is a little later (24 h + 4 h grace), and nothing older', () => {
    expect(at(day, obs('body-weight', T, { value: 81.0 }), [obs('body-weight', T - 26 * H, { value: 80.0 })])?.severity).toBe('high');
    expect(at(day, obs('body-weight', T, { value: 81.0 }), [obs('body-weight', T - 29 * H, { value: 80.0 })])).toBeNull();
  });

  it('needs readings on 3 local days for a home mean, and weighs each day once', () => {
    const mean = programRule('hypertension', 'bp-mean-7d', 'rolling-mean');
    const burst = Array.from({ length: 6 }, (_, i) => obs('blood-pressure', T - i * 10 * MIN, { systolic: 150, diastolic: 95 }));
    expect(at(mean, burst[0] as Observation, burst.slice(1))).toBeNull();
    // Day 1: one reading of 120/75; day 2: one of 125/78; day 3: ten of 150/95. Readings-weighted
    // the mean would be ~146/91; each day weighing once it is 131.7/82.7.
    const days = [obs('blood-pressure', T - 2 * DAY, { systolic: 120, diastolic: 75 }), obs('blood-pressure', T - DAY, { systolic: 125, diastolic: 78 })];
    const today = Array.from({ length: 10 }, (_, i) => obs('blood-pressure', T - i * MIN, { systolic: 150, diastolic: 95 }));
    const v = at(mean, today[0] as Observation, [...days, ...today.slice(1)]);
    expect(v?.finding).toMatchObject({ type: 'mean', days: 3, readings: 12, means: { systolic: 131.7, diastolic: 82.7 } });
    expect(v?.severity).toBe('low');
  });

  it('judges days in the patient’s local time (the offset the device reported)', () => {
    const mean = programRule('hypertension', 'bp-mean-7d', 'rolling-mean');
    // 23:30 and 00:30 local (UTC−5) are two days; in UTC they would be one.
    const local = (atMs: number) => ({ ...obs('blood-pressure', atMs, { systolic: 140, diastolic: 90 }), utcOffsetMinutes: -300 });
    const base = Date.UTC(2025, 2, 10, 4, 30);
    const readings = [local(base - DAY), local(base - DAY + 10 * MIN), local(base), local(base + 10 * MIN), local(base + 60 * MIN), local(base + 70 * MIN)];
    const last = readings.at(-1) as Observation;
    expect(at(mean, last, readings.slice(0, -1))?.finding).toMatchObject({ days: 3 });
  });

  it('feeds the pulse of a BP cuff or an oximeter to heart-rate rules of every type', () => {
    const hr = programRule('general', 'heart-rate-abnormal', 'threshold');
    expect(at(hr, obs('blood-pressure', T, { systolic: 120, diastolic: 80, pulse: 35 }))).toMatchObject({ severity: 'high', value: 35, finding: { breached: ['pulse'] } });
    expect(at(hr, obs('spo2', T, { value: 97 }))).toBeNull();
    expect(ruleWatches(hr, 'blood-pressure')).toBe(true);
    expect(ruleWatches(hr, 'spo2')).toBe(true);
    const sustained = parse({ id: 'hr-sustained', title: 'Tachycardia', type: 'n-of-m', kind: 'heart-rate', component: 'value', comparator: '>', value: 110, n: 2, m: 3, withinHours: 6, severity: 'medium' });
    const pulses = [obs('spo2', T - 2 * H, { value: 97, pulse: 120 }), obs('blood-pressure', T - H, { systolic: 120, diastolic: 80, pulse: 125 })];
    expect(at(sustained, obs('heart-rate', T, { value: 90 }), pulses)).toMatchObject({ severity: 'medium', finding: { breaches: 2, of: 3 } });
  });

  it('completes NEWS2 with consciousness and supplemental oxygen recorded by staff', () => {
    const home = [obs('respiratory-rate', T - 10 * MIN, { value: 18 }), obs('spo2', T - 10 * MIN, { value: 97 }), obs('blood-pressure', T - 10 * MIN, { systolic: 125, diastolic: 80, pulse: 72 }), obs('body-temperature', T - 10 * MIN, { value: 36.8 })];
    expect(news2At({ windowMinutes: 60, spo2Scale: 1 }, T, history(...home))).toMatchObject({ status: 'incomplete', missing: ['onOxygen', 'consciousness'] });
    const staff = [obs('consciousness', T, { value: 0 }), obs('supplemental-oxygen', T, { value: 0 })];
    expect(news2At({ windowMinutes: 60, spo2Scale: 1 }, T, history(...home, ...staff))).toMatchObject({ status: 'complete', total: 0 });
    const confused = [obs('consciousness', T, { value: 1 }), obs('supplemental-oxygen', T, { value: 2 })];
    expect(news2At({ windowMinutes: 60, spo2Scale: 1 }, T, history(...home, ...confused))).toMatchObject({ status: 'complete', total: 5, scores: { consciousness: 3, onOxygen: 2 } });
  });

  it('marks a verdict late when its reading reached us more than an hour after it was measured', () => {
    const fever = programRule('general', 'fever', 'threshold');
    expect(at(fever, { ...obs('body-temperature', T, { value: 38.5 }), receivedAtMs: T + 2 * H })?.late).toBe(true);
    expect(at(fever, { ...obs('body-temperature', T, { value: 38.5 }), receivedAtMs: T + 5 * MIN })?.late).toBe(false);
  });
});
