import type { AlertSeverity } from '../core/model/alert.js';
import type { Clock } from '../core/ports/clock.js';
import type { AlertingService } from './alerting-service.js';

/**
 * What the rules engine tells the metrics, as plain numbers (no reading, no patient): it crosses
 * from the single process's background thread to the main thread's /metrics as it is.
 */
export interface RulesPass {
  /** Per reading judged: receipt (just before its commit) → verdicts written, in ms. */
  readonly evaluationLagsMs: readonly number[];
  /** Per alert created or updated by a reading of the pass: that reading's receipt → the alert written, in ms. */
  readonly alertLatenciesMs: readonly { readonly change: 'created' | 'updated'; readonly ms: number }[];
  /** Alerts the pass (or a sweep) created, by severity. */
  readonly raised: readonly AlertSeverity[];
  /** Observations of reading history the engine holds in memory after the pass. */
  readonly historyObservations: number;
}

/** Where /metrics hears the rules engine: the engine itself, or its background thread's notes. */
export interface RulesObserver {
  onPass(listener: (pass: RulesPass) => void): void;
  /** Observations of reading history the engine holds in memory (the last figure known). */
  readonly historyObservations: number;
}

/** The engine's passes as RulesPass summaries (created alerts counted from every write, sweeps included). */
export function observeEngine(engine: AlertingService, clock: Clock): RulesObserver {
  const listeners: Array<(pass: RulesPass) => void> = [];
  let raised: AlertSeverity[] = [];
  engine.onAlertChange((alert, change) => {
    if (change === 'created') raised.push(alert.severity);
  });
  const emit = (pass: RulesPass): void => {
    for (const l of listeners) l(pass);
  };
  engine.onEvaluated((evaluated, alerts) => {
    const now = clock.now();
    const receivedAt = new Map<string, number>();
    const evaluationLagsMs: number[] = [];
    for (const reading of evaluated) {
      evaluationLagsMs.push(Math.max(0, now - reading.receivedAtMs));
      receivedAt.set(reading.id, reading.receivedAtMs);
    }
    const alertLatenciesMs: { change: 'created' | 'updated'; ms: number }[] = [];
    for (const change of ['created', 'updated'] as const) {
      for (const alert of alerts[change]) {
        // Missing-data alerts come from the clock, not from a reading of this pass.
        const at = alert.readingId === null ? undefined : receivedAt.get(alert.readingId);
        if (at !== undefined) alertLatenciesMs.push({ change, ms: Math.max(0, now - at) });
      }
    }
    const pass: RulesPass = { evaluationLagsMs, alertLatenciesMs, raised, historyObservations: engine.historyObservations };
    raised = [];
    emit(pass);
  });
  return {
    onPass(listener) {
      listeners.push(listener);
    },
    get historyObservations() {
      return engine.historyObservations;
    },
  };
}
