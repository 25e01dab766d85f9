import { describe, expect, it } from 'vitest';
import { DEFAULT_DISPLAY, type DisplayPrefs } from '../core/display/units.js';
import { DEFAULT_CARE_PLAN, resolveRules } from './care-plan.js';
import { afterResolveText, chartBands, confirmationText, criteriaText, ruleAction, ruleName, ruleTitle } from './describe.js';
import { carePlanInput, type RuleDefinition } from './model.js';

const US: DisplayPrefs = { weightUnit: '[lb_av]', temperatureUnit: '[degF]', glucoseUnit: 'mg/dL', timeZone: 'America/New_York' };
const MMOL: DisplayPrefs = { ...DEFAULT_DISPLAY, glucoseUnit: 'mmol/L' };
const rules = resolveRules(carePlanInput.parse({ programs: ['general', 'hypertension', 'heart-failure', 'diabetes', 'copd'] }));
const rule = (id: string): RuleDefinition => {
  const r = rules.find((x) => x.id === id);
  if (r === undefined) throw new Error(`no rule ${id}`);
  return r;
};

describe('titles state what fires, as the rule applies it, in the reader’s units', () => {
  it('says ≥ and "or" for severe BP, in mmHg', () => {
    expect(ruleTitle(rule('bp-severe'), US)).toBe('Severe hypertension (systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg)');
  });

  it('names the level a hypoglycemia alert reached, with its limit in the reader’s glucose unit', () => {
    expect(ruleTitle(rule('glucose-low'), US, 'critical')).toBe('Level 2 hypoglycemia (< 54 mg/dL)');
    expect(ruleTitle(rule('glucose-low'), US, 'high')).toBe('Level 1 hypoglycemia (< 70 mg/dL)');
    expect(ruleTitle(rule('glucose-low'), MMOL, 'critical')).toBe('Level 2 hypoglycemia (< 3.0 mmol/L)');
  });

  it('puts weight-gain limits in pounds for a pounds clinic (2 lb, 5 lb), against the lowest reading of the window', () => {
    expect(criteriaText(rule('weight-gain-day'), US)).toBe('> 2.0 lb in 24 h (against the lowest reading of the last 24 h)');
    expect(criteriaText(rule('weight-gain-week'), US)).toBe('≥ 5.0 lb in 7 days (against the lowest reading of the last 7 days)');
    expect(criteriaText(rule('weight-gain-day'), DEFAULT_DISPLAY)).toBe('> 0.9 kg in 24 h (against the lowest reading of the last 24 h)');
  });

  it('names the side that fired when one component has two limits', () => {
    const rr = rule('respiratory-rate-abnormal');
    expect(ruleTitle(rr, US, 'high', { type: 'reading', kind: 'respiratory-rate', values: { value: 32 }, breached: ['value'] })).toBe('Respiratory rate out of range (≥ 25 /min)');
    expect(ruleTitle(rr, US, 'high', { type: 'reading', kind: 'respiratory-rate', values: { value: 6 }, breached: ['value'] })).toBe('Respiratory rate out of range (≤ 8 /min)');
    expect(ruleTitle(rr, US)).toBe('Respiratory rate out of range (≤ 8 /min or ≥ 21 /min)');
  });

  it('says the 7-day mean needs readings on three days', () => {
    expect(criteriaText(rule('bp-mean-7d'), US)).toBe('systolic ≥ 130 mmHg or diastolic ≥ 80 mmHg; needs readings on 3 days');
  });

  it('uses the tier label as the name, else the rule title', () => {
    expect(ruleName(rule('glucose-high'), 'critical')).toBe('Hyperglycemia in the emergency range');
    expect(ruleName(rule('fever'), 'high')).toBe('Fever');
  });
});

describe('what the nurse is told to do and what happens next', () => {
  it('gives every default rule a sourced action, with quantities in the reader’s units', () => {
    for (const r of resolveRules(DEFAULT_CARE_PLAN)) expect(ruleAction(r, US), r.id).not.toBeNull();
    expect(ruleAction(rule('glucose-high'), MMOL)).toContain('13.3 mmol/L');
  });

  it('says when a resolved alert comes back: the re-notify interval by severity, or at once if worse', () => {
    expect(afterResolveText(rule('bp-severe'), 'critical')).toBe('If readings stay past the limit, a new alert is raised 30 min after you resolve this one, or at once if they get worse.');
    expect(afterResolveText(rule('spo2-low'), 'high')).toContain('4 h after you resolve');
    expect(afterResolveText({ ...rule('spo2-low'), renotifyMinutes: 90 }, 'high')).toContain('90 min after you resolve');
  });

  it('words every confirmation state', () => {
    const bp = rule('bp-severe');
    expect(confirmationText(bp, 'pending')).toBe('Waiting for a repeat reading (at least 3 min after the first, within 15 min).');
    expect(confirmationText(bp, 'confirmed')).toBe('Confirmed by a repeat reading.');
    expect(confirmationText(bp, 'not-confirmed')).toContain('Not confirmed');
    expect(confirmationText(bp, 'expired')).toBe('No repeat reading within 15 min: call the patient.');
    expect(confirmationText(rule('fever'), null)).toBeNull();
  });
});

describe('chart bands', () => {
  it('give each component its own limits (a diastolic limit is not a systolic one), in display units', () => {
    const bands = chartBands(rules, US);
    const bp = bands.filter((b) => b.kind === 'blood-pressure');
    expect(bp.map((b) => [b.component, b.comparator, b.value]).sort()).toEqual(
      [
        ['diastolic', '>=', 120],
        ['systolic', '<', 90],
        ['systolic', '>=', 180],
      ].sort(),
    );
    const fever = bands.find((b) => b.ruleId === 'fever' && b.severity === 'medium');
    expect(fever).toMatchObject({ kind: 'body-temperature', value: 100.4, unit: '[degF]', label: 'Fever ≥ 100.4 °F' });
    // Heart-rate limits apply to the pulse a cuff or an oximeter counts, plotted as the heart rate.
    expect(bands.filter((b) => b.ruleId === 'heart-rate-abnormal').every((b) => b.component === 'value')).toBe(true);
  });
});
