import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { EntryMethod } from '../../core/model/reading.js';
import { isoAt, offsetInZone, scaled, seg, type Translated, TranslationBuilder } from './translation.js';

/**
 * Withings (developer.withings.com; device-formats.md §3). Withings does not push measures: it
 * POSTs a form-encoded data-update notification (`userid`, `appli`, `startdate`, `enddate`) and
 * expects a 2xx within a few seconds; the measures are then pulled with the user's OAuth 2
 * access token (`getmeas`), refreshed with the rotating refresh token. This module is the pure
 * part: the notification, and a `getmeas` answer into readings.
 */

/** Notification categories (`appli`) whose measures we pull: 1 weight, 2 temperature, 4 blood pressure, pulse and SpO2. */
export const PULLED_APPLI: ReadonlySet<number> = new Set([1, 2, 4]);

/** `getmeas` measure types we store. */
export const MEASTYPES = [1, 9, 10, 11, 12, 54, 71] as const;

/**
 * Known Withings measure types we do not store (body composition, ECG intervals, scores…),
 * counted as `unsupported-type`; any other code is counted as `unknown-type`.
 */
const UNSUPPORTED_TYPES: ReadonlySet<number> = new Set([4, 5, 6, 8, 73, 76, 77, 88, 91, 123, 130, 135, 136, 137, 138, 139, 155, 167, 168, 169, 170, 173, 174, 175, 196, 226, 227, 229]);

export interface WithingsNotification {
  readonly userId: string;
  readonly appli: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** `delete`, `unlink`, `update` (profile events): nothing to pull. */
  readonly action: string | null;
}

const notification = z.object({
  userid: z.string().regex(/^\d{1,20}$/, 'a Withings user id'),
  appli: z.coerce.number().int().min(0).max(1000),
  startdate: z.coerce.number().int().min(0).optional(),
  enddate: z.coerce.number().int().min(0).optional(),
  date: z.string().max(32).optional(),
  action: z.string().max(32).optional(),
  deviceid: z.string().max(128).optional(),
});

