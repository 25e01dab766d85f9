import { type Context, context, ROOT_CONTEXT, type Span, type SpanContext, SpanKind, trace } from '@opentelemetry/api';
import { contextOf, failSpan, linksTo, readingTraces, tracer } from '../core/tracing.js';
import type { RpmErrorCode } from '../core/errors/codes.js';
import { isRpmError, RpmError } from '../core/errors/rpm-error.js';
import type { Logger } from '../core/logging.js';
import type { Destination } from '../core/model/destination.js';
import type { Device } from '../core/model/registry.js';
import type { AuditLog } from '../core/ports/audit-log.js';
import type { ClinicalRecordSink, DeliveryItem, DeliveryResult } from '../core/ports/clinical-record-sink.js';
import type { Clock } from '../core/ports/clock.js';
import type { DeliveryUpdate, DueDelivery, ForwardingStore } from '../core/ports/forwarding-store.js';
import { AdaptiveBatch, type BatchingStatus } from './adaptive-batch.js';
import { type CircuitState, CircuitBreaker, retryDelayMs } from './circuit-breaker.js';
import { PatientTargets, type TargetOutcome } from './patient-targets.js';

/** Dead letters that wait for the EHR, or an admin, to know the patient: replayed once it does. */
export const PATIENT_DEAD_LETTER_CODES = ['RPM_ERR_FHIR_PATIENT_UNKNOWN', 'RPM_ERR_FHIR_PATIENT_AMBIGUOUS'] as const satisfies readonly RpmErrorCode[];

export interface DeliveryOptions {
  /** Readings per exchange when a destination does not set its own batch size. */
  readonly batchSize: number;
  /** Exchanges in flight per destination. */
  readonly concurrency: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly breaker: { readonly threshold: number; readonly cooldownMs: number };
  /** Safety-net wake-up; new readings and due retries wake the worker anyway. */
  readonly pollMs: number;
  /** The per-request timeout (reported when exchanges time out). */
  readonly timeoutMs: number;
  /** How often patients the EHR did not know are looked up again. */
  readonly patientRecheckMs: number;
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
  /**
   * Which destinations this process delivers to (the distributed mode: those whose lease it holds).
   * Unset: every enabled destination.
   */
  readonly owns?: (destinationId: string) => boolean;
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
 * invalid, or does not know its patient; kept with its OperationOutcome), or failed (retried
 * after an exponential backoff with jitter). Failures of a whole exchange count against the
 * destination's circuit breaker; while it is open nothing is sent and nothing is lost, and when a
 * probe succeeds every waiting retry is made due at once instead of sitting out its backoff.
 * Exchanges that time out shrink the destination's batches (AdaptiveBatch). A paused (disabled)
 * destination has no pump: its deliveries wait in the outbox until it is resumed.
 *
 * Runs beside ingest, never in front of an acknowledgement: new commits only `kick` it.
 */
/** What the forwarding service (operators' API) needs of delivery, wherever delivery runs. */
export interface DeliveryControl {
  kick(): void;
  refresh(): Promise<void>;
  patientMapped(destinationId: string, patientId: string): Promise<number>;
  breaker(destinationId: string): BreakerStatus | undefined;
  batching(destinationId: string): BatchingStatus | undefined;
}

