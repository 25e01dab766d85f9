import type { DisplayPrefsPatch } from '../display/units.js';
import type { AlertSettings, CareTeam, CareTeamKey, Organization, Staff, StaffRole, StaffSession, StaffStatus } from '../model/staff.js';

/**
 * Organizations (tenants), staff accounts with their password hashes, login sessions, care
 * teams, team membership and patient-to-team links; and the one rule that decides which
 * patients a staff member may see.
 *
 * Guarantees (checked by core/contract/staff-store.contract.ts):
 * - Organization ids are unique (RPM_ERR_ORGANIZATION_EXISTS). Care team ids and staff emails
 *   (regardless of case; the store normalizes them on write and lookup) are unique WITHIN an
 *   organization (RPM_ERR_CARE_TEAM_EXISTS, RPM_ERR_STAFF_EXISTS): another organization may use
 *   the same, so no tenant learns from a refusal what exists in another.
 * - Staff and care teams belong to an existing organization (RPM_ERR_ORGANIZATION_NOT_FOUND).
 * - Membership and patient links join things of ONE organization only: a staff member or patient
 *   of another organization is refused with RPM_ERR_ORGANIZATION_MISMATCH; unknown ones with
 *   RPM_ERR_CARE_TEAM_NOT_FOUND / RPM_ERR_STAFF_NOT_FOUND / RPM_ERR_PATIENT_NOT_FOUND. Adding a
 *   link that exists is a no-op.
 * - The password hash is never part of a `Staff` record; only `findLogin` returns it.
 * - Sessions are keyed by the SHA-256 of their token; the token itself is never stored. The last
 *   activity only moves forward. Revocation is an instant, set once.
 * - Patient scope (`canSeePatient`, `visiblePatientIds`), evaluated on current rows, so a change
 *   of role, status, membership or link applies to the very next request:
 *     1. An active staff member sees the patients of their own organization; a disabled one,
 *        or an unknown id, sees none. Patients without an organization are seen by nobody.
 *     2. Care-team scoping: a NURSE who is a member of at least one care team, in an
 *        organization where some care team has patients assigned, sees only the patients of
 *        their own teams. Physicians and admins always see the whole organization.
 *   Why: small practices run without teams and every nurse covers every patient; as soon as an
 *   organization splits its panel into teams, a nurse's worklist is her teams' patients. A nurse
 *   on no team yet (float, new hire) keeps the organization-wide view rather than seeing nothing.
 *
 * Deliberately left out: deleting staff or organizations (accounts are disabled, so the audit
 * trail keeps its references), and any driver type.
 */
export interface StaffStore {
  createOrganization(org: NewOrganization): Promise<Organization>;
  getOrganization(id: string): Promise<Organization | undefined>;
  /** Display units and time zone chosen by the organization, and by the staff member (each partial, null = none). */
  displaySettings(organizationId: string, staffId: string | null): Promise<{ organization: DisplayPrefsPatch | null; staff: DisplayPrefsPatch | null }>;
  /** Replaces the organization's choice; false if there is no such organization. */
  setOrganizationDisplay(organizationId: string, display: DisplayPrefsPatch): Promise<boolean>;
  /** Replaces the staff member's own choice (an empty object = follow the organization). */
  setStaffDisplay(staffId: string, display: DisplayPrefsPatch): Promise<boolean>;
  /** The staff member's alert notification settings, null while never saved. */
  alertSettings(staffId: string): Promise<AlertSettings | null>;
  /** Replaces them; false if there is no such account. */
  setAlertSettings(staffId: string, settings: AlertSettings): Promise<boolean>;

  /** Creates the account and its password hash atomically. */
  createStaff(staff: NewStaff, passwordHash: string): Promise<Staff>;
  getStaff(id: string): Promise<Staff | undefined>;
  /** Active and disabled staff of an organization, by id; optionally one role only. */
  listStaff(organizationId: string, options?: { role?: StaffRole }): Promise<Staff[]>;
  /**
   * The account and its password hash for a login, by email (any case): the organization's
   * account with that email, or without `organizationId` the oldest account with it.
   */
  findLogin(email: string, organizationId?: string): Promise<{ staff: Staff; passwordHash: string } | undefined>;
  /** Returns the updated account, or undefined if there is none. */
  setStaffStatus(id: string, status: StaffStatus): Promise<Staff | undefined>;
  /** Changes role, charge-nurse flag, phone (null removes it) or display name; the rest is kept. Undefined if there is no such account. */
  updateStaff(id: string, patch: StaffPatch): Promise<Staff | undefined>;

