import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { SettingsOf } from '../../core/model/vendor.js';
import { bearerToken } from '../auth/admin-token.js';
import { sameSecret, seg, type Translated, TranslationBuilder } from './translation.js';

/**
 * Open mHealth data points (IEEE 1752.1; github.com/openmhealth/schemas; device-formats.md §5):
 * `{"header": {"id", "schema_id": {"namespace", "name", "version"}, "acquisition_provenance"},
 * "body": {…}}`, one or an array. The bodies we take are the clinical measures of the schema
 * library: blood-pressure, body-weight, blood-glucose, oxygen-saturation, heart-rate and
 * body-temperature, each a value with its unit at `effective_time_frame.date_time`.
 *
 * IEEE 1752.1 defines no transport or authentication; the sending platform presents the
 * organization's bearer token, and the request path names whose data points they are.
 */

const unitValue = z.looseObject({ value: z.number(), unit: z.string().max(32) });
const header = z.looseObject({
  id: z.string().max(128).optional(),
  uuid: z.string().max(128).optional(),
  schema_id: z.looseObject({ namespace: z.string().max(32), name: z.string().max(64), version: z.string().max(16) }),
  acquisition_provenance: z.looseObject({ source_name: z.string().max(128).optional(), modality: z.string().max(32).optional() }).optional(),
  modality: z.string().max(32).optional(),
});
const dataPoint = z.looseObject({ header, body: z.looseObject({}) });

/** The schema's unit spellings → ours (the rest is refused by normalization as unsupported). */
const UNITS: Readonly<Record<string, string>> = { F: '[degF]', C: 'Cel', 'beats/min': 'bpm' };

/** temporal_relationship_to_meal (schema 1.x) → our meal context. */
function mealOf(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (v === 'fasting') return 'fasting';
  if (v.startsWith('before ')) return 'before-meal';
  if (v.startsWith('after ') || v === '2 hours postprandial') return 'after-meal';
  return 'unspecified';
}

/** Bearer token of the organization's Open mHealth connection, compared in constant time. */
export function openMhealthAuthorized(settings: SettingsOf<'open-mhealth'>, authorization: string | undefined): boolean {
  const token = bearerToken(authorization);
  return token !== undefined && sameSecret(token, settings.token);
}

