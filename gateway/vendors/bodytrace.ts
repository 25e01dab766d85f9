import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { SettingsOf } from '../../core/model/vendor.js';
import { isoAt, sameSecret, type Translated, TranslationBuilder } from './translation.js';

/**
 * BodyTrace cellular scales (BodyTrace's integration README; device-formats.md §2). The scale's
 * cloud POSTs one JSON message per event with HTTP basic credentials configured for the
 * receiver: `{"deviceId": …, "ts": <epoch ms, UTC>, "batteryVoltage": <mV>, "rssi": …,
 * "values": {"unit": <display unit>, "weight": <grams>, "tare": <grams>}}`.
 *
 * - `values.weight` is in grams whatever unit the scale displays (`values.unit`, kept as detail).
 * - `values.tare` above 100 g (0.1 kg) is a calibration error: the weight is offset by the tare,
 *   so it is refused (RPM_ERR_READING_CALIBRATION, recorded with the payload's hash), never stored.
 * - `batteryVoltage` is device status (functional range 4.7–6.0 V → 0–100 %), not a vital.
 * - A message without `values.weight` is status only.
 */

const message = z.looseObject({
  // The IMEI without leading zeros and its last digit: a JSON number (14 digits fit a double exactly) or a string.
  deviceId: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]),
  ts: z.number().int().positive(),
  batteryVoltage: z.number().nullish(),
  rssi: z.number().nullish(),
  values: z
    .looseObject({
      unit: z.number().nullish(),
      weight: z.number().nullish(),
      tare: z.number().nullish(),
    })
    .nullish(),
});

/** Tare above this many grams (0.1 kg) means the scale is not calibrated (BodyTrace). */
const MAX_TARE_G = 100;
const BATTERY_EMPTY_MV = 4700;
const BATTERY_FULL_MV = 6000;

/** `Authorization: Basic …` with the organization's BodyTrace username and password. */
export function bodytraceAuthorized(settings: SettingsOf<'bodytrace'>, authorization: string | undefined): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (m === null) return false;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared, always, so a wrong username costs the same as a wrong password.
  const user = sameSecret(decoded.slice(0, colon), settings.username);
  const pass = sameSecret(decoded.slice(colon + 1), settings.password);
  return user && pass;
}

/** Battery voltage (mV) → percent of the scale's functional range. */
export function batteryPercentOf(millivolts: number): number {
  return Math.round(((millivolts - BATTERY_EMPTY_MV) / (BATTERY_FULL_MV - BATTERY_EMPTY_MV)) * 100);
}

export function translateBodyTrace(body: unknown): Translated {
  const parsed = message.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RpmError('RPM_ERR_VENDOR_PAYLOAD_INVALID', `not a BodyTrace message: ${(issue?.path ?? []).join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, {
      path: `/${(issue?.path ?? []).join('/')}`,
    });
  }
  const m = parsed.data;
  const out = new TranslationBuilder<'bodytrace'>();
  const deviceId = String(m.deviceId);
  const battery = m.batteryVoltage === null || m.batteryVoltage === undefined ? undefined : batteryPercentOf(m.batteryVoltage);
  if (battery !== undefined) out.status(deviceId, battery, m.ts);
  const v = m.values;
  if (v === null || v === undefined || v.weight === null || v.weight === undefined) return out.done();
  const details: Record<string, number> = {};
  if (typeof v.unit === 'number') details.displayUnit = v.unit;
  if (typeof v.tare === 'number') details.tareGrams = v.tare;
  if (typeof v.tare === 'number' && v.tare > MAX_TARE_G) {
    out.refuse(deviceId, '/values/tare', 'RPM_ERR_READING_CALIBRATION', `the scale reports a tare of ${v.tare} g (more than ${MAX_TARE_G} g): it needs calibrating, and its weight is offset by the tare`, { details });
    return out.done();
  }
  out.reading(deviceId, '/values/weight', { kind: 'body-weight', value: v.weight, unit: 'g', measuredAt: isoAt(m.ts) }, { details });
  return out.done();
}
