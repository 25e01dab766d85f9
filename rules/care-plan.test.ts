import { describe, expect, it } from 'vitest';
import { CarePlanError, DEFAULT_CARE_PLAN, lookbackMs, parseCarePlan, resolveRules } from './care-plan.js';
import { type CarePlanInput, carePlanInput, type RuleDefinition, type RuleInput } from './model.js';
import { HYPERCAPNIC_RULES, PROGRAM_RULES } from './programs.js';

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
    expect(DEFAULT_CARE_PLAN).toEqual({ programs: ['general'], overrides: {}, extraRules: [], disabledRules: [], overrideReasons: {}, riskTier: 1 });
  });

  it('puts the general program’s rules in force', () => {
    expect(ids(resolveRules(DEFAULT_CARE_PLAN))).toEqual(ids(PROGRAM_RULES.general));
  });
});

describe('program precedence', () => {
  it('lets a program tighten a universal rule: diabetes adds level 1 hypoglycemia to the universal level 2', () => {
    const universal = byId(resolveRules(DEFAULT_CARE_PLAN), 'glucose-low');
    expect(universal.type === 'threshold' && universal.limits[0]?.tiers.map((t) => t.value)).toEqual([54]);
    const diabetes = byId(resolve({ programs: ['diabetes'] }), 'glucose-low');
    expect(diabetes.type === 'threshold' && diabetes.limits[0]?.tiers.map((t) => [t.value, t.label])).toEqual([
      [70, 'Level 1 hypoglycemia'],
      [54, 'Level 2 hypoglycemia'],
    ]);
  });

  it('never lowers the SpO2 target or switches NEWS2 to scale 2 for enrolling in COPD alone (RCP: a recorded clinician decision)', () => {
    const rules = resolve({ programs: ['general', 'copd'] });
    expect(byId(rules, 'news2')).toMatchObject({ spo2Scale: 1 });
    expect(byId(rules, 'spo2-low')).toEqual(byId(resolveRules(DEFAULT_CARE_PLAN), 'spo2-low'));
    expect(ids(rules)).toContain('spo2-sustained-low');
  });

  it('uses the 88–92 % target and scale 2 once a hypercapnic-risk decision is recorded, whatever the programs', () => {
    const rules = resolve({ programs: ['copd'], hypercapnicRisk: { reason: 'Chronic hypercapnia on ABG, pulmonology letter' } });
    expect(byId(rules, 'news2')).toMatchObject({ spo2Scale: 2 });
    const spo2 = byId(rules, 'spo2-low');
    expect(spo2.type === 'threshold' && spo2.limits).toEqual([{ component: 'value', comparator: '<', tiers: [{ severity: 'high', value: 88 }], clearAt: 89, worsenBy: 2 }]);
    expect(spo2.title).toContain('88–92');
    expect(byId(resolve({ programs: ['general'], hypercapnicRisk: { reason: 'obesity hypoventilation' } }), 'news2')).toMatchObject({ spo2Scale: 2 });
  });

  it('applies the precedence by program order, not by the order the plan lists programs in', () => {
    const a = resolve({ programs: ['general', 'diabetes'] });
    const b = resolve({ programs: ['diabetes', 'general'] });
    expect(b).toEqual(a);
  });

  it('keeps one rule per id across every program', () => {
    const rules = resolve({ programs: ['general', 'hypertension', 'heart-failure', 'diabetes', 'copd'], hypercapnicRisk: { reason: 'x' } });
    const all = new Set([...Object.values(PROGRAM_RULES), HYPERCAPNIC_RULES].flatMap((rs) => rs.map((r) => r.id)));
    expect(ids(rules).sort()).toEqual([...all].sort());
  });

  it('always includes the universal general rules, whatever programs are listed', () => {
    const rules = ids(resolve({ programs: ['hypertension'] }));
    expect(rules).toEqual([...ids(PROGRAM_RULES.general), 'bp-mean-7d']);
    for (const id of ['bp-severe', 'bp-low', 'glucose-low', 'hypothermia', 'respiratory-rate-abnormal']) expect(ids(resolve({ programs: ['heart-failure'] }))).toContain(id);
  });
});

