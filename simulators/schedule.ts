import type { MEAL_CONTEXTS } from '../core/model/reading-input.js';
import { missedAt } from './episodes.js';
import { HOUR_MS, localDay, localMidnightMs, MINUTE_MS } from './local-time.js';
import type { MeasuringKind, Program, SimPatient } from './model.js';
import type { Rng } from './rng.js';

/**
 * When a patient measures with a device: home-monitoring protocols in local time, with the
 * patient's own spread and adherence. Each local day's times come from a stream forked for that
 * day, so a window of time always yields the same measurements whatever window it is cut from.
 */

export type MealContext = (typeof MEAL_CONTEXTS)[number];

export interface Measurement {
  /** True instant of the measurement (the device clock may report it differently). */
  readonly atMs: number;
  readonly mealContext?: MealContext;
}

interface Slot {
  readonly hour: number;
  /** Spread in minutes (1 sd). */
  readonly sdMin: number;
  /** Readings in the session and minutes between them (AHA: two readings a minute apart). */
  readonly repeats?: number;
  readonly mealContext?: MealContext;
}

export const CGM_INTERVAL_MS = 5 * MINUTE_MS;

function slots(kind: Exclude<MeasuringKind, 'cgm'>, patient: SimPatient): Slot[] {
  const has = (p: Program): boolean => patient.programs.includes(p);
  switch (kind) {
    case 'bp-cuff':
      // Morning before medication and breakfast, and evening; two readings one minute apart.
      return [
        { hour: 7, sdMin: 25, repeats: 2 },
        { hour: 19.5, sdMin: 40, repeats: 2 },
      ];
    case 'scale':
      // Daily weight on waking, after voiding, before breakfast (heart-failure protocols).
      return [{ hour: 6.8, sdMin: 20 }];
    case 'pulse-oximeter':
      return has('copd')
        ? [
            { hour: 8.25, sdMin: 30 },
            { hour: 14, sdMin: 45 },
            { hour: 20, sdMin: 40 },
          ]
        : [
            { hour: 8.25, sdMin: 30 },
            { hour: 20, sdMin: 40 },
          ];
    case 'glucometer':
      return has('diabetes')
        ? [
            { hour: 6.75, sdMin: 20, mealContext: 'fasting' },
            { hour: 12.1, sdMin: 30, mealContext: 'before-meal' },
            { hour: 18.1, sdMin: 30, mealContext: 'before-meal' },
            { hour: 22, sdMin: 40, mealContext: 'bedtime' },
          ]
        : [{ hour: 6.75, sdMin: 20, mealContext: 'fasting' }];
    case 'thermometer':
      return [{ hour: 8.5, sdMin: 45 }];
  }
}

export interface ScheduleOptions {
  /**
   * Extra spot checks: one unscheduled measurement at a random moment in every window of this
   * length from `spotFromMs` on (a patient re-checking, a nurse call). Keeps a short live demo moving.
   */
  readonly spotCheckEveryMs?: number;
  readonly spotFromMs?: number;
}

/** Measurements of `kind` for `patient` in [fromMs, toMs), in time order. */
export function measurementTimes(
  kind: MeasuringKind,
  patient: SimPatient,
  deviceRng: Rng,
  fromMs: number,
  toMs: number,
  options: ScheduleOptions = {},
): Measurement[] {
  const out: Measurement[] = [];
  const offset = patient.profile.utcOffsetMin;
  if (kind === 'cgm') {
    // A sensor reading every five minutes, on the device's own phase.
    const phase = deviceRng.fork('phase').int(0, CGM_INTERVAL_MS / 1000 - 1) * 1000;
    let t = Math.ceil((fromMs - phase) / CGM_INTERVAL_MS) * CGM_INTERVAL_MS + phase;
    for (; t < toMs; t += CGM_INTERVAL_MS) if (!missedAt(patient.episodes, kind, t)) out.push({ atMs: t });
    return out;
  }
  const daySlots = slots(kind, patient);
  for (let day = localDay(fromMs, offset) - 1; day <= localDay(toMs, offset); day++) {
    const r = deviceRng.fork(`day:${day}`);
    const midnight = localMidnightMs(day, offset);
    for (const slot of daySlots) {
      // Draw every value whether or not the slot is used, so one skipped session does not shift the others.
      const at = Math.round(midnight + slot.hour * HOUR_MS + r.normal(0, slot.sdMin) * MINUTE_MS);
      const taken = r.chance(patient.profile.adherence);
      const gapMs = r.int(55, 100) * 1000;
      if (!taken) continue;
      for (let i = 0; i < (slot.repeats ?? 1); i++) {
        const t = at + i * gapMs;
        if (t >= fromMs && t < toMs && !missedAt(patient.episodes, kind, t)) {
          out.push(slot.mealContext === undefined ? { atMs: t } : { atMs: t, mealContext: slot.mealContext });
        }
      }
    }
  }
  const every = options.spotCheckEveryMs;
  if (every !== undefined && every > 0) {
    const start = Math.max(fromMs, options.spotFromMs ?? fromMs);
    for (let w = Math.floor(start / every); w * every < toMs; w++) {
      const t = Math.round(w * every + deviceRng.fork(`spot:${w}`).uniform(0, every));
      if (t >= start && t < toMs && !missedAt(patient.episodes, kind, t)) out.push(kind === 'glucometer' ? { atMs: t, mealContext: 'unspecified' } : { atMs: t });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}
