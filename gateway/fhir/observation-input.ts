import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LOINC_SYSTEM, MDC_SYSTEM, UCUM_SYSTEM } from '../../core/model/codes.js';
import type { ReadingKind } from '../../core/model/reading-kinds.js';
import type { ReadingProblem } from '../../pipeline/normalize.js';

/**
 * FHIR in: a vital-sign Observation from a personal health gateway becomes the same canonical
 * reading JSON a device posts to /v1/readings, so it then goes through exactly the same
 * normalization (schema, UCUM, time, plausibility), idempotency and durable commit.
 * Only the meaning is translated here; every value judgement stays in pipeline/normalize.ts.
 *
 * The patient is never taken from `subject`: like any reading it belongs to whoever the
 * measuring device was assigned to at measurement time.
 */

type Kind = { readonly kind: ReadingKind; readonly method?: 'meter' | 'cgm' };

const OBSERVATION_CODES: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  // LOINC (fhir.md §1.2); 55284-4 is the PHD IG's own BP panel code.
  [`${LOINC_SYSTEM}|85354-9`, { kind: 'blood-pressure' }],
  [`${LOINC_SYSTEM}|55284-4`, { kind: 'blood-pressure' }],
  [`${LOINC_SYSTEM}|8867-4`, { kind: 'heart-rate' }],
  [`${LOINC_SYSTEM}|59408-5`, { kind: 'spo2' }],
  [`${LOINC_SYSTEM}|2708-6`, { kind: 'spo2' }],
  [`${LOINC_SYSTEM}|29463-7`, { kind: 'body-weight' }],
  [`${LOINC_SYSTEM}|8310-5`, { kind: 'body-temperature' }],
  [`${LOINC_SYSTEM}|9279-1`, { kind: 'respiratory-rate' }],
  [`${LOINC_SYSTEM}|41653-7`, { kind: 'blood-glucose', method: 'meter' }],
  [`${LOINC_SYSTEM}|14743-9`, { kind: 'blood-glucose', method: 'meter' }],
  [`${LOINC_SYSTEM}|2339-0`, { kind: 'blood-glucose', method: 'meter' }],
  [`${LOINC_SYSTEM}|99504-3`, { kind: 'blood-glucose', method: 'cgm' }],
  [`${LOINC_SYSTEM}|105272-9`, { kind: 'blood-glucose', method: 'cgm' }],
  // MDC (IEEE 11073-10101), which PHD gateways must send.
  [`${MDC_SYSTEM}|150020`, { kind: 'blood-pressure' }],
  [`${MDC_SYSTEM}|149546`, { kind: 'heart-rate' }],
  [`${MDC_SYSTEM}|149530`, { kind: 'heart-rate' }],
  [`${MDC_SYSTEM}|147842`, { kind: 'heart-rate' }],
  [`${MDC_SYSTEM}|150456`, { kind: 'spo2' }],
  [`${MDC_SYSTEM}|188736`, { kind: 'body-weight' }],
  [`${MDC_SYSTEM}|150364`, { kind: 'body-temperature' }],
  [`${MDC_SYSTEM}|151562`, { kind: 'respiratory-rate' }],
  [`${MDC_SYSTEM}|160184`, { kind: 'blood-glucose', method: 'meter' }],
  [`${MDC_SYSTEM}|160188`, { kind: 'blood-glucose', method: 'meter' }],
  [`${MDC_SYSTEM}|160212`, { kind: 'blood-glucose', method: 'cgm' }],
]);

type BpPart = 'systolic' | 'diastolic' | 'mean' | 'pulse';
const BP_COMPONENT_CODES: ReadonlyMap<string, BpPart> = new Map<string, BpPart>([
  [`${LOINC_SYSTEM}|8480-6`, 'systolic'],
  [`${LOINC_SYSTEM}|8462-4`, 'diastolic'],
  [`${LOINC_SYSTEM}|8478-0`, 'mean'],
  [`${LOINC_SYSTEM}|8867-4`, 'pulse'],
  [`${MDC_SYSTEM}|150021`, 'systolic'],
  [`${MDC_SYSTEM}|150022`, 'diastolic'],
  [`${MDC_SYSTEM}|150023`, 'mean'],
  [`${MDC_SYSTEM}|149546`, 'pulse'],
]);

/** Statuses of a measurement that happened and stands. */
const USABLE_STATUSES = new Set(['final', 'amended', 'corrected']);

const coding = z.looseObject({ system: z.string().optional(), code: z.string().optional() });
const concept = z.looseObject({ coding: z.array(coding).optional(), text: z.string().optional() });
const quantity = z.looseObject({ value: z.number().optional(), unit: z.string().optional(), system: z.string().optional(), code: z.string().optional() });
const reference = z.looseObject({ reference: z.string().optional(), identifier: z.looseObject({ value: z.string().optional() }).optional() });

export const observationIn = z.looseObject({
  resourceType: z.literal('Observation'),
  status: z.string(),
  code: concept,
  identifier: z.array(z.looseObject({ system: z.string().optional(), value: z.string().optional() })).optional(),
  effectiveDateTime: z.string().optional(),
  effectiveInstant: z.string().optional(),
  effectivePeriod: z.unknown().optional(),
  valueQuantity: quantity.optional(),
  component: z.array(z.looseObject({ code: concept, valueQuantity: quantity.optional() })).optional(),
  device: reference.optional(),
});
type ObservationIn = z.infer<typeof observationIn>;

