import { HOUR_MS, MINUTE_MS } from './local-time.js';
import type { Fleet, Sender } from './model.js';
import type { DeviceQuirks } from './readings.js';
import type { Rng } from './rng.js';

/**
 * Faults real fleets show, decided up front from the seed so a run can be repeated:
 * - duplicates: a device resends a batch whose acknowledgement it never saw (retransmission);
 * - offline: a sender loses coverage for a while, keeps measuring, then flushes its backlog;
 * - clock-drift: device clocks off by a minute or two, and a few by 20 min (the gateway rejects those as future);
 * - morning-burst: every device measures and transmits in the same second (a fleet synced to the top of the hour);
 * - malformed: firmware bugs (a reading with a missing unit, a misspelt kind, a number as a string) and garbage payloads;
 * - reconnect-storm: every MQTT connection drops at once (a carrier outage) and reconnects within a window, replaying what was unacknowledged.
 */
export const FAULTS = ['duplicates', 'offline', 'clock-drift', 'morning-burst', 'malformed', 'reconnect-storm'] as const;
export type Fault = (typeof FAULTS)[number];

export interface OfflineWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface FaultPlan {
  /** Probability that an acknowledged batch is sent once more. */
  readonly duplicateRate: number;
  /** Probability that a transmission is followed by a garbage payload from the same sender. */
  readonly malformedPayloadRate: number;
  readonly quirks: ReadonlyMap<string, DeviceQuirks>;
  readonly offline: ReadonlyMap<string, OfflineWindow>;
  readonly burstAtMs: number | null;
  readonly storm: { readonly atMs: number; readonly windowMs: number } | null;
}

export const NO_FAULTS: FaultPlan = { duplicateRate: 0, malformedPayloadRate: 0, quirks: new Map(), offline: new Map(), burstAtMs: null, storm: null };

/** The gateway's default tolerance for device clocks ahead of its own (RPM_FUTURE_TOLERANCE_S). */
export const FUTURE_TOLERANCE_MS = 300_000;

export interface FaultTiming {
  /** Start of the live phase. */
  readonly startMs: number;
  /** Its length; null when the run goes on until stopped (timings then assume ten minutes). */
  readonly durationMs: number | null;
  /** Reconnect-storm window; default: a quarter of the run, at most a minute. */
  readonly stormWindowMs?: number;
}

export function planFaults(faults: readonly Fault[], fleet: Fleet, senderList: readonly Sender[], rng: Rng, timing: FaultTiming): FaultPlan {
  const on = new Set(faults);
  const span = timing.durationMs ?? 10 * MINUTE_MS;
  const start = timing.startMs;

  const quirks = new Map<string, DeviceQuirks>();
  for (const d of fleet.devices) {
    const r = rng.fork(`quirks:${d.id}`);
    const drift = r.chance(0.2);
    const far = r.chance(0.25);
    const offsetS = Math.max(-150, Math.min(150, r.normal(0, 60)));
    // Either well inside the gateway's tolerance or far beyond it: nothing borderline by design.
    const clockOffsetMs = on.has('clock-drift') && drift ? (far ? 20 * MINUTE_MS : Math.round(offsetS * 1000)) : 0;
    const malformedRate = on.has('malformed') ? 0.01 : 0;
    if (clockOffsetMs !== 0 || malformedRate !== 0) quirks.set(d.id, { clockOffsetMs, malformedRate });
  }

  const offline = new Map<string, OfflineWindow>();
  if (on.has('offline')) {
    for (const s of senderList) {
      const r = rng.fork(`offline:${s.id}`);
      if (!r.chance(0.15)) continue;
      // Hours in a long run; a share of the run in a short one, so the flush happens while it is watched.
      const from = start + r.uniform(0.05, 0.3) * span;
      const length = span >= 10 * HOUR_MS ? r.uniform(2, 6) * HOUR_MS : r.uniform(0.2, 0.4) * span;
      offline.set(s.id, { fromMs: Math.round(from), toMs: Math.round(from + length) });
    }
  }

  const burstAtMs = on.has('morning-burst') ? Math.round(start + Math.min(0.25 * span, MINUTE_MS)) : null;
  const storm = on.has('reconnect-storm')
    ? { atMs: Math.round(start + 0.5 * span), windowMs: timing.stormWindowMs ?? Math.round(Math.min(MINUTE_MS, 0.25 * span)) }
    : null;
  return {
    duplicateRate: on.has('duplicates') ? 0.03 : 0,
    malformedPayloadRate: on.has('malformed') ? 0.005 : 0,
    quirks,
    offline,
    burstAtMs,
    storm,
  };
}

export function parseFaults(list: string): Fault[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');
  if (names.includes('all')) return [...FAULTS];
  for (const n of names) if (!(FAULTS as readonly string[]).includes(n)) throw new Error(`unknown fault '${n}' (known: ${FAULTS.join(', ')}, all, none)`);
  return names as Fault[];
}
