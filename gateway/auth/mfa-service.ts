import { createHash, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Staff } from '../../core/model/staff.js';
import type { Clock } from '../../core/ports/clock.js';
import type { StaffSecurityStore } from '../../core/ports/staff-security-store.js';

/** RFC 6238 defaults, the ones every authenticator app understands. */
const PERIOD_S = 30;
const DIGITS = 6;
/** Codes of the step before and after are accepted too (clock drift of the phone). */
const WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;

/** What a login may carry as its second factor. */
export interface SecondFactorInput {
  readonly otp?: string | undefined;
  readonly recoveryCode?: string | undefined;
}

export type SecondFactorUsed = 'totp' | 'recovery-code';

export interface Enrollment {
  /** Base32, for typing into an authenticator by hand. */
  readonly secret: string;
  /** `otpauth://totp/...` (the QR code's content). */
  readonly otpauthUri: string;
  /** The URI as an SVG QR code. */
  readonly qrSvg: string;
}

/** Recovery codes: 80 random bits each, shown once as `xxxx-xxxx-xxxx-xxxx`; stored as SHA-256. */
const normalizeRecoveryCode = (code: string): string => code.toLowerCase().replace(/[^a-z2-7]/g, '');
const recoveryCodeSha256 = (code: string): string => createHash('sha256').update(normalizeRecoveryCode(code)).digest('hex');

function newRecoveryCode(): string {
  const base32 = new Secret({ buffer: randomBytes(10).buffer as ArrayBuffer }).base32.toLowerCase();
  return base32.match(/.{4}/g)!.join('-');
}

/**
 * Staff second factors (HIPAA §164.312(d)): TOTP (RFC 6238: SHA-1, 6 digits, 30 s) with
 * single-use recovery codes. The TOTP secret is sealed with the field cipher (bound to the
 * account) before the store sees it; a time step is accepted once per account, so a code cannot
 * be replayed. Time comes from the injected clock (tests run on a fixed one).
 */
export class MfaService {
  constructor(
    private readonly store: StaffSecurityStore,
    private readonly cipher: FieldCipher,
    private readonly clock: Clock,
    private readonly issuer = 'RPM gateway',
  ) {}

  private context = (staffId: string): string => `staff-totp:${staffId}`;

  private totp(staff: Pick<Staff, 'email'>, base32: string): TOTP {
    return new TOTP({ issuer: this.issuer, label: staff.email, algorithm: 'SHA1', digits: DIGITS, period: PERIOD_S, secret: Secret.fromBase32(base32) });
  }

  /** Whether the account signs in with a second factor (an active one). */
  async enrolled(staffId: string): Promise<boolean> {
    return (await this.store.totpFactor(staffId))?.status === 'active';
  }

  /** Whether the account must enrol before doing anything else: its organization requires MFA and it has none. */
  async enrollmentRequired(staff: Staff): Promise<boolean> {
    const policy = await this.store.policy(staff.organizationId);
    // With single sign-on the identity provider asks for the second factor (SsoService checks its `amr`).
    if (!policy.mfaRequired || policy.sso !== null) return false;
    return !(await this.enrolled(staff.id));
  }

  /** The organization signs its staff in through its identity provider only: no password logins. */
  async ssoOnly(staff: Staff): Promise<boolean> {
    return (await this.store.policy(staff.organizationId)).sso !== null;
  }

  async status(staffId: string): Promise<{ enabled: boolean; pending: boolean; recoveryCodesLeft: number }> {
    const factor = await this.store.totpFactor(staffId);
    return {
      enabled: factor?.status === 'active',
      pending: factor?.status === 'pending',
      recoveryCodesLeft: factor?.status === 'active' ? await this.store.recoveryCodesLeft(staffId) : 0,
    };
  }

