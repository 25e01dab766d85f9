import * as hdr from 'hdr-histogram-js';
import type { Ledger } from './ledger.js';

/**
 * Live counters of a run and its latency distributions (HdrHistogram, microsecond resolution):
 * transmission → acknowledgement, and connect → CONNACK.
 */
export class RunStats {
  readonly ackLatency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  readonly connectLatency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  /** Readings acknowledged at least once, so far (cheap to read while running). */
  acked = 0;
  /** The same, by the transport that carried the acknowledgement (the loss checker waits for both to progress). */
  readonly ackedBy = { http: 0, mqtt: 0 };
  rejected = 0;
  transmissions = 0;
  connects = 0;
  connectFailures = 0;
  disconnects = 0;
  connected = 0;
  inFlight = 0;
  queued = 0;
  /** Rejections by error code (HTTP outcomes and the MQTT errors topic). */
  readonly rejections = new Map<string, number>();
  /** Things that should never happen (bad credentials, unexpected HTTP statuses), with counts. */
  readonly problems = new Map<string, number>();

  recordAck(ms: number): void {
    this.ackLatency.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  recordConnect(ms: number): void {
    this.connectLatency.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  /** Why connection attempts failed (CONNACK codes, timeouts), for the summary. */
  readonly connectFailureReasons = new Map<string, number>();

  connectFailureReason(reason: string): void {
    this.connectFailureReasons.set(reason, (this.connectFailureReasons.get(reason) ?? 0) + 1);
  }

  rejection(code: string): void {
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
  }

  problem(what: string): void {
    this.problems.set(what, (this.problems.get(what) ?? 0) + 1);
  }

  percentileMs(p: number, h: hdr.Histogram = this.ackLatency): number {
    return h.totalCount === 0 ? Number.NaN : h.getValueAtPercentile(p) / 1000;
  }
}

export interface Summary {
  readonly seconds: number;
  readonly readings: number;
  readonly transmissions: number;
  readonly acked: number;
  readonly accepted: number;
  readonly duplicateAnswers: number;
  readonly rejected: number;
  readonly unacked: number;
  readonly failedTransmissions: number;
  readonly malformedPayloads: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly samples: number };
  readonly connectMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly samples: number };
  readonly connects: number;
  readonly connectFailures: number;
  readonly connectFailureReasons: Readonly<Record<string, number>>;
  readonly disconnects: number;
  readonly rejections: Readonly<Record<string, number>>;
  readonly problems: Readonly<Record<string, number>>;
}

export function summarize(stats: RunStats, ledger: Ledger, seconds: number): Summary {
  const c = ledger.counts();
  const h = stats.ackLatency;
  const ch = stats.connectLatency;
  return {
    seconds,
    readings: c.readings,
    transmissions: c.transmissions,
    acked: c.acked,
    accepted: c.accepted,
    duplicateAnswers: c.duplicateAnswers,
    rejected: c.rejected,
    unacked: c.unacked,
    failedTransmissions: c.failedTransmissions,
    malformedPayloads: c.malformedPayloads,
    latencyMs: { p50: stats.percentileMs(50), p90: stats.percentileMs(90), p99: stats.percentileMs(99), max: h.totalCount === 0 ? Number.NaN : h.maxValue / 1000, samples: h.totalCount },
    connectMs: { p50: stats.percentileMs(50, ch), p99: stats.percentileMs(99, ch), max: ch.totalCount === 0 ? Number.NaN : ch.maxValue / 1000, samples: ch.totalCount },
    connects: stats.connects,
    connectFailures: stats.connectFailures,
    connectFailureReasons: Object.fromEntries(stats.connectFailureReasons),
    disconnects: stats.disconnects,
    rejections: Object.fromEntries(stats.rejections),
    problems: Object.fromEntries(stats.problems),
  };
}

const n = (x: number): string => x.toLocaleString('en-US');
const ms = (x: number): string => (Number.isNaN(x) ? 'n/a' : x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`);

export function formatSummary(s: Summary): string {
  const rej = Object.entries(s.rejections)
    .sort((a, b) => b[1] - a[1])
    .map(([code, k]) => `${code} ×${n(k)}`)
    .join(', ');
  const problems = Object.entries(s.problems).map(([what, k]) => `${what} ×${n(k)}`);
  return [
    `readings: ${n(s.readings)} sent in ${n(s.transmissions)} transmissions over ${s.seconds.toFixed(1)} s; ${n(s.acked)} acknowledged, ${n(s.rejected)} rejected, ${n(s.unacked)} never acknowledged` +
      ` (HTTP answers: ${n(s.accepted)} accepted, ${n(s.duplicateAnswers)} duplicate)`,
    `transmissions without an acknowledgement (retried): ${n(s.failedTransmissions)}; malformed payloads sent: ${n(s.malformedPayloads)}`,
    `latency send → ack: p50 ${ms(s.latencyMs.p50)}, p90 ${ms(s.latencyMs.p90)}, p99 ${ms(s.latencyMs.p99)}, max ${ms(s.latencyMs.max)} (${n(s.latencyMs.samples)} transmissions)`,
    `MQTT connections: ${n(s.connects)} opened (connect → CONNACK p50 ${ms(s.connectMs.p50)}, p99 ${ms(s.connectMs.p99)}), ${n(s.connectFailures)} attempts refused or failed` +
      `${s.connectFailures === 0 ? '' : ` (${Object.entries(s.connectFailureReasons).map(([r, k]) => `${r} ×${n(k)}`).join(', ')})`}, ${n(s.disconnects)} dropped by the gateway or the network`,
    ...(rej === '' ? [] : [`rejections: ${rej}`]),
    ...(problems.length === 0 ? [] : [`problems: ${problems.join(', ')}`]),
  ].join('\n');
}
