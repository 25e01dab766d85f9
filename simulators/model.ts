import type { DeviceKind } from '../core/model/registry.js';

/**
 * The simulated world: patients with a physiology and scripted episodes, the devices that
 * measure them, and how those devices reach the gateway. Plain data, so a fleet can be written
 * to a file, compared in tests and rebuilt from its seed.
 */

/** Condition programs of the gateway's care plans (rules/programs.ts); kept as strings here. */
export const PROGRAMS = ['general', 'hypertension', 'heart-failure', 'diabetes', 'copd'] as const;
export type Program = (typeof PROGRAMS)[number];

/** The measuring device kinds the simulator knows how to play. */
export const MEASURING_KINDS = ['bp-cuff', 'pulse-oximeter', 'scale', 'glucometer', 'thermometer', 'cgm'] as const satisfies readonly DeviceKind[];
export type MeasuringKind = (typeof MEASURING_KINDS)[number];

export type Transport = 'mqtt' | 'http';

/** Units a device displays and reports in; US devices mostly report pounds and Fahrenheit. */
export interface UnitPreferences {
  readonly weight: 'kg' | 'lb';
  readonly temperature: 'Cel' | '[degF]';
  readonly glucose: 'mg/dL' | 'mmol/L';
}

/** A patient's resting physiology, before rhythms, episodes and measurement noise. */
export interface Baseline {
  readonly systolic: number;
  readonly diastolic: number;
  readonly heartRate: number;
  readonly spo2: number;
  readonly weightKg: number;
  readonly temperatureC: number;
  /** Fasting capillary glucose, mg/dL. */
  readonly glucoseFasting: number;
  /** Peak rise after a typical meal, mg/dL. */
  readonly glucoseMealRise: number;
}

export interface PatientProfile {
  readonly utcOffsetMin: number;
  readonly baseline: Baseline;
  /** Probability of taking a scheduled measurement (patients skip some). */
  readonly adherence: number;
  readonly units: UnitPreferences;
}

/**
 * Scripted deviations from the baseline. Times are absolute (ms); a fleet built for a run
 * places them relative to the run's anchor ("now"), so the same seed tells the same story.
 */
export type Episode =
  /** Heart-failure decompensation: fluid builds up over days (weight), with a little desaturation and tachycardia. */
  | { readonly type: 'hf-fluid-gain'; readonly startMs: number; readonly days: number; readonly totalKg: number }
  | { readonly type: 'severe-hypertension'; readonly startMs: number; readonly endMs: number; readonly systolicRise: number; readonly diastolicRise: number }
  | { readonly type: 'hypoglycemia'; readonly startMs: number; readonly durationMin: number; readonly nadirMgDl: number }
  | { readonly type: 'desaturation'; readonly startMs: number; readonly endMs: number; readonly depth: number }
  | { readonly type: 'fever'; readonly startMs: number; readonly endMs: number; readonly peakC: number }
  /** The patient stops measuring (device left in a drawer, travelling): kinds listed, or every device. */
  | { readonly type: 'missed-readings'; readonly startMs: number; readonly endMs: number; readonly kinds: readonly MeasuringKind[] | 'all' };

export type EpisodeType = Episode['type'];

export interface SimPatient {
  readonly id: string;
  readonly programs: readonly Program[];
  readonly riskTier: 1 | 2 | 3;
  readonly profile: PatientProfile;
  readonly episodes: readonly Episode[];
}

export interface SimDevice {
  readonly id: string;
  readonly kind: MeasuringKind;
  readonly patientId: string;
  /** Set when a hub relays this device's readings; the device then has no connection of its own. */
  readonly hubId: string | null;
  /** The device's own connection (cellular devices); null when relayed by a hub. */
  readonly transport: Transport | null;
}

/** A hub (home gateway): one connection relaying the readings of the devices paired with it. */
export interface SimHub {
  readonly id: string;
  readonly patientId: string;
  readonly transport: Transport;
  readonly deviceIds: readonly string[];
}

export interface Fleet {
  readonly seed: string;
  /** Every id starts with this prefix (test data is recognisable by id alone). */
  readonly idPrefix: string;
  readonly organizationId: string;
  readonly patients: readonly SimPatient[];
  readonly devices: readonly SimDevice[];
  readonly hubs: readonly SimHub[];
}

/** Who opens a connection to the gateway: a cellular device, or a hub. */
export interface Sender {
  readonly id: string;
  readonly transport: Transport;
  readonly hub: boolean;
  /** Measuring devices whose readings this sender carries (itself, for a cellular device). */
  readonly deviceIds: readonly string[];
}

export function senders(fleet: Fleet): Sender[] {
  const out: Sender[] = [];
  for (const d of fleet.devices) if (d.transport !== null) out.push({ id: d.id, transport: d.transport, hub: false, deviceIds: [d.id] });
  for (const h of fleet.hubs) out.push({ id: h.id, transport: h.transport, hub: true, deviceIds: h.deviceIds });
  return out;
}
