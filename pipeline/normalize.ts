import type { z } from 'zod';
import type { RpmErrorCode } from '../core/errors/codes.js';
import {
  bloodGlucoseInput,
  bloodPressureInput,
  bodyTemperatureInput,
  bodyWeightInput,
  consciousnessInput,
  heartRateInput,
  type ReadingInput,
  respiratoryRateInput,
  spo2Input,
  supplementalOxygenInput,
} from '../core/model/reading-input.js';
import {
  ACVPU_LEVELS,
  CANONICAL_UNIT,
  CGM_GLUCOSE_CODE,
  type ComponentName,
  KIND_SPECS,
  READING_KINDS,
  type ReadingKind,
  STAFF_ONLY_KINDS,
} from '../core/model/reading-kinds.js';
import type { EntryMethod, GlucoseMethod, MealContext, ReadingComponent, Setting, Transport } from '../core/model/reading.js';
import { parseMeasurementTime } from './measurement-time.js';
import { resolveUnit, toCanonical } from './units.js';

/** Why one reading was refused. `path` is a JSON pointer relative to the reading. */
export interface ReadingProblem {
  readonly code: RpmErrorCode;
  readonly path: string;
  readonly message: string;
}

/** A reading that passed schema, unit, time and plausibility checks, before device and patient resolution. */
export interface ReadingDraft {
  readonly clientId: string | null;
  readonly relayedDeviceId: string | null;
  readonly kind: ReadingKind;
  readonly code: string;
  readonly components: readonly ReadingComponent[];
  readonly reported: { readonly unit: string; readonly values: Readonly<Partial<Record<ComponentName, number>>> };
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
  /** Device status carried by the reading; not part of the stored reading. */
  readonly batteryPercent: number | null;
}

export interface NormalizeLimits {
  readonly futureToleranceMs: number;
  readonly maxReadingAgeMs: number;
}

export interface NormalizeContext {
  readonly transport: Transport;
  readonly receivedAtMs: number;
  readonly limits: NormalizeLimits;
  /** Glucose readings from a CGM default to the CGM method. */
  readonly defaultGlucoseMethod: GlucoseMethod;
  /** A staff member records the reading (a manual entry): staff-only kinds are allowed. */
  readonly staffEntry?: boolean;
}

export type NormalizeResult =
  | { readonly ok: true; readonly draft: ReadingDraft }
  | { readonly ok: false; readonly problem: ReadingProblem; readonly clientId: string | null };

const SCHEMAS: Readonly<Record<ReadingKind, z.ZodType<ReadingInput>>> = {
  'blood-pressure': bloodPressureInput,
  'heart-rate': heartRateInput,
  spo2: spo2Input,
  'body-weight': bodyWeightInput,
  'body-temperature': bodyTemperatureInput,
  'blood-glucose': bloodGlucoseInput,
  'respiratory-rate': respiratoryRateInput,
  consciousness: consciousnessInput,
  'supplemental-oxygen': supplementalOxygenInput,
};

const KIND_SET: ReadonlySet<string> = new Set(READING_KINDS);

function pointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

function problem(code: RpmErrorCode, path: string, message: string): ReadingProblem {
  return { code, path, message };
}

function clientIdOf(raw: unknown): string | null {
  if (typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'string' && raw.id.length <= 128) return raw.id;
  return null;
}

/** Values the device sent for each component, keyed by component name. */
function reportedValues(input: ReadingInput): Partial<Record<ComponentName, number>> {
  switch (input.kind) {
    case 'blood-pressure': {
      const v: Partial<Record<ComponentName, number>> = { systolic: input.systolic, diastolic: input.diastolic };
      if (input.mean !== undefined) v.mean = input.mean;
      if (input.pulse !== undefined) v.pulse = input.pulse;
      return v;
    }
    case 'spo2':
      return input.pulse === undefined ? { value: input.value } : { value: input.value, pulse: input.pulse };
    case 'consciousness':
      return { value: ACVPU_LEVELS.indexOf(input.level) };
    default:
      return { value: input.value };
  }
}

/**
 * Validate one raw reading and bring it into the canonical model: schema, unit (converted with
 * UCUM), measurement time, plausibility. Pure apart from the unit-converter cache.
 *
 * Never throws. A defect that throws on some input must cost that reading, not its batch: an
 * exception here would fail the whole HTTP request and leave an MQTT publish unacknowledged,
 * so a device with a persistent session would redeliver it forever and block its later readings.
 */
export function normalizeReading(raw: unknown, ctx: NormalizeContext): NormalizeResult {
  try {
    return normalizeUnchecked(raw, ctx);
  } catch {
    return { ok: false, problem: problem('RPM_ERR_READING_INVALID', '', 'the reading could not be processed'), clientId: clientIdOf(raw) };
  }
}

