import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StaffRole } from '../model/staff.js';
import type { StaffStore } from '../ports/staff-store.js';

export interface StaffStoreFixture {
  readonly store: StaffStore;
  /** Patients live in the registry; the contract needs some, in a given organization. */
  readonly addPatient: (id: string, organizationId: string | null) => Promise<void>;
  readonly dispose: () => Promise<void>;
}

/** The StaffStore contract, run by every adapter against its real backend. */
export function staffStoreContract(name: string, make: () => Promise<StaffStoreFixture>): void {
  describe(`StaffStore contract: ${name}`, () => {
    let f: StaffStoreFixture;
    let store: StaffStore;
    beforeEach(async () => {
      f = await make();
      store = f.store;
    });
    afterEach(async () => f.dispose());

    const staff = (id: string, organizationId: string, role: StaffRole = 'nurse', email = `${id}@example.org`) => ({
      id,
      email,
      role,
      organizationId,
      displayName: null,
      isChargeNurse: false,
      phone: null,
      createdAtMs: 10,
    });

    /** Two organizations with a nurse, a physician and an admin each. */
    async function twoOrganizations(): Promise<void> {
      for (const org of ['org-a', 'org-b']) {
        await store.createOrganization({ id: org, name: org.toUpperCase(), createdAtMs: 1 });
        await store.createStaff(staff(`nurse-${org}`, org, 'nurse'), 'h');
        await store.createStaff(staff(`doc-${org}`, org, 'physician'), 'h');
        await store.createStaff(staff(`admin-${org}`, org, 'admin'), 'h');
      }
    }

    it('creates organizations once', async () => {
      expect(await store.createOrganization({ id: 'org-1', name: 'Clinic One', createdAtMs: 5 })).toEqual({ id: 'org-1', name: 'Clinic One', createdAtMs: 5 });
      expect(await store.getOrganization('org-1')).toEqual({ id: 'org-1', name: 'Clinic One', createdAtMs: 5 });
      await expect(store.createOrganization({ id: 'org-1', name: 'Again', createdAtMs: 6 })).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_EXISTS' });
      expect(await store.getOrganization('nowhere')).toBeUndefined();
    });

    it('creates staff with a case-insensitively unique email, in an existing organization, and keeps the hash apart', async () => {
      await store.createOrganization({ id: 'org-1', name: 'One', createdAtMs: 1 });
      const created = await store.createStaff(
        { ...staff('s-1', 'org-1', 'nurse', 'Ann.Nurse@Example.ORG'), displayName: 'Ann', isChargeNurse: true, phone: '+15551234567' },
        'argon2-hash',
      );
      const expected = {
        id: 's-1',
        email: 'ann.nurse@example.org',
        role: 'nurse',
        organizationId: 'org-1',
        displayName: 'Ann',
        status: 'active',
        isChargeNurse: true,
        phone: '+15551234567',
        createdAtMs: 10,
      };
      expect(created).toEqual(expected);
      expect(await store.getStaff('s-1')).toEqual(expected);
      expect(JSON.stringify(await store.getStaff('s-1'))).not.toContain('argon2-hash');
      expect(await store.findLogin('  ANN.nurse@example.org ')).toEqual({ staff: expected, passwordHash: 'argon2-hash' });
      expect(await store.findLogin('bob@example.org')).toBeUndefined();

      await expect(store.createStaff(staff('s-2', 'org-1', 'admin', 'ann.NURSE@example.org'), 'h')).rejects.toMatchObject({ code: 'RPM_ERR_STAFF_EXISTS' });
      // Unique within an organization only: another tenant may use the email, and learns nothing.
      await store.createOrganization({ id: 'org-2', name: 'Two', createdAtMs: 1 });
      const elsewhere = await store.createStaff({ ...staff('s-4', 'org-2', 'admin', 'ann.nurse@example.org'), createdAtMs: 20 }, 'other-hash');
      expect(elsewhere.email).toBe('ann.nurse@example.org');
      // A login names the organization, or takes the oldest account with the email.
      expect((await store.findLogin('ann.nurse@example.org'))?.staff.id).toBe('s-1');
      expect(await store.findLogin('ann.nurse@example.org', 'org-2')).toEqual({ staff: elsewhere, passwordHash: 'other-hash' });
      expect(await store.findLogin('ann.nurse@example.org', 'org-3')).toBeUndefined();
      await expect(store.createStaff(staff('s-3', 'ghost-org'), 'h')).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_NOT_FOUND' });
      // Nothing is left of a refused account.
      expect(await store.getStaff('s-2')).toBeUndefined();
      expect(await store.getStaff('s-3')).toBeUndefined();
    });

    it('lists staff of one organization, optionally by role, and disables and re-enables accounts', async () => {
      await twoOrganizations();
      expect((await store.listStaff('org-a')).map((s) => s.id)).toEqual(['admin-org-a', 'doc-org-a', 'nurse-org-a']);
      expect((await store.listStaff('org-a', { role: 'nurse' })).map((s) => s.id)).toEqual(['nurse-org-a']);
      expect(await store.setStaffStatus('nurse-org-a', 'disabled')).toMatchObject({ id: 'nurse-org-a', status: 'disabled' });
      expect((await store.findLogin('nurse-org-a@example.org'))?.staff.status).toBe('disabled');
      expect(await store.setStaffStatus('nurse-org-a', 'active')).toMatchObject({ status: 'active' });
      expect(await store.setStaffStatus('nobody', 'disabled')).toBeUndefined();
    });

    it('keeps each staff member\'s alert notification settings', async () => {
      await twoOrganizations();
      expect(await store.alertSettings('nurse-org-a')).toBeNull();
      expect(await store.setAlertSettings('nurse-org-a', { titleBadge: false, desktopNotifications: true, sound: true })).toBe(true);
      expect(await store.alertSettings('nurse-org-a')).toEqual({ titleBadge: false, desktopNotifications: true, sound: true });
      expect(await store.alertSettings('nurse-org-b')).toBeNull();
      expect(await store.setAlertSettings('nobody', { titleBadge: true, desktopNotifications: false, sound: false })).toBe(false);
    });

    it('changes role, charge-nurse flag, phone and name, keeping the rest', async () => {
      await twoOrganizations();
      const changed = await store.updateStaff('nurse-org-a', { role: 'physician', isChargeNurse: true, phone: '+15551234567', displayName: 'Ann' });
      expect(changed).toMatchObject({ id: 'nurse-org-a', role: 'physician', isChargeNurse: true, phone: '+15551234567', displayName: 'Ann', email: 'nurse-org-a@example.org', status: 'active' });
      expect(await store.updateStaff('nurse-org-a', { phone: null })).toMatchObject({ phone: null, role: 'physician', isChargeNurse: true });
      expect(await store.updateStaff('nurse-org-a', {})).toMatchObject({ role: 'physician' });
      expect(await store.getStaff('nurse-org-a')).toMatchObject({ role: 'physician', displayName: 'Ann' });
      expect(await store.updateStaff('nobody', { role: 'nurse' })).toBeUndefined();
    });

    it('counts wrong passwords between sign-ins and remembers the sources an account signed in from', async () => {
      await twoOrganizations();
      expect(await store.recordLoginFailure('nurse-org-a', 100)).toBe(1);
      expect(await store.recordLoginFailure('nurse-org-a', 300)).toBe(2);
      expect(await store.recordLoginFailure('nurse-org-a', 200)).toBe(3);
      expect(await store.knownLoginSource('nurse-org-a', '10.0.0.7', 0)).toBe(false);
      expect(await store.recordLoginSuccess('nurse-org-a', '10.0.0.7', 400, 0)).toEqual({ count: 3, firstAtMs: 100, lastAtMs: 300 });
      expect(await store.recordLoginSuccess('nurse-org-a', '10.0.0.7', 500, 0)).toEqual({ count: 0, firstAtMs: null, lastAtMs: null });
      expect(await store.knownLoginSource('nurse-org-a', '10.0.0.7', 450)).toBe(true);
      expect(await store.knownLoginSource('nurse-org-a', '10.0.0.7', 501)).toBe(false);
      expect(await store.knownLoginSource('doc-org-a', '10.0.0.7', 0)).toBe(false);
      // Sources unused since the cut-off are forgotten at the next sign-in.
      await store.recordLoginSuccess('nurse-org-a', '10.0.0.8', 10_000, 1000);
      expect(await store.knownLoginSource('nurse-org-a', '10.0.0.7', 0)).toBe(false);
      expect(await store.knownLoginSource('nurse-org-a', '10.0.0.8', 0)).toBe(true);
    });

    it('keeps sessions by token hash: activity only moves forward, revocation is set once', async () => {
      await twoOrganizations();
      const s = await store.createSession({ tokenSha256: 'aa', staffId: 'nurse-org-a', createdAtMs: 1000, expiresAtMs: 9000 });
      expect(s).toEqual({ tokenSha256: 'aa', staffId: 'nurse-org-a', createdAtMs: 1000, expiresAtMs: 9000, lastActiveAtMs: 1000, revokedAtMs: null });
      await store.touchSession('aa', 2000);
      await store.touchSession('aa', 1500);
      expect(await store.findSession('aa')).toMatchObject({ lastActiveAtMs: 2000, revokedAtMs: null });
      expect(await store.revokeSession('aa', 3000)).toBe(true);
      expect(await store.revokeSession('aa', 4000)).toBe(false);
      expect(await store.findSession('aa')).toMatchObject({ revokedAtMs: 3000 });
      expect(await store.findSession('zz')).toBeUndefined();

      await store.createSession({ tokenSha256: 'b1', staffId: 'doc-org-a', createdAtMs: 1000, expiresAtMs: 9000 });
      await store.createSession({ tokenSha256: 'b2', staffId: 'doc-org-a', createdAtMs: 1000, expiresAtMs: 5000 });
      await store.createSession({ tokenSha256: 'c1', staffId: 'doc-org-b', createdAtMs: 1000, expiresAtMs: 9000 });
      // Live: not revoked (aa is), before the absolute end (b2 ends at 5000), active since the idle cut-off.
      expect(await store.countLiveSessions(4000, 500)).toBe(3);
      expect(await store.countLiveSessions(6000, 500)).toBe(2);
      expect(await store.countLiveSessions(6000, 1000)).toBe(0);
      expect(await store.revokeSessionsOf('doc-org-a', 4000)).toBe(2);
      expect(await store.findSession('c1')).toMatchObject({ revokedAtMs: null });

      // Pruning drops sessions that ended (revoked or past their absolute expiry) before the instant.
      expect(await store.pruneSessions(3500)).toBe(1); // aa, revoked at 3000
      expect(await store.pruneSessions(6000)).toBe(2); // b1, b2 revoked at 4000 (b2 also expired at 5000)
      expect(await store.findSession('c1')).toBeDefined();
      expect(await store.pruneSessions(10_000)).toBe(1);
    });

    it('creates care teams in an existing organization and links only members and patients of that organization', async () => {
      await twoOrganizations();
      await f.addPatient('pa-1', 'org-a');
      await f.addPatient('pb-1', 'org-b');
      await f.addPatient('p-none', null);
      const team = await store.createCareTeam({ id: 'team-a', organizationId: 'org-a', name: 'Cardiology days', createdAtMs: 3 });
      expect(team).toEqual({ id: 'team-a', organizationId: 'org-a', name: 'Cardiology days', createdAtMs: 3 });
      expect(await store.getCareTeam({ organizationId: 'org-a', id: 'team-a' })).toEqual(team);
      await expect(store.createCareTeam({ id: 'team-a', organizationId: 'org-a', name: 'x', createdAtMs: 3 })).rejects.toMatchObject({ code: 'RPM_ERR_CARE_TEAM_EXISTS' });
      // Team ids are the organization's own: org-b may have a team-a too, and the two never meet.
      const theirs = await store.createCareTeam({ id: 'team-a', organizationId: 'org-b', name: 'Theirs', createdAtMs: 3 });
      expect(await store.getCareTeam({ organizationId: 'org-b', id: 'team-a' })).toEqual(theirs);
      expect((await store.findCareTeams('team-a')).map((t) => t.organizationId)).toEqual(['org-a', 'org-b']);
      await store.addTeamMember({ organizationId: 'org-b', id: 'team-a' }, 'nurse-org-b', 4);
      await expect(store.addTeamMember({ organizationId: 'org-b', id: 'team-a' }, 'nurse-org-a', 4)).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_MISMATCH' });
      await expect(store.createCareTeam({ id: 'team-x', organizationId: 'ghost', name: 'x', createdAtMs: 3 })).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_NOT_FOUND' });

      await store.addTeamMember({ organizationId: 'org-a', id: 'team-a' }, 'nurse-org-a', 4);
      await store.addTeamMember({ organizationId: 'org-a', id: 'team-a' }, 'nurse-org-a', 5); // no-op
      await expect(store.addTeamMember({ organizationId: 'org-a', id: 'team-a' }, 'nurse-org-b', 4)).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_MISMATCH' });
      await expect(store.addTeamMember({ organizationId: 'org-a', id: 'team-a' }, 'nobody', 4)).rejects.toMatchObject({ code: 'RPM_ERR_STAFF_NOT_FOUND' });
      await expect(store.addTeamMember({ organizationId: 'org-a', id: 'no-team' }, 'nurse-org-a', 4)).rejects.toMatchObject({ code: 'RPM_ERR_CARE_TEAM_NOT_FOUND' });

      await store.addTeamPatient({ organizationId: 'org-a', id: 'team-a' }, 'pa-1', 4);
      await store.addTeamPatient({ organizationId: 'org-a', id: 'team-a' }, 'pa-1', 5); // no-op
      await expect(store.addTeamPatient({ organizationId: 'org-a', id: 'team-a' }, 'pb-1', 4)).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_MISMATCH' });
      await expect(store.addTeamPatient({ organizationId: 'org-a', id: 'team-a' }, 'p-none', 4)).rejects.toMatchObject({ code: 'RPM_ERR_ORGANIZATION_MISMATCH' });
      await expect(store.addTeamPatient({ organizationId: 'org-a', id: 'team-a' }, 'ghost', 4)).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_NOT_FOUND' });

      expect((await store.teamMembers({ organizationId: 'org-a', id: 'team-a' })).map((s) => s.id)).toEqual(['nurse-org-a']);
      expect((await store.listCareTeams('org-a')).map((t) => t.id)).toEqual(['team-a']);
      expect((await store.listCareTeams('org-b')).map((t) => t.name)).toEqual(['Theirs']);
      expect(await store.teamPatients({ organizationId: 'org-a', id: 'team-a' })).toEqual(['pa-1']);
      expect(await store.teamPatients({ organizationId: 'org-b', id: 'team-a' })).toEqual([]);
      expect((await store.teamsOfStaff('nurse-org-a')).map((t) => t.id)).toEqual(['team-a']);
      expect((await store.teamsOfPatient('pa-1')).map((t) => t.id)).toEqual(['team-a']);
      expect((await store.teamMembers({ organizationId: 'org-b', id: 'team-a' })).map((s) => s.id)).toEqual(['nurse-org-b']);
      expect(await store.removeTeamMember({ organizationId: 'org-a', id: 'team-a' }, 'nurse-org-a')).toBe(true);
      expect(await store.removeTeamMember({ organizationId: 'org-a', id: 'team-a' }, 'nurse-org-a')).toBe(false);
      expect(await store.removeTeamPatient({ organizationId: 'org-a', id: 'team-a' }, 'pa-1')).toBe(true);
      expect(await store.removeTeamPatient({ organizationId: 'org-a', id: 'team-a' }, 'pa-1')).toBe(false);
      expect(await store.teamsOfPatient('pa-1')).toEqual([]);
    });

    it('scopes patients to the organization: nobody sees another tenant, disabled staff see nothing', async () => {
      await twoOrganizations();
      for (const p of ['pa-1', 'pa-2']) await f.addPatient(p, 'org-a');
      await f.addPatient('pb-1', 'org-b');
      await f.addPatient('p-none', null);
      for (const who of ['nurse-org-a', 'doc-org-a', 'admin-org-a']) {
        expect(await store.visiblePatientIds(who, { limit: 100 }), who).toEqual(['pa-1', 'pa-2']);
        expect(await store.canSeePatient(who, 'pa-1'), who).toBe(true);
        expect(await store.canSeePatient(who, 'pb-1'), who).toBe(false);
        expect(await store.canSeePatient(who, 'p-none'), who).toBe(false);
        expect(await store.canSeePatient(who, 'ghost'), who).toBe(false);
      }
      expect(await store.visiblePatientIds('nurse-org-b', { limit: 100 })).toEqual(['pb-1']);
      expect(await store.visiblePatientIds('nurse-org-a', { limit: 1, afterId: 'pa-1' })).toEqual(['pa-2']);
      expect(await store.visiblePatientIds('nobody', { limit: 100 })).toEqual([]);
      await store.setStaffStatus('nurse-org-a', 'disabled');
      expect(await store.canSeePatient('nurse-org-a', 'pa-1')).toBe(false);
      expect(await store.visiblePatientIds('nurse-org-a', { limit: 100 })).toEqual([]);
    });

    it('scopes nurses on a care team to their teams once the organization assigns patients to teams', async () => {
      await twoOrganizations();
      await store.createStaff(staff('float-org-a', 'org-a', 'nurse'), 'h');
      for (const p of ['pa-1', 'pa-2', 'pa-3']) await f.addPatient(p, 'org-a');
      await store.createCareTeam({ id: 'team-1', organizationId: 'org-a', name: 'One', createdAtMs: 1 });
      await store.createCareTeam({ id: 'team-2', organizationId: 'org-a', name: 'Two', createdAtMs: 1 });
      await store.addTeamMember({ organizationId: 'org-a', id: 'team-1' }, 'nurse-org-a', 1);
      await store.addTeamMember({ organizationId: 'org-a', id: 'team-1' }, 'doc-org-a', 1);

      // Teams exist but no patient is assigned to any: the organization does not use team scoping yet.
      expect(await store.visiblePatientIds('nurse-org-a', { limit: 100 })).toEqual(['pa-1', 'pa-2', 'pa-3']);

      await store.addTeamPatient({ organizationId: 'org-a', id: 'team-2' }, 'pa-3', 1);
      // Team scoping is on: the nurse's team has no patient yet, so she sees none.
      expect(await store.visiblePatientIds('nurse-org-a', { limit: 100 })).toEqual([]);

      await store.addTeamPatient({ organizationId: 'org-a', id: 'team-1' }, 'pa-1', 1);
      await store.addTeamPatient({ organizationId: 'org-a', id: 'team-1' }, 'pa-2', 1);
      expect(await store.visiblePatientIds('nurse-org-a', { limit: 100 })).toEqual(['pa-1', 'pa-2']);
      expect(await store.canSeePatient('nurse-org-a', 'pa-3')).toBe(false);
      // A nurse on no team, physicians (on a team or not) and admins see the whole organization.
      for (const who of ['float-org-a', 'doc-org-a', 'admin-org-a']) {
        expect(await store.visiblePatientIds(who, { limit: 100 }), who).toEqual(['pa-1', 'pa-2', 'pa-3']);
      }
      // Another organization's teams change nothing for org-b.
      await f.addPatient('pb-1', 'org-b');
      expect(await store.visiblePatientIds('nurse-org-b', { limit: 100 })).toEqual(['pb-1']);

      // Membership changes apply at once.
      await store.addTeamMember({ organizationId: 'org-a', id: 'team-2' }, 'nurse-org-a', 2);
      expect(await store.canSeePatient('nurse-org-a', 'pa-3')).toBe(true);
      await store.removeTeamMember({ organizationId: 'org-a', id: 'team-1' }, 'nurse-org-a');
      expect(await store.visiblePatientIds('nurse-org-a', { limit: 100 })).toEqual(['pa-3']);
    });
  });
}
