import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { SettingsOf } from '../../core/model/vendor.js';
import { clientIdFrom, isoAt, MAX_OFFSET_MIN, sameSecret, seg, type Translated, TranslationBuilder } from './translation.js';

/**
 * Validic Inform measurement records (Validic's Inform documentation; device-formats.md §6),
 * pushed by Validic's Push Service: one record, an array, or `{"data": [...]}`. A record:
 * `{"log_id", "type": "measurement", "start_time" (UTC), "utc_offset" (seconds),
 * "metrics": [{"type", "unit", "value", "origin"}], "source": {…}, "user": {"uid", …}}`.
 *
 * - The record is bound by its user's `uid` (the id the organization provisioned the user with),
 *   or `user_id` when there is no `uid`.
 * - `log_id` is Validic's record id: kept as the record id and (hashed) as the client id. The
 *   reading's identity stays (device, kind, measurement instant), so a record resent under the
 *   same `log_id`, or the same measurement reaching us another way, is one reading.
 * - `utc_offset` gives the local time; the instant is `start_time`. An offset beyond ±14 h
 *   (Validic's own test record carries -72000 s) is not a real one: the time stays in UTC.
 *
 * Authentication (Validic "Authenticating Push Notifications"): `X-Validic-Signature` is
 * base64(HMAC-SHA1(application secret, organization access token + "notification" +
 * X-Validic-Timestamp)). The signature does not cover the body, so a timestamp outside the
 * replay window is refused, and a signature already seen with another body is refused too.
 */

const metric = z.looseObject({ type: z.string().max(64), unit: z.string().max(32).nullish(), value: z.number().nullish(), origin: z.string().max(32).nullish() });
const record = z.looseObject({
  log_id: z.union([z.string().min(1).max(256), z.number()]).nullish(),
  type: z.string().max(64),
  start_time: z.string().max(64),
  utc_offset: z.number().int().nullish(),
  metrics: z.array(z.unknown()),
  source: z.looseObject({ type: z.string().max(128).nullish(), device: z.looseObject({ model: z.string().max(256).nullish() }).nullish() }).nullish(),
  user: z.looseObject({ uid: z.string().max(128).nullish(), user_id: z.string().max(128).nullish() }).nullish(),
  uid: z.string().max(128).nullish(),
  user_notes: z.array(z.looseObject({ type: z.string().nullish(), value: z.unknown() })).nullish(),
});

/** relationship_to_meal user note → our meal context. */
const MEAL: Readonly<Record<string, string>> = { before: 'before-meal', after: 'after-meal', fasting: 'fasting', random: 'unspecified' };

/** Validic metric type → our kind and the units Validic uses for it. */
const SINGLE: Readonly<Record<string, string>> = {
  pulse: 'heart-rate',
  heart_rate: 'heart-rate',
  blood_glucose: 'blood-glucose',
  body_weight: 'body-weight',
  spo2: 'spo2',
  body_temperature: 'body-temperature',
  temperature: 'body-temperature',
};

/**
 * The service name in the signed message. Validic's parameter table says `notifications`, its
 * worked example `notification`; the example's published signature (iYg596AeXNSgUqEPJHu6LKIVUGU=)
 * verifies only with `notification` (translators.test.ts).
 */
const SERVICE_NAME = 'notification';

export interface ValidicSignature {
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
}

