import { partitionOf } from '../../core/cluster/partitions.js';
import type { Logger } from '../../core/logging.js';
import type { Reading } from '../../core/model/reading.js';
import type { CommitOutcome } from '../../core/ports/reading-store.js';
import type { WorkBus } from '../../core/ports/work-bus.js';
import { readingTraces, traceparentOf } from '../../core/tracing.js';
import { fhirUnit, JOBS, rulesUnit, TIMESERIES_UNIT } from './units.js';

export interface WorkHandoffDeps {
  readonly bus: WorkBus;
  readonly log: Logger;
  readonly partitions: number;
  /** Enabled FHIR destinations now (from the gateway's memory). */
  readonly destinations: () => readonly string[];
  readonly timeSeries: boolean;
}

/** The same destination or the time-series writer is nudged at most this often (they poll anyway). */
const SLOW_UNIT_NUDGE_MS = 100;

/**
 * The gateway's side of the hand-off to workers: after each durable commit, a nudge to the rule
 * partition of every patient the commit touched (at once: alert latency depends on it), and to the
 * FHIR destinations and the time-series writer (at most every 100 ms). A nudge carries the log
 * position only; the worker reads the readings from the store. Nudges of one turn of the event
 * loop go in one round trip; a failed one is logged and forgotten (the holders catch up on their own).
 */
export class WorkHandoff {
  private pending = new Map<string, number>();
  /**
   * Tracing across processes: the W3C `traceparent` of the newest traced commit a nudge covers,
   * carried in the job data (`data.traceparent`), so the worker's rules pass or FHIR exchange can
   * link to (or continue) the request's trace. Absent when tracing is off.
   */
  private traceparents = new Map<string, string>();
  private scheduled = false;
  private readonly lastSlow = new Map<string, number>();

  constructor(private readonly deps: WorkHandoffDeps) {}

  committed(readings: readonly Reading[], outcomes: readonly CommitOutcome[]): void {
    let maxSeq = 0;
    let any = false;
    let traceparent: string | undefined;
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i];
      const r = readings[i];
      if (o?.status !== 'accepted' || r === undefined) continue;
      any = true;
      maxSeq = Math.max(maxSeq, o.seq ?? 0);
      const origin = traceparentOf(readingTraces.get(r.id));
      if (origin !== undefined) traceparent = origin;
      if (r.patientId !== null) this.add(rulesUnit({ index: partitionOf(r.patientId, this.deps.partitions), count: this.deps.partitions }), maxSeq, JOBS.committed, origin);
    }
    if (!any) return;
    const now = performance.now();
    const slow = [...this.deps.destinations().map(fhirUnit), ...(this.deps.timeSeries ? [TIMESERIES_UNIT] : [])];
    for (const unit of slow) {
      if (now - (this.lastSlow.get(unit) ?? Number.NEGATIVE_INFINITY) < SLOW_UNIT_NUDGE_MS) continue;
      this.lastSlow.set(unit, now);
      this.add(unit, maxSeq, JOBS.committed, traceparent);
    }
  }

  /** The attribution log grew for this patient (an assignment, a confirmation): nudge its partition. */
  attributed(patientId: string): void {
    this.add(rulesUnit({ index: partitionOf(patientId, this.deps.partitions), count: this.deps.partitions }), 0, JOBS.attributed);
  }

  /** Something for one unit (an operator's action on a destination). */
  nudge(unit: string, name: string, data: Readonly<Record<string, string | number>> = {}): void {
    this.deps.bus.post([{ unit, job: { name, data } }]).catch((err: unknown) => this.deps.log.warn({ err, unit }, 'could not nudge a worker (it catches up on its own)'));
  }

  private add(unit: string, seq: number, name: string = JOBS.committed, traceparent?: string): void {
    const key = `${unit}\u0000${name}`;
    this.pending.set(key, Math.max(this.pending.get(key) ?? 0, seq));
    if (traceparent !== undefined) this.traceparents.set(key, traceparent);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const posts = [...this.pending].map(([key, seq]) => {
      const [unit, name] = key.split('\u0000') as [string, string];
      const traceparent = this.traceparents.get(key);
      const data: Record<string, string | number> = { seq };
      if (traceparent !== undefined) data.traceparent = traceparent;
      return { unit, job: { name, data } };
    });
    this.pending = new Map();
    this.traceparents = new Map();
    this.deps.bus.post(posts).catch((err: unknown) => this.deps.log.debug({ err, nudges: posts.length }, 'nudges not delivered (workers catch up on their own)'));
  }
}
