import { z } from 'zod';
import { ACVPU_LEVELS } from './reading-kinds.js';

/**
 * The canonical JSON a device or hub sends, over HTTP (`POST /v1/readings`) and MQTT
 * (`devices/{id}/readings`) alike. Types are derived from these schemas.
 */

const finite = z.number().finite();

export const ENTRY_METHODS = ['device', 'manual', 'ambiguous-user'] as const;
export const SETTINGS = ['home', 'clinic'] as const;
export const MEAL_CONTEXTS = ['fasting', 'before-meal', 'after-meal', 'bedtime', 'unspecified'] as const;
export const GLUCOSE_METHODS = ['meter', 'cgm'] as const;

const common = {
  /** Client-chosen id; with the device it makes retries idempotent. */
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._:~-]+$/, 'letters, digits and . _ : ~ - only')
    .optional()
    .describe('Client reading id; retries with the same id are answered `duplicate`'),
  measuredAt: z
    .string()
    .max(64)
    .describe('When the device took the measurement: ISO 8601 with a UTC offset, e.g. 2026-12-01T07:02:00-05:00'),
  unit: z.string().min(1).max(32).describe('Unit as the device reports it (UCUM code or a common spelling)'),
  entryMethod: z.enum(ENTRY_METHODS).optional().describe('device (default), manual, or ambiguous-user (device could not tell who measured)'),
  setting: z.enum(SETTINGS).optional().describe('home (default) or clinic'),
  deviceId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('Measuring device, when a hub relays the reading; defaults to the authenticated device'),
  sequence: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('Device sequence number, kept for loss accounting'),
  batteryPercent: z
    .number()
    .min(0)
    .max(100)
    .optional()
    .describe("The measuring device's battery level when it took the reading, 0–100 %. Device status shown to nurses, not a vital sign"),
};

export const bloodPressureInput = z.object({
  kind: z.literal('blood-pressure'),
  ...common,
  systolic: finite,
  diastolic: finite,
  mean: finite.optional(),
  pulse: finite.optional().describe('Pulse rate in /min'),
});

const single = <K extends string>(kind: K) => z.object({ kind: z.literal(kind), ...common, value: finite });

export const heartRateInput = single('heart-rate');
export const spo2Input = single('spo2').extend({ pulse: finite.optional().describe('Pulse rate in /min') });
export const bodyWeightInput = single('body-weight');
export const bodyTemperatureInput = single('body-temperature');
export const bloodGlucoseInput = single('blood-glucose').extend({
  mealContext: z.enum(MEAL_CONTEXTS).optional(),
  method: z.enum(GLUCOSE_METHODS).optional().describe('meter (capillary blood, default) or cgm (interstitial fluid)'),
});
export const respiratoryRateInput = single('respiratory-rate');

/** Staff-recorded (a device posting these is refused): consciousness on the ACVPU scale. */
export const consciousnessInput = z.object({
  kind: z.literal('consciousness'),
  ...common,
  unit: z.literal('{ACVPU}').optional(),
  level: z.enum(ACVPU_LEVELS).describe('ACVPU: alert, new confusion, responds to voice, to pain, unresponsive'),
});
/** Staff-recorded: supplemental oxygen flow in L/min; 0 = breathing room air. */
export const supplementalOxygenInput = z.object({
  kind: z.literal('supplemental-oxygen'),
  ...common,
  unit: z.string().min(1).max(32).optional().describe('L/min (default)'),
  value: finite.describe('Oxygen flow; 0 = room air'),
});

export const readingInput = z.discriminatedUnion('kind', [
  bloodPressureInput,
  heartRateInput,
  spo2Input,
  bodyWeightInput,
  bodyTemperatureInput,
  bloodGlucoseInput,
  respiratoryRateInput,
  consciousnessInput,
  supplementalOxygenInput,
]);
export type ReadingInput = z.infer<typeof readingInput>;

/**
 * The envelope. Readings stay `unknown` here so that one bad reading is rejected on its own
 * while the others in the batch are still accepted.
 */
export function readingEnvelope(maxReadings: number) {
  return z.object({
    readings: z.array(z.unknown()).min(1).max(maxReadings),
  });
}

/** Documentation-only form of the envelope, with the reading schema spelled out. */
export const readingEnvelopeDoc = z.object({ readings: z.array(readingInput).min(1).max(1000) });
