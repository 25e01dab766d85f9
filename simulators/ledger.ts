import type { Transport } from './model.js';
import type { SimReading } from './readings.js';

/**
 * What the simulator did with every reading, keyed by its client id (`<device>~<boot>~<seq>`):
 * when it was first sent, how many transmissions it took, whether and when the gateway
 * acknowledged it, and whether it was rejected. A checker compares this with what was stored.
 *
 * "Acknowledged" means an HTTP 202 listing the reading as accepted or duplicate, or an MQTT
 * PUBACK for a publish carrying it. A publish whose callback never fired is NOT acknowledged,
 * whatever MQTT.js might do later (MQTT.js pitfalls, performance-reliability.md §2).
 */

/** What the gateway must do with a reading: store it, reject it (a fault we injected), or either (a borderline clock). */
export type Expectation = 'stored' | 'rejected' | 'either';

export interface LedgerEntry {
  readonly key: string;
  readonly deviceId: string;
  readonly sequence: number;
  readonly senderId: string;
  readonly transport: Transport;
  readonly measuredAtMs: number;
  expect: Expectation;
  firstSentMs: number;
  transmissions: number;
  /** First acknowledgement (ms), or null. */
  ackedMs: number | null;
  /** What an HTTP answer said; MQTT acknowledgements say only `acked`. */
  outcome: 'accepted' | 'duplicate' | 'acked' | 'rejected' | null;
  rejectCode: string | null;
  /** Transmissions that ended without an acknowledgement (timeout, connection lost, 5xx). */
  failures: number;
  /** Which kill cycle (or other phase) the acknowledgement fell in; set by the caller's `phase()`. */
  ackPhase: number | null;
}

export interface LedgerCounts {
  readings: number;
  transmissions: number;
  acked: number;
  accepted: number;
  duplicateAnswers: number;
  rejected: number;
  failedTransmissions: number;
  unacked: number;
  malformedPayloads: number;
  malformedPayloadsAcked: number;
}

export class Ledger {
  private readonly byKey = new Map<string, LedgerEntry>();
  private transmissions = 0;
  private failedCount = 0;
  private duplicateAnswers = 0;
  private malformedPayloads = 0;
  private malformedPayloadsAcked = 0;
  /** Current phase number stamped on acknowledgements (e.g. the loss checker's kill cycle). */
  phase = 0;

  sent(r: SimReading, senderId: string, transport: Transport, atMs: number, expect: Expectation): void {
    this.transmissions++;
    const e = this.byKey.get(r.key);
    if (e !== undefined) {
      e.transmissions++;
      // A device clock judged differently at a later resend: the gateway may have done either.
      if (e.expect !== expect) e.expect = 'either';
      return;
    }
    this.byKey.set(r.key, {
      key: r.key,
      deviceId: r.deviceId,
      sequence: r.sequence,
      senderId,
      transport,
      measuredAtMs: r.measuredAtMs,
      expect,
      firstSentMs: atMs,
      transmissions: 1,
      ackedMs: null,
      outcome: null,
      rejectCode: null,
      failures: 0,
      ackPhase: null,
    });
  }

  /** Records an acknowledgement; answers whether it was the reading's first. */
  acked(key: string, atMs: number, outcome: 'accepted' | 'duplicate' | 'acked'): boolean {
    const e = this.byKey.get(key);
    if (e === undefined) return false;
    if (outcome === 'duplicate') this.duplicateAnswers++;
    // A duplicate answer after an earlier accepted one says nothing new about the reading.
    if (e.outcome === null || e.outcome === 'acked') e.outcome = outcome;
    if (e.ackedMs !== null) return false;
    e.ackedMs = atMs;
    e.ackPhase = this.phase;
    return true;
  }

  /**
   * The gateway refused the reading (HTTP outcome, or the MQTT errors topic). Answers whether it
   * was the reading's first refusal, so counters see a resent bad reading once.
   */
  rejected(key: string, code: string, atMs: number): boolean {
    const e = this.byKey.get(key);
    if (e === undefined) return false;
    const first = e.outcome !== 'rejected';
    e.outcome = 'rejected';
    e.rejectCode = code;
    if (e.ackedMs === null) {
      e.ackedMs = atMs;
      e.ackPhase = this.phase;
    }
    return first;
  }

  /** One transmission of the reading ended without an acknowledgement. */
  failed(key: string): void {
    this.failedCount++;
    const e = this.byKey.get(key);
    if (e !== undefined) e.failures++;
  }

  malformedPayload(acked: boolean): void {
    this.malformedPayloads++;
    if (acked) this.malformedPayloadsAcked++;
  }

  get(key: string): LedgerEntry | undefined {
    return this.byKey.get(key);
  }

  entries(): IterableIterator<LedgerEntry> {
    return this.byKey.values();
  }

  get size(): number {
    return this.byKey.size;
  }

  counts(): LedgerCounts {
    let acked = 0;
    let accepted = 0;
    let rejected = 0;
    let unacked = 0;
    for (const e of this.byKey.values()) {
      if (e.outcome === 'rejected') rejected++;
      else if (e.ackedMs !== null) {
        acked++;
        if (e.outcome === 'accepted') accepted++;
      } else unacked++;
    }
    return {
      readings: this.byKey.size,
      transmissions: this.transmissions,
      acked,
      accepted,
      duplicateAnswers: this.duplicateAnswers,
      rejected,
      failedTransmissions: this.failedCount,
      unacked,
      malformedPayloads: this.malformedPayloads,
      malformedPayloadsAcked: this.malformedPayloadsAcked,
    };
  }

  /** One JSON object per line, for a file a checker can read later. */
  *jsonl(): Generator<string> {
    for (const e of this.byKey.values()) yield `${JSON.stringify(e)}\n`;
  }
}
