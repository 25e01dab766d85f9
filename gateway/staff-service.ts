import { randomUUID } from 'node:crypto';
import { type DisplayPrefs, type DisplayPrefsPatch, effectivePrefs } from '../core/display/units.js';
import { RpmError } from '../core/errors/rpm-error.js';
import {
  type CareTeam,
  type CareTeamKey,
  type CreateCareTeamInput,
  type CreateOrganizationInput,
  type CreateStaffInput,
  normalizeEmail,
  type Organization,
  type AlertSettings,
  type Staff,
  type StaffStatus,
} from '../core/model/staff.js';
import type { Clock } from '../core/ports/clock.js';
import type { StaffPatch, StaffStore } from '../core/ports/staff-store.js';
import type { OrganizationAccessPolicy, StaffSecurityStore } from '../core/ports/staff-security-store.js';
import type { MfaService } from './auth/mfa-service.js';
import { hashPassword } from './auth/password.js';
import type { SessionService } from './auth/session-service.js';
import { activeChargeNurses } from '../pipeline/worklist/sla-escalator.js';

/**
 * Who administers: the bootstrap admin token (every organization), or a staff member with
 * role `admin`, who administers their own organization only.
 */
export type AdminActor = { readonly kind: 'bootstrap-admin' } | { readonly kind: 'staff'; readonly staff: Staff };

/** Emergency access to a patient outside the scope rule; `allows` audits each use. */
export interface EmergencyAccess {
  allows(staff: Staff, patientId: string): Promise<boolean>;
}

/**
 * Organizations, staff accounts and care teams, and the patient scope of a staff member.
 *
 * Tenant rule for organization admins: anything outside their organization answers as if it did
 * not exist (404), never 403, so that ids of other tenants are not confirmed. A staff member who
 * is not an admin gets 403 RPM_ERR_AUTH_FORBIDDEN: that reveals nothing about other tenants.
 */
export class StaffService {
  private readonly scopeListeners = new Set<(organizationId: string) => void>();
  private emergency: EmergencyAccess | undefined;

  constructor(
    private readonly store: StaffStore,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
    private readonly security?: StaffSecurityStore,
    private readonly mfa?: MfaService,
  ) {}

  /**
   * Told after a change that can change which patients a staff member of the organization sees
   * (care-team membership, team patients), so live streams re-check at once. Returns unsubscribe.
   */
  onScopeChanged(listener: (organizationId: string) => void): () => void {
    this.scopeListeners.add(listener);
    return () => this.scopeListeners.delete(listener);
  }

  /** Scope changed in another process of the cluster: streams here re-check too. */
  remoteScopeChanged(organizationId: string): void {
    this.scopeChanged(organizationId);
  }

  /** A patient moved between organizations: both organizations' streams re-check their scope. */
  patientMoved(from: string | null, to: string | null): void {
    for (const org of new Set([from, to])) if (org !== null) this.scopeChanged(org);
  }

  private scopeChanged(organizationId: string): void {
    for (const l of [...this.scopeListeners]) l(organizationId);
  }

