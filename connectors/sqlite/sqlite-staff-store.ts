import type { DisplayPrefsPatch } from '../../core/display/units.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import { type CareTeam, normalizeEmail, type Organization, type Staff, type StaffRole, type StaffSession, type StaffStatus } from '../../core/model/staff.js';
import type { NewCareTeam, NewOrganization, NewSession, NewStaff, StaffStore } from '../../core/ports/staff-store.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

/**
 * The ids of the patients a staff member may see (the scope rule documented on StaffStore),
 * as a subquery over the named parameter `@staffId`. Other SQLite stores sharing this database
 * (alerts, worklists) filter with `patient_id IN (${VISIBLE_PATIENT_IDS_SQL})` so that the rule
 * is written once. It is a plain join without aggregates, so SQLite flattens it and an outer
 * `id = ?` or `id > ?` uses the indexes.
 */
export const VISIBLE_PATIENT_IDS_SQL = `
  SELECT p.id AS id FROM patients p
  JOIN staff me ON me.id = @staffId AND me.status = 'active' AND p.organization_id = me.organization_id
  WHERE NOT (
      me.role = 'nurse'
      AND EXISTS (SELECT 1 FROM care_team_members m WHERE m.staff_id = me.id)
      AND EXISTS (SELECT 1 FROM care_teams t JOIN care_team_patients tp ON tp.team_id = t.id WHERE t.organization_id = me.organization_id)
    )
    OR p.id IN (SELECT tp.patient_id FROM care_team_members m JOIN care_team_patients tp ON tp.team_id = m.team_id WHERE m.staff_id = me.id)`;

interface StaffRow {
  id: string;
  email: string;
  role: string;
  organization_id: string;
  display_name: string | null;
  status: string;
  is_charge_nurse: number;
  phone: string | null;
  created_at_ms: number;
}

interface SessionRow {
  token_sha256: string;
  staff_id: string;
  created_at_ms: number;
  expires_at_ms: number;
  last_active_at_ms: number;
  revoked_at_ms: number | null;
}

interface TeamRow {
  id: string;
  organization_id: string;
  name: string;
  created_at_ms: number;
}

const STAFF_COLUMNS = 's.id, s.email, s.role, s.organization_id, s.display_name, s.status, s.is_charge_nurse, s.phone, s.created_at_ms';

const toStaff = (r: StaffRow): Staff => ({
  id: r.id,
  email: r.email,
  role: r.role as StaffRole,
  organizationId: r.organization_id,
  displayName: r.display_name,
  status: r.status as StaffStatus,
  isChargeNurse: r.is_charge_nurse === 1,
  phone: r.phone,
  createdAtMs: r.created_at_ms,
});

const toSession = (r: SessionRow): StaffSession => ({
  tokenSha256: r.token_sha256,
  staffId: r.staff_id,
  createdAtMs: r.created_at_ms,
  expiresAtMs: r.expires_at_ms,
  lastActiveAtMs: r.last_active_at_ms,
  revokedAtMs: r.revoked_at_ms,
});

const toTeam = (r: TeamRow): CareTeam => ({ id: r.id, organizationId: r.organization_id, name: r.name, createdAtMs: r.created_at_ms });

function sqliteCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
const isUniqueViolation = (err: unknown): boolean => sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY' || sqliteCode(err) === 'SQLITE_CONSTRAINT_UNIQUE';
const isForeignKeyViolation = (err: unknown): boolean => sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY';

