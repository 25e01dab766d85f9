import { randomUUID } from 'node:crypto';
import { RpmError } from '../core/errors/rpm-error.js';
import {
  type CareTeam,
  type CreateCareTeamInput,
  type CreateOrganizationInput,
  type CreateStaffInput,
  normalizeEmail,
  type Organization,
  type Staff,
  type StaffStatus,
} from '../core/model/staff.js';
import type { Clock } from '../core/ports/clock.js';
import type { StaffStore } from '../core/ports/staff-store.js';
import { hashPassword } from './auth/password.js';
import type { SessionService } from './auth/session-service.js';

/**
 * Who administers: the bootstrap admin token (every organization), or a staff member with
 * role `admin`, who administers their own organization only.
 */
export type AdminActor = { readonly kind: 'bootstrap-admin' } | { readonly kind: 'staff'; readonly staff: Staff };

/**
 * Organizations, staff accounts and care teams, and the patient scope of a staff member.
 *
 * Tenant rule for organization admins: anything outside their organization answers as if it did
 * not exist (404), never 403, so that ids of other tenants are not confirmed. A staff member who
 * is not an admin gets 403 RPM_ERR_AUTH_FORBIDDEN: that reveals nothing about other tenants.
 */
export class StaffService {
  constructor(
    private readonly store: StaffStore,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
  ) {}

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

  /** Active charge nurses of an organization: who receives escalations. */
  async chargeNurses(organizationId: string): Promise<Staff[]> {
    const nurses = await this.store.listStaff(organizationId, { role: 'nurse' });
    return nurses.filter((s) => s.isChargeNurse && s.status === 'active');
  }

  /** Active colleagues in the staff member's own organization: who holds an alert, by name. */
  async colleagues(of: Staff): Promise<Staff[]> {
    return (await this.store.listStaff(of.organizationId)).filter((s) => s.status === 'active');
  }

  async createCareTeam(input: CreateCareTeamInput, by: AdminActor): Promise<CareTeam> {
    await this.requireOrganization(input.organizationId, this.admin(by));
    return this.store.createCareTeam({ id: input.id, organizationId: input.organizationId, name: input.name, createdAtMs: this.clock.now() });
  }

  async getCareTeam(id: string, by: AdminActor): Promise<{ team: CareTeam; members: Staff[] }> {
    const team = await this.requireTeam(id, by);
    return { team, members: await this.store.teamMembers(id) };
  }

  async addTeamMember(teamId: string, staffId: string, by: AdminActor): Promise<void> {
    await this.requireTeam(teamId, by);
    if (by.kind === 'staff') await this.getStaff(staffId, by);
    await this.store.addTeamMember(teamId, staffId, this.clock.now());
  }

  async removeTeamMember(teamId: string, staffId: string, by: AdminActor): Promise<void> {
    await this.requireTeam(teamId, by);
    if (!(await this.store.removeTeamMember(teamId, staffId))) {
      throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${staffId}' is not on care team '${teamId}'`);
    }
  }

  async addTeamPatient(teamId: string, patientId: string, by: AdminActor): Promise<void> {
    await this.requireTeam(teamId, by);
    // An organization admin sees exactly the patients of their organization.
    if (by.kind === 'staff' && !(await this.store.canSeePatient(by.staff.id, patientId))) {
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { path: '/patientId' });
    }
    await this.store.addTeamPatient(teamId, patientId, this.clock.now());
  }

  async removeTeamPatient(teamId: string, patientId: string, by: AdminActor): Promise<void> {
    await this.requireTeam(teamId, by);
    if (!(await this.store.removeTeamPatient(teamId, patientId))) {
      throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' is not on care team '${teamId}'`);
    }
  }

  teamsOfStaff(staffId: string): Promise<CareTeam[]> {
    return this.store.teamsOfStaff(staffId);
  }

  /** Whether the staff member may see the patient (scope rule: StaffStore). */
  canSeePatient(staff: Staff, patientId: string): Promise<boolean> {
    return this.store.canSeePatient(staff.id, patientId);
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

  private async requireTeam(id: string, by: AdminActor): Promise<CareTeam> {
    const team = await this.store.getCareTeam(id);
    if (team === undefined || !this.inScope(team.organizationId, this.admin(by))) {
      throw new RpmError('RPM_ERR_CARE_TEAM_NOT_FOUND', `care team '${id}' not found`);
    }
    return team;
  }
}