  /** A wrong password for the account; returns how many since its last sign-in. */
  recordLoginFailure(staffId: string, atMs: number): Promise<number>;
  /**
   * A sign-in from `source`: remembers the source (forgetting sources unused since
   * `forgetBeforeMs`) and returns, then clears, the wrong passwords since the last sign-in.
   */
  recordLoginSuccess(staffId: string, source: string, atMs: number, forgetBeforeMs: number): Promise<FailedLogins>;
  /** Whether the account signed in from `source` at or after `sinceMs`. */
  knownLoginSource(staffId: string, source: string, sinceMs: number): Promise<boolean>;

  createSession(session: NewSession): Promise<StaffSession>;
  findSession(tokenSha256: string): Promise<StaffSession | undefined>;
  /** Records activity at `atMs` (never moves backwards). */
  touchSession(tokenSha256: string, atMs: number): Promise<void>;
  /** Returns false if there was no live (unrevoked) session with that hash. */
  revokeSession(tokenSha256: string, atMs: number): Promise<boolean>;
  /** Every stored session of the staff member (live or ended, until pruned). */
  sessionsOf(staffId: string): Promise<StaffSession[]>;
  /** Revokes every live session of the staff member; returns how many. */
  revokeSessionsOf(staffId: string, atMs: number): Promise<number>;
  /** Deletes sessions that ended (absolute expiry or revocation) before `beforeMs`; returns how many. */
  pruneSessions(beforeMs: number): Promise<number>;
  /** Sessions live at `nowMs`: not revoked, before their absolute end, active since `idleSinceMs` (metrics). */
  countLiveSessions(nowMs: number, idleSinceMs: number): Promise<number>;

  createCareTeam(team: NewCareTeam): Promise<CareTeam>;
  getCareTeam(team: CareTeamKey): Promise<CareTeam | undefined>;
  /** The organization's care teams, by id. */
  listCareTeams(organizationId: string): Promise<CareTeam[]>;
  /** Patients on the team, by id. */
  teamPatients(team: CareTeamKey): Promise<string[]>;
  /** Every organization's team with this id, by organization (the operator names teams by id alone). */
  findCareTeams(id: string): Promise<CareTeam[]>;
  addTeamMember(team: CareTeamKey, staffId: string, atMs: number): Promise<void>;
  /** Returns false if the staff member was not on the team. */
  removeTeamMember(team: CareTeamKey, staffId: string): Promise<boolean>;
  addTeamPatient(team: CareTeamKey, patientId: string, atMs: number): Promise<void>;
  /** Returns false if the patient was not on the team. */
  removeTeamPatient(team: CareTeamKey, patientId: string): Promise<boolean>;
  /** Staff on the team, by id. */
  teamMembers(team: CareTeamKey): Promise<Staff[]>;
  /** Teams the staff member is on, by id. */
  teamsOfStaff(staffId: string): Promise<CareTeam[]>;
  /** Teams the patient is assigned to, by id. */
  teamsOfPatient(patientId: string): Promise<CareTeam[]>;

  /** Whether the staff member may see this patient (the scope rule above). */
  canSeePatient(staffId: string, patientId: string): Promise<boolean>;
  /** The patients the staff member may see, by id, with keyset paging. */
  visiblePatientIds(staffId: string, options: { limit: number; afterId?: string }): Promise<string[]>;

  close(): Promise<void>;
}

export interface StaffPatch {
  readonly role?: StaffRole;
  readonly isChargeNurse?: boolean;
  readonly phone?: string | null;
  readonly displayName?: string | null;
}

export interface NewOrganization {
  readonly id: string;
  readonly name: string;
  readonly createdAtMs: number;
}

export interface NewStaff {
  readonly id: string;
  readonly email: string;
  readonly role: StaffRole;
  readonly organizationId: string;
  readonly displayName: string | null;
  readonly isChargeNurse: boolean;
  readonly phone: string | null;
  readonly createdAtMs: number;
}

/** Wrong passwords for an account between two sign-ins. */
export interface FailedLogins {
  readonly count: number;
  readonly firstAtMs: number | null;
  readonly lastAtMs: number | null;
}

export interface NewSession {
  readonly tokenSha256: string;
  readonly staffId: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

export interface NewCareTeam {
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly createdAtMs: number;
}