export class DeliveryWorker implements DeliveryControl {
  private readonly pumps = new Map<string, Pump>();
  private readonly abort = new AbortController();
  private poll: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: DeliveryWorkerDeps) {}

  start(): void {
    void this.refresh();
    this.poll = setInterval(() => this.kick(), this.deps.options.pollMs);
    this.poll.unref();
    this.recheck = setInterval(() => {
      this.recheckPatients().catch((err: unknown) => this.deps.log.error({ err }, 'looking up unknown patients again failed'));
    }, this.deps.options.patientRecheckMs);
    this.recheck.unref();
  }

  /**
   * An admin mapped a patient at a destination (or changed the mapping): forget what was
   * cached, and send that patient's readings waiting as patient dead letters again now.
   */
  async patientMapped(destinationId: string, patientId: string): Promise<number> {
    this.pumps.get(destinationId)?.targets.forget(patientId);
    const requeued = await this.deps.store.retryDeliveries(
      { destinationId, statuses: ['dead'], codes: PATIENT_DEAD_LETTER_CODES, patientId },
      this.deps.clock.now(),
    );
    if (requeued > 0) this.kick();
    return requeued;
  }

  /**
   * Patients the EHR did not know, looked up again: those it knows now (or, where we cannot ask
   * it first, all of them) have their dead letters sent again. Explicit mappings wait for an admin.
   */
  async recheckPatients(): Promise<number> {
    let requeued = 0;
    for (const pump of [...this.pumps.values()]) requeued += await pump.recheckPatients();
    if (requeued > 0) this.kick();
    return requeued;
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
        if (!d.enabled || (this.deps.owns !== undefined && !this.deps.owns(d.id))) continue;
        live.add(d.id);
        const pump = this.pumps.get(d.id);
        if (pump === undefined) this.pumps.set(d.id, new Pump(d, this.deps, this.abort.signal));
        else pump.update(d);
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

  /** Readings per exchange now, and why fewer than configured; undefined while the destination is paused. */
  batching(destinationId: string): BatchingStatus | undefined {
    return this.pumps.get(destinationId)?.batch.status(this.deps.clock.now());
  }

  /** Cancels exchanges in flight (their deliveries stay due; the EHR recognises a resend) and waits. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll !== undefined) clearInterval(this.poll);
    if (this.recheck !== undefined) clearInterval(this.recheck);
    this.abort.abort();
    await this.refreshing;
    await Promise.all([...this.pumps.values()].map((p) => p.stop()));
  }
}

class Pump {
  readonly breaker: CircuitBreaker;
  readonly batch: AdaptiveBatch;
  readonly targets: PatientTargets;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Number.POSITIVE_INFINITY;
  /** A probe just closed an open circuit: waiting retries go now. */
  private recovered = false;

  constructor(
    public destination: Destination,
    private readonly deps: DeliveryWorkerDeps,
    private readonly signal: AbortSignal,
  ) {
    this.breaker = new CircuitBreaker(deps.options.breaker);
    this.batch = new AdaptiveBatch(destination.batchSize ?? deps.options.batchSize);
    this.targets = new PatientTargets({ store: deps.store, sink: deps.sink, clock: deps.clock, recheckMs: deps.options.patientRecheckMs });
  }

  update(destination: Destination): void {
    if (JSON.stringify(destination.patientMapping) !== JSON.stringify(this.destination.patientMapping)) this.targets.forget();
    this.destination = destination;
    this.batch.configure(destination.batchSize ?? this.deps.options.batchSize);
  }

  async recheckPatients(): Promise<number> {
    const { store, sink, clock } = this.deps;
    const destination = this.destination;
    const mapping = destination.patientMapping;
    if (mapping.type === 'explicit' || this.stopped) return 0;
    const patients = await store.patientsWithDeadLetters(destination.id, PATIENT_DEAD_LETTER_CODES, 500);
    let requeued = 0;
    for (const patientId of patients) {
      if (this.stopped) break;
      this.targets.forget(patientId);
      let known = true;
      if (mapping.type === 'search') {
        known = (await this.targets.resolve(destination, [patientId], this.signal)).get(patientId)?.ok === true;
      } else if (mapping.type === 'conditional' || mapping.type === 'identifier') {
        const link = await store.getPatientLink(destination.id, patientId);
        known = (await sink.findPatient(destination, { system: mapping.system, value: link?.identifier ?? patientId }, this.signal)).status === 'found';
      }
      if (!known) continue;
      requeued += await store.retryDeliveries({ destinationId: destination.id, statuses: ['dead'], codes: PATIENT_DEAD_LETTER_CODES, patientId }, clock.now());
    }
    return requeued;
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
      const size = this.batch.size(now);
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
    const traced = new ExchangeTrace(this.destination.id, chunk);
    try {
      await context.with(traced.context, () => this.deliverTraced(chunk, traced));
    } finally {
      traced.end();
    }
  }

  private async deliverTraced(chunk: readonly DueDelivery[], traced: ExchangeTrace): Promise<void> {
    const { store, clock, log } = this.deps;
    const destination = this.destination;
    let results: DeliveryResult[];
    try {
      results = await this.exchange(destination, chunk);
    } catch (err) {
      traced.failed(err);
      if (this.signal.aborted) {
        // Shutdown cancelled the exchange: the deliveries stay as they were, due again at start.
        this.breaker.release();
        return;
      }
      const e = isRpmError(err) ? err : new RpmError('RPM_ERR_UPSTREAM_FHIR', err instanceof Error ? err.message : String(err), { cause: err });
      const now = clock.now();
      this.breaker.failure(now);
      let message = e.message;
      if (e.code === 'RPM_ERR_UPSTREAM_FHIR_TIMEOUT') {
        this.batch.timedOut(chunk.length, this.deps.options.timeoutMs, now);
        const reason = this.batch.status(now).reason;
        if (reason !== null) message = `${message}; ${reason}`;
      }
      // One jitter draw per chunk keeps a failed batch together for its retry.
      const jitter = (this.deps.random ?? Math.random)();
      await this.record(chunk.map((d) => this.failed(d, now, jitter, e.code, message, e.retryAfterSeconds)));
      log.warn({ destinationId: destination.id, code: e.code, deliveries: chunk.length, circuit: this.breaker.state }, 'FHIR delivery failed; will retry');
      return;
    }
    traced.results(results);
    const now = clock.now();
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
    if (dead > 0) log.warn({ destinationId: destination.id, dead }, 'FHIR server refused deliveries, or does not know their patients; dead-lettered');
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
    if (this.recovered) {
      this.recovered = false;
      // The server is back: retries waiting out their backoff go now.
      const requeued = await store.retryDeliveries({ destinationId: destination.id, statuses: ['failed'] }, now);
      log.info({ destinationId: destination.id, requeued }, 'FHIR destination reachable again; circuit closed');
    }
  }

  /**
   * One exchange: each reading's patient as the EHR knows it (readings of patients it does not
   * know become dead letters here, without a request), then the rest to the sink. Throws when
   * the exchange as a whole failed.
   */
  private async exchange(destination: Destination, chunk: readonly DueDelivery[]): Promise<DeliveryResult[]> {
    const patientIds = chunk.flatMap((d) => (d.reading.patientId === null ? [] : [d.reading.patientId]));
    const targets = await this.targets.resolve(destination, patientIds, this.signal);
    const results: (DeliveryResult | undefined)[] = new Array(chunk.length);
    const items: DeliveryItem[] = [];
    const at: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const reading = (chunk[i] as DueDelivery).reading;
      const target: TargetOutcome | undefined = reading.patientId === null ? undefined : targets.get(reading.patientId);
      if (target === undefined) {
        results[i] = { status: 'dead', code: 'RPM_ERR_FHIR_INVALID', message: 'the reading belongs to no patient', outcome: null };
        continue;
      }
      if (!target.ok) {
        results[i] = { status: 'dead', code: target.code, message: target.message, outcome: null };
        continue;
      }
      items.push({
        reading,
        patient: target.target,
        device: await this.deps.device(reading.deviceId),
        hub: reading.hubId === null ? undefined : await this.deps.device(reading.hubId),
      });
      at.push(i);
    }
    if (items.length > 0) {
      const sent = await this.deps.sink.deliver(destination, items, this.signal);
      if (sent.length !== items.length) throw new RpmError('RPM_ERR_INTERNAL', `sink answered ${sent.length} results for ${items.length} deliveries`);
      const now = this.deps.clock.now();
      if (this.breaker.success()) this.recovered = true;
      this.batch.answeredExchange(now);
      for (let k = 0; k < at.length; k++) results[at[k] as number] = sent[k];
    } else {
      // Nothing went to the server: a probe that sent nothing proved nothing.
      this.breaker.release();
    }
    return results as DeliveryResult[];
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

/**
 * The trace of one FHIR exchange: its own root span (the outbox is durable, so a delivery may run
 * long after its reading, or after a restart), linked to the requests and publishes whose readings
 * it carries; each of those readings also gets a `rpm.fhir.deliver` span in its request's trace
 * with the outcome (delivered, failed, dead). Destination id and counts only.
 */
class ExchangeTrace {
  private readonly exchange: Span;
  private readonly deliveries = new Map<number, Span>();
  readonly context: Context;

  constructor(destinationId: string, chunk: readonly DueDelivery[]) {
    const origins = new Map<number, SpanContext>();
    for (const d of chunk) {
      const sc = readingTraces.get(d.reading.id);
      if (sc !== undefined) origins.set(d.seq, sc);
    }
    this.exchange = tracer.startSpan('rpm.fhir.exchange', {
      root: true,
      kind: SpanKind.CLIENT,
      links: linksTo(origins.values()),
      attributes: { 'rpm.fhir.destination': destinationId, 'rpm.deliveries': chunk.length },
    });
    this.context = trace.setSpan(ROOT_CONTEXT, this.exchange);
    if (!this.exchange.isRecording()) return;
    for (const d of chunk) {
      const sc = origins.get(d.seq);
      if (sc === undefined) continue;
      this.deliveries.set(
        d.seq,
        tracer.startSpan('rpm.fhir.deliver', { links: [{ context: this.exchange.spanContext() }], attributes: { 'rpm.fhir.destination': destinationId, 'rpm.delivery.attempt': d.attempts + 1 } }, contextOf(sc)),
      );
    }
    this.seqs = chunk.map((d) => d.seq);
  }

  private seqs: readonly number[] = [];

  results(results: readonly DeliveryResult[]): void {
    for (let i = 0; i < this.seqs.length; i++) {
      const span = this.deliveries.get(this.seqs[i] as number);
      const r = results[i];
      if (span === undefined || r === undefined) continue;
      span.setAttribute('rpm.delivery.status', r.status);
      if (r.status !== 'delivered') span.setAttribute('rpm.error.code', r.code);
    }
  }

  failed(err: unknown): void {
    failSpan(this.exchange, err);
    for (const span of this.deliveries.values()) {
      span.setAttribute('rpm.delivery.status', 'failed');
      failSpan(span, err);
    }
  }

  end(): void {
    for (const span of this.deliveries.values()) span.end();
    this.exchange.end();
  }
}