function normalizeUnchecked(raw: unknown, ctx: NormalizeContext): NormalizeResult {
  const clientId = clientIdOf(raw);
  const fail = (p: ReadingProblem): NormalizeResult => ({ ok: false, problem: p, clientId });

  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return fail(problem('RPM_ERR_READING_INVALID', '', 'a reading must be a JSON object'));
  }
  const kind = (raw as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !KIND_SET.has(kind)) {
    return fail(problem('RPM_ERR_READING_UNKNOWN_KIND', '/kind', `kind must be one of ${READING_KINDS.join(', ')}`));
  }
  const spec = KIND_SPECS[kind as ReadingKind];
  if (STAFF_ONLY_KINDS.has(spec.kind) && ctx.staffEntry !== true) {
    return fail(problem('RPM_ERR_READING_STAFF_ONLY', '/kind', `${spec.kind} is recorded by staff (POST /v1/patients/{id}/observations), not by devices`));
  }
  const parsed = SCHEMAS[kind as ReadingKind].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(problem('RPM_ERR_READING_INVALID', pointer(issue?.path ?? []), issue?.message ?? 'invalid reading'));
  }
  const input = parsed.data;

  const time = parseMeasurementTime(input.measuredAt);
  if (time === undefined) {
    return fail(problem('RPM_ERR_READING_TIME_INVALID', '/measuredAt', 'measuredAt must be ISO 8601 with a UTC offset, e.g. 2026-12-01T07:02:00-05:00'));
  }
  if (time.instantMs > ctx.receivedAtMs + ctx.limits.futureToleranceMs) {
    return fail(problem('RPM_ERR_READING_TIME_IN_FUTURE', '/measuredAt', `measuredAt is more than ${Math.round(ctx.limits.futureToleranceMs / 1000)} s ahead of the gateway clock`));
  }
  if (time.instantMs < ctx.receivedAtMs - ctx.limits.maxReadingAgeMs) {
    return fail(problem('RPM_ERR_READING_TIME_TOO_OLD', '/measuredAt', `measuredAt is more than ${Math.round(ctx.limits.maxReadingAgeMs / 86_400_000)} days old; check the device clock`));
  }

  const reported = reportedValues(input);
  const unit = input.unit ?? CANONICAL_UNIT[spec.components[0]?.quantity ?? 'rate'];
  const glucoseMethod: GlucoseMethod | null = input.kind === 'blood-glucose' ? (input.method ?? ctx.defaultGlucoseMethod) : null;
  const components: ReadingComponent[] = [];
  for (const c of spec.components) {
    const value = reported[c.name];
    if (value === undefined) continue;
    // The reading's unit applies to its measured quantity; a pulse is always counted per minute.
    const deviceUnit = c.name === 'pulse' && spec.kind !== 'heart-rate' ? '/min' : unit;
    const ucumUnit = resolveUnit(c.quantity, deviceUnit);
    if (ucumUnit === undefined) {
      return fail(problem('RPM_ERR_READING_UNIT_UNSUPPORTED', '/unit', `unit '${unit}' is not accepted for ${spec.kind}`));
    }
    const canonical = toCanonical(c.quantity, ucumUnit, value);
    const [min, max] = c.bounds;
    if (canonical < min || canonical > max) {
      return fail(problem('RPM_ERR_READING_IMPLAUSIBLE', `/${c.name === 'value' && spec.kind === 'consciousness' ? 'level' : c.name}`, `${c.name} ${value} ${unit} is outside the possible range ${min}–${max} ${CANONICAL_UNIT[c.quantity]}`));
    }
    const code = glucoseMethod === 'cgm' ? CGM_GLUCOSE_CODE.code : c.code.code;
    components.push({ name: c.name, code, value: canonical, unit: CANONICAL_UNIT[c.quantity] });
  }

  if (input.kind === 'blood-pressure') {
    const sys = components.find((c) => c.name === 'systolic')?.value ?? 0;
    const dia = components.find((c) => c.name === 'diastolic')?.value ?? 0;
    if (sys <= dia) {
      return fail(problem('RPM_ERR_READING_IMPLAUSIBLE', '/systolic', 'systolic must be higher than diastolic'));
    }
    const mean = components.find((c) => c.name === 'mean')?.value;
    if (mean !== undefined && (mean < dia || mean > sys)) {
      return fail(problem('RPM_ERR_READING_IMPLAUSIBLE', '/mean', 'mean pressure must lie between diastolic and systolic'));
    }
  }

  const code = glucoseMethod === 'cgm' ? CGM_GLUCOSE_CODE.code : spec.code.code;
  return {
    ok: true,
    draft: {
      clientId: input.id ?? null,
      relayedDeviceId: input.deviceId ?? null,
      kind: spec.kind,
      code,
      components,
      reported: { unit, values: reported },
      measuredAt: input.measuredAt,
      measuredAtMs: time.instantMs,
      utcOffsetMinutes: time.utcOffsetMinutes,
      receivedAtMs: ctx.receivedAtMs,
      entryMethod: input.entryMethod ?? 'device',
      setting: input.setting ?? 'home',
      mealContext: input.kind === 'blood-glucose' ? (input.mealContext ?? null) : null,
      glucoseMethod,
      sequence: input.sequence ?? null,
      transport: ctx.transport,
      batteryPercent: input.batteryPercent ?? null,
    },
  };
}