  /** A new secret, pending until `activate` sees a code made from it. */
  async startEnrollment(staff: Staff): Promise<Enrollment> {
    const base32 = new Secret({ size: 20 }).base32;
    if (!(await this.store.startTotp(staff.id, this.cipher.encrypt(base32, this.context(staff.id)), this.clock.now()))) {
      throw new RpmError('RPM_ERR_MFA_ALREADY_ENABLED', 'remove the current second factor before enrolling another');
    }
    const otpauthUri = this.totp(staff, base32).toString();
    const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { secret: base32, otpauthUri, qrSvg };
  }

  /** Activates the pending factor with a code from it; answers the recovery codes (shown once). */
  async activate(staff: Staff, code: string): Promise<string[]> {
    const factor = await this.store.totpFactor(staff.id);
    if (factor?.status !== 'pending') throw new RpmError('RPM_ERR_MFA_NOT_ENROLLED', 'start an enrollment first');
    const step = this.matchingStep(staff, factor.secretSealed, staff.id, code);
    if (step === undefined) throw new RpmError('RPM_ERR_AUTH_MFA_INVALID', 'that code does not match; check the time on the phone and try the next code');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    if (!(await this.store.activateTotp(staff.id, step, codes.map(recoveryCodeSha256), this.clock.now()))) throw new RpmError('RPM_ERR_MFA_NOT_ENROLLED', 'start an enrollment first');
    return codes;
  }

  /**
   * Checks a login's second factor against the account's active factor, using it up (the TOTP
   * step, or the recovery code). Answers what was used, or undefined when nothing valid was given.
   */
  async verify(staff: Staff, input: SecondFactorInput): Promise<SecondFactorUsed | undefined> {
    const factor = await this.store.totpFactor(staff.id);
    if (factor?.status !== 'active') return undefined;
    if (input.otp !== undefined) {
      const step = this.matchingStep(staff, factor.secretSealed, staff.id, input.otp);
      if (step !== undefined && (await this.store.useTotpStep(staff.id, step))) return 'totp';
      return undefined;
    }
    if (input.recoveryCode !== undefined && normalizeRecoveryCode(input.recoveryCode).length === 16) {
      if (await this.store.useRecoveryCode(staff.id, recoveryCodeSha256(input.recoveryCode), this.clock.now())) return 'recovery-code';
    }
    return undefined;
  }

  /** New recovery codes in place of the old (a current code proves the factor is at hand). */
  async regenerateRecoveryCodes(staff: Staff, otp: string): Promise<string[]> {
    if ((await this.verify(staff, { otp })) === undefined) throw new RpmError('RPM_ERR_AUTH_MFA_INVALID');
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.store.replaceRecoveryCodes(staff.id, codes.map(recoveryCodeSha256), this.clock.now());
    return codes;
  }

  /** The owner removes her factor with a current code (or a recovery code), unless her organization requires one. */
  async disable(staff: Staff, input: SecondFactorInput): Promise<void> {
    if (!(await this.enrolled(staff.id))) throw new RpmError('RPM_ERR_MFA_NOT_ENROLLED', 'no second factor is enabled');
    if ((await this.store.policy(staff.organizationId)).mfaRequired) throw new RpmError('RPM_ERR_MFA_REQUIRED_BY_ORGANIZATION');
    if ((await this.verify(staff, input)) === undefined) throw new RpmError('RPM_ERR_AUTH_MFA_INVALID');
    await this.store.removeTotp(staff.id);
  }

  /** An administrator removes a lost factor; the owner enrols again at her next sign-in. */
  async reset(staffId: string): Promise<boolean> {
    return this.store.removeTotp(staffId);
  }

  private matchingStep(staff: Pick<Staff, 'email'>, sealed: string, staffId: string, code: string): number | undefined {
    const token = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(token)) return undefined;
    const base32 = this.cipher.decrypt(sealed, this.context(staffId));
    const timestamp = this.clock.now();
    const delta = this.totp(staff, base32).validate({ token, timestamp, window: WINDOW });
    return delta === null ? undefined : Math.floor(timestamp / 1000 / PERIOD_S) + delta;
  }
}
