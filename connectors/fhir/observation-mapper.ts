import { RpmError } from '../../core/errors/rpm-error.js';
import { UCUM_SYSTEM } from '../../core/model/codes.js';
import { type ComponentName, componentSpec, KIND_SPECS, type Quantity as QuantityKind, ucumCodeOf } from '../../core/model/reading-kinds.js';
import type { Reading } from '../../core/model/reading.js';
import {
  GATEWAY_DEVICE_EXTENSION,
  GLUCOSE_CODES,
  HOME_SETTING,
  KIND_TEXT,
  LABORATORY_CATEGORY,
  loincCoding,
  MEAL_CONTEXT_CODE,
  MEAL_CONTEXT_VALUE,
  MEASUREMENT_SETTING_EXTENSION,
  mdcCoding,
  PROFILE_OF,
  SENDABLE_UNITS,
  SPO2_ARTERIAL,
  TEST_DATA_TAG,
  unitText,
  VITAL_SIGNS_CATEGORY,
  type FhirSystems,
} from './fhir-codes.js';
import type { CodeableConcept, Coding, Extension, Observation, ObservationComponent, Quantity, Reference } from './fhir-types.js';
import { phdIdentifier } from './identifier.js';

export interface MappingContext {
  readonly systems: FhirSystems;
  /** The EHR's Patient for our patient id (destination's patient mapping). */
  readonly patient: Reference;
  /** The measuring Device at the EHR, when known. */
  readonly device: Reference | undefined;
  /** The hub's Device at the EHR, when the reading was relayed. */
  readonly hub: Reference | undefined;
  /** Readings of simulated devices are tagged as test data. */
  readonly simulated: boolean;
}

