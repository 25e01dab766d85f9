import { describe, expect, it } from 'vitest';
import type { ComponentName, ReadingKind } from '../core/model/reading-kinds.js';
import { type Program, PROGRAMS, type RuleDefinition, ruleDefinition, type Severity, severityRank } from './model.js';
import { HYPERCAPNIC_RULES, PROGRAM_RULES } from './programs.js';
import { type Observation, verdictAt } from './verdicts.js';

const LB = 0.45359237;
const T = Date.UTC(2025, 2, 10, 8, 0, 0);

type RuleOf<K extends RuleDefinition['type']> = Extract<RuleDefinition, { type: K }>;
function rule<K extends RuleDefinition['type']>(program: Program | 'hypercapnic', id: string, type: K): RuleOf<K> {
  const raw = (program === 'hypercapnic' ? HYPERCAPNIC_RULES : PROGRAM_RULES[program]).find((r) => r.id === id);
  if (raw === undefined) throw new Error(`no rule ${id} in ${program}`);
  const parsed = ruleDefinition.parse(raw);
  if (parsed.type !== type) throw new Error(`${id} is a ${parsed.type} rule`);
  return parsed as RuleOf<K>;
}

const ALL = [
  ...PROGRAMS.flatMap((program) => PROGRAM_RULES[program].map((r) => [program as Program | 'hypercapnic', r.id, r] as const)),
  ...HYPERCAPNIC_RULES.map((r) => ['hypercapnic' as Program | 'hypercapnic', r.id, r] as const),
];

function severityOf(r: RuleDefinition, kind: ReadingKind, values: Partial<Record<ComponentName, number>>): Severity | null {
  const o: Observation = { id: 'o', kind, measuredAtMs: T, values };
  return verdictAt(r, o, [o])?.severity ?? null;
}

