import type { Rng } from './rng.js';

/**
 * A device battery: drains steadily from full over a life of weeks to months, then is replaced
 * or recharged and starts again. Seeded per device, so a device's level is a function of time.
 */
export interface BatteryModel {
  readonly lifeMs: number;
  /** An instant at which the battery was full. */
  readonly fullAtMs: number;
}

const DAY_MS = 86_400_000;

export function batteryModel(rng: Rng): BatteryModel {
  const lifeMs = rng.uniform(45, 150) * DAY_MS;
  return { lifeMs, fullAtMs: -rng.uniform(0, lifeMs) };
}

/** Whole percent, 1–100 (a device with a flat battery sends nothing). */
export function batteryPercentAt(model: BatteryModel, atMs: number): number {
  const age = (((atMs - model.fullAtMs) % model.lifeMs) + model.lifeMs) % model.lifeMs;
  return Math.max(1, Math.round(100 * (1 - age / model.lifeMs)));
}
