import type { RpmErrorCode } from '../core/errors/codes.js';
import { isRpmError, RpmError } from '../core/errors/rpm-error.js';
import type { Logger } from '../core/logging.js';
import type { Destination } from '../core/model/destination.js';
import type { Device } from '../core/model/registry.js';
import type { AuditLog } from '../core/ports/audit-log.js';
import type { ClinicalRecordSink, DeliveryItem, DeliveryResult } from '../core/ports/clinical-record-sink.js';
import type { Clock } from '../core/ports/clock.js';
import type { DeliveryUpdate, DueDelivery, ForwardingStore } from '../core/ports/forwarding-store.js';
import { type CircuitState, CircuitBreaker, retryDelayMs } from './circuit-breaker.js';

export interface DeliveryOptions {
  /** Readings per exchange when a destination does not set its own batch size. */
  readonly batchSize: number;
  /** Exchanges in flight per destination. */
  readonly concurrency: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly breaker: { readonly threshold: number; readonly cooldownMs: number };
  /** Safety-net wake-up; new readings and due retries wake the worker anyway. */
  readonly pollMs: number;
}

export interface DeliveryWorkerDeps {
  readonly store: ForwardingStore;
  readonly sink: ClinicalRecordSink;
  /** The registry's view of a device (cached by the caller). */
  readonly device: (deviceId: string) => Promise<Device | undefined>;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options: DeliveryOptions;
  /** [0, 1); injected so tests can pin the jitter. */
  readonly random?: () => number;
}

export interface BreakerStatus {
  readonly state: CircuitState;
  readonly consecutiveFailures: number;
  readonly reopensAtMs: number | undefined;
}

/**
 * Delivers the outbox. One pump per enabled destination follows that destination's due
 * deliveries (oldest first), hands them to the sink in chunks of the destination's batch size,
 * several chunks at once, and records every attempt: delivered, dead (the EHR refused it as
 * invalid; kept with its OperationOutcome), or failed (retried after an exponential backoff with
 * jitter). Failures of a whole exchange count against the destination's circuit breaker; while
 * it is open nothing is sent and nothing is lost, and when a probe succeeds every waiting retry is
 * made due at once instead of sitting out its backoff.
 *
 * Runs beside ingest, never in front of an acknowledgement: new commits only `kick` it.
 */
