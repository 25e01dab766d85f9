import type { ReadingInput } from '../core/model/reading-input.js';
import { MINUTE_MS } from './local-time.js';
import type { MeasuringKind, UnitPreferences } from './model.js';
import type { Physiology } from './physiology.js';
import type { Rng } from './rng.js';
import type { MealContext } from './schedule.js';

/**
 * What a device reports for a measurement: the true value plus the device's error, rounded to
 * its display resolution, in the unit it is set to. Error sizes follow the devices' accuracy
 * standards loosely (validated BP cuffs ±5 mmHg, oximeters ±2 %, glucose meters ±15 % per
 * ISO 15197, CGM ~9 % MARD with ~8 min interstitial lag).
 */

/** A reading body without the fields every reading gets from its device (id, time, sequence). */
export type Measured = DistributiveOmit<ReadingInput, 'id' | 'measuredAt' | 'sequence' | 'deviceId' | 'entryMethod' | 'setting'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const LB_PER_KG = 2.2046226218;
const MGDL_PER_MMOL = 18.016;
const CGM_LAG_MS = 8 * MINUTE_MS;

const round = (x: number, step: number): number => Math.round(x / step) * step;
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
/** Rounded to a step and printed without floating-point tails (71.30000000000001). */
const tidy = (x: number, step: number): number => Number(round(x, step).toFixed(step < 1 ? String(step).split('.')[1]?.length ?? 1 : 0));

export function measure(kind: MeasuringKind, body: Physiology, atMs: number, units: UnitPreferences, rng: Rng, mealContext?: MealContext): Measured {
  switch (kind) {
    case 'bp-cuff': {
      const v = body.at(atMs);
      const diastolic = Math.round(v.diastolic + rng.normal(0, 3));
      // A cuff never reports a pulse pressure below ~10 mmHg; the gateway rejects systolic ≤ diastolic.
      const systolic = Math.max(diastolic + 10, Math.round(v.systolic + rng.normal(0, 4)));
      return { kind: 'blood-pressure', unit: 'mmHg', systolic, diastolic, pulse: Math.round(v.heartRate + rng.normal(0, 2)) };
    }
    case 'pulse-oximeter': {
      const v = body.at(atMs);
      return { kind: 'spo2', unit: '%', value: clamp(Math.round(v.spo2 + rng.normal(0, 0.8)), 70, 100), pulse: Math.round(v.heartRate + rng.normal(0, 2)) };
    }
    case 'scale': {
      const kg = body.at(atMs).weightKg + rng.normal(0, 0.05);
      return units.weight === 'lb' ? { kind: 'body-weight', unit: 'lb', value: tidy(kg * LB_PER_KG, 0.2) } : { kind: 'body-weight', unit: 'kg', value: tidy(kg, 0.1) };
    }
    case 'thermometer': {
      const c = body.at(atMs).temperatureC + rng.normal(0, 0.1);
      return units.temperature === '[degF]'
        ? { kind: 'body-temperature', unit: '[degF]', value: tidy((c * 9) / 5 + 32, 0.1) }
        : { kind: 'body-temperature', unit: 'Cel', value: tidy(c, 0.1) };
    }
    case 'glucometer': {
      const g = clamp(body.at(atMs).glucose * (1 + rng.normal(0, 0.05)), 20, 600);
      const context = mealContext === undefined ? {} : { mealContext };
      return units.glucose === 'mmol/L'
        ? { kind: 'blood-glucose', unit: 'mmol/L', value: tidy(g / MGDL_PER_MMOL, 0.1), method: 'meter', ...context }
        : { kind: 'blood-glucose', unit: 'mg/dL', value: Math.round(g), method: 'meter', ...context };
    }
    case 'cgm': {
      // Interstitial glucose follows blood glucose with a lag; sensors report 40–400 mg/dL.
      const g = clamp(body.at(atMs - CGM_LAG_MS).glucose * (1 + rng.normal(0, 0.04)), 40, 400);
      return { kind: 'blood-glucose', unit: 'mg/dL', value: Math.round(g), method: 'cgm' };
    }
  }
}
