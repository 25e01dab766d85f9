import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStores } from '../../connectors/sqlite/index.js';
import { createLogger } from '../../core/logging.js';
import { AlertingService } from '../../pipeline/alerting-service.js';
import { CarePlans } from '../../pipeline/care-plans.js';
import { lookbackMs, parseCarePlan, resolveRules } from '../../rules/care-plan.js';
import { type ConditionState, EMPTY_CONDITION, evaluateCondition } from '../../rules/conditions.js';
import type { RuleDefinition } from '../../rules/model.js';
import { type Observation, ruleWatches, verdictAt } from '../../rules/verdicts.js';
import { D, PLAN, type Sample, toReading, workload } from './workload.js';

/**
 * Rules throughput on one core (issue 3): pure evaluation (verdicts + condition state machine,
 * no I/O) and the AlertingService end to end over a real SQLite store (history loads, state
 * reads, alert and cursor transactions), on a month of realistic home readings per patient.
 */

function pureEvaluation(rules: readonly RuleDefinition[], items: readonly { patient: number; s: Sample }[], patients: number): { seconds: number; verdicts: number; opened: number } {
  const keep = lookbackMs(rules) + D;
  const histories: Observation[][] = Array.from({ length: patients }, () => []);
  const states: Map<string, ConditionState>[] = Array.from({ length: patients }, () => new Map());
  let verdicts = 0;
  let opened = 0;
  const t0 = performance.now();
  for (const [i, { patient, s }] of items.entries()) {
    const o: Observation = { id: `r${i}`, kind: s.kind, measuredAtMs: s.atMs, values: s.values };
    const history = histories[patient] as Observation[];
    history.push(o);
    // Keep the look-back the engine keeps (the longest window: 14-day SpO2 baseline).
    while ((history[0] as Observation).measuredAtMs < s.atMs - keep) history.shift();
    const st = states[patient] as Map<string, ConditionState>;
    for (const rule of rules) {
      if (!ruleWatches(rule, s.kind)) continue;
      const v = verdictAt(rule, o, history);
      if (v === null) continue;
      verdicts++;
      const { state, change } = evaluateCondition(rule, st.get(rule.id) ?? EMPTY_CONDITION, [v]);
      st.set(rule.id, state);
      if (change?.type === 'opened') opened++;
    }
  }
  return { seconds: (performance.now() - t0) / 1000, verdicts, opened };
}

export interface EndToEnd {
  readonly readings: number;
  readonly seconds: number;
  readonly alerts: number;
  readonly commitSeconds: number;
}

async function serviceEndToEnd(patients: number, days: number): Promise<EndToEnd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rpm-rules-bench-'));
  try {
    const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL' });
    const now = Date.now();
    for (let p = 0; p < patients; p++) {
      await stores.registry.createPatient({ id: `p${p}`, organizationId: 'org', createdAtMs: now });
      await stores.alerts.saveCarePlan(`p${p}`, PLAN, null, 'bench', now - 40 * D);
    }
    const items = workload(patients, days, now - (days + 1) * D);
    const readings = items.map(({ patient, s }, i) => toReading(`p${patient}`, `d${patient}`, s, i));
    const c0 = performance.now();
    for (let i = 0; i < readings.length; i += 1000) await stores.readings.commit({ readings: readings.slice(i, i + 1000), rejections: [] });
    const commitSeconds = (performance.now() - c0) / 1000;
    const engine = new AlertingService({
      readings: stores.readings,
      progress: stores.progress,
      alerts: stores.alerts,
      registry: stores.registry,
      carePlans: new CarePlans(stores.alerts),
      clock: { now: () => now },
      log: createLogger('silent'),
      newId: randomUUID,
    });
    let alerts = 0;
    engine.onAlertChange((_a, change) => {
      if (change === 'created') alerts++;
    });
    const t0 = performance.now();
    await engine.drain();
    const seconds = (performance.now() - t0) / 1000;
    await engine.stop();
    await stores.close();
    return { readings: readings.length, seconds, alerts, commitSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RulesThroughput {
  readonly rules: readonly string[];
  readonly pure: { readonly patients: number; readonly days: number; readonly readings: number; readonly verdicts: number; readonly opened: number; readonly perSecond: readonly number[] };
  readonly e2e: readonly (EndToEnd & { readonly perSecond: number })[];
}

/** Runs inside the process pinned to one core (rules.bench.ts --role throughput). */
export async function rulesThroughput(o: { patients: number; days: number; e2ePatients: number; e2eDays: number; pureReps: number; e2eReps: number }): Promise<RulesThroughput> {
  const rules = resolveRules(parseCarePlan(PLAN));
  const items = workload(o.patients, o.days, Date.UTC(2026, 9, 1));
  pureEvaluation(rules, items, o.patients); // warm-up (JIT)
  const pure: { seconds: number; verdicts: number; opened: number }[] = [];
  for (let i = 0; i < o.pureReps; i++) pure.push(pureEvaluation(rules, items, o.patients));
  const e2e: EndToEnd[] = [];
  for (let i = 0; i < o.e2eReps; i++) e2e.push(await serviceEndToEnd(o.e2ePatients, o.e2eDays));
  return {
    rules: rules.map((r) => r.id),
    pure: { patients: o.patients, days: o.days, readings: items.length, verdicts: pure[0]?.verdicts ?? 0, opened: pure[0]?.opened ?? 0, perSecond: pure.map((p) => items.length / p.seconds) },
    e2e: e2e.map((e) => ({ ...e, perSecond: e.readings / e.seconds })),
  };
}