export class DeliveryWorker {
  private readonly pumps = new Map<string, Pump>();
  private readonly abort = new AbortController();
  private poll: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: DeliveryWorkerDeps) {}

  start(): void {
    void this.refresh();
    this.poll = setInterval(() => this.kick(), this.deps.options.pollMs);
    this.poll.unref();
  }

  /** Something may be due (a commit wrote outbox rows, an operator requeued deliveries). */
  kick(): void {
    for (const pump of this.pumps.values()) pump.kick();
  }

  /** Destinations changed: start, update or stop pumps to match the store. */
  refresh(): Promise<void> {
    const run = async (): Promise<void> => {
      const destinations = await this.deps.store.listDestinations();
      const live = new Set<string>();
      for (const d of destinations) {
        if (!d.enabled) continue;
        live.add(d.id);
        const pump = this.pumps.get(d.id);
        if (pump === undefined) this.pumps.set(d.id, new Pump(d, this.deps, this.abort.signal));
        else pump.destination = d;
      }
      for (const [id, pump] of this.pumps) {
        if (!live.has(id)) {
          this.pumps.delete(id);
          await pump.stop();
        }
      }
      if (!this.stopped) this.kick();
    };
    const previous = this.refreshing ?? Promise.resolve();
    const next = previous.then(run).catch((err: unknown) => this.deps.log.error({ err }, 'loading FHIR destinations failed'));
    this.refreshing = next;
    return next;
  }

  breaker(destinationId: string): BreakerStatus | undefined {
    const b = this.pumps.get(destinationId)?.breaker;
    return b === undefined ? undefined : { state: b.state, consecutiveFailures: b.consecutiveFailures, reopensAtMs: b.reopensAtMs };
  }

  /** Cancels exchanges in flight (their deliveries stay due; the EHR recognises a resend) and waits. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll !== undefined) clearInterval(this.poll);
    this.abort.abort();
    await this.refreshing;
    await Promise.all([...this.pumps.values()].map((p) => p.stop()));
  }
}

class Pump {
  readonly breaker: CircuitBreaker;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;

  constructor(
    public destination: Destination,
    private readonly deps: DeliveryWorkerDeps,
    private readonly signal: AbortSignal,
  ) {
    this.breaker = new CircuitBreaker(deps.options.breaker);
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.loop()
      .catch((err: unknown) => this.deps.log.error({ err, destinationId: this.destination.id }, 'FHIR delivery pump failed'))
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** Wake up at `atMs` (the earliest due retry, or the end of the breaker's cooldown). */
  private wakeAt(atMs: number): void {
    if (this.stopped || atMs >= this.timerAtMs) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAtMs = Number.POSITIVE_INFINITY;
      this.kick();
    }, Math.max(5, atMs - this.deps.clock.now()));
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    const { store, options } = this.deps;
    while (!this.stopped) {
      const now = this.deps.clock.now();
      const permit = this.breaker.permit(now);
      if (permit === 'none') {
        this.wakeAt(this.breaker.reopensAtMs ?? now + options.pollMs);
        return;
      }
      const size = this.destination.batchSize ?? options.batchSize;
      const lanes = permit === 'probe' ? 1 : options.concurrency;
      const due = await store.dueDeliveries(this.destination.id, now, size * lanes);
      if (due.length === 0) {
        if (permit === 'probe') this.breaker.release();
        const next = await store.nextDueAt(this.destination.id);
        if (next !== undefined) this.wakeAt(next);
        return;
      }
      const chunks: DueDelivery[][] = [];
      for (let i = 0; i < due.length; i += size) chunks.push(due.slice(i, i + size));
      await Promise.all(chunks.map((chunk) => this.deliver(chunk)));
    }
  }

  private async deliver(chunk: readonly DueDelivery[]): Promise<void> {
    const { sink, store, clock, log } = this.deps;
    const destination = this.destination;
    const items: DeliveryItem[] = await Promise.all(
      chunk.map(async (d) => ({
        reading: d.reading,
        device: await this.deps.device(d.reading.deviceId),
        hub: d.reading.hubId === null ? undefined : await this.deps.device(d.reading.hubId),
      })),
    );
    let results: DeliveryResult[];
    try {
      results = await sink.deliver(destination, items, this.signal);
      if (results.length !== chunk.length) throw new RpmError('RPM_ERR_INTERNAL', `sink answered ${results.length} results for ${chunk.length} deliveries`);
    } catch (err) {
      if (this.signal.aborted) {
        // Shutdown cancelled the exchange: the deliveries stay as they were, due again at start.
        this.breaker.release();
        return;
      }
      const e = isRpmError(err) ? err : new RpmError('RPM_ERR_UPSTREAM_FHIR', err instanceof Error ? err.message : String(err), { cause: err });
      const now = clock.now();
      this.breaker.failure(now);
      // One jitter draw per chunk keeps a failed batch together for its retry.
      const jitter = (this.deps.random ?? Math.random)();
      await this.record(chunk.map((d) => this.failed(d, now, jitter, e.code, e.message, e.retryAfterSeconds)));
      log.warn({ destinationId: destination.id, code: e.code, deliveries: chunk.length, circuit: this.breaker.state }, 'FHIR delivery failed; will retry');
      return;
    }
    const now = clock.now();
    const recovered = this.breaker.success();
    const updates: DeliveryUpdate[] = [];
    const jitter = (this.deps.random ?? Math.random)();
    let delivered = 0;
    let dead = 0;
    for (let i = 0; i < chunk.length; i++) {
      const d = chunk[i] as DueDelivery;
      const r = results[i] as DeliveryResult;
      if (r.status === 'delivered') {
        delivered++;
        updates.push({ seq: d.seq, status: 'delivered', atMs: now, refs: r.refs });
      } else if (r.status === 'dead') {
        dead++;
        updates.push({ seq: d.seq, status: 'dead', atMs: now, code: r.code, message: r.message, outcome: r.outcome });
      } else {
        updates.push(this.failed(d, now, jitter, r.code, r.message, undefined));
      }
    }
    await this.record(updates);
    if (dead > 0) log.warn({ destinationId: destination.id, dead }, 'FHIR server refused deliveries; dead-lettered');
    if (delivered > 0) {
      // Disclosure of PHI to an outside system: who received what, by reference only.
      await this.deps.audit
        .record({
          atMs: now,
          actor: 'system:fhir-forwarder',
          action: 'fhir.deliver',
          subject: `fhir-destination:${destination.id}`,
          outcome: 'success',
          sourceIp: null,
          details: { delivered, dead, retried: chunk.length - delivered - dead },
        })
        .catch((err: unknown) => log.error({ err }, 'audit of a FHIR delivery failed'));
    }
    if (recovered) {
      // The server is back: retries waiting out their backoff go now.
      const requeued = await store.retryDeliveries({ destinationId: destination.id, statuses: ['failed'] }, now);
      log.info({ destinationId: destination.id, requeued }, 'FHIR destination reachable again; circuit closed');
    }
  }

  private failed(d: DueDelivery, now: number, jitter: number, code: RpmErrorCode, message: string, retryAfterSeconds: number | undefined): DeliveryUpdate {
    const { baseMs, maxMs } = this.deps.options.retry;
    const backoff = retryDelayMs(d.attempts + 1, baseMs, maxMs, jitter);
    const delay = Math.max(backoff, (retryAfterSeconds ?? 0) * 1000);
    return { seq: d.seq, status: 'failed', atMs: now, nextAttemptAtMs: now + delay, code, message };
  }

  private async record(updates: readonly DeliveryUpdate[]): Promise<void> {
    try {
      await this.deps.store.recordAttempts(updates);
    } catch (err) {
      // Not recorded: the deliveries stay due and are sent again; the EHR recognises them.
      this.deps.log.error({ err, destinationId: this.destination.id }, 'recording FHIR delivery attempts failed');
    }
  }
}
