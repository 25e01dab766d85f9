import { z } from 'zod';
import { formatTime, formatValues } from '../../core/display/describe.js';
import { type DisplayPrefs, displayUnitOf, formatNumber, toDisplay } from '../../core/display/units.js';
import { CGM_GLUCOSE_CODE, KIND_SPECS, READING_KINDS } from '../../core/model/reading-kinds.js';
import { UCUM_SYSTEM } from '../../core/model/codes.js';
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
  recordedBy: z.string().nullable().describe('The staff member who entered it (entryMethod manual), else null'),
  source: z
    .object({
      vendor: z.string().describe('tenovi, withings, bodytrace, open-mhealth, validic or nightscout'),
      payloadSha256: z.string().describe('SHA-256 of the raw payload that carried it (webhook body or pulled page)'),
      recordId: z.string().optional().describe("The vendor's own record id (Withings grpid, Validic log_id, Nightscout _id)"),
      details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional().describe('What the vendor said beside the values: CGM trend (direction) and noise, Tenovi measurement index, Withings attrib, …'),
    })
    .nullable()
    .describe('The vendor integration that delivered it; null for our own JSON and FHIR'),
  display: z
    .object({
      text: z.string().describe('The values as people read them, with units, e.g. "BP 142/91 mmHg, pulse 72 /min"'),
      measuredAtText: z.string().describe('In the time zone of `timeZone`, with the zone'),
      timeZone: z.string(),
      components: z.array(z.object({ name: z.string(), value: z.number(), unit: z.string().describe('UCUM code of the display unit') })),
    })
    .optional()
    .describe("For staff: the reading in your display units (GET /v1/me/display); stored values stay canonical"),
});
export type ReadingView = z.infer<typeof readingView>;

function coding(system: string, code: string, fallbackDisplay: string): { system: string; code: string; display: string } {
  const display = code === CGM_GLUCOSE_CODE.code ? CGM_GLUCOSE_CODE.display : fallbackDisplay;
  return { system, code, display };
}

/** A reading's values in the reader's units (what charts and tables show). */
function displayOf(r: Reading, prefs: DisplayPrefs): NonNullable<ReadingView['display']> {
  const spec = KIND_SPECS[r.kind];
  const values: Partial<Record<(typeof r.components)[number]['name'], number>> = {};
  for (const c of r.components) values[c.name] = c.value;
  return {
    text: formatValues(r.kind, values, prefs),
    measuredAtText: formatTime(r.measuredAtMs, prefs),
    timeZone: prefs.timeZone,
    components: r.components.map((c) => {
      const quantity = spec.components.find((s) => s.name === c.name)?.quantity ?? 'rate';
      const unit = displayUnitOf(quantity, prefs);
      return { name: c.name, value: Number(formatNumber(toDisplay(quantity, c.value, unit), unit)), unit };
    }),
  };
}

export function toReadingView(r: Reading, prefs?: DisplayPrefs): ReadingView {
  const spec = KIND_SPECS[r.kind];
  const components = r.components.map((c) => ({
    name: c.name,
    code: coding(spec.code.system, c.code, spec.components.find((s) => s.name === c.name)?.code.display ?? spec.code.display),
    value: c.value,
    unit: c.unit,
  }));
  const single = r.kind !== 'blood-pressure' ? r.components.find((c) => c.name === 'value') : undefined;
  return {
    id: r.id,
    clientId: r.clientId,
    kind: r.kind,
    code: coding(spec.code.system, r.code, spec.code.display),
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
    recordedBy: r.recordedBy,
    source: r.source === undefined || r.source === null ? null : { ...r.source, ...(r.source.details === undefined ? {} : { details: { ...r.source.details } }) },
    ...(prefs === undefined ? {} : { display: displayOf(r, prefs) }),
  };
}
