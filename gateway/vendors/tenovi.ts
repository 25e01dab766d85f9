import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { ReadingFlag } from '../../core/model/reading.js';
import type { SettingsOf } from '../../core/model/vendor.js';
import { isoAt, MAX_OFFSET_MIN, numeric, sameSecret, seg, type Translated, TranslationBuilder } from './translation.js';

/**
 * Tenovi measurement webhooks (docs.tenovi.com, "Measurement Webhooks"; device-formats.md §1).
 * Tenovi POSTs one measurement object, or with `post_as_array` the coincident metrics of one
 * physical reading as an array, with the header `auth_header: auth_key` configured on the
 * webhook. A measurement is bound by `hwi_device_id`, never by `hardware_uuid` (the gateway's
 * id, which changes when a gateway is replaced) nor by Tenovi's `patient_id`.
 */

const measurement = z.looseObject({
  metric: z.string().min(1).max(64),
  hwi_device_id: z.string().min(1).max(128),
  timestamp: z.string().min(10).max(64),
  device_name: z.string().max(128).nullish(),
  sensor_code: z.union([z.string().max(16), z.number()]).nullish(),
  value_1: z.union([z.string().max(64), z.number()]).nullish(),
  value_2: z.union([z.string().max(64), z.number()]).nullish(),
  created: z.string().max(64).nullish(),
  timezone_offset: z.number().nullish(),
  estimated_timestamp: z.boolean().nullish(),
  filter_params: z.looseObject({}).nullish(),
});
type Measurement = z.infer<typeof measurement>;

/** Metrics Tenovi devices send that are not vitals we store (counted, never stored). */
const NON_VITAL = new Set(['steps', 'sleep', 'heart_rate_statistics', 'perfusion_index']);

/** filter_params.meal_context (Tenovi glucometer) → our meal context. */
const MEAL: Readonly<Record<string, string>> = { 'pre-prandial': 'before-meal', 'post-prandial': 'after-meal', fasting: 'fasting' };

/** Tenovi's `auth_header: auth_key`, compared in constant time. */
export function tenoviAuthorized(settings: SettingsOf<'tenovi'>, headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const presented = headers[settings.authHeader.toLowerCase()];
  return typeof presented === 'string' && sameSecret(presented, settings.authKey);
}

/**
 * `timestamp` as an instant. Tenovi documents it as a date string; its API serializes UTC with a
 * `Z`. A timestamp without an offset is read as UTC (Tenovi's API time), never as local time.
 */
