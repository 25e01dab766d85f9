import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { isoAt, MAX_OFFSET_MIN, sameSecret, seg, type Translated, TranslationBuilder } from './translation.js';

/**
 * Nightscout `entries` (cgm-remote-monitor, lib/server/swagger.yaml; device-formats.md §4), as
 * CGM uploaders (xDrip+, Spike, Loop, a Dexcom Share bridge) POST them to
 * `/api/v1/entries`: one entry or an array. Each patient's site is its own upload URL here
 * (`/vendors/nightscout/{org}/{site}/api/v1/entries`), bound to the patient's CGM device, and
 * authenticated as Nightscout does: `api-secret: <SHA-1 hex of the site's API_SECRET>`.
 *
 * - `sgv` entries are CGM glucose (mg/dL) at `date` (epoch ms); `direction` (the trend arrow)
 *   and `noise` (1 clean … 4 heavy) are kept with the reading. Values below 39 are Dexcom's
 *   special codes (sensor not ready, no antenna, …), not glucose: counted, not stored.
 * - `mbg` entries are meter (fingerstick) glucose; `cal` and other types are counted, not stored.
 * - The reading is the site's device × kind × instant, whichever uploader sent it: the same
 *   entry from two uploaders is one reading (the second answers `duplicate`), as Nightscout
 *   itself keeps one entry per (sysTime, type).
 */

export const DIRECTIONS = ['NONE', 'DoubleUp', 'SingleUp', 'FortyFiveUp', 'Flat', 'FortyFiveDown', 'SingleDown', 'DoubleDown', 'NOT COMPUTABLE', 'RATE OUT OF RANGE'] as const;
const DIRECTION_SET: ReadonlySet<string> = new Set(DIRECTIONS);

const entry = z.looseObject({
  _id: z.string().max(64).nullish(),
  type: z.string().max(32).nullish(),
  date: z.number().nullish(),
  dateString: z.string().max(64).nullish(),
  sgv: z.number().nullish(),
  mbg: z.number().nullish(),
  direction: z.string().max(32).nullish(),
  noise: z.number().nullish(),
  device: z.string().max(128).nullish(),
  utcOffset: z.number().nullish(),
});

/** Dexcom reports these sgv values as special conditions, not glucose (39 and above are readings). */
const LOWEST_GLUCOSE_SGV = 39;

/** The uploader's `api-secret` header: the SHA-1 (hex) of the site's API secret, as Nightscout compares it. */
export function nightscoutAuthorized(apiSecret: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const want = createHash('sha1').update(apiSecret).digest('hex');
  return sameSecret(presented.trim().toLowerCase(), want);
}

/** The local offset of an entry: its `utcOffset` (minutes), else the offset written in `dateString`. */
function offsetOf(e: z.infer<typeof entry>): number {
  if (typeof e.utcOffset === 'number' && Number.isInteger(e.utcOffset) && Math.abs(e.utcOffset) <= MAX_OFFSET_MIN) return e.utcOffset;
  const m = /([+-])(\d{2}):?(\d{2})$/.exec(e.dateString ?? '');
  if (m === null) return 0;
  const min = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  return Math.abs(min) <= MAX_OFFSET_MIN ? min : 0;
}

export function translateNightscout(site: string, body: unknown): Translated {
  const list = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? [body] : undefined;
  if (list === undefined || list.length === 0) throw new RpmError('RPM_ERR_VENDOR_PAYLOAD_INVALID', 'Nightscout entries: an entry object or a non-empty array of them', { path: '' });
  const out = new TranslationBuilder<'nightscout'>();
  list.forEach((raw, i) => {
    const path = Array.isArray(body) ? seg(i) : '';
    const parsed = entry.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      out.refuse(site, `${path}/${(issue?.path ?? []).join('/')}`, 'RPM_ERR_READING_INVALID', `not a Nightscout entry: ${issue?.message ?? 'invalid'}`);
      return;
    }
    const e = parsed.data;
    const type = e.type ?? (e.sgv !== null && e.sgv !== undefined ? 'sgv' : undefined);
    if (type !== 'sgv' && type !== 'mbg') {
      out.ignore(type === 'cal' ? 'calibration' : 'unsupported-type');
      return;
    }
    const details: Record<string, string | number> = {};
    if (typeof e.device === 'string' && e.device !== '') details.uploader = e.device;
    const extra = { ...(typeof e._id === 'string' && e._id !== '' ? { recordId: e._id } : {}), details };
    const atMs = typeof e.date === 'number' && Number.isFinite(e.date) ? Math.round(e.date) : e.dateString === null || e.dateString === undefined ? Number.NaN : Date.parse(e.dateString);
    if (!Number.isFinite(atMs) || atMs <= 0) {
      out.refuse(site, `${path}/date`, 'RPM_ERR_READING_TIME_INVALID', 'an entry needs `date` (epoch ms) or a `dateString` with an offset', extra);
      return;
    }
    const measuredAt = isoAt(atMs, offsetOf(e));
    if (type === 'mbg') {
      if (typeof e.mbg !== 'number') {
        out.refuse(site, `${path}/mbg`, 'RPM_ERR_READING_INVALID', 'an mbg entry carries `mbg` (mg/dL)', extra);
        return;
      }
      out.reading(site, path, { kind: 'blood-glucose', value: e.mbg, unit: 'mg/dL', method: 'meter', measuredAt }, extra);
      return;
    }
    if (typeof e.sgv !== 'number') {
      out.refuse(site, `${path}/sgv`, 'RPM_ERR_READING_INVALID', 'an sgv entry carries `sgv` (mg/dL)', extra);
      return;
    }
    if (e.sgv < LOWEST_GLUCOSE_SGV) {
      out.ignore('sensor-condition');
      return;
    }
    if (typeof e.direction === 'string' && DIRECTION_SET.has(e.direction)) details.direction = e.direction;
    if (typeof e.noise === 'number' && Number.isInteger(e.noise) && e.noise >= 0 && e.noise <= 4) details.noise = e.noise;
    out.reading(site, path, { kind: 'blood-glucose', value: e.sgv, unit: 'mg/dL', method: 'cgm', measuredAt }, extra);
  });
  return out.done();
}