describe('universal rules', () => {
  it('are marked universal in the defaults', () => {
    const universal = resolveRules(DEFAULT_CARE_PLAN).filter((r) => r.universal).map((r) => r.id);
    expect(universal.sort()).toEqual(['bp-low', 'bp-severe', 'fever', 'glucose-low', 'heart-rate-abnormal', 'hypothermia', 'respiratory-rate-abnormal', 'spo2-low'].sort());
  });

  it('cannot be disabled or changed for a patient without a recorded reason', () => {
    expect(issuesOf(() => resolve({ disabledRules: ['bp-severe'] }))).toEqual(['disabledRules: bp-severe is a universal safety rule; give the reason in overrideReasons.bp-severe']);
    expect(issuesOf(() => resolve({ overrides: { 'bp-low': { enabled: false } } }))).toEqual(['overrides.bp-low: bp-low is a universal safety rule; give the reason in overrideReasons.bp-low']);
    expect(issuesOf(() => resolve({ overrides: { 'spo2-low': { universal: false } } }))[0]).toBe('overrides.spo2-low: whether a rule is universal cannot be overridden');
  });

  it('can be changed or disabled with a reason, which stays on the plan', () => {
    const rules = resolve({ disabledRules: ['hypothermia'], overrides: { 'bp-low': { limits: [{ component: 'systolic', comparator: '<', tiers: [{ severity: 'high', value: 85 }] }] } }, overrideReasons: { hypothermia: 'Thermometer not issued', 'bp-low': 'Baseline SBP 88–95 on midodrine; cardiology agrees' } });
    expect(ids(rules)).not.toContain('hypothermia');
    const low = byId(rules, 'bp-low');
    expect(low.type === 'threshold' && low.limits[0]?.tiers[0]?.value).toBe(85);
  });

  it('refuses a reason for a rule the plan does not change', () => {
    expect(issuesOf(() => resolve({ overrideReasons: { fever: 'why not' } }))).toEqual(['overrideReasons.fever: no override or disabled rule fever to explain']);
  });
});

