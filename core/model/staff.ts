import { z } from 'zod';
import { entityId } from './registry.js';

/**
 * Organizations (tenants), staff accounts and care teams. Every patient, staff member and care
 * team belongs to one organization; nothing crosses that line (see `StaffStore` for the rule
 * that decides which patients a staff member sees).
 */

export const STAFF_ROLES = ['nurse', 'physician', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export const STAFF_STATUSES = ['active', 'disabled'] as const;
export type StaffStatus = (typeof STAFF_STATUSES)[number];

/** NIST SP 800-63B: at least 8; we ask 12 because these accounts read PHI. */
export const PASSWORD_MIN_LENGTH = 12;
/** Bounds the work one login can cause; far above any passphrase. */
export const PASSWORD_MAX_LENGTH = 1024;

/**
 * Emails are unique within an organization regardless of case: `Nurse@Clinic.org` and
 * `nurse@clinic.org` are one account there. Another organization may have an account with the
 * same email (so creating one never reveals that it exists elsewhere). Stores keep the
 * normalized form; compare only normalized forms.
 */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/** Validated here, normalized by the service and the store (no transforms: they have no JSON Schema). */
export const emailInput = z.email().max(254);

const password = z.string().min(PASSWORD_MIN_LENGTH, `at least ${PASSWORD_MIN_LENGTH} characters`).max(PASSWORD_MAX_LENGTH);

/** E.164: `+` then up to 15 digits, no leading zero. Used for SMS escalation; never logged. */
export const e164Phone = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'E.164, e.g. +15551234567');

export const createOrganizationInput = z.object({
  id: entityId,
  name: z.string().trim().min(1).max(200),
});
export type CreateOrganizationInput = z.infer<typeof createOrganizationInput>;

export const createStaffInput = z.object({
  email: emailInput,
  password,
  role: z.enum(STAFF_ROLES),
  organizationId: entityId,
  displayName: z.string().trim().min(1).max(200).optional(),
  isChargeNurse: z.boolean().optional().describe('Receives escalations for the organization'),
  phone: e164Phone.optional().describe('E.164 number for SMS escalation'),
});
export type CreateStaffInput = z.infer<typeof createStaffInput>;

export const staffPatchInput = z
  .object({
    role: z.enum(STAFF_ROLES).optional(),
    isChargeNurse: z.boolean().optional().describe('Receives escalations for the organization'),
    phone: e164Phone.nullable().optional().describe('E.164 number for SMS escalation; null removes it'),
    displayName: z.string().trim().min(1).max(200).nullable().optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), 'change at least one field');

/**
 * How a staff member wants to hear of new critical alerts outside the tab: a count in the tab's
 * title, a desktop notification (no PHI: severity, rule and the opaque patient id), a sound. Kept
 * on the server (the browser keeps nothing but the session token).
 */
export const alertSettingsInput = z
  .object({
    titleBadge: z.boolean().describe('Unacknowledged critical alerts counted in the tab title'),
    desktopNotifications: z.boolean().describe('A desktop notification for each new critical alert (the browser asks permission)'),
    sound: z.boolean().describe('A short tone for each new critical alert'),
  })
  .strict();
export type AlertSettings = z.infer<typeof alertSettingsInput>;
export const DEFAULT_ALERT_SETTINGS: AlertSettings = { titleBadge: true, desktopNotifications: false, sound: false };

export const createCareTeamInput = z.object({
  id: entityId,
  organizationId: entityId,
  name: z.string().trim().min(1).max(200),
});
export type CreateCareTeamInput = z.infer<typeof createCareTeamInput>;

export const addTeamMemberInput = z.object({ staffId: entityId });
export const addTeamPatientInput = z.object({ patientId: entityId });

/** Deliberately loose: a login must fail the same way whatever is wrong with the credentials. */
export const loginInput = z.object({
  email: z.string().max(254),
  password: z.string().max(PASSWORD_MAX_LENGTH),
  organizationId: z
    .string()
    .max(128)
    .optional()
    .describe('Only for an email that has accounts in several organizations: which one. Without it, the oldest account with the email.'),
  otp: z.string().max(16).optional().describe('The 6-digit code of the authenticator app, for accounts with a second factor'),
  recoveryCode: z.string().max(64).optional().describe('Instead of `otp`: one of the recovery codes (each works once)'),
});

export const passwordInput = password;
export type LoginInput = z.infer<typeof loginInput>;

export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly createdAtMs: number;
}

/** A staff account. The password hash is kept apart and never part of this record. */
export interface Staff {
  /** Server-generated. */
  readonly id: string;
  /** Normalized (lower case). */
  readonly email: string;
  readonly role: StaffRole;
  readonly organizationId: string;
  readonly displayName: string | null;
  readonly status: StaffStatus;
  /** Receives escalations of unacknowledged alerts for the organization. */
  readonly isChargeNurse: boolean;
  /** E.164, for SMS escalation. PHI-adjacent: never logged. */
  readonly phone: string | null;
  readonly createdAtMs: number;
}

export interface CareTeam {
  /** Chosen by the organization; unique within it (another organization may use the same id). */
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly createdAtMs: number;
}

/** What names a care team: its id within its organization. */
export interface CareTeamKey {
  readonly organizationId: string;
  readonly id: string;
}

/** A login session. Only the SHA-256 of its bearer token is ever stored. */
export interface StaffSession {
  readonly tokenSha256: string;
  readonly staffId: string;
  readonly createdAtMs: number;
  /** Absolute end, fixed at login. */
  readonly expiresAtMs: number;
  /** Last recorded activity; the idle expiry slides from here. */
  readonly lastActiveAtMs: number;
  readonly revokedAtMs: number | null;
}