  createOrganization(input: CreateOrganizationInput, by: AdminActor): Promise<Organization> {
    if (by.kind !== 'bootstrap-admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'only the operator (admin token) creates organizations');
    return this.store.createOrganization({ id: input.id, name: input.name, createdAtMs: this.clock.now() });
  }

  /**
   * Without `by` there is no tenant check: for callers that already hold the admin token. With
   * it, only administrators may look (a nurse or physician gets 403, like every admin route).
   */
  async requireOrganization(id: string, by?: AdminActor): Promise<Organization> {
    const org = this.inScope(id, by === undefined ? undefined : this.admin(by)) ? await this.store.getOrganization(id) : undefined;
    if (org === undefined) throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${id}' not found`, { path: '/organizationId' });
    return org;
  }

  async createStaff(input: CreateStaffInput, by: AdminActor): Promise<Staff> {
    await this.requireOrganization(input.organizationId, this.admin(by));
    return this.store.createStaff(
      {
        id: randomUUID(),
        email: normalizeEmail(input.email),
        role: input.role,
        organizationId: input.organizationId,
        displayName: input.displayName ?? null,
        isChargeNurse: input.isChargeNurse ?? false,
        phone: input.phone ?? null,
        createdAtMs: this.clock.now(),
      },
      await hashPassword(input.password),
    );
  }

  async getStaff(id: string, by: AdminActor): Promise<Staff> {
    const staff = await this.store.getStaff(id);
    if (staff === undefined || !this.inScope(staff.organizationId, this.admin(by))) {
      throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${id}' not found`);
    }
    return staff;
  }

  /** Disabling ends every session of the account at once. */
  async setStaffStatus(id: string, status: StaffStatus, by: AdminActor): Promise<Staff> {
    await this.getStaff(id, by);
    const updated = await this.store.setStaffStatus(id, status);
    if (updated === undefined) throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${id}' not found`);
    if (status === 'disabled') await this.sessions.revokeAll(id);
    return updated;
  }

  alertSettings(staff: Staff): Promise<AlertSettings | null> {
    return this.store.alertSettings(staff.id);
  }

  async setAlertSettings(staff: Staff, settings: AlertSettings): Promise<void> {
    await this.store.setAlertSettings(staff.id, settings);
  }

  /** An organization's staff accounts, active and disabled, by id (organization admins: their own). */
  async listStaff(organizationId: string, by: AdminActor): Promise<Staff[]> {
    await this.requireOrganization(organizationId, this.admin(by));
    return this.store.listStaff(organizationId);
  }

  /** Role, charge nurse, phone, name. A role change can change a nurse's scope: live streams re-check at once. */
  async updateStaff(id: string, patch: StaffPatch, by: AdminActor): Promise<Staff> {
    const before = await this.getStaff(id, by);
    if (by.kind === 'staff' && by.staff.id === id && patch.role !== undefined && patch.role !== 'admin') {
      throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'you cannot take away your own administration role');
    }
    const updated = await this.store.updateStaff(id, patch);
    if (updated === undefined) throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${id}' not found`);
    if (before.role !== updated.role) this.scopeChanged(updated.organizationId);
    return updated;
  }

  /** An organization's care teams with their members and patients (organization admins: their own). */
  async listCareTeams(organizationId: string, by: AdminActor): Promise<{ team: CareTeam; members: Staff[]; patients: string[] }[]> {
    await this.requireOrganization(organizationId, this.admin(by));
    const teams = await this.store.listCareTeams(organizationId);
    return Promise.all(teams.map(async (team) => ({ team, members: await this.store.teamMembers(team), patients: await this.store.teamPatients(team) })));
  }

  /**
   * The units and time zone this staff member reads values in: her own choice over her
   * organization's over the defaults (kg, °C, mg/dL, UTC; always labelled).
   */
  async displayPrefs(staff: Staff): Promise<{ effective: DisplayPrefs; organization: DisplayPrefsPatch | null; own: DisplayPrefsPatch | null }> {
    const settings = await this.store.displaySettings(staff.organizationId, staff.id);
    return { effective: effectivePrefs(settings.organization, settings.staff), organization: settings.organization, own: settings.staff };
  }

  /** The organization's display units and time zone (what its staff read unless they choose otherwise). */
  async organizationDisplay(organizationId: string, by?: AdminActor): Promise<DisplayPrefsPatch | null> {
    await this.requireOrganization(organizationId, by === undefined ? undefined : this.admin(by));
    return (await this.store.displaySettings(organizationId, null)).organization;
  }

  async setOrganizationDisplay(organizationId: string, display: DisplayPrefsPatch, by: AdminActor): Promise<DisplayPrefsPatch> {
    await this.requireOrganization(organizationId, this.admin(by));
    await this.store.setOrganizationDisplay(organizationId, display);
    return display;
  }

  /** A staff member's own display choice (partial; fields left out follow the organization). */
  async setOwnDisplay(staff: Staff, display: DisplayPrefsPatch): Promise<void> {
    await this.store.setStaffDisplay(staff.id, display);
  }