/** The form-encoded notification body. Throws RPM_ERR_VENDOR_PAYLOAD_INVALID. */
export function parseWithingsNotification(form: string): WithingsNotification {
  const params = Object.fromEntries(new URLSearchParams(form));
  const parsed = notification.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RpmError('RPM_ERR_VENDOR_PAYLOAD_INVALID', `not a Withings notification: ${(issue?.path ?? []).join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, {
      path: `/${(issue?.path ?? []).join('/')}`,
    });
  }
  const n = parsed.data;
  const start = n.startdate ?? n.enddate;
  const end = n.enddate ?? n.startdate;
  if (n.action === undefined && (start === undefined || end === undefined || end < start)) {
    throw new RpmError('RPM_ERR_VENDOR_PAYLOAD_INVALID', 'a Withings data-update notification carries startdate ≤ enddate (epoch seconds)', { path: '/startdate' });
  }
  return { userId: n.userid, appli: n.appli, fromMs: (start ?? 0) * 1000, toMs: (end ?? 0) * 1000, action: n.action ?? null };
}

const measure = z.looseObject({ value: z.number(), type: z.number().int(), unit: z.number().int().min(-20).max(20) });
const group = z.looseObject({
  grpid: z.union([z.number(), z.string()]),
  attrib: z.number().int(),
  date: z.number().int().positive(),
  category: z.number().int(),
  model: z.string().nullish(),
  modelid: z.number().nullish(),
  measures: z.array(measure),
});
const page = z.looseObject({
  timezone: z.string().max(64).nullish(),
  measuregrps: z.array(z.unknown()),
  more: z.union([z.number(), z.boolean()]).nullish(),
  offset: z.number().int().nullish(),
});

/**
 * `attrib` → who measured. 0 (device, known user), 5 (BPM's automatic best value) and 7 are the
 * user's own; 2 is manual entry. 1 is ambiguous (the device could not tell who stood on the
 * scale): stored, but not alerted on until a nurse confirms it. Anything we do not know is
 * treated as ambiguous too, which errs on the side of asking a nurse.
 */
export function entryMethodOf(attrib: number): EntryMethod | 'not-a-measurement' {
  if (attrib === 0 || attrib === 5 || attrib === 7) return 'device';
  if (attrib === 2) return 'manual';
  // 4: entered when the user account was created (a profile value, not a measurement).
  if (attrib === 4) return 'not-a-measurement';
  return 'ambiguous-user';
}

export interface MeasurePageResult {
  readonly translated: Translated;
  /** The next page's offset when `more` says there is one. */
  readonly nextOffset: number | undefined;
}

/** One `getmeas` answer `body` of user `userId` into readings (`value × 10^unit`). Throws RPM_ERR_UPSTREAM_VENDOR when it is not one. */
export function translateWithingsMeasures(userId: string, body: unknown): MeasurePageResult {
  const parsed = page.safeParse(body);
  if (!parsed.success) throw new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings getmeas answered something that is not a measure page: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const p = parsed.data;
  const out = new TranslationBuilder<'withings'>();
  p.measuregrps.forEach((raw, gi) => {
    const path = `/body/measuregrps${seg(gi)}`;
    const g = group.safeParse(raw);
    if (!g.success) {
      out.refuse(userId, path, 'RPM_ERR_READING_INVALID', `not a Withings measure group: ${g.error.issues[0]?.message ?? 'invalid'}`);
      return;
    }
    const grp = g.data;
    // category 2: a user objective (a target weight), not a measurement.
    if (grp.category !== 1) {
      out.ignore('objective', grp.measures.length);
      return;
    }
    const entry = entryMethodOf(grp.attrib);
    if (entry === 'not-a-measurement') {
      out.ignore('profile-value', grp.measures.length);
      return;
    }
    const atMs = grp.date * 1000;
    const zoneOffset = p.timezone === null || p.timezone === undefined ? undefined : offsetInZone(atMs, p.timezone);
    const measuredAt = isoAt(atMs, zoneOffset ?? 0);
    const values = new Map<number, { value: number; index: number }>();
    grp.measures.forEach((m, mi) => {
      if (!(MEASTYPES as readonly number[]).includes(m.type)) {
        out.ignore(UNSUPPORTED_TYPES.has(m.type) ? 'unsupported-type' : 'unknown-type');
        return;
      }
      values.set(m.type, { value: scaled(m.value, m.unit), index: mi });
    });
    const details: Record<string, string | number> = { attrib: grp.attrib, grpid: String(grp.grpid) };
    if (typeof grp.model === 'string' && grp.model !== '') details.model = grp.model;
    const extra = { recordId: String(grp.grpid), details };
    const common = { measuredAt, ...(entry === 'device' ? {} : { entryMethod: entry }) };
    const at = (type: number): string => `${path}/measures${seg(values.get(type)?.index ?? 0)}`;

    const sys = values.get(10);
    const dia = values.get(9);
    if (sys !== undefined && dia !== undefined) out.reading(userId, at(10), { kind: 'blood-pressure', systolic: sys.value, diastolic: dia.value, unit: 'mmHg', ...common }, extra);
    else if (sys !== undefined || dia !== undefined) {
      out.refuse(userId, at(sys === undefined ? 9 : 10), 'RPM_ERR_READING_INVALID', 'a blood pressure needs both systolic (type 10) and diastolic (type 9) in one group', extra);
    }
    const pulse = values.get(11);
    if (pulse !== undefined) out.reading(userId, at(11), { kind: 'heart-rate', value: pulse.value, unit: 'bpm', ...common }, extra);
    const weight = values.get(1);
    if (weight !== undefined) out.reading(userId, at(1), { kind: 'body-weight', value: weight.value, unit: 'kg', ...common }, extra);
    const spo2 = values.get(54);
    if (spo2 !== undefined) out.reading(userId, at(54), { kind: 'spo2', value: spo2.value, unit: '%', ...common }, extra);
    // 71 body temperature; 12 temperature. One instant, one temperature: 71 wins when both came.
    const temperature = values.get(71) ?? values.get(12);
    if (temperature !== undefined) out.reading(userId, at(values.has(71) ? 71 : 12), { kind: 'body-temperature', value: temperature.value, unit: 'Cel', ...common }, extra);
    if (values.has(71) && values.has(12)) out.ignore('superseded');
  });
  const more = p.more === true || (typeof p.more === 'number' && p.more > 0);
  return { translated: out.done(), nextOffset: more && typeof p.offset === 'number' ? p.offset : undefined };
}
