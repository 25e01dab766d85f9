import { deviationAt } from './episodes.js';
import { circadian, HOUR_MS, localDay, localHour, localMidnightMs, MINUTE_MS } from './local-time.js';
import type { SimPatient } from './model.js';
import type { Rng } from './rng.js';

/**
 * A patient's true physiology at any instant: baseline + daily rhythm + day-to-day variation
 * + meal-related glucose + scripted episodes. No measurement noise here (devices add their own).
 * Deterministic: day-level randomness comes from a stream forked per local day.
 */
export interface Vitals {
  readonly systolic: number;
  readonly diastolic: number;
  readonly heartRate: number;
  readonly spo2: number;
  readonly weightKg: number;
  readonly temperatureC: number;
  /** Capillary (blood) glucose, mg/dL. */
  readonly glucose: number;
}

interface DayTraits {
  readonly systolic: number;
  readonly diastolic: number;
  readonly weightKg: number;
  /** Meal start instants (ms) and their size relative to a typical meal. */
  readonly meals: readonly { readonly atMs: number; readonly size: number }[];
}

/** Local mealtimes (hours) with their spread (hours, 1 sd). */
const MEALS: readonly (readonly [hour: number, sd: number, size: number])[] = [
  [7.5, 0.5, 0.9],
  [12.5, 0.6, 1.0],
  [18.5, 0.6, 1.2],
];

export class Physiology {
  private readonly days = new Map<number, DayTraits>();
  private readonly diabetic: boolean;

  constructor(
    readonly patient: SimPatient,
    private readonly rng: Rng,
  ) {
    this.diabetic = patient.programs.includes('diabetes');
  }

  private traits(day: number): DayTraits {
    let t = this.days.get(day);
    if (t === undefined) {
      const r = this.rng.fork(`day:${day}`);
      const midnight = localMidnightMs(day, this.patient.profile.utcOffsetMin);
      const systolic = r.normal(0, 4);
      t = {
        systolic,
        // Day-to-day swings move both pressures together.
        diastolic: 0.5 * systolic + r.normal(0, 1.5),
        weightKg: r.normal(0, 0.25),
        meals: MEALS.filter(() => !r.chance(0.05)).map(([hour, sd, size]) => ({
          atMs: midnight + (hour + r.normal(0, sd)) * HOUR_MS,
          size: size * r.uniform(0.6, 1.4),
        })),
      };
      this.days.set(day, t);
      // Bounded memory for long runs: the cache only needs the days around "now".
      if (this.days.size > 64) this.days.delete(this.days.keys().next().value as number);
    }
    return t;
  }

  /** Glucose from the patient's own course: fasting level, dawn rise, and meal excursions. */
  private ownGlucose(t: number, day: number): number {
    const b = this.patient.profile.baseline;
    const hour = localHour(t, this.patient.profile.utcOffsetMin);
    // Dawn phenomenon: counter-regulatory hormones raise glucose before waking, more so in diabetes.
    const dawn = (this.diabetic ? 18 : 5) * Math.exp(-((hour - 6) ** 2) / 3);
    // Each meal: a gamma-shaped excursion peaking after tau minutes (later and longer in diabetes).
    const tau = (this.diabetic ? 60 : 40) * MINUTE_MS;
    let meals = 0;
    for (const d of [day - 1, day]) {
      for (const m of this.traits(d).meals) {
        const x = (t - m.atMs) / tau;
        if (x > 0 && x < 8) meals += b.glucoseMealRise * m.size * x * Math.exp(1 - x);
      }
    }
    return b.glucoseFasting + dawn + meals;
  }

  at(t: number): Vitals {
    const p = this.patient.profile;
    const b = p.baseline;
    const hour = localHour(t, p.utcOffsetMin);
    const day = localDay(t, p.utcOffsetMin);
    const traits = this.traits(day);
    const dev = deviationAt(this.patient.episodes, t);
    // Blood pressure dips at night and surges after waking (peak mid-morning).
    const surge = 5 * Math.exp(-((hour - 8) ** 2) / 2);
    const systolic = b.systolic + circadian(hour, 10, 7) + surge + traits.systolic + dev.systolic;
    const diastolic = b.diastolic + circadian(hour, 10, 4) + surge / 2 + traits.diastolic + dev.diastolic;
    const heartRate = b.heartRate + circadian(hour, 15, 6) + dev.heartRate;
    const spo2 = Math.min(100, b.spo2 + circadian(hour, 14, 0.5) + dev.spo2);
    // Lightest in the morning after voiding; about half a kilo more by the evening.
    const weightKg = b.weightKg + circadian(hour, 20, 0.3) + traits.weightKg + dev.weightKg;
    const temperatureC = b.temperatureC + circadian(hour, 17.5, 0.35) + dev.temperatureC;
    const own = this.ownGlucose(t, day);
    const glucose = own + dev.glucosePull * (dev.glucoseNadir - own);
    return { systolic, diastolic, heartRate, spo2, weightKg, temperatureC, glucose };
  }
}
