import { type FaultPlan, FUTURE_TOLERANCE_MS } from '../faults.js';
import type { Expectation, Ledger } from '../ledger.js';
import type { Sender } from '../model.js';
import type { SimReading } from '../readings.js';
import type { Rng } from '../rng.js';
import type { RunStats } from '../run-stats.js';
import type { Link, ReadingOutcome, SendResult } from './link.js';

/**
 * A device or hub as a sender: it keeps an ordered outbox of readings not yet acknowledged,
 * transmits them in batches over its link (at most `window` transmissions in flight), and puts
 * back at the front whatever was not acknowledged, so the oldest reading is always resent first.
 */

export interface AgentOptions {
  readonly window: number;
  /** Largest batch per transmission (a hub uploads bigger batches than a cellular device). */
  readonly maxBatch: number;
  readonly faults: FaultPlan;
  readonly ledger: Ledger;
  readonly stats: RunStats;
  readonly rng: Rng;
  readonly log: (line: string) => void;
}

/** What the gateway should do with a reading sent at `sendMs` (see FaultPlan: clocks are never borderline by design). */
export function expectationAt(r: SimReading, sendMs: number): Expectation {
  if (r.malformed) return 'rejected';
  const ahead = r.reportedAtMs - sendMs;
  if (ahead > FUTURE_TOLERANCE_MS + 60_000) return 'rejected';
  if (ahead > FUTURE_TOLERANCE_MS - 60_000) return 'either';
  return 'stored';
}

const GARBAGE = ['{"readings": [{"kind": "blood-pressure", "systolic": 1', 'not json at all', '{"readings": []}', '{"reading": {}}'];

export class SenderAgent {
  private readonly outbox: SimReading[] = [];
  private inFlight = 0;
  private notBefore = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private failuresInARow = 0;
  private stopped = false;
  /** Hubs upload at intervals: between uploads their readings wait in the outbox. */
  batchUploads = false;
  private uploadsOpen = true;

  constructor(
    readonly sender: Sender,
    readonly link: Link,
    private readonly o: AgentOptions,
  ) {}

  get queued(): number {
    return this.outbox.length;
  }

  get busy(): number {
    return this.inFlight;
  }

  get idle(): boolean {
    return this.outbox.length === 0 && this.inFlight === 0;
  }

  get dead(): boolean {
    return this.stopped;
  }

  /** An upload instant (hubs): send everything queued, then wait for the next one. */
  openUploads(): void {
    this.uploadsOpen = true;
    this.pump();
  }

  enqueue(readings: readonly SimReading[]): void {
    for (const r of readings) this.outbox.push(r);
    this.pump();
  }

  pump(): void {
    if (this.stopped || !this.uploadsOpen || !this.link.ready) return;
    const now = Date.now();
    if (now < this.notBefore) {
      if (this.retryTimer === undefined) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
        }, this.notBefore - now);
      }
      return;
    }
    while (this.inFlight < this.o.window && this.outbox.length > 0 && this.link.ready) {
      this.transmit(this.outbox.splice(0, this.o.maxBatch), now);
    }
    if (this.batchUploads && this.idle) this.uploadsOpen = false;
  }

  private transmit(batch: SimReading[], now: number): void {
    const { ledger, stats } = this.o;
    for (const r of batch) ledger.sent(r, this.sender.id, this.sender.transport, now, expectationAt(r, now));
    stats.transmissions += batch.length;
    this.inFlight++;
    stats.inFlight++;
    let first = true;
    this.link.send(batch, (result, latencyMs) => {
      if (first) {
        first = false;
        this.inFlight--;
        stats.inFlight--;
        this.settled(batch, result, latencyMs);
      } else if (result.ok) this.recordAck(batch, result.outcomes, Date.now()); // a PUBACK after we had given up on it
      this.pump();
    });
    if (this.o.faults.malformedPayloadRate > 0 && this.o.rng.chance(this.o.faults.malformedPayloadRate)) {
      this.link.sendGarbage(this.o.rng.pick(GARBAGE), (acked) => ledger.malformedPayload(acked));
    }
  }

  private recordAck(batch: readonly SimReading[], outcomes: readonly ReadingOutcome[], at: number): void {
    const { ledger, stats } = this.o;
    batch.forEach((r, i) => {
      const o = outcomes[i];
      if (o === undefined) return;
      if (o.status === 'rejected') {
        if (!ledger.rejected(r.key, o.code, at)) return;
        stats.rejected++;
        stats.rejection(o.code);
      } else if (ledger.acked(r.key, at, o.status)) {
        stats.acked++;
        stats.ackedBy[this.link.transport]++;
      }
    });
  }

  private settled(batch: SimReading[], result: SendResult, latencyMs: number): void {
    const { ledger, stats } = this.o;
    if (result.ok) {
      this.failuresInARow = 0;
      stats.recordAck(latencyMs);
      this.recordAck(batch, result.outcomes, Date.now());
      // Fault: the acknowledgement "got lost" on the way back, so the device sends the batch again.
      if (this.o.faults.duplicateRate > 0 && this.o.rng.chance(this.o.faults.duplicateRate)) this.outbox.push(...batch);
      return;
    }
    for (const r of batch) ledger.failed(r.key);
    if (result.fatal === true) {
      // Bad credentials or a revoked device: retrying cannot help. Keep the readings unacknowledged.
      stats.problem(`${this.sender.transport} sender refused: ${result.reason}`);
      this.o.log(`${this.sender.id}: giving up: ${result.reason}`);
      this.stopped = true;
      this.outbox.unshift(...batch);
      return;
    }
    this.outbox.unshift(...batch);
    this.failuresInARow++;
    // HTTP: back off (Retry-After when given). MQTT: the link reconnects; pump resumes when it is ready.
    if (this.link.transport === 'http') {
      const backoff = result.retryAfterMs ?? Math.min(5000, 100 * 2 ** Math.min(6, this.failuresInARow)) * (0.5 + Math.random());
      this.notBefore = Math.max(this.notBefore, Date.now() + backoff);
    }
  }

  /** Stop sending; what is still queued stays unacknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    await this.link.close();
  }
}
