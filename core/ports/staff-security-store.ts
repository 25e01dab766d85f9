/**
 * What secures staff access beyond the password and the session (HIPAA §164.312(a)(2)(ii), (d)):
 * second factors (TOTP with recovery codes), each organization's access policy (MFA required),
 * password changes, and break-glass grants (emergency access to one patient outside one's scope).
 *
 * Guarantees (checked by core/contract/staff-security-store.contract.ts):
 * - One TOTP factor per staff member, `pending` until a code proves the authenticator has it,
 *   then `active`. Starting an enrollment replaces a pending one and never an active one.
 *   The secret is stored as the caller gives it (sealed by the caller's FieldCipher: the store
 *   never sees it in clear).
 * - A TOTP time step is accepted at most once per account (`useTotpStep` only moves forward), so
 *   a code seen over someone's shoulder cannot be replayed within its 30 s.
 * - Recovery codes are stored as SHA-256 only, and each opens one sign-in: `useRecoveryCode`
 *   succeeds once per code. Activation replaces every earlier code.
 * - An organization without a stored policy has the default one (MFA not required, no SSO).
 * - Break-glass grants are never deleted (they are the review trail); ending one is an instant,
 *   set once; a grant is in force from `grantedAtMs` until the earlier of `expiresAtMs` and
 *   `endedAtMs`. An administrator's review is an instant and a reviewer, set once.
 */
export interface StaffSecurityStore {
  totpFactor(staffId: string): Promise<TotpFactor | undefined>;
  /** Stores a pending factor (replacing a pending one); false when an active one exists. */
  startTotp(staffId: string, secretSealed: string, atMs: number): Promise<boolean>;
  /**
   * Pending → active, with `step` as the last step used and these recovery codes (hashes) in
   * place of any earlier ones, in one transaction; false when no pending factor exists.
   */
  activateTotp(staffId: string, step: number, recoveryCodeSha256: readonly string[], atMs: number): Promise<boolean>;
  /** Records `step` as used; false (and nothing changes) unless the factor is active and `step` is later than the last used. */
  useTotpStep(staffId: string, step: number): Promise<boolean>;
  /** Marks the code used; false when there is no such unused code for the account. */
  useRecoveryCode(staffId: string, codeSha256: string, atMs: number): Promise<boolean>;
  /** Replaces the account's recovery codes (active factor only); false without one. */
  replaceRecoveryCodes(staffId: string, codeSha256: readonly string[], atMs: number): Promise<boolean>;
  recoveryCodesLeft(staffId: string): Promise<number>;
  /** Removes the factor and its recovery codes; false when there was none. */
  removeTotp(staffId: string): Promise<boolean>;

  policy(organizationId: string): Promise<OrganizationAccessPolicy>;
  setPolicy(policy: OrganizationAccessPolicy): Promise<void>;

  /** Replaces the account's password hash; false when there is no such account. */
  setPasswordHash(staffId: string, passwordHash: string, atMs: number): Promise<boolean>;

  createBreakGlass(grant: NewBreakGlassGrant): Promise<BreakGlassGrant>;
  /** The staff member's grant for this patient in force at `atMs`, if any (the latest). */
  activeBreakGlass(staffId: string, patientId: string, atMs: number): Promise<BreakGlassGrant | undefined>;
  /** The staff member's grants in force at `atMs`, newest first. */
  activeBreakGlassOf(staffId: string, atMs: number): Promise<BreakGlassGrant[]>;
  /** An organization's grants, newest first (optionally only those not reviewed yet). */
  listBreakGlass(organizationId: string, options: { unreviewedOnly?: boolean; limit: number }): Promise<BreakGlassGrant[]>;
  getBreakGlass(id: string): Promise<BreakGlassGrant | undefined>;
  /** Ends the grant early; false when it was already ended or is not this staff member's. */
  endBreakGlass(id: string, staffId: string, atMs: number): Promise<boolean>;
  /** Records an administrator's review; false when already reviewed or unknown. */
  reviewBreakGlass(id: string, reviewerId: string, atMs: number): Promise<boolean>;
}

export type TotpStatus = 'pending' | 'active';

export interface TotpFactor {
  readonly staffId: string;
  /** Sealed by the caller (FieldCipher); never in clear. */
  readonly secretSealed: string;
  readonly status: TotpStatus;
  readonly createdAtMs: number;
  readonly activatedAtMs: number | null;
  /** The last TOTP time step accepted (floor(unix ms / 30 000)). */
  readonly lastUsedStep: number | null;
}

export interface OrganizationAccessPolicy {
  readonly organizationId: string;
  /** Every staff member must sign in with a second factor (enrolment is forced at the next sign-in). */
  readonly mfaRequired: boolean;
  /** OpenID Connect single sign-on through the organization's identity provider, or none. */
  readonly sso: OrganizationSso | null;
}

export interface OrganizationSso {
  readonly issuer: string;
  readonly clientId: string;
  /** Sealed by the caller (FieldCipher); never in clear. */
  readonly clientSecretSealed: string;
}

export interface NewBreakGlassGrant {
  readonly id: string;
  readonly staffId: string;
  readonly organizationId: string;
  readonly patientId: string;
  /** Why, in the clinician's words. An access justification, not clinical data. */
  readonly reason: string;
  readonly grantedAtMs: number;
  readonly expiresAtMs: number;
}

export interface BreakGlassGrant extends NewBreakGlassGrant {
  readonly endedAtMs: number | null;
  readonly reviewedAtMs: number | null;
  readonly reviewedBy: string | null;
}
