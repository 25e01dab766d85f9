import { type BatteryModel, batteryModel, batteryPercentAt } from './battery.js';
import { isoWithOffset } from './local-time.js';
import { measure } from './measure.js';
import type { SimDevice, SimPatient } from './model.js';
import { Physiology } from './physiology.js';
import type { Rng } from './rng.js';
import { type MealContext, measurementTimes, type ScheduleOptions } from './schedule.js';

/**
 * One device's stream of readings, as it would put them on the wire: canonical reading JSON
 * with a per-device `sequence`, a client `id` that makes retransmissions idempotent, and the
 * measurement time as the device's clock reports it.
 */

export interface SimReading {
  /** The client id: `<device>~<boot>~<sequence>`; unique across runs because of the boot tag. */
  readonly key: string;
  readonly deviceId: string;
  readonly sequence: number;
  /** True instant of the measurement. */
  readonly measuredAtMs: number;
  /** The instant the device's clock reported (true instant + its clock error). */
  readonly reportedAtMs: number;
  /** The reading JSON as sent. */
  readonly body: Readonly<Record<string, unknown>>;
  /** A reading deliberately made invalid (fault injection): the gateway must reject it. */
  readonly malformed: boolean;
}

export interface DeviceQuirks {
  /** Device clock error: reported time = true time + this. */
  readonly clockOffsetMs: number;
  /** Probability that a reading is sent malformed (a firmware bug). */
  readonly malformedRate: number;
}

export const NO_QUIRKS: DeviceQuirks = { clockOffsetMs: 0, malformedRate: 0 };

/** Splits `<device>~<boot>~<sequence>` (device ids cannot contain `~`). */
export function parseKey(key: string): { deviceId: string; boot: string; sequence: number } | undefined {
  const parts = key.split('~');
  if (parts.length !== 3) return undefined;
  const sequence = Number(parts[2]);
  if (!Number.isSafeInteger(sequence)) return undefined;
  return { deviceId: parts[0] as string, boot: parts[1] as string, sequence };
}

/** A firmware bug of one of a few kinds; the id stays, so the rejection can be matched. */
function corrupt(body: Record<string, unknown>, r: Rng): Record<string, unknown> {
  const how = r.int(0, 2);
  if (how === 0) {
    const { unit: _unit, ...rest } = body;
    return rest;
  }
  if (how === 1) return { ...body, kind: 'blood-pressur' };
  const field = 'value' in body ? 'value' : 'systolic';
  return { ...body, [field]: String(body[field]) };
}

export class DeviceStream {
  private nextSequence = 0;
  /** The last measurement time this device reported (ms), so no two readings share an instant. */
  private lastReportedMs = Number.NEGATIVE_INFINITY;
  readonly physiology: Physiology;
  private readonly battery: BatteryModel;

  constructor(
    readonly device: SimDevice,
    readonly patient: SimPatient,
    private readonly rng: Rng,
    /** Run tag in every client id: a device's counter restarts each run, as after a reboot. */
    readonly boot: string,
    readonly quirks: DeviceQuirks = NO_QUIRKS,
    physiology?: Physiology,
    /** Stamps in whole seconds only, however often the device measures (vendor formats with second resolution). */
    private readonly wholeSeconds = false,
  ) {
    this.physiology = physiology ?? new Physiology(patient, rng.fork('physiology'));
    this.battery = batteryModel(rng.fork('battery'));
  }

  /** Sequence numbers handed out so far. */
  get sequences(): number {
    return this.nextSequence;
  }

  /** The measurement at `atMs`, stamped with the next sequence number. */
  at(atMs: number, mealContext?: MealContext): SimReading {
    const r = this.rng.fork(`m:${atMs}`);
    const measured = measure(this.device.kind, this.physiology, atMs, this.patient.profile.units, r, mealContext);
    const sequence = this.nextSequence++;
    const key = `${this.device.id}~${this.boot}~${sequence}`;
    // Devices report whole seconds. A device cannot measure one kind twice in one instant (the
    // gateway would rightly take the second as a duplicate), so a load test that makes one
    // device measure faster than once a second gets millisecond timestamps instead.
    const reportedAtMs = atMs + this.quirks.clockOffsetMs;
    let stampMs = Math.floor(reportedAtMs / 1000) * 1000;
    const millis = stampMs <= this.lastReportedMs && !this.wholeSeconds;
    if (stampMs <= this.lastReportedMs) stampMs = this.lastReportedMs + (this.wholeSeconds ? 1000 : 1);
    this.lastReportedMs = stampMs;
    let body: Record<string, unknown> = {
      id: key,
      ...measured,
      measuredAt: isoWithOffset(stampMs, this.patient.profile.utcOffsetMin, millis),
      sequence,
      batteryPercent: batteryPercentAt(this.battery, atMs),
      ...(this.device.hubId === null ? {} : { deviceId: this.device.id }),
    };
    const malformed = this.quirks.malformedRate > 0 && r.chance(this.quirks.malformedRate);
    if (malformed) body = corrupt(body, r);
    return { key, deviceId: this.device.id, sequence, measuredAtMs: atMs, reportedAtMs, body, malformed };
  }

  /** The patient's scheduled measurements in [fromMs, toMs), in time order. */
  scheduled(fromMs: number, toMs: number, options: ScheduleOptions = {}): SimReading[] {
    return measurementTimes(this.device.kind, this.patient, this.rng.fork('schedule'), fromMs, toMs, options).map((m) => this.at(m.atMs, m.mealContext));
  }
}