describe('overrides', () => {
  it('merge field by field: only the overridden field changes', () => {
    const rule = byId(resolve({ overrides: { 'spo2-drop': { autoResolve: false } } }), 'spo2-drop');
    const original = byId(resolveRules(DEFAULT_CARE_PLAN), 'spo2-drop');
    expect(rule).toEqual({ ...original, autoResolve: false });
  });

  it('replace a top-level field as a whole (limits are not merged element by element)', () => {
    const limits = [{ component: 'value', comparator: '<', tiers: [{ severity: 'high', value: 90 }] }];
    const rule = byId(resolve({ overrides: { 'spo2-low': { limits } }, overrideReasons: { 'spo2-low': 'Target set by pulmonology' } }), 'spo2-low');
    expect(rule.type === 'threshold' && rule.limits).toEqual(limits);
  });

  it('apply to the rule that won the program precedence', () => {
    const rule = byId(resolve({ programs: ['diabetes'], overrides: { 'glucose-low': { title: 'Own target' } }, overrideReasons: { 'glucose-low': 'renamed' } }), 'glucose-low');
    expect(rule).toMatchObject({ title: 'Own target', limits: [{ tiers: [{ value: 70 }, { value: 54 }] }] });
  });

  it('can disable a rule with enabled: false', () => {
    expect(ids(resolve({ overrides: { 'spo2-drop': { enabled: false } } }))).not.toContain('spo2-drop');
  });

  it('report an invalid value with a clear issue naming the rule and field', () => {
    expect(issuesOf(() => resolve({ overrides: { 'spo2-drop': { autoResolve: 'yes' } } }))).toEqual(['rule spo2-drop.autoResolve: Invalid input: expected boolean, received string']);
  });

  it('report an override that leaves a nested object incomplete (nested objects are replaced, not merged)', () => {
    const issues = issuesOf(() => resolve({ programs: ['hypertension'], overrides: { 'bp-severe': { confirmation: { withinMinutes: 10 } } }, overrideReasons: { 'bp-severe': 'faster repeat' } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^rule bp-severe\.confirmation\.initialSeverity: /);
  });

  it('report a misspelt field instead of silently ignoring it', () => {
    expect(issuesOf(() => resolve({ overrides: { 'spo2-drop': { autoresolve: false } } }))).toEqual(['overrides.spo2-drop.autoresolve: not a field of a baseline rule']);
  });

  it('report a field named after an Object.prototype member instead of taking it as a rule field', () => {
    expect(issuesOf(() => resolve({ overrides: { 'spo2-drop': { constructor: 1, toString: 2 } } }))).toEqual([
      'overrides.spo2-drop.constructor: not a field of a baseline rule',
      'overrides.spo2-drop.toString: not a field of a baseline rule',
    ]);
  });

  it('cannot change a rule’s id or type', () => {
    expect(issuesOf(() => resolve({ overrides: { 'spo2-drop': { id: 'other' } } }))).toContain('overrides.spo2-drop: id and type cannot be overridden');
    expect(issuesOf(() => resolve({ overrides: { 'spo2-drop': { type: 'missing' } } }))).toContain('overrides.spo2-drop: id and type cannot be overridden');
  });

  it('report an override of an id that no enrolled program defines', () => {
    expect(issuesOf(() => resolve({ overrides: { 'bp-mean-7d': { enabled: false } } }))).toEqual(['overrides.bp-mean-7d: no rule with this id in the enrolled programs']);
  });

  it('report every problem at once', () => {
    const issues = issuesOf(() => resolve({ overrides: { nope: {}, 'spo2-drop': { autoResolve: 1 } }, extraRules: [{ ...extra, id: 'spo2-low' }] }));
    expect(issues).toHaveLength(3);
  });
});

describe('disabled and extra rules', () => {
  it('removes disabled rules', () => {
    expect(ids(resolve({ disabledRules: ['spo2-drop', 'news2'] }))).toEqual(ids(PROGRAM_RULES.general).filter((id) => id !== 'spo2-drop' && id !== 'news2'));
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
    expect(issuesOf(() => resolve({ extraRules: [{ ...extra, id: 'spo2-drop' }] }))).toEqual(['extraRules.spo2-drop: a rule with this id already exists; use overrides']);
  });
});

describe('parseCarePlan', () => {
  it('returns the plan with defaults filled in', () => {
    expect(parseCarePlan({ programs: ['general', 'diabetes'], riskTier: 2 })).toEqual({ programs: ['general', 'diabetes'], overrides: {}, extraRules: [], disabledRules: [], overrideReasons: {}, riskTier: 2 });
  });

  it('lists every schema problem with its path', () => {
    const issues = issuesOf(() => parseCarePlan({ programs: ['oncology'], riskTier: 4 }));
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^programs\.0: /);
    expect(issues[1]).toMatch(/^riskTier: /);
  });

  it('also refuses a plan whose rules do not resolve', () => {
    expect(issuesOf(() => parseCarePlan({ overrides: { 'glucose-high': { enabled: false } } }))).toEqual(['overrides.glucose-high: no rule with this id in the enrolled programs']);
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
    // The universal spo2-drop baseline (14 days) is in every plan.
    expect(lookbackMs(resolveRules(DEFAULT_CARE_PLAN))).toBe(14 * DAY);
    expect(lookbackMs(resolve({ programs: ['heart-failure'], disabledRules: ['spo2-drop'] }))).toBe((168 + 4) * H);
    expect(lookbackMs(resolve({ programs: ['hypertension'], disabledRules: ['spo2-drop'] }))).toBe(7 * DAY);
    expect(lookbackMs(resolve({ programs: ['copd'], disabledRules: ['spo2-drop'] }))).toBe(24 * H);
  });

  it('is 0 for no rules or rules that need no history', () => {
    expect(lookbackMs([])).toBe(0);
    expect(lookbackMs(resolve({ programs: ['diabetes'], disabledRules: ['glucose-missing', 'spo2-drop', 'news2'] }))).toBe(0);
  });
});
