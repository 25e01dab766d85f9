import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StaffSecurityStore } from '../ports/staff-security-store.js';

export interface StaffSecurityFixture {
  readonly security: StaffSecurityStore;
  /** Creates organization `org-1` with staff `s-1` and `s-2`, and patient `p-1`. */
  readonly seed: () => Promise<void>;
  /** The password hash `findLogin` answers for the staff member's email. */
  readonly passwordHashOf: (staffId: string) => Promise<string | undefined>;
  readonly dispose: () => Promise<void>;
}

/** The StaffSecurityStore contract, run by every adapter against its real backend. */
export function staffSecurityStoreContract(name: string, make: () => Promise<StaffSecurityFixture>): void {
  describe(`StaffSecurityStore contract: ${name}`, () => {
    let f: StaffSecurityFixture;
    beforeEach(async () => {
      f = await make();
      await f.seed();
    });
    afterEach(async () => f.dispose());

    it('keeps one TOTP factor per account: pending until activated, an active one never replaced', async () => {
      expect(await f.security.totpFactor('s-1')).toBeUndefined();
      expect(await f.security.startTotp('s-1', 'sealed-1', 1000)).toBe(true);
      expect(await f.security.startTotp('s-1', 'sealed-2', 2000)).toBe(true);
      expect(await f.security.totpFactor('s-1')).toEqual({ staffId: 's-1', secretSealed: 'sealed-2', status: 'pending', createdAtMs: 2000, activatedAtMs: null, lastUsedStep: null });
      expect(await f.security.useTotpStep('s-1', 5)).toBe(false);
      expect(await f.security.activateTotp('s-1', 100, ['h1', 'h2'], 3000)).toBe(true);
      expect(await f.security.activateTotp('s-1', 101, ['h3'], 3000)).toBe(false);
      expect(await f.security.totpFactor('s-1')).toMatchObject({ status: 'active', activatedAtMs: 3000, lastUsedStep: 100, secretSealed: 'sealed-2' });
      expect(await f.security.startTotp('s-1', 'sealed-3', 4000)).toBe(false);
      expect((await f.security.totpFactor('s-1'))?.secretSealed).toBe('sealed-2');
      expect(await f.security.totpFactor('s-2')).toBeUndefined();
    });

    it('accepts each time step once, forward only', async () => {
      await f.security.startTotp('s-1', 'sealed', 1000);
      await f.security.activateTotp('s-1', 100, [], 1000);
      expect(await f.security.useTotpStep('s-1', 100)).toBe(false);
      expect(await f.security.useTotpStep('s-1', 99)).toBe(false);
      expect(await f.security.useTotpStep('s-1', 101)).toBe(true);
      expect(await f.security.useTotpStep('s-1', 101)).toBe(false);
      expect((await f.security.totpFactor('s-1'))?.lastUsedStep).toBe(101);
    });

    it('lets each recovery code open one sign-in, and replaces them all at activation or on request', async () => {
      await f.security.startTotp('s-1', 'sealed', 1000);
      await f.security.activateTotp('s-1', 1, ['a', 'b', 'c'], 1000);
      expect(await f.security.recoveryCodesLeft('s-1')).toBe(3);
      expect(await f.security.useRecoveryCode('s-1', 'b', 2000)).toBe(true);
      expect(await f.security.useRecoveryCode('s-1', 'b', 2001)).toBe(false);
      expect(await f.security.useRecoveryCode('s-2', 'a', 2001)).toBe(false);
      expect(await f.security.recoveryCodesLeft('s-1')).toBe(2);
      expect(await f.security.replaceRecoveryCodes('s-1', ['x', 'y'], 3000)).toBe(true);
      expect(await f.security.useRecoveryCode('s-1', 'a', 3001)).toBe(false);
      expect(await f.security.recoveryCodesLeft('s-1')).toBe(2);
      expect(await f.security.replaceRecoveryCodes('s-2', ['z'], 3000)).toBe(false);
      expect(await f.security.removeTotp('s-1')).toBe(true);
      expect(await f.security.removeTotp('s-1')).toBe(false);
      expect(await f.security.recoveryCodesLeft('s-1')).toBe(0);
      expect(await f.security.totpFactor('s-1')).toBeUndefined();
    });

    it('answers the default policy until one is stored, and keeps what is stored (SSO included)', async () => {
      expect(await f.security.policy('org-1')).toEqual({ organizationId: 'org-1', mfaRequired: false, sso: null });
      await f.security.setPolicy({ organizationId: 'org-1', mfaRequired: true, sso: null });
      expect(await f.security.policy('org-1')).toEqual({ organizationId: 'org-1', mfaRequired: true, sso: null });
      const sso = { issuer: 'https://idp.example.org', clientId: 'rpm', clientSecretSealed: 'sealed-secret' };
      await f.security.setPolicy({ organizationId: 'org-1', mfaRequired: false, sso });
      expect(await f.security.policy('org-1')).toEqual({ organizationId: 'org-1', mfaRequired: false, sso });
      await f.security.setPolicy({ organizationId: 'org-1', mfaRequired: false, sso: null });
      expect((await f.security.policy('org-1')).sso).toBeNull();
    });

    it('replaces the password hash of an existing account only', async () => {
      expect(await f.security.setPasswordHash('s-1', '$argon2id$new', 5000)).toBe(true);
      expect(await f.passwordHashOf('s-1')).toBe('$argon2id$new');
      expect(await f.security.setPasswordHash('nobody', '$argon2id$new', 5000)).toBe(false);
    });

    it('keeps break-glass grants in force until they expire or end, and records one review', async () => {
      const grant = { id: 'g-1', staffId: 's-1', organizationId: 'org-1', patientId: 'p-1', reason: 'covering the night shift', grantedAtMs: 10_000, expiresAtMs: 20_000 };
      expect(await f.security.createBreakGlass(grant)).toEqual({ ...grant, endedAtMs: null, reviewedAtMs: null, reviewedBy: null });
      expect(await f.security.activeBreakGlass('s-1', 'p-1', 9_999)).toBeUndefined();
      expect((await f.security.activeBreakGlass('s-1', 'p-1', 10_000))?.id).toBe('g-1');
      expect(await f.security.activeBreakGlass('s-1', 'p-1', 20_000)).toBeUndefined();
      expect(await f.security.activeBreakGlass('s-2', 'p-1', 15_000)).toBeUndefined();
      expect((await f.security.activeBreakGlassOf('s-1', 15_000)).map((g) => g.id)).toEqual(['g-1']);
      expect(await f.security.endBreakGlass('g-1', 's-2', 12_000)).toBe(false);
      expect(await f.security.endBreakGlass('g-1', 's-1', 12_000)).toBe(true);
      expect(await f.security.endBreakGlass('g-1', 's-1', 13_000)).toBe(false);
      expect(await f.security.activeBreakGlass('s-1', 'p-1', 12_000)).toBeUndefined();
      expect(await f.security.activeBreakGlassOf('s-1', 12_500)).toEqual([]);
      await f.security.createBreakGlass({ ...grant, id: 'g-2', grantedAtMs: 30_000, expiresAtMs: 40_000 });
      expect((await f.security.listBreakGlass('org-1', { limit: 10 })).map((g) => g.id)).toEqual(['g-2', 'g-1']);
      expect(await f.security.reviewBreakGlass('g-1', 's-2', 50_000)).toBe(true);
      expect(await f.security.reviewBreakGlass('g-1', 's-2', 51_000)).toBe(false);
      expect(await f.security.reviewBreakGlass('nope', 's-2', 51_000)).toBe(false);
      expect((await f.security.listBreakGlass('org-1', { unreviewedOnly: true, limit: 10 })).map((g) => g.id)).toEqual(['g-2']);
      expect(await f.security.getBreakGlass('g-1')).toMatchObject({ endedAtMs: 12_000, reviewedAtMs: 50_000, reviewedBy: 's-2' });
      expect(await f.security.listBreakGlass('org-2', { limit: 10 })).toEqual([]);
    });
  });
}