function instantOf(timestamp: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|z|[+-]\d{2}:?\d{2})?$/.exec(timestamp.trim());
  if (m === null) return undefined;
  const offset = m[3] === undefined ? 'Z' : m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3];
  const ms = Date.parse(`${m[1]}T${m[2]}${offset}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * `timezone_offset`: the patient's local offset. Its unit is not documented (device-formats.md
 * marks it unverified); the documented example (-300) is minutes. Read by magnitude: a multiple
 * of 15 up to ±840 is minutes, a multiple of 900 up to ±50400 seconds, up to ±14 hours; anything
 * else is ignored (the instant never depends on it, only the local time shown).
 */
export function tenoviOffsetMinutes(raw: number | null | undefined): number {
  if (raw === null || raw === undefined || !Number.isInteger(raw)) return 0;
  const abs = Math.abs(raw);
  if (raw % 15 === 0 && abs <= MAX_OFFSET_MIN) return raw;
  if (raw % 900 === 0 && abs <= MAX_OFFSET_MIN * 60) return raw / 60;
  if (abs <= 14) return raw * 60;
  return 0;
}

const measurementIndexOf = (m: Measurement): number | undefined => {
  const i = m.filter_params?.measurement_index;
  return typeof i === 'number' && Number.isInteger(i) && i > 0 ? i : undefined;
};

/** Coincident measurements (same device, same timestamp, same index) are one physical reading. */
const readingKey = (m: Measurement): string => `${m.hwi_device_id}|${m.timestamp}|${measurementIndexOf(m) ?? ''}`;

/** The webhook body: one measurement object or an array of them. Throws RPM_ERR_VENDOR_PAYLOAD_INVALID otherwise. */
export function translateTenovi(body: unknown, settings: SettingsOf<'tenovi'>): Translated {
  const list = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? [body] : undefined;
  if (list === undefined || list.length === 0) throw new RpmError('RPM_ERR_VENDOR_PAYLOAD_INVALID', 'a Tenovi measurement webhook is a measurement object or a non-empty array of them', { path: '' });
  const out = new TranslationBuilder<'tenovi'>();
  const root = (i: number): string => (Array.isArray(body) ? seg(i) : '');
  const parsed = list.map((raw) => measurement.safeParse(raw));
  // irregular_heartbeat rides with the blood pressure of the same physical reading (post_as_array).
  const irregular = new Set<string>();
  for (const p of parsed) if (p.success && p.data.metric === 'irregular_heartbeat') irregular.add(readingKey(p.data));

  parsed.forEach((p, i) => {
    const path = root(i);
    if (!p.success) {
      const issue = p.error.issues[0];
      const hwi = (list[i] as { hwi_device_id?: unknown } | null)?.hwi_device_id;
      out.refuse(typeof hwi === 'string' ? hwi : '', `${path}/${(issue?.path ?? []).join('/')}`, 'RPM_ERR_READING_INVALID', `not a Tenovi measurement: ${issue?.message ?? 'invalid'}`);
      return;
    }
    const m = p.data;
    const hwi = m.hwi_device_id;
    const atMs = instantOf(m.timestamp);
    if (atMs === undefined) {
      out.refuse(hwi, `${path}/timestamp`, 'RPM_ERR_READING_TIME_INVALID', `timestamp '${m.timestamp.slice(0, 40)}' is not an ISO 8601 date and time`);
      return;
    }
    const v1 = numeric(m.value_1);
    const v2 = numeric(m.value_2);
    if (m.metric === 'battery_percentage') {
      if (v1 === undefined) out.ignore('invalid-status');
      else out.status(hwi, v1, atMs);
      return;
    }
    if (m.metric === 'irregular_heartbeat') {
      // Kept with its blood pressure when they came together; alone it has nothing to ride on.
      const withBp = parsed.some((q) => q.success && q.data.metric === 'blood_pressure' && readingKey(q.data) === readingKey(m));
      if (!withBp) out.ignore('irregular-heartbeat-alone');
      return;
    }
    if (NON_VITAL.has(m.metric)) {
      out.ignore('non-vital');
      return;
    }
    const index = measurementIndexOf(m);
    const flags: ReadingFlag[] = m.estimated_timestamp === true ? ['time-estimated'] : [];
    const details: Record<string, string | number | boolean> = {};
    if (index !== undefined) details.measurementIndex = index;
    if (m.sensor_code !== null && m.sensor_code !== undefined) details.sensorCode = String(m.sensor_code);
    if (typeof m.device_name === 'string' && m.device_name !== '') details.deviceName = m.device_name;
    const extra = { ...(index === undefined ? {} : { disambiguator: `mi${index}` }), flags, details };
    const measuredAt = isoAt(atMs, tenoviOffsetMinutes(m.timezone_offset));
    const need = (v: number | undefined, field: 'value_1' | 'value_2'): v is number => {
      if (v !== undefined) return true;
      out.refuse(hwi, `${path}/${field}`, 'RPM_ERR_READING_INVALID', `${field} must be a number (Tenovi sends numbers as strings, e.g. "148")`, extra);
      return false;
    };

    switch (m.metric) {
      case 'blood_pressure':
        if (!need(v1, 'value_1') || !need(v2, 'value_2')) return;
        if (irregular.has(readingKey(m))) details.irregularHeartbeat = true;
        out.reading(hwi, path, { kind: 'blood-pressure', systolic: v1, diastolic: v2, unit: 'mmHg', measuredAt }, extra);
        return;
      case 'pulse':
        if (!need(v1, 'value_1')) return;
        if (v2 !== undefined) details.standardDeviation = v2;
        out.reading(hwi, path, { kind: 'heart-rate', value: v1, unit: 'bpm', measuredAt }, extra);
        return;
      case 'spO2':
      case 'spo2':
        if (!need(v1, 'value_1')) return;
        if (v2 !== undefined) details.standardDeviation = v2;
        out.reading(hwi, path, { kind: 'spo2', value: v1, unit: '%', measuredAt }, extra);
        return;
      case 'glucose': {
        const fp = m.filter_params ?? {};
        if (fp.measurement_location === 'control solution') {
          // A meter check with control solution: not the patient's blood.
          out.ignore('control-solution');
          return;
        }
        if (!need(v1, 'value_1')) return;
        if (typeof fp.alert === 'string') details.meterAlert = fp.alert;
        if (typeof fp.measurement_location === 'string') details.measurementLocation = fp.measurement_location;
        const meal = typeof fp.meal_context === 'string' ? MEAL[fp.meal_context] : undefined;
        out.reading(hwi, path, { kind: 'blood-glucose', value: v1, unit: 'mg/dL', method: 'meter', ...(meal === undefined ? {} : { mealContext: meal }), measuredAt }, extra);
        return;
      }
      case 'weight':
      case 'temperature': {
        // Tenovi's documentation names these metrics but not their units: the organization says.
        const unit = m.metric === 'weight' ? settings.weightUnit : settings.temperatureUnit;
        if (unit === undefined) {
          out.refuse(hwi, `${path}/value_1`, 'RPM_ERR_READING_UNIT_UNSUPPORTED', `Tenovi does not document the unit of '${m.metric}'; set ${m.metric === 'weight' ? 'weightUnit' : 'temperatureUnit'} on the Tenovi connection`, extra);
          return;
        }
        if (!need(v1, 'value_1')) return;
        out.reading(hwi, path, { kind: m.metric === 'weight' ? 'body-weight' : 'body-temperature', value: v1, unit, measuredAt }, extra);
        return;
      }
      default:
        out.ignore('unknown-metric');
    }
  });
  return out.done();
}
