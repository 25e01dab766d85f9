import type { ComponentName, ReadingKind } from './reading-kinds.js';
import type { ENTRY_METHODS, GLUCOSE_METHODS, MEAL_CONTEXTS, SETTINGS } from './reading-input.js';
import type { VendorName } from './vendor.js';

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
 * Flags that travel with a reading; they never hide it.
 * - `time-estimated`: the vendor estimated the measurement time (Tenovi `estimated_timestamp`).
 * - `user-unconfirmed`: the device could not tell who measured (entry method `ambiguous-user`,
 *   e.g. Withings `attrib` 1); stored and shown, but the rules do not judge it until a nurse
 *   confirms it is the patient's (`POST /v1/patients/{id}/readings/{readingId}/user`).
 * - `user-rejected`: a nurse said it is someone else's; kept, never judged.
 * - `attributed`: given to its patient after it arrived, by an assignment of an unassigned device
 *   or a nurse's confirmation of its user; the rules engine judges it from the attribution log.
 */
export type ReadingFlag = 'unassigned' | 'attributed' | 'device-kind-mismatch' | 'time-estimated' | 'user-unconfirmed' | 'user-rejected';

/**
 * Where a reading came from when a vendor adapter translated it (Tenovi, Withings, …): kept with
 * the reading for traceability. Never patient identifiers: vendor record ids and values only.
 */
export interface ReadingSource {
  readonly vendor: VendorName;
  /** SHA-256 (hex) of the raw payload that carried it: the webhook body or the pulled API page. */
  readonly payloadSha256: string;
  /** The vendor's own id of the record, when it has one (Withings `grpid`, Validic `log_id`, Nightscout `_id`). */
  readonly recordId?: string;
  /** What the vendor said beside the values (CGM trend and noise, Tenovi measurement index, Withings `attrib`). */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

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
  /** The vendor integration that delivered it; absent or null for our own JSON and FHIR. */
  readonly source?: ReadingSource | null;
}

/** The pseudo-device of a patient's staff-entered readings (dedupe and history stay per patient). */
export const manualDeviceId = (patientId: string): string => `manual:${patientId}`;

/** The primary component (the single value, or systolic for blood pressure). */
export function primaryComponent(r: Pick<Reading, 'components'>): ReadingComponent | undefined {
  return r.components[0];
}
