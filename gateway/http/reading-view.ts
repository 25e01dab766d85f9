import { z } from 'zod';
import { CGM_GLUCOSE_CODE, KIND_SPECS, READING_KINDS } from '../../core/model/reading-kinds.js';
import { LOINC_SYSTEM, UCUM_SYSTEM } from '../../core/model/codes.js';
import type { Reading } from '../../core/model/reading.js';

const codingView = z.object({ system: z.string(), code: z.string(), display: z.string() });

export const readingView = z.object({
  id: z.string(),
  clientId: z.string().nullable(),
  kind: z.enum(READING_KINDS),
  code: codingView.describe('LOINC code of the observation'),
  value: z.number().optional().describe('Normalized value (single-valued kinds)'),
  unit: z.string().optional().describe('UCUM code of `value`'),
  unitSystem: z.literal(UCUM_SYSTEM),
  components: z.array(
    z.object({ name: z.string(), code: codingView, value: z.number(), unit: z.string().describe('UCUM code') }),
  ),
  reported: z.object({ unit: z.string(), values: z.record(z.string(), z.number()) }).describe('Exactly what the device sent'),
  measuredAt: z.string().describe('As the device reported it, with its offset'),
  measuredAtUtc: z.string(),
  receivedAt: z.string(),
  deviceId: z.string(),
  hubId: z.string().nullable(),
  patientId: z.string().nullable(),
  entryMethod: z.string(),
  setting: z.string(),
  mealContext: z.string().nullable(),
  glucoseMethod: z.string().nullable(),
  sequence: z.number().nullable(),
  flags: z.array(z.string()),
});
export type ReadingView = z.infer<typeof readingView>;

function coding(code: string, fallbackDisplay: string): { system: string; code: string; display: string } {
  const display = code === CGM_GLUCOSE_CODE.code ? CGM_GLUCOSE_CODE.display : fallbackDisplay;
  return { system: LOINC_SYSTEM, code, display };
}

export function toReadingView(r: Reading): ReadingView {
  const spec = KIND_SPECS[r.kind];
  const components = r.components.map((c) => ({
    name: c.name,
    code: coding(c.code, spec.components.find((s) => s.name === c.name)?.code.display ?? spec.code.display),
    value: c.value,
    unit: c.unit,
  }));
  const single = r.kind !== 'blood-pressure' ? r.components.find((c) => c.name === 'value') : undefined;
  return {
    id: r.id,
    clientId: r.clientId,
    kind: r.kind,
    code: coding(r.code, spec.code.display),
    ...(single === undefined ? {} : { value: single.value, unit: single.unit }),
    unitSystem: UCUM_SYSTEM,
    components,
    reported: { unit: r.reported.unit, values: { ...r.reported.values } as Record<string, number> },
    measuredAt: r.measuredAt,
    measuredAtUtc: new Date(r.measuredAtMs).toISOString(),
    receivedAt: new Date(r.receivedAtMs).toISOString(),
    deviceId: r.deviceId,
    hubId: r.hubId,
    patientId: r.patientId,
    entryMethod: r.entryMethod,
    setting: r.setting,
    mealContext: r.mealContext,
    glucoseMethod: r.glucoseMethod,
    sequence: r.sequence,
    flags: [...r.flags],
  };
}
