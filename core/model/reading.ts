import type { ComponentName, ReadingKind } from './reading-kinds.js';
import type { ENTRY_METHODS, GLUCOSE_METHODS, MEAL_CONTEXTS, SETTINGS } from './reading-input.js';

export type EntryMethod = (typeof ENTRY_METHODS)[number];
export type Setting = (typeof SETTINGS)[number];
export type MealContext = (typeof MEAL_CONTEXTS)[number];
export type GlucoseMethod = (typeof GLUCOSE_METHODS)[number];
export type Transport = 'http' | 'mqtt';

/** One measured quantity, normalized to its canonical UCUM unit. */
export interface ReadingComponent {
  readonly name: ComponentName;
  /** LOINC code. */
  readonly code: string;
  readonly value: number;
  /** UCUM code. */
  readonly unit: string;
}

/**
 * Flags that travel with a reading; they never hide it. `attributed`: it arrived unassigned and was
 * given to its patient later, by an assignment (the rules engine judges it through the attribution log).
 */
export type ReadingFlag = 'unassigned' | 'attributed' | 'device-kind-mismatch';

/**
 * A reading in the canonical model, as committed. Readonly: it is shared by the
 * store, the rules and the connectors, and none of them may change it.
 */
export interface Reading {
  /** Deterministic id derived from (measuring device, kind, measurement instant). */
  readonly id: string;
  readonly clientId: string | null;
  readonly idempotencyKey: string;
  readonly deviceId: string;
  /** The hub or gateway that relayed the reading, when not the measuring device itself. */
  readonly hubId: string | null;
  /** Attributed by measurement time; null when the device had no assignment then. */
  readonly patientId: string | null;
  readonly kind: ReadingKind;
  /** LOINC code of the observation (panel code for blood pressure). */
  readonly code: string;
  readonly components: readonly ReadingComponent[];
  /** Exactly what the device sent: its unit and numbers, before any conversion. */
  readonly reported: { readonly unit: string; readonly values: Readonly<Partial<Record<ComponentName, number>>> };
  /** The timestamp string exactly as reported, with its offset. */
  readonly measuredAt: string;
  readonly measuredAtMs: number;
  readonly utcOffsetMinutes: number;
  readonly receivedAtMs: number;
  readonly entryMethod: EntryMethod;
  readonly setting: Setting;
  readonly mealContext: MealContext | null;
  readonly glucoseMethod: GlucoseMethod | null;
  readonly sequence: number | null;
  readonly transport: Transport;
  readonly flags: readonly ReadingFlag[];
  /**
   * The staff member who entered it (entryMethod `manual`, through the staff API), else null.
   * Their readings belong to the patient directly, under the pseudo-device `manual:{patientId}`.
   */
  readonly recordedBy: string | null;
}

/** The pseudo-device of a patient's staff-entered readings (dedupe and history stay per patient). */
export const manualDeviceId = (patientId: string): string => `manual:${patientId}`;

/** The primary component (the single value, or systolic for blood pressure). */
export function primaryComponent(r: Pick<Reading, 'components'>): ReadingComponent | undefined {
  return r.components[0];
}