/** When X-Validic-Timestamp was sent (its date and time are UTC; the digits after the seconds are a fraction). */
export function validicTimestampMs(timestamp: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})/.exec(timestamp);
  if (m === null) return undefined;
  const ms = Date.parse(`${m[1]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

export function validicSignature(settings: SettingsOf<'validic'>, timestamp: string): string {
  return createHmac('sha1', settings.applicationSecret).update(`${settings.organizationAccessToken}${SERVICE_NAME}${timestamp}`).digest('base64');
}

/**
 * Checks the signature and the replay window. Throws RPM_ERR_AUTH_MISSING / RPM_ERR_AUTH_INVALID
 * (bad signature) / RPM_ERR_AUTH_SIGNATURE_EXPIRED (timestamp outside the window).
 */
export function verifyValidic(settings: SettingsOf<'validic'>, sig: ValidicSignature, nowMs: number): void {
  if (sig.signature === undefined || sig.timestamp === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send X-Validic-Signature and X-Validic-Timestamp');
  const presented = sig.signature;
  const timestamp = sig.timestamp;
  if (!sameSecret(presented, validicSignature(settings, timestamp))) throw new RpmError('RPM_ERR_AUTH_INVALID', 'X-Validic-Signature does not match');
  const sentMs = validicTimestampMs(timestamp);
  const windowMs = settings.replayWindowSeconds * 1000;
  if (sentMs === undefined || Math.abs(nowMs - sentMs) > windowMs) {
    throw new RpmError('RPM_ERR_AUTH_SIGNATURE_EXPIRED', `X-Validic-Timestamp is more than ${settings.replayWindowSeconds} s away from our clock`);
  }
}

/**
 * Signatures seen within the replay window, with the SHA-256 of the body they came with: the
 * signature does not cover the body, so one captured signature must not carry another body.
 * The same body again (Validic retrying) is fine: ingest is idempotent.
 */
export class SignatureWindow {
  private readonly seen = new Map<string, { bodySha256: string; atMs: number }>();

  constructor(private readonly max = 100_000) {}

  /** False when this signature was already used with another body inside the window. */
  admit(signature: string, bodySha256: string, nowMs: number, windowMs: number): boolean {
    for (const [k, v] of this.seen) {
      if (nowMs - v.atMs <= windowMs * 2 && this.seen.size <= this.max) break;
      this.seen.delete(k);
    }
    const prior = this.seen.get(signature);
    if (prior !== undefined && prior.bodySha256 !== bodySha256) return false;
    if (prior === undefined) this.seen.set(signature, { bodySha256, atMs: nowMs });
    return true;
  }
}

function offsetMinutesOf(seconds: number | null | undefined): number | undefined {
  if (seconds === null || seconds === undefined) return 0;
  const min = Math.round(seconds / 60);
  return Math.abs(min) > MAX_OFFSET_MIN ? undefined : min;
}

export function translateValidic(body: unknown): Translated {
  const list = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null && Array.isArray((body as { data?: unknown }).data)
      ? ((body as { data: unknown[] }).data as unknown[])
      : typeof body === 'object' && body !== null
        ? [body]
        : undefined;
  if (list === undefined || list.length === 0) throw new RpmError('RPM_ERR_VENDOR_PAYLOAD_INVALID', 'a Validic Inform record, an array of records, or {"data": [records]}', { path: '' });
  const prefix = Array.isArray(body) ? '' : Array.isArray((body as { data?: unknown }).data) ? '/data' : undefined;
  const out = new TranslationBuilder<'validic'>();
  list.forEach((raw, i) => {
    const path = prefix === undefined ? '' : `${prefix}${seg(i)}`;
    const parsed = record.safeParse(raw);
    const who = (raw as { user?: { uid?: unknown; user_id?: unknown }; uid?: unknown } | null) ?? {};
    const fallbackUser = typeof who.user?.uid === 'string' ? who.user.uid : typeof who.uid === 'string' ? who.uid : '';
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      out.refuse(fallbackUser, `${path}/${(issue?.path ?? []).join('/')}`, 'RPM_ERR_READING_INVALID', `not a Validic record: ${issue?.message ?? 'invalid'}`);
      return;
    }
    const r = parsed.data;
    if (r.type !== 'measurement') {
      out.ignore('not-a-measurement');
      return;
    }
    const user = r.user?.uid ?? r.uid ?? r.user?.user_id ?? '';
    const logId = r.log_id === null || r.log_id === undefined ? undefined : String(r.log_id);
    const details: Record<string, string | number> = {};
    if (typeof r.source?.type === 'string') details.sourceType = r.source.type;
    if (typeof r.source?.device?.model === 'string') details.deviceModel = r.source.device.model;
    if (typeof r.utc_offset === 'number') details.utcOffsetSeconds = r.utc_offset;
    const extra = { ...(logId === undefined ? {} : { recordId: logId }), details };
    const startMs = Date.parse(r.start_time);
    if (!/[Zz]|[+-]\d{2}:?\d{2}$/.test(r.start_time) || Number.isNaN(startMs)) {
      out.refuse(user, `${path}/start_time`, 'RPM_ERR_READING_TIME_INVALID', 'start_time must be ISO 8601 in UTC (Validic sends a Z)', extra);
      return;
    }
    const offset = offsetMinutesOf(r.utc_offset);
    const measuredAt = isoAt(startMs, offset ?? 0);
    const metrics = r.metrics.map((m) => metric.safeParse(m)).flatMap((m, mi) => (m.success && typeof m.data.value === 'number' ? [{ ...m.data, value: m.data.value, mi }] : []));
    const invalid = r.metrics.length - metrics.length;
    if (invalid > 0) out.ignore('invalid-metric', invalid);
    const manual = (o: string | null | undefined): Record<string, string> => (o === 'manual' ? { entryMethod: 'manual' } : {});
    const clientId = (kind: string): Record<string, string> => (logId === undefined ? {} : { id: clientIdFrom('validic', `${logId}|${kind}`) });
    const at = (mi: number): string => `${path}/metrics${seg(mi)}`;

    const sys = metrics.find((m) => m.type === 'systolic');
    const dia = metrics.find((m) => m.type === 'diastolic');
    if (sys !== undefined && dia !== undefined) {
      out.reading(user, at(sys.mi), { kind: 'blood-pressure', systolic: sys.value, diastolic: dia.value, unit: sys.unit ?? 'mmHg', measuredAt, ...manual(sys.origin), ...clientId('blood-pressure') }, extra);
    } else if (sys !== undefined || dia !== undefined) {
      out.refuse(user, at((sys ?? dia)?.mi ?? 0), 'RPM_ERR_READING_INVALID', 'a blood pressure needs both systolic and diastolic metrics', extra);
    }
    const meal = r.user_notes?.find((n) => n.type === 'relationship_to_meal')?.value;
    for (const m of metrics) {
      if (m.type === 'systolic' || m.type === 'diastolic') continue;
      const kind = SINGLE[m.type];
      if (kind === undefined) {
        out.ignore('unsupported-metric');
        continue;
      }
      const glucose = kind === 'blood-glucose' ? { method: 'meter', ...(typeof meal === 'string' && MEAL[meal] !== undefined ? { mealContext: MEAL[meal] } : {}) } : {};
      const unit = m.unit === '°C' || m.unit === 'C' ? 'Cel' : m.unit === '°F' || m.unit === 'F' ? '[degF]' : (m.unit ?? '');
      out.reading(user, at(m.mi), { kind, value: m.value, unit, measuredAt, ...glucose, ...manual(m.origin), ...clientId(kind) }, extra);
    }
  });
  return out.done();
}