  /** Active charge nurses of an organization: who receives escalations. */
  chargeNurses(organizationId: string): Promise<Staff[]> {
    return activeChargeNurses(this.store, organizationId);
  }

  /** Active colleagues in the staff member's own organization: who holds an alert, by name. */
  async colleagues(of: Staff): Promise<Staff[]> {
    return (await this.store.listStaff(of.organizationId)).filter((s) => s.status === 'active');
  }

  async createCareTeam(input: CreateCareTeamInput, by: AdminActor): Promise<CareTeam> {
    await this.requireOrganization(input.organizationId, this.admin(by));
    return this.store.createCareTeam({ id: input.id, organizationId: input.organizationId, name: input.name, createdAtMs: this.clock.now() });
  }

  async getCareTeam(id: string, by: AdminActor, organizationId?: string): Promise<{ team: CareTeam; members: Staff[] }> {
    const team = await this.requireTeam(id, by, organizationId);
    return { team, members: await this.store.teamMembers(team) };
  }

  async addTeamMember(teamId: string, staffId: string, by: AdminActor, organizationId?: string): Promise<CareTeam> {
    const team = await this.requireTeam(teamId, by, organizationId);
    if (by.kind === 'staff') await this.getStaff(staffId, by);
    await this.store.addTeamMember(team, staffId, this.clock.now());
    this.scopeChanged(team.organizationId);
    return team;
  }

  async removeTeamMember(teamId: string, staffId: string, by: AdminActor, organizationId?: string): Promise<CareTeam> {
    const team = await this.requireTeam(teamId, by, organizationId);
    if (!(await this.store.removeTeamMember(team, staffId))) {
      throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${staffId}' is not on care team '${teamId}'`);
    }
    this.scopeChanged(team.organizationId);
    return team;
  }

