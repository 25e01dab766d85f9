import type { ComponentName, ReadingKind } from '../../core/model/reading-kinds.js';
import type { Reading } from '../../core/model/reading.js';
import { idempotencyKey, readingId } from '../../pipeline/reading-id.js';
import type { CarePlanInput } from '../../rules/model.js';

/** The care plan every benchmark patient is on: the common multi-morbid home-monitoring mix. */
export const PLAN: CarePlanInput = { programs: ['general', 'hypertension', 'heart-failure', 'diabetes'] };
export const H = 3_600_000;
export const D = 24 * H;


/** Deterministic PRNG (mulberry32), so every run evaluates the same readings. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Sample {
  readonly kind: ReadingKind;
  readonly values: Partial<Record<ComponentName, number>>;
  readonly unit: string;
  readonly atMs: number;
}

/**
 * A month of home readings per patient, 7 a day: BP morning (with a repeat 5 min later) and
 * evening, a morning weight, fasting and bedtime glucose, SpO2 with pulse at noon. About 2 %
 * are abnormal (severe BP, hypo/hyperglycemia, low SpO2, a weight jump).
 */
export function patientMonth(seed: number, startMs: number, days: number): Sample[] {
  const r = rng(seed);
  const out: Sample[] = [];
  let weight = 70 + r() * 30;
  const odd = (): boolean => r() < 0.02;
  for (let d = 0; d < days; d++) {
    const day = startMs + d * D;
    const bp = (at: number): Sample =>
      odd()
        ? { kind: 'blood-pressure', values: { systolic: 182 + Math.round(r() * 20), diastolic: 100 + Math.round(r() * 15), pulse: 80 }, unit: 'mm[Hg]', atMs: at }
        : { kind: 'blood-pressure', values: { systolic: 118 + Math.round(r() * 20), diastolic: 72 + Math.round(r() * 12), pulse: 60 + Math.round(r() * 20) }, unit: 'mm[Hg]', atMs: at };
    out.push(bp(day + 7 * H), bp(day + 7 * H + 5 * 60_000));
    weight += odd() ? 1.2 : (r() - 0.5) * 0.4;
    out.push({ kind: 'body-weight', values: { value: Math.round(weight * 10) / 10 }, unit: 'kg', atMs: day + 7 * H + 10 * 60_000 });
    const glucose = (at: number): Sample => ({ kind: 'blood-glucose', values: { value: odd() ? (r() < 0.5 ? 58 : 310) : 90 + Math.round(r() * 60) }, unit: 'mg/dL', atMs: at });
    out.push(glucose(day + 7 * H + 30 * 60_000));
    out.push({ kind: 'spo2', values: { value: odd() ? 90 : 95 + Math.round(r() * 3), pulse: 60 + Math.round(r() * 25) }, unit: '%', atMs: day + 12 * H });
    out.push(bp(day + 19 * H));
    out.push(glucose(day + 21 * H));
  }
  return out;
}

/** All patients' readings in measurement order (as they would stream in). */
export function workload(patients: number, days: number, startMs: number): { patient: number; s: Sample }[] {
  const all: { patient: number; s: Sample }[] = [];
  for (let p = 0; p < patients; p++) for (const s of patientMonth(1000 + p, startMs + (p % 60) * 60_000, days)) all.push({ patient: p, s });
  return all.sort((a, b) => a.s.atMs - b.s.atMs || a.patient - b.patient);
}

export function toReading(patientId: string, deviceId: string, s: Sample, seq: number): Reading {
  const components = Object.entries(s.values).map(([name, value]) => ({ name: name as ComponentName, code: 'x', value: value as number, unit: name === 'pulse' ? '/min' : s.unit }));
  const clientId = `${patientId}-${seq}`;
  const key = idempotencyKey(s.kind, s.atMs);
  return {
    id: readingId(deviceId, key),
    clientId,
    idempotencyKey: key,
    deviceId,
    hubId: null,
    patientId,
    kind: s.kind,
    code: 'x',
    components,
    reported: { unit: s.unit, values: s.values },
    measuredAt: new Date(s.atMs).toISOString(),
    measuredAtMs: s.atMs,
    utcOffsetMinutes: 0,
    receivedAtMs: s.atMs + 60_000,
    entryMethod: 'device',
    setting: 'home',
    mealContext: null,
    glucoseMethod: null,
    sequence: seq,
    transport: 'http',
    flags: [],
    recordedBy: null,
  };
}
