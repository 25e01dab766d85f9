import type { AlertStore } from '../core/ports/alert-store.js';
import { DEFAULT_CARE_PLAN, lookbackMs, parseCarePlan, resolveRules } from '../rules/care-plan.js';
import type { CarePlan, RuleDefinition } from '../rules/model.js';
import { type KindLookback, kindLookback } from './patient-history.js';

export interface EffectivePlan {
  readonly version: number;
  /** When this version was saved; missing-data rules count from here when nothing arrived yet. */
  readonly savedAtMs: number | undefined;
  readonly plan: CarePlan;
  readonly rules: readonly RuleDefinition[];
  readonly lookbackMs: number;
  /** Per kind, how far back the rules watching it look (what the history cache keeps). */
  readonly lookbackByKind: KindLookback;
}

const DEFAULT_RULES = resolveRules(DEFAULT_CARE_PLAN);
const DEFAULT_PLAN: EffectivePlan = {
  version: 0,
  savedAtMs: undefined,
  plan: DEFAULT_CARE_PLAN,
  rules: DEFAULT_RULES,
  lookbackMs: lookbackMs(DEFAULT_RULES),
  lookbackByKind: kindLookback(DEFAULT_RULES),
};

/** Care plans resolved to the rules in force, cached per patient; saving a plan invalidates. */
export class CarePlans {
  private readonly cache = new Map<string, EffectivePlan>();
  private readonly invalidatedListeners: Array<(patientId: string) => void> = [];

  constructor(
    private readonly alerts: AlertStore,
    private readonly maxPatients = 50_000,
  ) {}

  async get(patientId: string): Promise<EffectivePlan> {
    const hit = this.cache.get(patientId);
    if (hit !== undefined) return hit;
    const stored = await this.alerts.carePlan(patientId);
    let effective = DEFAULT_PLAN;
    if (stored !== undefined) {
      const plan = parseCarePlan(stored.plan);
      const rules = resolveRules(plan);
      effective = { version: stored.version, savedAtMs: stored.savedAtMs, plan, rules, lookbackMs: lookbackMs(rules), lookbackByKind: kindLookback(rules) };
    }
    if (this.cache.size >= this.maxPatients) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(patientId, effective);
    return effective;
  }

  /** A plan was saved here: drop the cached one, and tell the listeners (engines in other threads or processes keep their own cache). */
  invalidate(patientId: string): void {
    this.cache.delete(patientId);
    for (const l of this.invalidatedListeners) l(patientId);
  }

  /** A plan saved in another thread or process: drop the cached one only. */
  forget(patientId: string): void {
    this.cache.delete(patientId);
  }

  onInvalidated(listener: (patientId: string) => void): void {
    this.invalidatedListeners.push(listener);
  }
}