  async addTeamPatient(teamId: string, patientId: string, by: AdminActor, organizationId?: string): Promise<CareTeam> {
    const team = await this.requireTeam(teamId, by, organizationId);
    // An organization admin sees exactly the patients of their organization.
    if (by.kind === 'staff' && !(await this.store.canSeePatient(by.staff.id, patientId))) {
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { path: '/patientId' });
    }
    await this.store.addTeamPatient(team, patientId, this.clock.now());
    this.scopeChanged(team.organizationId);
    return team;
  }

  async removeTeamPatient(teamId: string, patientId: string, by: AdminActor, organizationId?: string): Promise<CareTeam> {
    const team = await this.requireTeam(teamId, by, organizationId);
    if (!(await this.store.removeTeamPatient(team, patientId))) {
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' is not on care team '${teamId}'`);
    }
    this.scopeChanged(team.organizationId);
    return team;
  }

  /** The patient's care teams with their active members (the patient header). */
  async careTeamsOfPatient(patientId: string): Promise<{ team: CareTeam; members: Staff[] }[]> {
    const teams = await this.store.teamsOfPatient(patientId);
    return Promise.all(teams.map(async (team) => ({ team, members: (await this.store.teamMembers(team)).filter((m) => m.status === 'active') })));
  }

  teamsOfStaff(staffId: string): Promise<CareTeam[]> {
    return this.store.teamsOfStaff(staffId);
  }

  /**
   * Whether the staff member may see the patient: the scope rule (StaffStore), or a break-glass
   * grant of hers for this patient in force now (BreakGlassService; its own organization only).
   */
  async canSeePatient(staff: Staff, patientId: string): Promise<boolean> {
    if (await this.store.canSeePatient(staff.id, patientId)) return true;
    return this.emergency !== undefined && (await this.emergency.allows(staff, patientId));
  }

  /** Break-glass access (BreakGlassService), consulted for patients outside the scope rule. */
  useEmergencyAccess(emergency: EmergencyAccess): void {
    this.emergency = emergency;
  }

  /** Whether the patient is in the staff member's own scope (care teams), break-glass aside. */
  patientInOwnScope(staff: Staff, patientId: string): Promise<boolean> {
    return this.store.canSeePatient(staff.id, patientId);
  }

  /** An administrator sets a new password for an account; every session of it ends. */
  async resetPassword(id: string, password: string, by: AdminActor): Promise<Staff> {
    const staff = await this.getStaff(id, by);
    if (this.security === undefined) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'password resets are not available');
    await this.security.setPasswordHash(id, await hashPassword(password), this.clock.now());
    await this.sessions.revokeAll(id, 'password-changed');
    return staff;
  }

  /** An administrator removes an account's second factor (a lost phone); every session of it ends, and it enrols again. */
  async resetMfa(id: string, by: AdminActor): Promise<{ staff: Staff; removed: boolean }> {
    const staff = await this.getStaff(id, by);
    if (this.mfa === undefined) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'second factors are not available');
    const removed = await this.mfa.reset(id);
    await this.sessions.revokeAll(id, 'password-changed');
    return { staff, removed };
  }

  async accessPolicy(organizationId: string, by: AdminActor): Promise<OrganizationAccessPolicy> {
    await this.requireOrganization(organizationId, this.admin(by));
    if (this.security === undefined) return { organizationId, mfaRequired: false, sso: null };
    return this.security.policy(organizationId);
  }

  /** Changes what the patch names and keeps the rest (SSO settings are SsoService's). */
  async setAccessPolicy(organizationId: string, patch: Partial<Omit<OrganizationAccessPolicy, 'organizationId'>>, by: AdminActor): Promise<OrganizationAccessPolicy> {
    await this.requireOrganization(organizationId, this.admin(by));
    if (this.security === undefined) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'access policies are not available');
    const next = { ...(await this.security.policy(organizationId)), ...patch, organizationId };
    await this.security.setPolicy(next);
    return next;
  }

  /** Active administrators of the organization: who reviews break-glass access. */
  async organizationAdmins(organizationId: string): Promise<Staff[]> {
    return (await this.store.listStaff(organizationId, { role: 'admin' })).filter((s) => s.status === 'active');
  }

  /** Patient ids the staff member may see, in id order, with keyset paging. */
  visiblePatientIds(staff: Staff, options: { limit: number; afterId?: string }): Promise<string[]> {
    return this.store.visiblePatientIds(staff.id, options);
  }

  /** The actor, if allowed to administer at all: the bootstrap admin or a staff admin. */
  private admin(by: AdminActor): AdminActor {
    if (by.kind === 'staff' && by.staff.role !== 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'only administrators may do this');
    return by;
  }

  private inScope(organizationId: string, by: AdminActor | undefined): boolean {
    return by === undefined || by.kind === 'bootstrap-admin' || by.staff.organizationId === organizationId;
  }

  /**
   * Team ids are unique within an organization. An organization admin names teams of their own
   * organization; the operator names the organization too, or, when only one organization has a
   * team with that id, need not.
   */
  private async requireTeam(id: string, by: AdminActor, organizationId?: string): Promise<CareTeam> {
    const actor = this.admin(by);
    const notFound = (): RpmError => new RpmError('RPM_ERR_CARE_TEAM_NOT_FOUND', `care team '${id}' not found`);
    if (actor.kind === 'staff') {
      if (organizationId !== undefined && organizationId !== actor.staff.organizationId) throw notFound();
      const team = await this.store.getCareTeam({ organizationId: actor.staff.organizationId, id });
      if (team === undefined) throw notFound();
      return team;
    }
    if (organizationId !== undefined) {
      const key: CareTeamKey = { organizationId, id };
      const team = await this.store.getCareTeam(key);
      if (team === undefined) throw notFound();
      return team;
    }
    const teams = await this.store.findCareTeams(id);
    if (teams.length === 0) throw notFound();
    if (teams.length > 1) {
      throw new RpmError('RPM_ERR_CARE_TEAM_AMBIGUOUS', `several organizations have a care team '${id}'; name one with ?organizationId=`, {
        path: '/querystring/organizationId',
        details: { organizations: teams.map((t) => t.organizationId) },
      });
    }
    return teams[0] as CareTeam;
  }
}
