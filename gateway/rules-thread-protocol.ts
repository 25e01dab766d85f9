import type { Config } from '../core/config/schema.js';
import { rulesUnit } from '../pipeline/cluster/units.js';

/**
 * What the main thread of the single process and its rules thread (`rules-thread.ts`) say to each
 * other over their link (connectors/threads/port-link.ts): the distributed mode's nudges and
 * events, plus a few calls and notes.
 */

/** The single engine's mailbox: the one rule partition of one (its cursor stays the single engine's). */
export const RULES_THREAD_UNIT = rulesUnit({ count: 1, index: 0 });
/** Origins on the events (ClusterHubBridge ignores its own). */
export const MAIN_NODE = 'main';
export const RULES_THREAD_NODE = 'rules-thread';

export const CALLS = {
  /** Answered once the thread's stores are open and its engine follows the log. */
  started: 'started',
  drain: 'drain',
  sweepClock: 'sweep-clock',
  sweepMissing: 'sweep-missing',
  /** Judge for at most `drainForMs`, write, close the stores, end the thread. */
  stop: 'stop',
} as const;

export const NOTES = {
  /** Main → thread: the injected clock's time (tests' manual clocks), sent before each message. */
  clock: 'clock',
  /** Thread → main: a pass's metrics (pipeline/rules-observations.ts RulesPass). */
  pass: 'pass',
  /** Thread → main: one log line (pino JSON), written to the main thread's logger. */
  log: 'log',
  /** Thread → main, when tracing: a finished span (connectors/telemetry/span-relay.ts), for the main thread's exporter. */
  span: 'span',
  /**
   * Main → thread, when tracing: the traced readings of a commit, reading id → W3C traceparent of
   * the request or publish that committed them (posted before the nudge), so each verdict is a
   * span in its reading's trace.
   */
  readingTraces: 'reading-traces',
} as const;

/** Events the thread hears (the distributed mode's channel names). */
export const CHANNELS = {
  /** A patient moved to another organization: alerts name the new one. */
  patients: 'patients',
  /** A care plan was saved: the thread's cached plan of the patient is dropped. */
  carePlans: 'care-plans',
} as const;

export interface RulesThreadData {
  readonly config: Config;
  /** The system clock, or the main thread's injected clock relayed with each message (tests). */
  readonly clock: { readonly kind: 'system' } | { readonly kind: 'relayed'; readonly nowMs: number };
  /** The main thread traces (its exporter takes the thread's spans too). */
  readonly tracing: boolean;
}
