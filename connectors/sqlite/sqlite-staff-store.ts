import type { DisplayPrefsPatch } from '../../core/display/units.js';
import { type AlertSettings, alertSettingsInput } from '../../core/model/staff.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import { type CareTeam, type CareTeamKey, normalizeEmail, type Organization, type Staff, type StaffRole, type StaffSession, type StaffStatus } from '../../core/model/staff.js';
import type { FailedLogins, NewCareTeam, NewOrganization, NewSession, NewStaff, StaffPatch, StaffStore } from '../../core/ports/staff-store.js';
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
      AND EXISTS (SELECT 1 FROM care_team_patients tp WHERE tp.organization_id = me.organization_id)
    )
    OR p.id IN (
      SELECT tp.patient_id FROM care_team_members m
      JOIN care_team_patients tp ON tp.organization_id = m.organization_id AND tp.team_id = m.team_id
      WHERE m.staff_id = me.id)`;

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

  async alertSettings(staffId: string): Promise<AlertSettings | null> {
    const row = this.sql('SELECT alert_settings FROM staff WHERE id = ?').get(staffId) as { alert_settings: string | null } | undefined;
    return row?.alert_settings == null ? null : alertSettingsInput.parse(JSON.parse(row.alert_settings));
  }

  async setAlertSettings(staffId: string, settings: AlertSettings): Promise<boolean> {
    return this.sql('UPDATE staff SET alert_settings = ? WHERE id = ?').run(JSON.stringify(settings), staffId).changes === 1;
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
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_STAFF_EXISTS', 'a staff account with this email already exists in this organization', { path: '/email', cause: err });
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

  async findLogin(email: string, organizationId?: string): Promise<{ staff: Staff; passwordHash: string } | undefined> {
    const row = (
      organizationId === undefined
        ? this.sql(`SELECT ${STAFF_COLUMNS}, pw.password_hash FROM staff s JOIN staff_passwords pw ON pw.staff_id = s.id WHERE s.email = ? ORDER BY s.created_at_ms, s.id LIMIT 1`).get(
            normalizeEmail(email),
          )
        : this.sql(`SELECT ${STAFF_COLUMNS}, pw.password_hash FROM staff s JOIN staff_passwords pw ON pw.staff_id = s.id WHERE s.email = ? AND s.organization_id = ?`).get(
            normalizeEmail(email),
            organizationId,
          )
    ) as (StaffRow & { password_hash: string }) | undefined;
    return row === undefined ? undefined : { staff: toStaff(row), passwordHash: row.password_hash };
  }

  async setStaffStatus(id: string, status: StaffStatus): Promise<Staff | undefined> {
    this.sql('UPDATE staff SET status = ? WHERE id = ?').run(status, id);
    return this.getStaff(id);
  }

  async updateStaff(id: string, patch: StaffPatch): Promise<Staff | undefined> {
    const sets: string[] = [];
    const values: (string | number | null)[] = [];
    if (patch.role !== undefined) (sets.push('role = ?'), values.push(patch.role));
    if (patch.isChargeNurse !== undefined) (sets.push('is_charge_nurse = ?'), values.push(patch.isChargeNurse ? 1 : 0));
    if (patch.phone !== undefined) (sets.push('phone = ?'), values.push(patch.phone));
    if (patch.displayName !== undefined) (sets.push('display_name = ?'), values.push(patch.displayName));
    if (sets.length > 0) this.sql(`UPDATE staff SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    return this.getStaff(id);
  }

  async recordLoginFailure(staffId: string, atMs: number): Promise<number> {
    const row = this.sql(
      `INSERT INTO staff_login_failures (staff_id, count, first_at_ms, last_at_ms) VALUES (?, 1, ?, ?)
       ON CONFLICT (staff_id) DO UPDATE SET count = count + 1, last_at_ms = max(last_at_ms, excluded.last_at_ms)
       RETURNING count`,
    ).get(staffId, atMs, atMs) as { count: number };
    return row.count;
  }

  async recordLoginSuccess(staffId: string, source: string, atMs: number, forgetBeforeMs: number): Promise<FailedLogins> {
    return this.db
      .transaction((): FailedLogins => {
        this.sql(
          `INSERT INTO staff_login_sources (staff_id, source, last_success_at_ms) VALUES (?, ?, ?)
           ON CONFLICT (staff_id, source) DO UPDATE SET last_success_at_ms = max(last_success_at_ms, excluded.last_success_at_ms)`,
        ).run(staffId, source, atMs);
        this.sql('DELETE FROM staff_login_sources WHERE staff_id = ? AND last_success_at_ms < ?').run(staffId, forgetBeforeMs);
        const failed = this.sql('DELETE FROM staff_login_failures WHERE staff_id = ? RETURNING count, first_at_ms, last_at_ms').get(staffId) as
          | { count: number; first_at_ms: number; last_at_ms: number }
          | undefined;
        return failed === undefined ? { count: 0, firstAtMs: null, lastAtMs: null } : { count: failed.count, firstAtMs: failed.first_at_ms, lastAtMs: failed.last_at_ms };
      })
      .immediate();
  }

  async knownLoginSource(staffId: string, source: string, sinceMs: number): Promise<boolean> {
    return this.sql('SELECT 1 FROM staff_login_sources WHERE staff_id = ? AND source = ? AND last_success_at_ms >= ?').get(staffId, source, sinceMs) !== undefined;
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

  async countLiveSessions(nowMs: number, idleSinceMs: number): Promise<number> {
    const row = this.sql('SELECT count(*) AS n FROM staff_sessions WHERE expires_at_ms > ? AND revoked_at_ms IS NULL AND last_active_at_ms > ?').get(nowMs, idleSinceMs) as { n: number };
    return row.n;
  }

  async pruneSessions(beforeMs: number): Promise<number> {
    return this.sql('DELETE FROM staff_sessions WHERE expires_at_ms < ? OR revoked_at_ms < ?').run(beforeMs, beforeMs).changes;
  }

  async createCareTeam(t: NewCareTeam): Promise<CareTeam> {
    try {
      this.sql('INSERT INTO care_teams (organization_id, id, name, created_at_ms) VALUES (?, ?, ?, ?)').run(t.organizationId, t.id, t.name, t.createdAtMs);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_CARE_TEAM_EXISTS', `care team '${t.id}' already exists in this organization`, { cause: err });
      if (isForeignKeyViolation(err)) {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${t.organizationId}' not found`, { path: '/organizationId', cause: err });
      }
      throw err;
    }
    return { ...t };
  }

  async getCareTeam(team: CareTeamKey): Promise<CareTeam | undefined> {
    const row = this.sql('SELECT * FROM care_teams WHERE organization_id = ? AND id = ?').get(team.organizationId, team.id) as TeamRow | undefined;
    return row === undefined ? undefined : toTeam(row);
  }

  async listCareTeams(organizationId: string): Promise<CareTeam[]> {
    return (this.sql('SELECT * FROM care_teams WHERE organization_id = ? ORDER BY id').all(organizationId) as TeamRow[]).map(toTeam);
  }

  async teamPatients(team: CareTeamKey): Promise<string[]> {
    return (this.sql('SELECT patient_id FROM care_team_patients WHERE organization_id = ? AND team_id = ? ORDER BY patient_id').all(team.organizationId, team.id) as { patient_id: string }[]).map((r) => r.patient_id);
  }

  async findCareTeams(id: string): Promise<CareTeam[]> {
    return (this.sql('SELECT * FROM care_teams WHERE id = ? ORDER BY organization_id').all(id) as TeamRow[]).map(toTeam);
  }

  async addTeamMember(key: CareTeamKey, staffId: string, atMs: number): Promise<void> {
    this.db
      .transaction(() => {
        const team = this.requireTeam(key);
        const staff = this.sql('SELECT organization_id FROM staff WHERE id = ?').get(staffId) as { organization_id: string } | undefined;
        if (staff === undefined) throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${staffId}' not found`, { path: '/staffId' });
        if (staff.organization_id !== team.organization_id) {
          throw new RpmError('RPM_ERR_ORGANIZATION_MISMATCH', 'the staff member belongs to another organization than the team', { path: '/staffId' });
        }
        this.sql('INSERT OR IGNORE INTO care_team_members (organization_id, team_id, staff_id, added_at_ms) VALUES (?, ?, ?, ?)').run(team.organization_id, team.id, staffId, atMs);
      })
      .immediate();
  }

  async removeTeamMember(team: CareTeamKey, staffId: string): Promise<boolean> {
    return this.sql('DELETE FROM care_team_members WHERE organization_id = ? AND team_id = ? AND staff_id = ?').run(team.organizationId, team.id, staffId).changes > 0;
  }

  async addTeamPatient(key: CareTeamKey, patientId: string, atMs: number): Promise<void> {
    this.db
      .transaction(() => {
        const team = this.requireTeam(key);
        const patient = this.sql('SELECT organization_id FROM patients WHERE id = ?').get(patientId) as { organization_id: string | null } | undefined;
        if (patient === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { path: '/patientId' });
        if (patient.organization_id !== team.organization_id) {
          throw new RpmError('RPM_ERR_ORGANIZATION_MISMATCH', 'the patient belongs to another organization than the team', { path: '/patientId' });
        }
        this.sql('INSERT OR IGNORE INTO care_team_patients (organization_id, team_id, patient_id, added_at_ms) VALUES (?, ?, ?, ?)').run(team.organization_id, team.id, patientId, atMs);
      })
      .immediate();
  }

  async removeTeamPatient(team: CareTeamKey, patientId: string): Promise<boolean> {
    return this.sql('DELETE FROM care_team_patients WHERE organization_id = ? AND team_id = ? AND patient_id = ?').run(team.organizationId, team.id, patientId).changes > 0;
  }

  async teamMembers(team: CareTeamKey): Promise<Staff[]> {
    const rows = this.sql(
      `SELECT ${STAFF_COLUMNS} FROM care_team_members m JOIN staff s ON s.id = m.staff_id WHERE m.organization_id = ? AND m.team_id = ? ORDER BY s.id`,
    ).all(team.organizationId, team.id) as StaffRow[];
    return rows.map(toStaff);
  }

  async teamsOfStaff(staffId: string): Promise<CareTeam[]> {
    const rows = this.sql('SELECT t.* FROM care_team_members m JOIN care_teams t ON t.organization_id = m.organization_id AND t.id = m.team_id WHERE m.staff_id = ? ORDER BY t.id')
      .all(staffId) as TeamRow[];
    return rows.map(toTeam);
  }

  async teamsOfPatient(patientId: string): Promise<CareTeam[]> {
    const rows = this.sql(
      'SELECT t.* FROM care_team_patients tp JOIN care_teams t ON t.organization_id = tp.organization_id AND t.id = tp.team_id WHERE tp.patient_id = ? ORDER BY t.id',
    )
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
  private requireTeam(key: CareTeamKey): TeamRow {
    const team = this.sql('SELECT * FROM care_teams WHERE organization_id = ? AND id = ?').get(key.organizationId, key.id) as TeamRow | undefined;
    if (team === undefined) throw new RpmError('RPM_ERR_CARE_TEAM_NOT_FOUND', `care team '${key.id}' not found`);
    return team;
  }
}
