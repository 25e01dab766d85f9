import type { Logger } from '../core/logging.js';
import { inPartition, type RulePartition } from '../core/cluster/partitions.js';
import type { AlertStore } from '../core/ports/alert-store.js';
import type { WorkBus, WorkJob } from '../core/ports/work-bus.js';
import { fromTraceparent, inSpan, SpanKind } from '../core/tracing.js';
import type { AlertingService } from '../pipeline/alerting-service.js';
import { JOBS } from '../pipeline/cluster/units.js';

/**
 * Runs a job's handler in a consumer span continuing the trace of the commit that nudged it (the
 * gateway put its `traceparent` in the job data); the engine's and the delivery's own spans are its
 * children. Without a traceparent (tracing off, a timer's tick) the handler runs as it is.
 */
export function continuingTrace(unit: string, handler: (job: WorkJob) => Promise<void>): (job: WorkJob) => Promise<void> {
  return async (job) => {
    const traceparent = job.data.traceparent;
    if (typeof traceparent !== 'string') return handler(job);
    await inSpan(`worker ${job.name}`, { 'rpm.unit': unit, 'rpm.job': job.name }, () => handler(job), { kind: SpanKind.CONSUMER, parent: fromTraceparent(traceparent) });
  };
}

/** One unit of work while this worker holds it: its mailbox consumer, its timers, and how it stops. */
export interface RunningUnit {
  stop(): Promise<void>;
  /** Resolves once what the store holds for this unit now is done (tests, and a clean handover). */
  drain?(): Promise<void>;
  /** Rule partitions: the clock sweep now instead of at its next tick (tests with a manual clock). */
  sweepClock?(): Promise<void>;
  /** The timers unit: SLA escalation (when `escalate`) and timers of ended sessions, now. */
  timers?(escalate: boolean): Promise<void>;
}

/** Every `everyMs`, run `fn` (never two at once); errors are logged, the timer goes on. */
export function every(everyMs: number, fn: () => Promise<unknown>, log: Logger, what: string): () => Promise<void> {
  let running: Promise<unknown> | null = null;
  const timer = setInterval(() => {
    running ??= fn()
      .catch((err: unknown) => log.error({ err }, `${what} failed`))
      .finally(() => {
        running = null;
      });
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** Job schedulers are re-registered this often (idempotent), in case Redis restarted without them. */
const REPEATS_CHECK_MS = 30_000;

export interface RulePartitionDeps {
  readonly bus: WorkBus;
  readonly alerts: Pick<AlertStore, 'carePlanPatients'>;
  readonly log: Logger;
  readonly slaSweepMs: number;
  readonly missingDataSweepMs: number;
  /** The safety net under the nudges: a nudge lost with Redis delays evaluation by this much at most. */
  readonly catchUpMs: number;
}

/**
 * A rule partition held here: its engine judges the partition's patients in log order from the
 * partition's durable cursor. Nudges from gateways (committed readings, attributions) wake it; the
 * clock sweeps (waits for a repeat reading, missing data) come as repeatable jobs on its mailbox,
 * so each runs once per tick across the cluster, in the holder, on the engine's own turn.
 */
export async function startRulePartition(unit: string, partition: RulePartition, engine: AlertingService, deps: RulePartitionDeps): Promise<RunningUnit> {
  const { bus, log } = deps;
  const handle = async (job: WorkJob): Promise<void> => {
    switch (job.name) {
      case JOBS.committed:
      case JOBS.attributed:
        await engine.drain();
        return;
      case JOBS.sweepClock:
        await engine.sweepClock();
        return;
      case JOBS.sweepMissing: {
        const patients = (await deps.alerts.carePlanPatients()).filter((id) => inPartition(id, partition));
        await engine.sweepMissing(patients);
        return;
      }
      default:
        log.warn({ unit, job: job.name }, 'unknown job on a rule partition; ignored');
    }
  };
  const registerRepeats = async (): Promise<void> => {
    await bus.repeat(unit, JOBS.sweepClock, { name: JOBS.sweepClock, data: {} }, deps.slaSweepMs);
    await bus.repeat(unit, JOBS.sweepMissing, { name: JOBS.sweepMissing, data: {} }, deps.missingDataSweepMs);
  };
  // Catch up on what was committed while nobody held the partition, then follow the nudges.
  engine.kick();
  const stopConsuming = await bus.consume(unit, continuingTrace(unit, handle));
  await registerRepeats().catch((err: unknown) => log.warn({ err, unit }, 'could not register the partition timers; retried with the catch-up'));
  // Redis may restart empty: schedulers and nudges are re-created here, from the durable cursor.
  const stopCatchUp = every(deps.catchUpMs, async () => engine.kick(), log, 'rule partition catch-up');
  const stopRepeats = every(REPEATS_CHECK_MS, registerRepeats, log, 'rule partition timers');
  return {
    drain: () => engine.drain(),
    async sweepClock() {
      await engine.sweepClock();
      await engine.drain();
    },
    async stop() {
      await stopCatchUp();
      await stopRepeats();
      await stopConsuming();
      await engine.stop({ drainForMs: 1000 });
    },
  };
}