describe('shipped default rules', () => {
  it('cover every program', () => {
    expect(Object.keys(PROGRAM_RULES).sort()).toEqual([...PROGRAMS].sort());
    for (const program of PROGRAMS) expect(PROGRAM_RULES[program].length).toBeGreaterThan(0);
  });

  it.each(ALL)('%s/%s parses with the rule schema', (_program, _id, raw) => {
    const parsed = ruleDefinition.safeParse(raw);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });

  it.each(ALL)('%s/%s carries a non-empty clinical source and a "what to do" line', (_program, _id, raw) => {
    expect(typeof raw.source).toBe('string');
    expect(raw.source?.trim().length).toBeGreaterThan(0);
    expect(raw.action?.trim().length).toBeGreaterThan(0);
  });

  it.each(ALL)('%s/%s has a title without limits (they are generated from the rule, in the reader’s units)', (_program, _id, raw) => {
    expect(raw.title).not.toMatch(/[<>≥≤]/);
    // "88–92 %" names the hypercapnic target range, not a limit that fires.
    expect(raw.title.replace('88–92 %', '')).not.toMatch(/\d\s*(mmHg|mm\[Hg\]|kg|lb|mg\/dL|mmol|°|\/min|%)/);
  });

  it('use unique rule ids within each program', () => {
    for (const program of PROGRAMS) {
      const ids = PROGRAM_RULES[program].map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('share a rule id across programs only where a program tightens a universal rule (diabetes: level 1 hypoglycemia)', () => {
    const seen = new Map<string, Program[]>();
    for (const program of PROGRAMS) for (const r of PROGRAM_RULES[program]) seen.set(r.id, [...(seen.get(r.id) ?? []), program]);
    const shared = [...seen].filter(([, ps]) => ps.length > 1);
    expect(shared).toEqual([['glucose-low', ['general', 'diabetes']]]);
    expect(HYPERCAPNIC_RULES.map((r) => r.id)).toEqual(['spo2-low', 'news2']);
  });

  it.each(ALL.filter(([, , r]) => r.type === 'threshold'))('%s/%s lists tiers from least to most severe, with clearAt on the safe side of every tier', (program, id) => {
    const r = rule(program, id, 'threshold');
    for (const limit of r.limits) {
      const ranks = limit.tiers.map((t) => severityRank(t.severity));
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      if (limit.clearAt === undefined) continue;
      const up = limit.comparator.startsWith('>');
      for (const t of limit.tiers) expect(up ? limit.clearAt < t.value : limit.clearAt > t.value).toBe(true);
    }
  });
});

describe('blood pressure defaults (2025 AHA/ACC)', () => {
  const severe = rule('general', 'bp-severe', 'threshold');

  it('treat ≥ 180 systolic or ≥ 120 diastolic as severe (critical once confirmed), for every patient, asking for a repeat at least 3 min later within 15 min', () => {
    expect(severe.limits.map((l) => [l.component, l.comparator, l.tiers])).toEqual([
      ['systolic', '>=', [{ severity: 'critical', value: 180 }]],
      ['diastolic', '>=', [{ severity: 'critical', value: 120 }]],
    ]);
    expect(severe.confirmation).toEqual({ withinMinutes: 15, minMinutes: 3, initialSeverity: 'high', notConfirmedSeverity: 'medium' });
    expect(severe.autoResolve).toBe(false);
    expect(severe.universal).toBe(true);
  });

  it.each([
    [180, 80, 'critical'],
    [179, 80, null],
    [150, 120, 'critical'],
    [150, 119, null],
  ] as const)('judge %i/%i as %s', (systolic, diastolic, severity) => {
    expect(severityOf(severe, 'blood-pressure', { systolic, diastolic })).toBe(severity);
  });

  it('flag a 7-day home mean ≥ 130/80 over at least 6 readings on at least 3 days as routine (low)', () => {
    const mean = rule('hypertension', 'bp-mean-7d', 'rolling-mean');
    expect(mean).toMatchObject({ windowDays: 7, minReadings: 6, minDays: 3, severity: 'low' });
    expect(mean.limits).toEqual([
      { component: 'systolic', comparator: '>=', value: 130 },
      { component: 'diastolic', comparator: '>=', value: 80 },
    ]);
  });

  it('flag systolic < 90 as hypotension (high), for every patient', () => {
    const low = rule('general', 'bp-low', 'threshold');
    expect(low.universal).toBe(true);
    expect(severityOf(low, 'blood-pressure', { systolic: 89, diastolic: 60 })).toBe('high');
    expect(severityOf(low, 'blood-pressure', { systolic: 90, diastolic: 60 })).toBeNull();
  });
});

describe('heart-failure weight defaults', () => {
  const day = rule('heart-failure', 'weight-gain-day', 'change');
  const week = rule('heart-failure', 'weight-gain-week', 'change');

  it('alert on a gain of more than 2 lb (0.907 kg) against the lowest weight of the previous 24 h (+ 4 h grace)', () => {
    expect(day).toMatchObject({ comparator: '>', delta: 0.907, severity: 'high', kind: 'body-weight', reference: 'extreme', windowHours: 24, graceHours: 4 });
    expect(day.delta).toBeCloseTo(2 * LB, 3);
  });

  it('alert on a gain of 5 lb or more against the lowest weight of the previous 7 days, allowing for kg rounding of lb readings', () => {
    expect(week).toMatchObject({ comparator: '>=', windowHours: 168, severity: 'high', reference: 'extreme' });
    // Within a gram below 5 lb (2.26796 kg), and well above 4.9 lb (2.2226 kg).
    expect(week.delta).toBeLessThanOrEqual(5 * LB - 0.0001);
    expect(week.delta).toBeGreaterThan(5 * LB - 0.001);
    expect(week.delta).toBeGreaterThan(4.9 * LB);
  });

  it('ask for outreach after 48 h without a weight (medium)', () => {
    expect(rule('heart-failure', 'weight-missing', 'missing')).toMatchObject({ kind: 'body-weight', hours: 48, severity: 'medium' });
  });
});

describe('glucose defaults (ADA)', () => {
  const low = rule('diabetes', 'glucose-low', 'threshold');

  it.each([
    [54, null],
    [53.9, 'critical'],
    [45, 'critical'],
  ] as const)('judge %s mg/dL for any patient (universal level 2 < 54) as %s', (value, severity) => {
    expect(severityOf(rule('general', 'glucose-low', 'threshold'), 'blood-glucose', { value })).toBe(severity);
  });
  const high = rule('diabetes', 'glucose-high', 'threshold');

  it.each([
    [70, null],
    [69.9, 'high'],
    [54, 'high'],
    [53.9, 'critical'],
  ] as const)('judge %s mg/dL as hypoglycemia %s (level 1 < 70, level 2 < 54)', (value, severity) => {
    expect(severityOf(low, 'blood-glucose', { value })).toBe(severity);
  });

  it.each([
    [250, null],
    [251, 'medium'],
    [399, 'medium'],
    [400, 'high'],
    [599, 'high'],
    [600, 'critical'],
  ] as const)('judge %s mg/dL as hyperglycemia %s (> 250, ≥ 400 urgent, ≥ 600 emergency)', (value, severity) => {
    expect(severityOf(high, 'blood-glucose', { value })).toBe(severity);
  });

  it('ask for outreach after 72 h without a glucose reading (low)', () => {
    expect(rule('diabetes', 'glucose-missing', 'missing')).toMatchObject({ kind: 'blood-glucose', hours: 72, severity: 'low' });
  });
});

describe('SpO2 defaults (BTS 2017)', () => {
  const general = rule('general', 'spo2-low', 'threshold');
  const copd = rule('hypercapnic', 'spo2-low', 'threshold');

  it.each([
    [94, null],
    [93, 'medium'],
    [92, 'medium'],
    [91, 'high'],
  ] as const)('judge %i %% for a general patient as %s (< 92 urgent, 92–93 warning)', (value, severity) => {
    expect(severityOf(general, 'spo2', { value })).toBe(severity);
  });

  it.each([
    [88, null],
    [87, 'high'],
  ] as const)('judge %i %% for a patient with a recorded hypercapnic-risk decision as %s (< 88 urgent)', (value, severity) => {
    expect(severityOf(copd, 'spo2', { value })).toBe(severity);
  });

  it('flag a drop of ≥ 3 points from the patient’s own baseline as a warning', () => {
    expect(rule('general', 'spo2-drop', 'baseline')).toMatchObject({ comparator: '<=', delta: -3, severity: 'medium', minBaselineReadings: 3 });
  });

  it('flag COPD desaturation below 88 % in 3 of the last 5 readings within 24 h', () => {
    expect(rule('copd', 'spo2-sustained-low', 'n-of-m')).toMatchObject({ comparator: '<', value: 88, n: 3, m: 5, withinHours: 24, severity: 'high' });
  });
});

describe('temperature, heart-rate and respiratory-rate defaults', () => {
  it.each([
    [35.0, 'high'],
    [35.1, null],
    [34.2, 'high'],
  ] as const)('judge %s °C as hypothermia %s (≤ 35.0: NEWS2 3 points)', (value, severity) => {
    expect(severityOf(rule('general', 'hypothermia', 'threshold'), 'body-temperature', { value })).toBe(severity);
  });

  it.each([
    [6, 'high'],
    [8, 'high'],
    [9, null],
    [20, null],
    [21, 'medium'],
    [24, 'medium'],
    [25, 'high'],
    [32, 'high'],
  ] as const)('judge a respiratory rate of %i /min as %s (NEWS2: ≤ 8 and ≥ 25 three points, 21–24 two)', (value, severity) => {
    expect(severityOf(rule('general', 'respiratory-rate-abnormal', 'threshold'), 'respiratory-rate', { value })).toBe(severity);
  });

  it.each([
    ['blood-pressure', { systolic: 130, diastolic: 80, pulse: 35 }, 'high'],
    ['spo2', { value: 97, pulse: 150 }, 'high'],
    ['spo2', { value: 97, pulse: 72 }, null],
  ] as const)('judge the pulse a %s reading carries with the heart-rate rule (%o → %s)', (kind, values, severity) => {
    expect(severityOf(rule('general', 'heart-rate-abnormal', 'threshold'), kind, values)).toBe(severity);
  });

  it.each([
    [37.9, null],
    [38.0, 'medium'],
    [39.0, 'medium'],
    [39.1, 'high'],
  ] as const)('judge %s °C as fever %s (≥ 38.0 CDC; ≥ 39.1 NEWS2 2 points)', (value, severity) => {
    expect(severityOf(rule('general', 'fever', 'threshold'), 'body-temperature', { value })).toBe(severity);
  });

  it.each([
    [40, 'high'],
    [41, 'medium'],
    [49, 'medium'],
    [50, null],
    [110, null],
    [111, 'medium'],
    [130, 'medium'],
    [131, 'high'],
  ] as const)('judge a heart rate of %i /min as %s (warning < 50 or > 110; urgent ≤ 40 or ≥ 131)', (value, severity) => {
    expect(severityOf(rule('general', 'heart-rate-abnormal', 'threshold'), 'heart-rate', { value })).toBe(severity);
  });
});

describe('NEWS2 defaults', () => {
  it('use scale 1, and scale 2 only with a recorded hypercapnic-risk decision, over the last 60 minutes', () => {
    expect(rule('general', 'news2', 'news2')).toMatchObject({ spo2Scale: 1, windowMinutes: 60 });
    expect(rule('hypercapnic', 'news2', 'news2')).toMatchObject({ spo2Scale: 2, windowMinutes: 60 });
  });

  it('alert urgently at 5, as an emergency at 7, and at least medium on a single 3', () => {
    for (const program of ['general', 'hypercapnic'] as const) {
      expect(rule(program, 'news2', 'news2')).toMatchObject({
        tiers: [
          { severity: 'high', total: 5 },
          { severity: 'critical', total: 7 },
        ],
        singleParameterThreeSeverity: 'medium',
      });
    }
  });
});

describe('auto-resolution', () => {
  it('leaves only severe BP for a nurse to close; every other default closes itself when back in range', () => {
    const manual = ALL.filter(([, , r]) => ruleDefinition.parse(r).autoResolve === false).map(([, id]) => id);
    expect(manual).toEqual(['bp-severe']);
  });
});