export type Translation =
  | {
      readonly ok: true;
      /** Canonical reading JSON, as a device would post it. */
      readonly reading: Record<string, unknown>;
      /** Where each canonical field came from (JSON pointer → FHIRPath below the Observation). */
      readonly from: ReadonlyMap<string, string>;
    }
  | { readonly ok: false; readonly problem: ReadingProblem; readonly from: ReadonlyMap<string, string> };

/** The FHIRPath (below the Observation) of a zod issue path, e.g. component[0].code. */
function fhirPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out;
}

function kindOf(code: z.infer<typeof concept>): Kind | undefined {
  for (const c of code.coding ?? []) {
    const hit = OBSERVATION_CODES.get(`${c.system ?? ''}|${c.code ?? ''}`);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The UCUM code when the quantity names UCUM, else its display unit (normalize resolves spellings). */
function unitOf(q: z.infer<typeof quantity>): string | undefined {
  if (q.code !== undefined && (q.system === undefined || q.system === UCUM_SYSTEM)) return q.code;
  return q.unit ?? q.code;
}

/** Client id for idempotency: a hash of the Observation's identifier, so no identifier value is stored or echoed. */
function clientIdOf(o: ObservationIn): string | undefined {
  const id = o.identifier?.find((i) => i.value !== undefined && i.value !== '');
  if (id?.value === undefined) return undefined;
  return `fhir-${createHash('sha256').update(`${id.system ?? ''}|${id.value}`).digest('base64url').slice(0, 22)}`;
}

/** `Device/cuff-1` (relative or absolute) or a device identifier value → our device id. */
function deviceIdOf(o: ObservationIn): string | undefined {
  const ref = o.device?.reference;
  if (ref !== undefined) {
    const m = /(?:^|\/)Device\/([^/?#]+)$/.exec(ref);
    if (m !== null) return m[1];
  }
  return o.device?.identifier?.value;
}

export function observationToReading(resource: unknown): Translation {
  const from = new Map<string, string>([['', '']]);
  const fail = (problem: ReadingProblem): Translation => ({ ok: false, problem, from });
  const parsed = observationIn.safeParse(resource);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = fhirPath(issue?.path ?? []);
    from.set('/fhir', where);
    return fail({ code: 'RPM_ERR_FHIR_INVALID', path: '/fhir', message: `not an Observation we accept: ${where === '' ? '' : `${where}: `}${issue?.message ?? 'invalid'}` });
  }
  const o = parsed.data;
  from.set('/status', 'status');
  if (!USABLE_STATUSES.has(o.status)) {
    return fail({ code: 'RPM_ERR_FHIR_INVALID', path: '/status', message: `status '${o.status}' is not a measurement that stands (final, amended or corrected)` });
  }
  from.set('/kind', 'code');
  const kind = kindOf(o.code);
  if (kind === undefined) {
    return fail({ code: 'RPM_ERR_READING_UNKNOWN_KIND', path: '/kind', message: 'code.coding names no vital sign we accept (see the LOINC and MDC codes in the README)' });
  }
  const measuredAt = o.effectiveDateTime ?? o.effectiveInstant;
  from.set('/measuredAt', o.effectiveDateTime !== undefined ? 'effectiveDateTime' : o.effectiveInstant !== undefined ? 'effectiveInstant' : 'effective');
  if (measuredAt === undefined) {
    return fail({ code: 'RPM_ERR_READING_TIME_INVALID', path: '/measuredAt', message: 'effectiveDateTime (a single instant with a UTC offset) is required' });
  }
  const reading: Record<string, unknown> = { kind: kind.kind, measuredAt };
  const clientId = clientIdOf(o);
  if (clientId !== undefined) {
    reading.id = clientId;
    from.set('/id', 'identifier');
  }
  const deviceId = deviceIdOf(o);
  if (deviceId !== undefined) {
    reading.deviceId = deviceId;
    from.set('/deviceId', 'device');
  }
  if (kind.method !== undefined) reading.method = kind.method;

  if (kind.kind === 'blood-pressure') {
    let unit: string | undefined;
    (o.component ?? []).forEach((c, i) => {
      const part = (c.code.coding ?? []).map((cd) => BP_COMPONENT_CODES.get(`${cd.system ?? ''}|${cd.code ?? ''}`)).find((p) => p !== undefined);
      if (part === undefined || c.valueQuantity?.value === undefined || reading[part] !== undefined) return;
      reading[part] = c.valueQuantity.value;
      from.set(`/${part}`, `component[${i}].valueQuantity.value`);
      if (part !== 'pulse' && unit === undefined) {
        unit = unitOf(c.valueQuantity);
        from.set('/unit', `component[${i}].valueQuantity.code`);
      }
    });
    for (const part of ['systolic', 'diastolic'] as const) {
      if (reading[part] === undefined) {
        from.set(`/${part}`, 'component');
        return fail({ code: 'RPM_ERR_READING_INVALID', path: `/${part}`, message: `a ${part} component (LOINC ${part === 'systolic' ? '8480-6' : '8462-4'}) with a valueQuantity is required` });
      }
    }
    reading.unit = unit ?? '';
    return { ok: true, reading, from };
  }

  from.set('/value', 'valueQuantity.value');
  from.set('/unit', 'valueQuantity.code');
  if (o.valueQuantity?.value === undefined) {
    return fail({ code: 'RPM_ERR_READING_INVALID', path: '/value', message: 'valueQuantity.value is required (readings without a value are not stored)' });
  }
  reading.value = o.valueQuantity.value;
  reading.unit = unitOf(o.valueQuantity) ?? '';
  return { ok: true, reading, from };
}
