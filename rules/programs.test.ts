import { describe, expect, it } from 'vitest';
import type { ComponentName, ReadingKind } from '../core/model/reading-kinds.js';
import { type Program, PROGRAMS, type RuleDefinition, ruleDefinition, type Severity, severityRank } from './model.js';
import { PROGRAM_RULES } from './programs.js';
import { type Observation, verdictAt } from './verdicts.js';

const LB = 0.45359237;
const T = Date.UTC(2025, 2, 10, 8, 0, 0);

type RuleOf<K extends RuleDefinition['type']> = Extract<RuleDefinition, { type: K }>;
function rule<K extends RuleDefinition['type']>(program: Program, id: string, type: K): RuleOf<K> {
  const raw = PROGRAM_RULES[program].find((r) => r.id === id);
  if (raw === undefined) throw new Error(`no rule ${id} in ${program}`);
  const parsed = ruleDefinition.parse(raw);
  if (parsed.type !== type) throw new Error(`${id} is a ${parsed.type} rule`);
  return parsed as RuleOf<K>;
}

const ALL = PROGRAMS.flatMap((program) => PROGRAM_RULES[program].map((r) => [program, r.id, r] as const));

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

  it.each(ALL)('%s/%s carries a non-empty clinical source', (_program, _id, raw) => {
    expect(typeof raw.source).toBe('string');
    expect(raw.source?.trim().length).toBeGreaterThan(0);
  });

  it('use unique rule ids within each program', () => {
    for (const program of PROGRAMS) {
      const ids = PROGRAM_RULES[program].map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('share a rule id across programs only for COPD’s replacements of spo2-low and news2', () => {
    const seen = new Map<string, Program[]>();
    for (const program of PROGRAMS) for (const r of PROGRAM_RULES[program]) seen.set(r.id, [...(seen.get(r.id) ?? []), program]);
    const shared = [...seen].filter(([, ps]) => ps.length > 1);
    expect(shared).toEqual([
      ['spo2-low', ['general', 'copd']],
      ['news2', ['general', 'copd']],
    ]);
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
  const severe = rule('hypertension', 'bp-severe', 'threshold');

  it('treat ≥ 180 systolic or ≥ 120 diastolic as severe (critical once confirmed), asking for a repeat within 15 min opened at high', () => {
    expect(severe.limits.map((l) => [l.component, l.comparator, l.tiers])).toEqual([
      ['systolic', '>=', [{ severity: 'critical', value: 180 }]],
      ['diastolic', '>=', [{ severity: 'critical', value: 120 }]],
    ]);
    expect(severe.confirmation).toEqual({ withinMinutes: 15, initialSeverity: 'high' });
    expect(severe.autoResolve).toBe(false);
  });

  it.each([
    [180, 80, 'critical'],
    [179, 80, null],
    [150, 120, 'critical'],
    [150, 119, null],
  ] as const)('judge %i/%i as %s', (systolic, diastolic, severity) => {
    expect(severityOf(severe, 'blood-pressure', { systolic, diastolic })).toBe(severity);
  });

  it('flag a 7-day home mean ≥ 130/80 over at least 6 readings as routine (low)', () => {
    const mean = rule('hypertension', 'bp-mean-7d', 'rolling-mean');
    expect(mean).toMatchObject({ windowDays: 7, minReadings: 6, severity: 'low' });
    expect(mean.limits).toEqual([
      { component: 'systolic', comparator: '>=', value: 130 },
      { component: 'diastolic', comparator: '>=', value: 80 },
    ]);
  });

  it('flag systolic < 90 as hypotension (high)', () => {
    const low = rule('hypertension', 'bp-low', 'threshold');
    expect(severityOf(low, 'blood-pressure', { systolic: 89, diastolic: 60 })).toBe('high');
    expect(severityOf(low, 'blood-pressure', { systolic: 90, diastolic: 60 })).toBeNull();
  });
});

describe('heart-failure weight defaults', () => {
  const day = rule('heart-failure', 'weight-gain-day', 'change');
  const week = rule('heart-failure', 'weight-gain-week', 'change');

  it('alert on a gain of more than 2 lb (0.907 kg) against the reading 18–36 h earlier', () => {
    expect(day).toMatchObject({ comparator: '>', delta: 0.907, severity: 'high', kind: 'body-weight' });
    expect(day.delta).toBeCloseTo(2 * LB, 3);
    expect(day.windowHours * (1 - day.slack)).toBeCloseTo(18, 9);
    expect(day.windowHours * (1 + day.slack)).toBeCloseTo(36, 9);
  });

  it('alert on a gain of 5 lb or more against the reading about a week earlier, allowing for kg rounding of lb readings', () => {
    expect(week).toMatchObject({ comparator: '>=', windowHours: 168, severity: 'high' });
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
  const copd = rule('copd', 'spo2-low', 'threshold');

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
  ] as const)('judge %i %% for a COPD patient as %s (< 88 urgent)', (value, severity) => {
    expect(severityOf(copd, 'spo2', { value })).toBe(severity);
  });

  it('flag a drop of ≥ 3 points from the patient’s own baseline as a warning', () => {
    expect(rule('general', 'spo2-drop', 'baseline')).toMatchObject({ comparator: '<=', delta: -3, severity: 'medium', minBaselineReadings: 3 });
  });

  it('flag COPD desaturation below 88 % in 3 of the last 5 readings within 24 h', () => {
    expect(rule('copd', 'spo2-sustained-low', 'n-of-m')).toMatchObject({ comparator: '<', value: 88, n: 3, m: 5, withinHours: 24, severity: 'high' });
  });
});

describe('temperature and heart-rate defaults', () => {
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
  it('use scale 1 generally and scale 2 in the COPD program, over the last 60 minutes', () => {
    expect(rule('general', 'news2', 'news2')).toMatchObject({ spo2Scale: 1, windowMinutes: 60 });
    expect(rule('copd', 'news2', 'news2')).toMatchObject({ spo2Scale: 2, windowMinutes: 60 });
  });

  it('alert urgently at 5, as an emergency at 7, and at least medium on a single 3', () => {
    for (const program of ['general', 'copd'] as const) {
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