export class SqliteStaffStore implements StaffStore {
  private readonly sql: (sql: string) => PreparedStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
  }

  async createOrganization(o: NewOrganization): Promise<Organization> {
    try {
      this.sql('INSERT INTO organizations (id, name, created_at_ms) VALUES (?, ?, ?)').run(o.id, o.name, o.createdAtMs);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_ORGANIZATION_EXISTS', `organization '${o.id}' already exists`, { cause: err });
      throw err;
    }
    return { id: o.id, name: o.name, createdAtMs: o.createdAtMs };
  }

  async getOrganization(id: string): Promise<Organization | undefined> {
    const row = this.sql('SELECT id, name, created_at_ms FROM organizations WHERE id = ?').get(id) as
      | { id: string; name: string; created_at_ms: number }
      | undefined;
    return row === undefined ? undefined : { id: row.id, name: row.name, createdAtMs: row.created_at_ms };
  }

  async displaySettings(organizationId: string, staffId: string | null): Promise<{ organization: DisplayPrefsPatch | null; staff: DisplayPrefsPatch | null }> {
    const org = this.sql('SELECT display FROM organizations WHERE id = ?').get(organizationId) as { display: string | null } | undefined;
    const own = staffId === null ? undefined : (this.sql('SELECT display FROM staff WHERE id = ?').get(staffId) as { display: string | null } | undefined);
    const parse = (v: string | null | undefined): DisplayPrefsPatch | null => (v === null || v === undefined ? null : (JSON.parse(v) as DisplayPrefsPatch));
    return { organization: parse(org?.display), staff: parse(own?.display) };
  }

  async setOrganizationDisplay(organizationId: string, display: DisplayPrefsPatch): Promise<boolean> {
    return this.sql('UPDATE organizations SET display = ? WHERE id = ?').run(JSON.stringify(display), organizationId).changes === 1;
  }

  async setStaffDisplay(staffId: string, display: DisplayPrefsPatch): Promise<boolean> {
    return this.sql('UPDATE staff SET display = ? WHERE id = ?').run(Object.keys(display).length === 0 ? null : JSON.stringify(display), staffId).changes === 1;
  }

  async createStaff(s: NewStaff, passwordHash: string): Promise<Staff> {
    const email = normalizeEmail(s.email);
    const tx = this.db.transaction(() => {
      this.sql(
          `INSERT INTO staff (id, email, role, organization_id, display_name, status, is_charge_nurse, phone, created_at_ms)
           VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)`,
        )
        .run(s.id, email, s.role, s.organizationId, s.displayName, s.isChargeNurse ? 1 : 0, s.phone, s.createdAtMs);
      this.sql('INSERT INTO staff_passwords (staff_id, password_hash, updated_at_ms) VALUES (?, ?, ?)').run(s.id, passwordHash, s.createdAtMs);
    });
    try {
      tx.immediate();
    } catch (err) {
      // The message names neither the email nor the id: both are account identifiers.
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_STAFF_EXISTS', 'a staff account with this email already exists', { path: '/email', cause: err });
      if (isForeignKeyViolation(err)) {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${s.organizationId}' not found`, { path: '/organizationId', cause: err });
      }
      throw err;
    }
    return { ...s, email, status: 'active' };
  }

  async getStaff(id: string): Promise<Staff | undefined> {
    const row = this.sql(`SELECT ${STAFF_COLUMNS} FROM staff s WHERE s.id = ?`).get(id) as StaffRow | undefined;
    return row === undefined ? undefined : toStaff(row);
  }

  async listStaff(organizationId: string, options: { role?: StaffRole } = {}): Promise<Staff[]> {
    const rows = (
      options.role === undefined
        ? this.sql(`SELECT ${STAFF_COLUMNS} FROM staff s WHERE s.organization_id = ? ORDER BY s.id`).all(organizationId)
        : this.sql(`SELECT ${STAFF_COLUMNS} FROM staff s WHERE s.organization_id = ? AND s.role = ? ORDER BY s.id`).all(organizationId, options.role)
    ) as StaffRow[];
    return rows.map(toStaff);
  }

  async findLogin(email: string): Promise<{ staff: Staff; passwordHash: string } | undefined> {
    const row = this.sql(`SELECT ${STAFF_COLUMNS}, pw.password_hash FROM staff s JOIN staff_passwords pw ON pw.staff_id = s.id WHERE s.email = ?`)
      .get(normalizeEmail(email)) as (StaffRow & { password_hash: string }) | undefined;
    return row === undefined ? undefined : { staff: toStaff(row), passwordHash: row.password_hash };
  }

  async setStaffStatus(id: string, status: StaffStatus): Promise<Staff | undefined> {
    this.sql('UPDATE staff SET status = ? WHERE id = ?').run(status, id);
    return this.getStaff(id);
  }

  async createSession(n: NewSession): Promise<StaffSession> {
    this.sql('INSERT INTO staff_sessions (token_sha256, staff_id, created_at_ms, expires_at_ms, last_active_at_ms) VALUES (?, ?, ?, ?, ?)')
      .run(n.tokenSha256, n.staffId, n.createdAtMs, n.expiresAtMs, n.createdAtMs);
    return { ...n, lastActiveAtMs: n.createdAtMs, revokedAtMs: null };
  }

  async findSession(tokenSha256: string): Promise<StaffSession | undefined> {
    const row = this.sql('SELECT * FROM staff_sessions WHERE token_sha256 = ?').get(tokenSha256) as SessionRow | undefined;
    return row === undefined ? undefined : toSession(row);
  }

  async touchSession(tokenSha256: string, atMs: number): Promise<void> {
    this.sql('UPDATE staff_sessions SET last_active_at_ms = max(last_active_at_ms, ?) WHERE token_sha256 = ?').run(atMs, tokenSha256);
  }

  async revokeSession(tokenSha256: string, atMs: number): Promise<boolean> {
    return this.sql('UPDATE staff_sessions SET revoked_at_ms = ? WHERE token_sha256 = ? AND revoked_at_ms IS NULL').run(atMs, tokenSha256).changes > 0;
  }

  async sessionsOf(staffId: string): Promise<StaffSession[]> {
    return (this.sql('SELECT * FROM staff_sessions WHERE staff_id = ?').all(staffId) as SessionRow[]).map(toSession);
  }

  async revokeSessionsOf(staffId: string, atMs: number): Promise<number> {
    return this.sql('UPDATE staff_sessions SET revoked_at_ms = ? WHERE staff_id = ? AND revoked_at_ms IS NULL').run(atMs, staffId).changes;
  }

  async pruneSessions(beforeMs: number): Promise<number> {
    return this.sql('DELETE FROM staff_sessions WHERE expires_at_ms < ? OR revoked_at_ms < ?').run(beforeMs, beforeMs).changes;
  }

  async createCareTeam(t: NewCareTeam): Promise<CareTeam> {
    try {
      this.sql('INSERT INTO care_teams (id, organization_id, name, created_at_ms) VALUES (?, ?, ?, ?)').run(t.id, t.organizationId, t.name, t.createdAtMs);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_CARE_TEAM_EXISTS', `care team '${t.id}' already exists`, { cause: err });
      if (isForeignKeyViolation(err)) {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${t.organizationId}' not found`, { path: '/organizationId', cause: err });
      }
      throw err;
    }
    return { ...t };
  }

  async getCareTeam(id: string): Promise<CareTeam | undefined> {
    const row = this.sql('SELECT * FROM care_teams WHERE id = ?').get(id) as TeamRow | undefined;
    return row === undefined ? undefined : toTeam(row);
  }

  async addTeamMember(teamId: string, staffId: string, atMs: number): Promise<void> {
    this.db
      .transaction(() => {
        const team = this.requireTeam(teamId);
        const staff = this.sql('SELECT organization_id FROM staff WHERE id = ?').get(staffId) as { organization_id: string } | undefined;
        if (staff === undefined) throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${staffId}' not found`, { path: '/staffId' });
        if (staff.organization_id !== team.organization_id) {
          throw new RpmError('RPM_ERR_ORGANIZATION_MISMATCH', 'the staff member belongs to another organization than the team', { path: '/staffId' });
        }
        this.sql('INSERT OR IGNORE INTO care_team_members (team_id, staff_id, added_at_ms) VALUES (?, ?, ?)').run(teamId, staffId, atMs);
      })
      .immediate();
  }

  async removeTeamMember(teamId: string, staffId: string): Promise<boolean> {
    return this.sql('DELETE FROM care_team_members WHERE team_id = ? AND staff_id = ?').run(teamId, staffId).changes > 0;
  }

  async addTeamPatient(teamId: string, patientId: string, atMs: number): Promise<void> {
    this.db
      .transaction(() => {
        const team = this.requireTeam(teamId);
        const patient = this.sql('SELECT organization_id FROM patients WHERE id = ?').get(patientId) as { organization_id: string | null } | undefined;
        if (patient === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { path: '/patientId' });
        if (patient.organization_id !== team.organization_id) {
          throw new RpmError('RPM_ERR_ORGANIZATION_MISMATCH', 'the patient belongs to another organization than the team', { path: '/patientId' });
        }
        this.sql('INSERT OR IGNORE INTO care_team_patients (team_id, patient_id, added_at_ms) VALUES (?, ?, ?)').run(teamId, patientId, atMs);
      })
      .immediate();
  }

  async removeTeamPatient(teamId: string, patientId: string): Promise<boolean> {
    return this.sql('DELETE FROM care_team_patients WHERE team_id = ? AND patient_id = ?').run(teamId, patientId).changes > 0;
  }

  async teamMembers(teamId: string): Promise<Staff[]> {
    const rows = this.sql(`SELECT ${STAFF_COLUMNS} FROM care_team_members m JOIN staff s ON s.id = m.staff_id WHERE m.team_id = ? ORDER BY s.id`)
      .all(teamId) as StaffRow[];
    return rows.map(toStaff);
  }

  async teamsOfStaff(staffId: string): Promise<CareTeam[]> {
    const rows = this.sql('SELECT t.* FROM care_team_members m JOIN care_teams t ON t.id = m.team_id WHERE m.staff_id = ? ORDER BY t.id')
      .all(staffId) as TeamRow[];
    return rows.map(toTeam);
  }

  async teamsOfPatient(patientId: string): Promise<CareTeam[]> {
    const rows = this.sql('SELECT t.* FROM care_team_patients tp JOIN care_teams t ON t.id = tp.team_id WHERE tp.patient_id = ? ORDER BY t.id')
      .all(patientId) as TeamRow[];
    return rows.map(toTeam);
  }

  async canSeePatient(staffId: string, patientId: string): Promise<boolean> {
    const row = this.sql(`SELECT 1 AS ok FROM (${VISIBLE_PATIENT_IDS_SQL}) v WHERE v.id = @patientId`).get({ staffId, patientId });
    return row !== undefined;
  }

  async visiblePatientIds(staffId: string, options: { limit: number; afterId?: string }): Promise<string[]> {
    const rows = this.sql(`SELECT v.id FROM (${VISIBLE_PATIENT_IDS_SQL}) v WHERE v.id > @afterId ORDER BY v.id LIMIT @limit`)
      .all({ staffId, afterId: options.afterId ?? '', limit: options.limit }) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async close(): Promise<void> {
    // The database handle is owned and closed by SqliteStores.
  }

  /** Must run inside a transaction. */
  private requireTeam(teamId: string): TeamRow {
    const team = this.sql('SELECT * FROM care_teams WHERE id = ?').get(teamId) as TeamRow | undefined;
    if (team === undefined) throw new RpmError('RPM_ERR_CARE_TEAM_NOT_FOUND', `care team '${teamId}' not found`);
    return team;
  }
}
