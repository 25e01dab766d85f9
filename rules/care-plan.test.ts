import { describe, expect, it } from 'vitest';
import { CarePlanError, DEFAULT_CARE_PLAN, lookbackMs, parseCarePlan, resolveRules } from './care-plan.js';
import { type CarePlanInput, carePlanInput, type RuleDefinition, type RuleInput } from './model.js';
import { PROGRAM_RULES } from './programs.js';

const H = 3_600_000;
const DAY = 86_400_000;

const resolve = (input: CarePlanInput): RuleDefinition[] => resolveRules(carePlanInput.parse(input));
const ids = (rules: readonly { id: string }[]) => rules.map((r) => r.id);
function byId(rules: RuleDefinition[], id: string): RuleDefinition {
  const r = rules.find((x) => x.id === id);
  if (r === undefined) throw new Error(`no rule ${id}`);
  return r;
}
function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof CarePlanError) return e.issues;
    throw e;
  }
  throw new Error('expected a CarePlanError');
}

const extra: RuleInput = {
  id: 'glucose-very-high',
  title: 'Glucose above 300',
  type: 'threshold',
  kind: 'blood-glucose',
  limits: [{ component: 'value', comparator: '>', tiers: [{ severity: 'high', value: 300 }] }],
};

describe('the default care plan', () => {
  it('enrolls the general program at risk tier 1 with no overrides', () => {
    expect(DEFAULT_CARE_PLAN).toEqual({ programs: ['general'], overrides: {}, extraRules: [], disabledRules: [], riskTier: 1 });
  });

  it('puts the general program’s rules in force', () => {
    expect(ids(resolveRules(DEFAULT_CARE_PLAN))).toEqual(ids(PROGRAM_RULES.general));
  });
});

describe('program precedence', () => {
  it('replaces general’s spo2-low with COPD’s (< 88 %) when both are enrolled', () => {
    const rule = byId(resolve({ programs: ['general', 'copd'] }), 'spo2-low');
    expect(rule.type === 'threshold' && rule.limits).toEqual([{ component: 'value', comparator: '<', tiers: [{ severity: 'high', value: 88 }], clearAt: 89 }]);
    expect(rule.title).toContain('COPD');
  });

  it('applies the precedence by program order, not by the order the plan lists programs in', () => {
    const a = resolve({ programs: ['general', 'copd'] });
    const b = resolve({ programs: ['copd', 'general'] });
    expect(b).toEqual(a);
    expect(byId(b, 'news2')).toMatchObject({ spo2Scale: 2 });
  });

  it('keeps one rule per id across every program', () => {
    const rules = resolve({ programs: ['general', 'hypertension', 'heart-failure', 'diabetes', 'copd'] });
    const all = new Set(Object.values(PROGRAM_RULES).flatMap((rs) => rs.map((r) => r.id)));
    expect(ids(rules).sort()).toEqual([...all].sort());
  });

  it('does not include the general rules when only another program is enrolled', () => {
    expect(ids(resolve({ programs: ['hypertension'] }))).toEqual(['bp-severe', 'bp-mean-7d', 'bp-low']);
  });
});

