import { type CarePlan, carePlanInput, PROGRAMS, type RuleDefinition, ruleDefinition } from './model.js';
import { HYPERCAPNIC_RULES, PROGRAM_RULES } from './programs.js';

export class CarePlanError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`invalid care plan: ${issues.join('; ')}`);
    this.name = 'CarePlanError';
  }
}

/** Parse a care plan document; throws CarePlanError listing every problem. */
export function parseCarePlan(input: unknown): CarePlan {
  const parsed = carePlanInput.safeParse(input);
  if (!parsed.success) throw new CarePlanError(parsed.error.issues.map((i) => `${i.path.join('.') || '(plan)'}: ${i.message}`));
  resolveRules(parsed.data);
  return parsed.data;
}

/**
 * The rules in force for a care plan: the universal `general` rules (always, whatever the
 * programs), the defaults of its programs (a later program in PROGRAMS order replaces a rule id of
 * an earlier one: diabetes tightens hypoglycemia), the hypercapnic-risk rules when a clinician
 * recorded that decision (SpO2 88–92 %, NEWS2 scale 2), each override merged field by field over
 * its rule, disabled ids removed, extra rules added. Every resulting rule is validated again; an
 * override field the rule type does not have is reported; a universal rule changed or disabled
 * without a reason in `overrideReasons` is refused (programs may tighten, nothing drops them
 * silently).
 */
export function resolveRules(plan: CarePlan): RuleDefinition[] {
  const byId = new Map<string, Record<string, unknown>>();
  for (const program of PROGRAMS) {
    if (program !== 'general' && !plan.programs.includes(program)) continue;
    for (const rule of PROGRAM_RULES[program]) byId.set(rule.id, { ...rule });
  }
  if (plan.hypercapnicRisk !== undefined) for (const rule of HYPERCAPNIC_RULES) byId.set(rule.id, { ...rule });
  const issues: string[] = [];
  const universal = new Set([...byId].filter(([, r]) => r.universal === true).map(([id]) => id));
  const reasonFor = (id: string): string | undefined => (Object.hasOwn(plan.overrideReasons, id) ? plan.overrideReasons[id] : undefined);
  for (const [id, patch] of Object.entries(plan.overrides)) {
    const rule = byId.get(id);
    if (rule === undefined) {
      issues.push(`overrides.${id}: no rule with this id in the enrolled programs`);
      continue;
    }
    if (Object.hasOwn(patch, 'id') || Object.hasOwn(patch, 'type')) issues.push(`overrides.${id}: id and type cannot be overridden`);
    if (Object.hasOwn(patch, 'universal')) issues.push(`overrides.${id}: whether a rule is universal cannot be overridden`);
    if (universal.has(id) && reasonFor(id) === undefined) issues.push(`overrides.${id}: ${id} is a universal safety rule; give the reason in overrideReasons.${id}`);
    byId.set(id, { ...rule, ...patch });
  }
  for (const id of plan.disabledRules) {
    if (universal.has(id) && reasonFor(id) === undefined) issues.push(`disabledRules: ${id} is a universal safety rule; give the reason in overrideReasons.${id}`);
    byId.delete(id);
  }
  for (const extra of plan.extraRules) {
    if (byId.has(extra.id)) issues.push(`extraRules.${extra.id}: a rule with this id already exists; use overrides`);
    byId.set(extra.id, extra);
  }
  const rules: RuleDefinition[] = [];
  for (const [id, raw] of byId) {
    const parsed = ruleDefinition.safeParse(raw);
    if (parsed.success) {
      // The schema drops unknown keys: a misspelt override field must not be ignored silently.
      const patch = Object.hasOwn(plan.overrides, id) ? plan.overrides[id] : undefined;
      for (const field of Object.keys(patch ?? {})) {
        // Own properties: `in` would accept `constructor` or `toString` as a field of every rule.
        if (!Object.hasOwn(parsed.data, field)) issues.push(`overrides.${id}.${field}: not a field of a ${parsed.data.type} rule`);
      }
      if (parsed.data.enabled) rules.push(parsed.data);
      else if (universal.has(id) && reasonFor(id) === undefined && !Object.hasOwn(plan.overrides, id)) issues.push(`${id}: a universal safety rule cannot be turned off without a reason in overrideReasons.${id}`);
    } else {
      for (const i of parsed.error.issues) issues.push(`rule ${id}.${i.path.join('.')}: ${i.message}`);
    }
  }
  for (const id of Object.keys(plan.overrideReasons)) {
    if (!Object.hasOwn(plan.overrides, id) && !plan.disabledRules.includes(id)) issues.push(`overrideReasons.${id}: no override or disabled rule ${id} to explain`);
  }
  if (issues.length > 0) throw new CarePlanError(issues);
  return rules;
}

/** The plan a patient has before anyone writes one. */
export const DEFAULT_CARE_PLAN: CarePlan = carePlanInput.parse({});

/** Longest look-back any rule needs, so the history cache loads enough. */
export function lookbackMs(rules: readonly RuleDefinition[]): number {
  let max = 0;
  for (const r of rules) {
    const ms =
      r.type === 'change'
        ? (r.reference === 'closest' ? r.windowHours * (1 + r.slack) : r.windowHours + r.graceHours) * 3_600_000
        : r.type === 'rolling-mean'
          ? r.windowDays * 86_400_000
          : r.type === 'baseline'
            ? r.baselineFromDays * 86_400_000
            : r.type === 'n-of-m'
              ? r.withinHours * 3_600_000
              : r.type === 'news2'
                ? r.windowMinutes * 60_000
                : 0;
    max = Math.max(max, ms);
  }
  return max;
}
