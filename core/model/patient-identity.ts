import { z } from 'zod';
import { e164Phone } from './staff.js';

/**
 * Who a patient is and how to reach them: name, date of birth, medical record number (per
 * organization), phone, preferred language and time zone. This is PHI: stores keep it encrypted
 * field by field (core/crypto/identity-secrets.ts), every staff read is audited, and it never
 * appears in logs, metrics, SMS bodies, job payloads or the FHIR identifiers we mint. Everywhere
 * else a patient stays an opaque id.
 *
 * Nurses verify identity with two identifiers before acting (The Joint Commission, National
 * Patient Safety Goal NPSG.01.01.01: "Use at least two patient identifiers"): the patient header
 * shows name and date of birth, with the MRN.
 */

/** An IANA time zone the runtime knows (Intl), e.g. `America/Chicago`. */
export const ianaTimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => isTimeZone(tz), 'an IANA time zone, e.g. America/Chicago');

export function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A calendar date `YYYY-MM-DD` that exists (no 2023-02-30). */
export const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD')
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === d;
  }, 'a date that exists');

/** BCP 47 language tag, e.g. `en`, `es-MX`, `zh-Hant`. */
export const languageTag = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag, e.g. en, es-MX');

export const patientIdentityInput = z.object({
  givenName: z.string().trim().min(1).max(200),
  familyName: z.string().trim().min(1).max(200),
  birthDate: calendarDate.describe('YYYY-MM-DD'),
  mrn: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash, underscore')
    .describe("Medical record number at the patient's organization; unique there"),
  phone: e164Phone.nullable().describe('E.164, e.g. +15551234567: where visit reminders and video links go'),
  preferredLanguage: languageTag.describe('BCP 47, e.g. en, es-MX'),
  timeZone: ianaTimeZone.describe("IANA time zone of the patient's home, e.g. America/Chicago"),
  expectedVersion: z.number().int().min(0).optional().describe('The `version` you read; a change since answers 409'),
});
export type PatientIdentityInput = z.infer<typeof patientIdentityInput>;

/** The identity fields (the encrypted part). */
export interface IdentityFields {
  readonly givenName: string;
  readonly familyName: string;
  readonly birthDate: string;
  readonly mrn: string;
  readonly phone: string | null;
  readonly preferredLanguage: string;
  readonly timeZone: string;
}

export interface PatientIdentity extends IdentityFields {
  readonly patientId: string;
  readonly organizationId: string | null;
  /** 1 at first write, +1 at every change (optimistic concurrency). */
  readonly version: number;
  readonly updatedAtMs: number;
  /** `staff:<id>` or `admin` (or `ehr:<destination>` when filled from a FHIR Patient). */
  readonly updatedBy: string;
}

/** MRNs compare case-insensitively, trimmed. */
export const normalizeMrn = (mrn: string): string => mrn.trim().toUpperCase();

/**
 * Age in completed years on the patient's own calendar (their time zone): a birthday counts from
 * local midnight. 29 February birthdays count on 1 March in common years.
 */
export function ageInYears(birthDate: string, nowMs: number, timeZone: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(nowMs));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  const [y, m, d] = [get('year'), get('month'), get('day')];
  let age = y - by;
  if (m < bm || (m === bm && d < bd)) age -= 1;
  return age;
}

export const CONSENT_METHODS = ['verbal', 'written', 'electronic'] as const;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];

export const telehealthConsentInput = z.object({
  granted: z.boolean().describe('true: consents to telehealth (video and phone visits); false: withdraws'),
  method: z.enum(CONSENT_METHODS).describe('How consent was obtained'),
  obtainedAt: z.iso.datetime({ offset: true }).optional().describe('When; defaults to now'),
});

/** Telehealth consent as recorded at enrollment (or withdrawn later): who recorded it, when, how. Append-only. */
export interface TelehealthConsent {
  readonly id: number;
  readonly patientId: string;
  readonly granted: boolean;
  readonly method: ConsentMethod;
  readonly obtainedAtMs: number;
  /** `staff:<id>` or `admin`. */
  readonly recordedBy: string;
  readonly recordedAtMs: number;
}

/** The newest decision stands: consent is in force when it was granted and not withdrawn since. */
export function consentInForce(consents: readonly TelehealthConsent[]): TelehealthConsent | undefined {
  const newest = [...consents].sort((a, b) => b.obtainedAtMs - a.obtainedAtMs || b.id - a.id)[0];
  return newest?.granted === true ? newest : undefined;
}