/** FHIR dateTime with seconds and a colon offset; other ISO 8601 spellings we accept are rewritten. */
const FHIR_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The reported time as a FHIR dateTime, keeping the device's own offset. */
export function fhirDateTime(reading: Pick<Reading, 'measuredAt' | 'measuredAtMs' | 'utcOffsetMinutes'>): string {
  if (FHIR_DATE_TIME.test(reading.measuredAt)) return reading.measuredAt;
  const off = reading.utcOffsetMinutes;
  const local = new Date(reading.measuredAtMs + off * 60_000).toISOString().slice(0, 23);
  if (off === 0) return `${local}Z`;
  const abs = Math.abs(off);
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

interface Measured {
  readonly value: number;
  readonly ucum: string;
}

/** Decimal places a number was written with (18.9 → 1, 120 → 0). */
function decimalsOf(n: number): number {
  const m = /\.(\d+)$/.exec(String(n));
  return m === null ? 0 : (m[1] as string).length;
}

/**
 * A value converted from the device's unit, rounded to the precision the device had: one step of
 * the device's last digit, converted, decides the decimal places (0.1 kPa ≈ 0.75 mm[Hg], so a
 * cuff reporting 17.3 kPa sends 130 mm[Hg], not 129.761). Never finer than the canonical value.
 */
export function keepPrecision(converted: number, reported: number): number {
  if (reported === 0 || converted === 0) return converted;
  const step = 10 ** -decimalsOf(reported) * Math.abs(converted / reported);
  const decimals = Math.max(0, Math.min(6, Math.round(-Math.log10(step))));
  const f = 10 ** decimals;
  return Math.round(converted * f) / f;
}

/**
 * A component's value as we send it: exactly as the device reported it when the profile accepts
 * the device's unit (the PHD IG: keep the device's value and precision), else the canonical value
 * rounded to the precision the device reported it with.
 */
function measured(reading: Reading, name: ComponentName, quantity: QuantityKind): Measured | undefined {
  const canonical = reading.components.find((c) => c.name === name);
  if (canonical === undefined) return undefined;
  const reported = reading.reported.values[name];
  // A pulse is counted per minute whatever unit the reading names (normalize.ts does the same).
  const reportedUnit = name === 'pulse' && reading.kind !== 'heart-rate' ? '/min' : ucumCodeOf(quantity, reading.reported.unit);
  const sendable = name === 'pulse' ? ['/min'] : SENDABLE_UNITS[reading.kind];
  if (reported !== undefined && reportedUnit !== undefined && sendable.includes(reportedUnit)) return { value: reported, ucum: reportedUnit };
  if (reported !== undefined && reportedUnit !== undefined && reportedUnit !== canonical.unit) return { value: keepPrecision(canonical.value, reported), ucum: canonical.unit };
  return { value: canonical.value, ucum: canonical.unit };
}

function quantity(m: Measured, kind: Reading['kind'] | 'pulse'): Quantity {
  return { value: m.value, unit: unitText(m.ucum, kind), system: UCUM_SYSTEM, code: m.ucum };
}

function concept(codings: readonly Coding[], text?: string): CodeableConcept {
  return text === undefined ? { coding: codings } : { coding: codings, text };
}

interface Draft {
  readonly kind: Reading['kind'];
  readonly profile: string | undefined;
  readonly category: Coding;
  readonly code: CodeableConcept;
  /** MDC code of the observation type, for the PHD identifier tuple. */
  readonly typeCode: string;
  readonly value?: Quantity;
  readonly components?: readonly ObservationComponent[];
  /** Supplemental context (glucose meal context): sent as components, not part of the identifier. */
  readonly context?: readonly ObservationComponent[];
}

function vital(kind: Reading['kind'], name: ComponentName, m: Measured, mdcOverride?: string): Draft {
  const spec = KIND_SPECS[kind];
  const c = componentSpec(kind, name) ?? spec.components[0];
  if (c === undefined) throw new RpmError('RPM_ERR_INTERNAL', `no component ${name} for ${kind}`);
  const mdc = mdcOverride ?? c.mdc ?? spec.mdc ?? c.code.code;
  const codings = kind === 'spo2' ? [loincCoding(c.code.code, c.code.display), SPO2_ARTERIAL, mdcCoding(mdc)] : [loincCoding(c.code.code, c.code.display), mdcCoding(mdc)];
  return {
    kind,
    profile: PROFILE_OF[kind],
    category: VITAL_SIGNS_CATEGORY,
    code: concept(codings, KIND_TEXT[kind]),
    typeCode: mdc,
    value: quantity(m, kind),
  };
}

/** A pulse measured by a cuff or an oximeter is its own heart-rate Observation (not a BP component). */
function pulseDraft(reading: Reading): Draft | undefined {
  if (reading.kind !== 'blood-pressure' && reading.kind !== 'spo2') return undefined;
  const m = measured(reading, 'pulse', 'rate');
  if (m === undefined) return undefined;
  // MDC_PULS_RATE_NON_INV from a cuff, MDC_PULS_OXIM_PULS_RATE from an oximeter.
  const mdc = componentSpec(reading.kind, 'pulse')?.mdc ?? '149546';
  return vital('heart-rate', 'value', m, mdc);
}

function mainDraft(reading: Reading): Draft {
  const kind = reading.kind;
  switch (kind) {
    case 'blood-pressure': {
      const spec = KIND_SPECS[kind];
      const components: ObservationComponent[] = [];
      for (const name of ['systolic', 'diastolic', 'mean'] as const) {
        const c = componentSpec(kind, name);
        const m = measured(reading, name, 'pressure');
        if (c === undefined || m === undefined) continue;
        components.push({ code: concept([loincCoding(c.code.code, c.code.display), mdcCoding(c.mdc ?? c.code.code)]), valueQuantity: quantity(m, kind) });
      }
      return {
        kind,
        profile: PROFILE_OF[kind],
        category: VITAL_SIGNS_CATEGORY,
        code: concept([loincCoding(spec.code.code, spec.code.display), mdcCoding(spec.mdc ?? spec.code.code)], KIND_TEXT[kind]),
        typeCode: spec.mdc ?? spec.code.code,
        components,
      };
    }
    case 'blood-glucose': {
      const m = measured(reading, 'value', 'glucose');
      if (m === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'glucose reading without a value');
      const codes = GLUCOSE_CODES[reading.glucoseMethod === 'cgm' ? 'cgm' : 'meter'];
      const loinc = m.ucum === 'mmol/L' ? codes['mmol/L'] : codes['mg/dL'];
      const meal = reading.mealContext === null || reading.mealContext === 'unspecified' ? undefined : MEAL_CONTEXT_VALUE[reading.mealContext];
      return {
        kind,
        profile: undefined,
        category: LABORATORY_CATEGORY,
        code: concept([loinc, mdcCoding(codes.mdc)], KIND_TEXT[kind]),
        typeCode: codes.mdc,
        value: quantity(m, kind),
        ...(meal === undefined ? {} : { context: [{ code: MEAL_CONTEXT_CODE, valueCodeableConcept: meal }] }),
      };
    }
    default: {
      const spec = KIND_SPECS[kind];
      const first = spec.components[0];
      const m = first === undefined ? undefined : measured(reading, 'value', first.quantity);
      if (m === undefined) throw new RpmError('RPM_ERR_INTERNAL', `${kind} reading without a value`);
      return vital(kind, 'value', m);
    }
  }
}

function observation(reading: Reading, draft: Draft, ctx: MappingContext): Observation {
  const values = draft.components?.map((c) => c.valueQuantity?.value ?? Number.NaN) ?? (draft.value === undefined ? [] : [draft.value.value]);
  const unit = draft.components?.[0]?.valueQuantity?.code ?? draft.value?.code ?? '';
  const components = [...(draft.components ?? []), ...(draft.context ?? [])];
  const patientId = reading.patientId ?? '';
  const identifier = phdIdentifier({
    deviceId: reading.deviceId,
    patientId,
    patientSystem: ctx.systems.patient,
    typeCode: draft.typeCode,
    values,
    unit,
    reportedTime: reading.measuredAt,
  });
  const extension: Extension[] = [];
  if (ctx.hub !== undefined) extension.push({ url: GATEWAY_DEVICE_EXTENSION, valueReference: ctx.hub });
  if (reading.setting === 'home') extension.push({ url: MEASUREMENT_SETTING_EXTENSION, valueCodeableConcept: { coding: [HOME_SETTING] } });
  return {
    resourceType: 'Observation',
    meta: {
      source: ctx.systems.source,
      ...(draft.profile === undefined ? {} : { profile: [draft.profile] }),
      ...(ctx.simulated ? { security: [TEST_DATA_TAG] } : {}),
    },
    identifier: [{ system: ctx.systems.reading, value: identifier }],
    ...(extension.length === 0 ? {} : { extension }),
    status: 'final',
    category: [{ coding: [draft.category] }],
    code: draft.code,
    subject: ctx.patient,
    effectiveDateTime: fhirDateTime(reading),
    issued: new Date(reading.receivedAtMs).toISOString(),
    // Self-measured: the patient performed it, unless the device could not tell who did.
    ...(reading.entryMethod === 'ambiguous-user' ? {} : { performer: [ctx.patient] }),
    ...(ctx.device === undefined ? {} : { device: ctx.device }),
    ...(draft.value === undefined ? {} : { valueQuantity: draft.value }),
    ...(components.length === 0 ? {} : { component: components }),
  };
}

/**
 * One reading as R4 Observations: the reading itself, conforming to the vital-signs profile of
 * its kind (and US Core where stricter), plus a separate heart-rate Observation when a BP cuff
 * or oximeter also counted the pulse. Each has its own PHD identifier, so resending any of them
 * is recognised by the EHR.
 */
export function mapReading(reading: Reading, ctx: MappingContext): Observation[] {
  if (reading.patientId === null) throw new RpmError('RPM_ERR_INTERNAL', 'an unattributed reading cannot be forwarded');
  const drafts = [mainDraft(reading)];
  const pulse = pulseDraft(reading);
  if (pulse !== undefined) drafts.push(pulse);
  return drafts.map((d) => observation(reading, d, ctx));
}

/**
 * One reading as one Observation, for reading it back (`GET /fhir/Observation/{id}`): the same
 * mapping, with the pulse a cuff or oximeter counted as a component (8867-4) rather than an
 * Observation of its own, since the read names one resource.
 */
export function readingObservation(reading: Reading, ctx: MappingContext & { readonly id: string }): Observation {
  const main = observation(reading, mainDraft(reading), ctx);
  const pulse = pulseDraft(reading);
  const pulseComponent: ObservationComponent[] = pulse?.value === undefined ? [] : [{ code: pulse.code, valueQuantity: pulse.value }];
  const components = [...(main.component ?? []), ...pulseComponent];
  return { ...main, id: ctx.id, ...(components.length === 0 ? {} : { component: components }) };
}
