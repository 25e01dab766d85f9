import { createHash, timingSafeEqual } from 'node:crypto';
import type { RpmErrorCode } from '../../core/errors/codes.js';
import type { ReadingFlag, ReadingSource } from '../../core/model/reading.js';
import type { VendorName } from '../../core/model/vendor.js';
import type { ReadingProblem } from '../../pipeline/normalize.js';

/**
 * What every vendor adapter produces from one payload: canonical reading JSON per record (or
 * why the record is refused), each naming the vendor identifier that binds it to a device of
 * ours; what was deliberately not stored, by reason (counted in metrics); and device status
 * (battery) that is not a vital. Adapters are pure: no I/O, no clock.
 */
export interface TranslatedRecord {
  /** The vendor's device, user or site id: looked up among the organization's bindings. */
  readonly externalId: string;
  /** JSON pointer of the record in the payload (the outcome's and the rejection's path). */
  readonly path: string;
  readonly translation: { readonly ok: true; readonly reading: Record<string, unknown> } | { readonly ok: false; readonly problem: ReadingProblem };
  readonly disambiguator?: string;
  readonly flags?: readonly ReadingFlag[];
  readonly recordId?: string;
  readonly details?: NonNullable<ReadingSource['details']>;
}

export interface DeviceStatusReport {
  readonly externalId: string;
  readonly batteryPercent: number;
  readonly atMs: number;
}

export interface Translated {
  readonly records: readonly TranslatedRecord[];
  /** Measures and metrics not stored as readings, by reason (`unknown-type`, `non-vital`, …). */
  readonly ignored: ReadonlyMap<string, number>;
  readonly deviceStatus: readonly DeviceStatusReport[];
}

/**
 * Why each vendor's measures may be deliberately not stored (`ignored` in answers, the `reason`
 * of rpm_vendor_ignored_total). The adapters use these words and no others.
 */
export const IGNORED_REASONS = {
  tenovi: ['non-vital', 'control-solution', 'irregular-heartbeat-alone', 'unknown-metric', 'invalid-status', 'unbound-status'],
  withings: ['objective', 'profile-value', 'unsupported-type', 'unknown-type', 'superseded', 'profile-event', 'unsupported-appli', 'unbound-user'],
  bodytrace: ['unbound-status'],
  'open-mhealth': ['unsupported-schema'],
  validic: ['not-a-measurement', 'invalid-metric', 'unsupported-metric'],
  nightscout: ['calibration', 'sensor-condition', 'unsupported-type'],
} as const satisfies Record<VendorName, readonly string[]>;

/** Collects records, ignored counts and device status while an adapter walks a payload. */
export class TranslationBuilder<V extends VendorName> {
  readonly records: TranslatedRecord[] = [];
  readonly ignored = new Map<string, number>();
  readonly deviceStatus: DeviceStatusReport[] = [];

  reading(externalId: string, path: string, reading: Record<string, unknown>, extra: Omit<TranslatedRecord, 'externalId' | 'path' | 'translation'> = {}): void {
    this.records.push({ externalId, path, translation: { ok: true, reading }, ...extra });
  }

  refuse(externalId: string, path: string, code: RpmErrorCode, message: string, extra: Omit<TranslatedRecord, 'externalId' | 'path' | 'translation'> = {}): void {
    this.records.push({ externalId, path, translation: { ok: false, problem: { code, path: '', message } }, ...extra });
  }

  ignore(reason: (typeof IGNORED_REASONS)[V][number], n = 1): void {
    this.ignored.set(reason, (this.ignored.get(reason) ?? 0) + n);
  }

  status(externalId: string, batteryPercent: number, atMs: number): void {
    if (Number.isFinite(batteryPercent) && Number.isFinite(atMs)) this.deviceStatus.push({ externalId, batteryPercent: Math.min(100, Math.max(0, batteryPercent)), atMs });
  }

  done(): Translated {
    return { records: this.records, ignored: this.ignored, deviceStatus: this.deviceStatus };
  }
}

/** JSON pointer segment. */
export const seg = (p: string | number): string => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`;

/** An instant as ISO 8601 with the given UTC offset (the canonical `measuredAt`): 2026-12-01T07:02:13-05:00. */
export function isoAt(atMs: number, utcOffsetMin = 0): string {
  const millis = atMs % 1000 !== 0;
  const local = new Date(atMs + utcOffsetMin * 60_000).toISOString().slice(0, millis ? 23 : 19);
  if (utcOffsetMin === 0) return `${local}Z`;
  const sign = utcOffsetMin < 0 ? '-' : '+';
  const abs = Math.abs(utcOffsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The largest UTC offset anywhere (UTC+14:00); beyond it an offset is a vendor's test value or a bug. */
export const MAX_OFFSET_MIN = 14 * 60;

/** The UTC offset (minutes) of an IANA time zone at an instant, or undefined for an unknown zone. */
export function offsetInZone(atMs: number, timeZone: string): number | undefined {
  try {
    const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(new Date(atMs)).find((p) => p.type === 'timeZoneName')?.value;
    if (name === undefined || name === 'GMT') return name === 'GMT' ? 0 : undefined;
    const m = /^GMT([+-])(\d{1,2})(?::(\d{2}))?$/.exec(name);
    if (m === null) return undefined;
    return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
  } catch {
    return undefined;
  }
}

/** A number, or a numeric string ("148"); undefined for anything else. */
export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

/** value × 10^unit, without binary noise: 74126 × 10^-3 = 74.126, not 74.12600000000001. */
export function scaled(value: number, unit: number): number {
  const v = value * 10 ** unit;
  return unit < 0 ? Number(v.toFixed(Math.min(20, -unit))) : v;
}

export function sha256Hex(payload: Buffer | string): string {
  return createHash('sha256').update(payload).digest('hex');
}

/** Constant-time comparison of two secrets of any length (hashed first, so lengths do not leak). */
export function sameSecret(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** A short client id from a vendor record id (any characters, any length): kept beside the reading. */
export function clientIdFrom(prefix: string, recordId: string): string {
  return `${prefix}-${createHash('sha256').update(recordId).digest('base64url').slice(0, 22)}`;
}
