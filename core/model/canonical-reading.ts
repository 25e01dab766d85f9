import { z } from 'zod';
import { ENTRY_METHODS, GLUCOSE_METHODS, MEAL_CONTEXTS, SETTINGS } from './reading-input.js';
import { CANONICAL_UNIT, CGM_GLUCOSE_CODE, COMPONENT_NAMES, KIND_SPECS, READING_KINDS, ucumCodeOf } from './reading-kinds.js';
import type { Reading } from './reading.js';

/**
 * What every stored reading satisfies (the `Reading` of core/model/reading.ts, as committed):
 * known kind and codes, components in canonical UCUM units within the plausible bounds, a reported
 * unit we accept, a measurement time with an offset that agrees with its instant. Ingest builds
 * readings that pass; tests (the fuzz test, store contracts) check what was stored against it.
 */
const component = z.object({ name: z.enum(COMPONENT_NAMES), code: z.string().min(1), value: z.number().finite(), unit: z.string().min(1) });

export const canonicalReading = z
  .object({
    id: z.string().min(1).max(128),
    clientId: z.string().min(1).max(128).nullable(),
    idempotencyKey: z.string().min(1),
    deviceId: z.string().min(1).max(128),
    hubId: z.string().min(1).max(128).nullable(),
    patientId: z.string().min(1).max(128).nullable(),
    kind: z.enum(READING_KINDS),
    code: z.string().min(1),
    components: z.array(component).min(1),
    reported: z.object({ unit: z.string().min(1).max(32), values: z.partialRecord(z.enum(COMPONENT_NAMES), z.number().finite()) }),
    measuredAt: z.string().max(64),
    measuredAtMs: z.number().int(),
    utcOffsetMinutes: z.number().int().min(-18 * 60).max(18 * 60),
    receivedAtMs: z.number().int(),
    entryMethod: z.enum(ENTRY_METHODS),
    setting: z.enum(SETTINGS),
    mealContext: z.enum(MEAL_CONTEXTS).nullable(),
    glucoseMethod: z.enum(GLUCOSE_METHODS).nullable(),
    sequence: z.number().int().min(0).nullable(),
    transport: z.enum(['http', 'mqtt']),
    flags: z.array(z.enum(['unassigned', 'attributed', 'device-kind-mismatch', 'time-estimated', 'user-unconfirmed', 'user-rejected'])),
  })
  .superRefine((r, ctx) => {
    const problem = (message: string): void => ctx.addIssue({ code: 'custom', message });
    const spec = KIND_SPECS[r.kind];
    const cgm = r.glucoseMethod === 'cgm';
    if (r.code !== (cgm ? CGM_GLUCOSE_CODE.code : spec.code.code)) problem(`code ${r.code} is not the code of ${r.kind}`);
    if ((r.kind === 'blood-glucose') !== (r.glucoseMethod !== null)) problem('glucoseMethod is set exactly for glucose');
    if (r.kind !== 'blood-glucose' && r.mealContext !== null) problem('mealContext is for glucose only');
    for (const c of r.components) {
      const cs = spec.components.find((s) => s.name === c.name);
      if (cs === undefined) {
        problem(`${r.kind} has no component ${c.name}`);
        continue;
      }
      if (c.unit !== CANONICAL_UNIT[cs.quantity]) problem(`${c.name} is in ${c.unit}, not ${CANONICAL_UNIT[cs.quantity]}`);
      if (c.value < cs.bounds[0] || c.value > cs.bounds[1]) problem(`${c.name} ${c.value} is outside ${cs.bounds.join('–')}`);
      if (c.code !== (cgm ? CGM_GLUCOSE_CODE.code : cs.code.code)) problem(`${c.name} has code ${c.code}`);
      if (r.reported.values[c.name] === undefined) problem(`${c.name} has no reported value`);
    }
    const primary = spec.components[0];
    if (primary !== undefined && ucumCodeOf(primary.quantity, r.reported.unit) === undefined) problem(`reported unit '${r.reported.unit}' is not one we accept for ${r.kind}`);
    if (r.kind === 'blood-pressure') {
      const v = (n: string) => r.components.find((c) => c.name === n)?.value;
      const sys = v('systolic');
      const dia = v('diastolic');
      if (sys === undefined || dia === undefined || sys <= dia) problem('blood pressure needs systolic above diastolic');
    }
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(r.measuredAt)) problem('measuredAt has no UTC offset');
    const instant = Date.parse(r.measuredAt);
    if (!Number.isFinite(instant) || Math.abs(instant - r.measuredAtMs) >= 1) problem(`measuredAt ${r.measuredAt} does not name the instant ${r.measuredAtMs}`);
  });

/** Problems of a stored reading against the canonical model (empty when it conforms). */
export function canonicalReadingProblems(r: Reading): string[] {
  const result = canonicalReading.safeParse(r);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(reading)'}: ${i.message}`);
}