export function translateOpenMhealth(externalId: string, body: unknown): Translated {
  const list = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? [body] : undefined;
  if (list === undefined || list.length === 0) throw new RpmError('RPM_ERR_VENDOR_PAYLOAD_INVALID', 'an Open mHealth data point ({header, body}) or a non-empty array of them', { path: '' });
  const out = new TranslationBuilder<'open-mhealth'>();
  list.forEach((raw, i) => {
    const path = Array.isArray(body) ? seg(i) : '';
    const parsed = dataPoint.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      out.refuse(externalId, `${path}/${(issue?.path ?? []).join('/')}`, 'RPM_ERR_READING_INVALID', `not an Open mHealth data point: ${issue?.message ?? 'invalid'}`);
      return;
    }
    const { header: h, body: b } = parsed.data;
    const recordId = h.id ?? h.uuid;
    const modality = h.acquisition_provenance?.modality ?? h.modality;
    const details: Record<string, string> = { schema: `${h.schema_id.namespace}:${h.schema_id.name}:${h.schema_id.version}` };
    if (modality !== undefined) details.modality = modality;
    const extra = { ...(recordId === undefined ? {} : { recordId }), details };
    const refuse = (where: string, code: Parameters<TranslationBuilder<'open-mhealth'>['refuse']>[2], message: string): void => out.refuse(externalId, `${path}/body${where}`, code, message, extra);

    if (h.schema_id.namespace !== 'omh' && h.schema_id.namespace !== 'ieee') {
      out.ignore('unsupported-schema');
      return;
    }
    const frame = b.effective_time_frame as { date_time?: unknown; time_interval?: unknown } | undefined;
    const time = frame?.date_time;
    const measure = (field: string): z.infer<typeof unitValue> | undefined => {
      const v = unitValue.safeParse(b[field]);
      return v.success ? v.data : undefined;
    };
    const known = ['blood-pressure', 'body-weight', 'blood-glucose', 'oxygen-saturation', 'heart-rate', 'body-temperature'];
    if (!known.includes(h.schema_id.name)) {
      out.ignore('unsupported-schema');
      return;
    }
    if (b.descriptive_statistic !== undefined || frame?.time_interval !== undefined) {
      // A minimum over a month is a statistic, not a reading: it would mislead a trend.
      refuse(b.descriptive_statistic !== undefined ? '/descriptive_statistic' : '/effective_time_frame', 'RPM_ERR_READING_INVALID', 'a descriptive statistic or a time interval is not a measurement at one instant; send the readings themselves');
      return;
    }
    if (typeof time !== 'string') {
      refuse('/effective_time_frame', 'RPM_ERR_READING_TIME_INVALID', 'effective_time_frame.date_time (ISO 8601 with an offset) is required');
      return;
    }
    const common = { measuredAt: time, ...(modality === 'self-reported' ? { entryMethod: 'manual' } : {}) };
    const unit = (u: string): string => UNITS[u] ?? u;
    const single = (field: string, kind: string, extraFields: Record<string, unknown> = {}): void => {
      const v = measure(field);
      if (v === undefined) {
        refuse(`/${field}`, 'RPM_ERR_READING_INVALID', `${field} ({value, unit}) is required by ${h.schema_id.name}`);
        return;
      }
      out.reading(externalId, path, { kind, value: v.value, unit: unit(v.unit), ...extraFields, ...common }, extra);
    };

    switch (h.schema_id.name) {
      case 'blood-pressure': {
        const sys = measure('systolic_blood_pressure');
        const dia = measure('diastolic_blood_pressure');
        if (sys === undefined || dia === undefined) {
          refuse(sys === undefined ? '/systolic_blood_pressure' : '/diastolic_blood_pressure', 'RPM_ERR_READING_INVALID', 'systolic_blood_pressure and diastolic_blood_pressure are required');
          return;
        }
        if (sys.unit !== dia.unit) {
          refuse('/diastolic_blood_pressure/unit', 'RPM_ERR_READING_UNIT_UNSUPPORTED', 'systolic and diastolic in different units');
          return;
        }
        if (typeof b.body_posture === 'string') details.bodyPosture = b.body_posture;
        if (typeof b.measurement_location === 'string') details.measurementLocation = b.measurement_location;
        out.reading(externalId, path, { kind: 'blood-pressure', systolic: sys.value, diastolic: dia.value, unit: sys.unit, ...common }, extra);
        return;
      }
      case 'body-weight':
        single('body_weight', 'body-weight');
        return;
      case 'heart-rate':
        single('heart_rate', 'heart-rate');
        return;
      case 'body-temperature':
        if (typeof b.measurement_location === 'string') details.measurementLocation = b.measurement_location;
        single('body_temperature', 'body-temperature');
        return;
      case 'oxygen-saturation': {
        const flow = measure('supplemental_oxygen_flow_rate');
        if (flow !== undefined) details.supplementalOxygen = `${flow.value} ${flow.unit}`;
        single('oxygen_saturation', 'spo2');
        return;
      }
      default: {
        // blood-glucose: capillary blood is a meter, interstitial fluid a CGM; other specimens are not blood glucose.
        const specimen = b.specimen_source ?? b.blood_specimen_type;
        if (specimen !== undefined && specimen !== 'capillary blood' && specimen !== 'interstitial fluid' && specimen !== 'whole blood') {
          refuse('/specimen_source', 'RPM_ERR_READING_INVALID', `a ${String(specimen)} glucose is not a blood glucose we take`);
          return;
        }
        const meal = mealOf(b.temporal_relationship_to_meal);
        single('blood_glucose', 'blood-glucose', { method: specimen === 'interstitial fluid' ? 'cgm' : 'meter', ...(meal === undefined ? {} : { mealContext: meal }) });
      }
    }
  });
  return out.done();
}