describe('overrides', () => {
  it('merge field by field: only the overridden field changes', () => {
    const rule = byId(resolve({ overrides: { 'spo2-low': { autoResolve: false } } }), 'spo2-low');
    const original = byId(resolveRules(DEFAULT_CARE_PLAN), 'spo2-low');
    expect(rule).toEqual({ ...original, autoResolve: false });
  });

  it('replace a top-level field as a whole (limits are not merged element by element)', () => {
    const limits = [{ component: 'value', comparator: '<', tiers: [{ severity: 'high', value: 90 }] }];
    const rule = byId(resolve({ overrides: { 'spo2-low': { limits } } }), 'spo2-low');
    expect(rule.type === 'threshold' && rule.limits).toEqual(limits);
  });

  it('apply to the rule that won the program precedence', () => {
    const rule = byId(resolve({ programs: ['general', 'copd'], overrides: { 'spo2-low': { title: 'Own target' } } }), 'spo2-low');
    expect(rule).toMatchObject({ title: 'Own target', limits: [{ tiers: [{ value: 88 }] }] });
  });

  it('can disable a rule with enabled: false', () => {
    expect(ids(resolve({ overrides: { fever: { enabled: false } } }))).not.toContain('fever');
  });

  it('report an invalid value with a clear issue naming the rule and field', () => {
    expect(issuesOf(() => resolve({ overrides: { 'spo2-low': { autoResolve: 'yes' } } }))).toEqual(['rule spo2-low.autoResolve: Invalid input: expected boolean, received string']);
  });

  it('report an override that leaves a nested object incomplete (nested objects are replaced, not merged)', () => {
    const issues = issuesOf(() => resolve({ programs: ['hypertension'], overrides: { 'bp-severe': { confirmation: { withinMinutes: 10 } } } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^rule bp-severe\.confirmation\.initialSeverity: /);
  });

  it('report a misspelt field instead of silently ignoring it', () => {
    expect(issuesOf(() => resolve({ overrides: { 'spo2-low': { autoresolve: false } } }))).toEqual(['overrides.spo2-low.autoresolve: not a field of a threshold rule']);
  });

  it('report a field named after an Object.prototype member instead of taking it as a rule field', () => {
    expect(issuesOf(() => resolve({ overrides: { 'spo2-low': { constructor: 1, toString: 2 } } }))).toEqual([
      'overrides.spo2-low.constructor: not a field of a threshold rule',
      'overrides.spo2-low.toString: not a field of a threshold rule',
    ]);
  });

  it('cannot change a rule’s id or type', () => {
    expect(issuesOf(() => resolve({ overrides: { fever: { id: 'other' } } }))).toContain('overrides.fever: id and type cannot be overridden');
    expect(issuesOf(() => resolve({ overrides: { fever: { type: 'missing' } } }))).toContain('overrides.fever: id and type cannot be overridden');
  });

  it('report an override of an id that no enrolled program defines', () => {
    expect(issuesOf(() => resolve({ overrides: { 'bp-severe': { enabled: false } } }))).toEqual(['overrides.bp-severe: no rule with this id in the enrolled programs']);
  });

  it('report every problem at once', () => {
    const issues = issuesOf(() => resolve({ overrides: { nope: {}, fever: { autoResolve: 1 } }, extraRules: [{ ...extra, id: 'spo2-low' }] }));
    expect(issues).toHaveLength(3);
  });
});

describe('disabled and extra rules', () => {
  it('removes disabled rules', () => {
    expect(ids(resolve({ disabledRules: ['spo2-drop', 'news2'] }))).toEqual(['spo2-low', 'heart-rate-abnormal', 'fever']);
  });

  it('ignores a disabled id that no program defines (the rules stay on: the safe side)', () => {
    expect(ids(resolve({ disabledRules: ['no-such-rule'] }))).toEqual(ids(PROGRAM_RULES.general));
  });

  it('adds extra rules after the program rules, with schema defaults', () => {
    const rules = resolve({ extraRules: [extra] });
    expect(ids(rules).at(-1)).toBe('glucose-very-high');
    expect(byId(rules, 'glucose-very-high')).toMatchObject({ enabled: true, autoResolve: false });
  });

  it('leaves out an extra rule that is itself disabled', () => {
    expect(ids(resolve({ extraRules: [{ ...extra, enabled: false }] }))).not.toContain('glucose-very-high');
  });

  it('refuses an extra rule whose id a program already defines, pointing to overrides', () => {
    expect(issuesOf(() => resolve({ extraRules: [{ ...extra, id: 'fever' }] }))).toEqual(['extraRules.fever: a rule with this id already exists; use overrides']);
  });
});

describe('parseCarePlan', () => {
  it('returns the plan with defaults filled in', () => {
    expect(parseCarePlan({ programs: ['general', 'diabetes'], riskTier: 2 })).toEqual({ programs: ['general', 'diabetes'], overrides: {}, extraRules: [], disabledRules: [], riskTier: 2 });
  });

  it('lists every schema problem with its path', () => {
    const issues = issuesOf(() => parseCarePlan({ programs: ['oncology'], riskTier: 4 }));
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^programs\.0: /);
    expect(issues[1]).toMatch(/^riskTier: /);
  });

  it('also refuses a plan whose rules do not resolve', () => {
    expect(issuesOf(() => parseCarePlan({ overrides: { 'bp-low': { enabled: false } } }))).toEqual(['overrides.bp-low: no rule with this id in the enrolled programs']);
  });

  it('raises a CarePlanError whose message lists the issues', () => {
    try {
      parseCarePlan({ riskTier: 9 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CarePlanError);
      expect((e as Error).name).toBe('CarePlanError');
      expect((e as Error).message).toMatch(/^invalid care plan: riskTier: /);
    }
  });
});

describe('lookbackMs', () => {
  it('is the longest look-back of the rules in force', () => {
    expect(lookbackMs(resolveRules(DEFAULT_CARE_PLAN))).toBe(14 * DAY);
    expect(lookbackMs(resolve({ programs: ['heart-failure'] }))).toBeCloseTo(168 * 1.15 * H, 0);
    expect(lookbackMs(resolve({ programs: ['hypertension'] }))).toBe(7 * DAY);
    expect(lookbackMs(resolve({ programs: ['copd'] }))).toBe(24 * H);
  });

  it('is 0 for no rules or rules that need no history', () => {
    expect(lookbackMs([])).toBe(0);
    expect(lookbackMs(resolve({ programs: ['diabetes'], disabledRules: ['glucose-missing'] }))).toBe(0);
  });
});
