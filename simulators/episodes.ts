import { DAY_MS, HOUR_MS, MINUTE_MS } from './local-time.js';
import type { Episode, MeasuringKind } from './model.js';

/**
 * What scripted episodes do to a patient's physiology at an instant: additive deviations from
 * the baseline, plus a pull of glucose toward a nadir for hypoglycemia. Pure functions of time.
 */
export interface Deviation {
  systolic: number;
  diastolic: number;
  heartRate: number;
  spo2: number;
  weightKg: number;
  temperatureC: number;
  /** 0..1: how far glucose is pulled from its own course toward `glucoseNadir`. */
  glucosePull: number;
  glucoseNadir: number;
}

export const NO_DEVIATION: Readonly<Deviation> = {
  systolic: 0,
  diastolic: 0,
  heartRate: 0,
  spo2: 0,
  weightKg: 0,
  temperatureC: 0,
  glucosePull: 0,
  glucoseNadir: 0,
};

const smoothstep = (x: number): number => {
  const c = Math.min(1, Math.max(0, x));
  return c * c * (3 - 2 * c);
};

/** 0 before `start`, rising to 1 over `rampIn`, 1 until `end`, falling to 0 over `rampOut`. */
export function plateau(t: number, start: number, end: number, rampIn: number, rampOut: number): number {
  if (t < start || t >= end + rampOut) return 0;
  if (t < start + rampIn) return smoothstep((t - start) / rampIn);
  if (t < end) return 1;
  return 1 - smoothstep((t - end) / rampOut);
}

/** Progress 0..1 of an episode that builds up from `start` over `duration` and then stays. */
export function buildUp(t: number, start: number, duration: number): number {
  if (t <= start) return 0;
  return smoothstep((t - start) / duration);
}

export function deviationAt(episodes: readonly Episode[], t: number): Deviation {
  const d: Deviation = { ...NO_DEVIATION };
  for (const e of episodes) {
    switch (e.type) {
      case 'hf-fluid-gain': {
        // Fluid accumulates over days, faster as congestion worsens (the last day brings the most);
        // congestion also lowers saturation and raises the heart rate a little.
        const p = t <= e.startMs ? 0 : Math.min(1, (t - e.startMs) / (e.days * DAY_MS));
        d.weightKg += e.totalKg * p * p;
        d.spo2 -= 2 * p;
        d.heartRate += 8 * p;
        break;
      }
      case 'severe-hypertension': {
        const w = plateau(t, e.startMs, e.endMs, 45 * MINUTE_MS, 2 * HOUR_MS);
        d.systolic += e.systolicRise * w;
        d.diastolic += e.diastolicRise * w;
        d.heartRate += 4 * w;
        break;
      }
      case 'hypoglycemia': {
        // Glucose falls over the first third of the episode and recovers over the rest (treated with carbohydrate).
        const end = e.startMs + e.durationMin * MINUTE_MS;
        const fall = (e.durationMin / 3) * MINUTE_MS;
        const w = plateau(t, e.startMs, e.startMs + fall, fall, end - (e.startMs + fall));
        if (w > d.glucosePull) {
          d.glucosePull = w;
          d.glucoseNadir = e.nadirMgDl;
        }
        d.heartRate += 15 * w; // adrenergic response
        break;
      }
      case 'desaturation': {
        const w = plateau(t, e.startMs, e.endMs, 30 * MINUTE_MS, HOUR_MS);
        d.spo2 -= e.depth * w;
        d.heartRate += 12 * w;
        break;
      }
      case 'fever': {
        const w = plateau(t, e.startMs, e.endMs, 2 * HOUR_MS, 3 * HOUR_MS);
        const rise = (e.peakC - 37) * w;
        d.temperatureC += rise;
        d.heartRate += 10 * rise; // about 10 beats per minute per degree
        break;
      }
      case 'missed-readings':
        break;
    }
  }
  return d;
}

/** Whether the patient skips measurements of this kind at `t` (a missed-readings episode). */
export function missedAt(episodes: readonly Episode[], kind: MeasuringKind, t: number): boolean {
  return episodes.some((e) => e.type === 'missed-readings' && t >= e.startMs && t < e.endMs && (e.kinds === 'all' || e.kinds.includes(kind)));
}
