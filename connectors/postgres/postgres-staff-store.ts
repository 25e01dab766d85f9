import type { DisplayPrefsPatch } from '../../core/display/units.js';
import { type AlertSettings, alertSettingsInput } from '../../core/model/staff.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import { type CareTeam, type CareTeamKey, normalizeEmail, type Organization, type Staff, type StaffRole, type StaffSession, type StaffStatus } from '../../core/model/staff.js';
import type { FailedLogins, NewCareTeam, NewOrganization, NewSession, NewStaff, StaffPatch, StaffStore } from '../../core/ports/staff-store.js';
import { inTransaction, isForeignKeyViolation, isUniqueViolation, type Pool, type PoolClient } from './database.js';

/**
 * The ids of the patients a staff member may see (the scope rule documented on StaffStore), as
 * a subquery over the parameter `staffParam` (e.g. `$1`). Other PostgreSQL stores filter with
 * `patient_id IN (${visiblePatientIdsSql('$n')})` so that the rule is written once per dialect;
 * the SQLite twin is VISIBLE_PATIENT_IDS_SQL in connectors/sqlite/sqlite-staff-store.ts, and the
 * StaffStore contract holds both to the same answers.
 */
export function visiblePatientIdsSql(staffParam: string): string {
  return `
  SELECT p.id AS id FROM patients p
  JOIN staff me ON me.id = ${staffParam} AND me.status = 'active' AND p.organization_id = me.organization_id
  WHERE NOT (
      me.role = 'nurse'
      AND EXISTS (SELECT 1 FROM care_team_members m WHERE m.staff_id = me.id)
      AND EXISTS (SELECT 1 FROM care_team_patients tp WHERE tp.organization_id = me.organization_id)
    )
    OR p.id IN (
      SELECT tp.patient_id FROM care_team_members m
      JOIN care_team_patients tp ON tp.organization_id = m.organization_id AND tp.team_id = m.team_id
      WHERE m.staff_id = me.id)`;
}

interface StaffRow {
  id: string;
  email: string;
  role: string;
  organization_id: string;
  display_name: string | null;
  status: string;
  is_charge_nurse: boolean;
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
const SESSION_COLUMNS = 'token_sha256, staff_id, created_at_ms, expires_at_ms, last_active_at_ms, revoked_at_ms';
const TEAM_COLUMNS = 't.id, t.organization_id, t.name, t.created_at_ms';

const toStaff = (r: StaffRow): Staff => ({
  id: r.id,
  email: r.email,
  role: r.role as StaffRole,
  organizationId: r.organization_id,
  displayName: r.display_name,
  status: r.status as StaffStatus,
  isChargeNurse: r.is_charge_nurse,
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

/** StaffStore on PostgreSQL; the scope rule is one SQL subquery evaluated on current rows. */
export class PostgresStaffStore implements StaffStore {
  constructor(private readonly pool: Pool) {}

  async createOrganization(o: NewOrganization): Promise<Organization> {
    try {
      await this.pool.query('INSERT INTO organizations (id, name, created_at_ms) VALUES ($1, $2, $3)', [o.id, o.name, o.createdAtMs]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_ORGANIZATION_EXISTS', `organization '${o.id}' already exists`, { cause: err });
      throw err;
    }
    return { id: o.id, name: o.name, createdAtMs: o.createdAtMs };
  }

  async getOrganization(id: string): Promise<Organization | undefined> {
    const { rows } = await this.pool.query<{ id: string; name: string; created_at_ms: number }>('SELECT id, name, created_at_ms FROM organizations WHERE id = $1', [id]);
    const row = rows[0];
    return row === undefined ? undefined : { id: row.id, name: row.name, createdAtMs: row.created_at_ms };
  }

  async displaySettings(organizationId: string, staffId: string | null): Promise<{ organization: DisplayPrefsPatch | null; staff: DisplayPrefsPatch | null }> {
    const { rows } = await this.pool.query<{ org: DisplayPrefsPatch | null; own: DisplayPrefsPatch | null }>(
      'SELECT (SELECT display FROM organizations WHERE id = $1) AS org, (SELECT display FROM staff WHERE id = $2) AS own',
      [organizationId, staffId],
    );
    return { organization: rows[0]?.org ?? null, staff: rows[0]?.own ?? null };
  }

  async setOrganizationDisplay(organizationId: string, display: DisplayPrefsPatch): Promise<boolean> {
    const res = await this.pool.query('UPDATE organizations SET display = $1 WHERE id = $2', [JSON.stringify(display), organizationId]);
    return res.rowCount === 1;
  }

  async setStaffDisplay(staffId: string, display: DisplayPrefsPatch): Promise<boolean> {
    const res = await this.pool.query('UPDATE staff SET display = $1 WHERE id = $2', [Object.keys(display).length === 0 ? null : JSON.stringify(display), staffId]);
    return res.rowCount === 1;
  }

  async alertSettings(staffId: string): Promise<AlertSettings | null> {
    const { rows } = await this.pool.query<{ alert_settings: unknown }>('SELECT alert_settings FROM staff WHERE id = $1', [staffId]);
    const v = rows[0]?.alert_settings;
    return v === undefined || v === null ? null : alertSettingsInput.parse(v);
  }

  async setAlertSettings(staffId: string, settings: AlertSettings): Promise<boolean> {
    const res = await this.pool.query('UPDATE staff SET alert_settings = $1 WHERE id = $2', [JSON.stringify(settings), staffId]);
    return res.rowCount === 1;
  }

  async createStaff(s: NewStaff, passwordHash: string): Promise<Staff> {
    const email = normalizeEmail(s.email);
    try {
      await inTransaction(this.pool, async (client) => {
        await client.query(
          `INSERT INTO staff (id, email, role, organization_id, display_name, status, is_charge_nurse, phone, created_at_ms)
           VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8)`,
          [s.id, email, s.role, s.organizationId, s.displayName, s.isChargeNurse, s.phone, s.createdAtMs],
        );
        await client.query('INSERT INTO staff_passwords (staff_id, password_hash, updated_at_ms) VALUES ($1, $2, $3)', [s.id, passwordHash, s.createdAtMs]);
      });
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
    const { rows } = await this.pool.query<StaffRow>({ name: 'rpm_staff_by_id', text: `SELECT ${STAFF_COLUMNS} FROM staff s WHERE s.id = $1`, values: [id] });
    const row = rows[0];
    return row === undefined ? undefined : toStaff(row);
  }

  async listStaff(organizationId: string, options: { role?: StaffRole } = {}): Promise<Staff[]> {
    const { rows } =
      options.role === undefined
        ? await this.pool.query<StaffRow>(`SELECT ${STAFF_COLUMNS} FROM staff s WHERE s.organization_id = $1 ORDER BY s.id`, [organizationId])
        : await this.pool.query<StaffRow>(`SELECT ${STAFF_COLUMNS} FROM staff s WHERE s.organization_id = $1 AND s.role = $2 ORDER BY s.id`, [
            organizationId,
            options.role,
          ]);
    return rows.map(toStaff);
  }

  async findLogin(email: string, organizationId?: string): Promise<{ staff: Staff; passwordHash: string } | undefined> {
    const select = `SELECT ${STAFF_COLUMNS}, pw.password_hash FROM staff s JOIN staff_passwords pw ON pw.staff_id = s.id WHERE s.email = $1`;
    const { rows } =
      organizationId === undefined
        ? await this.pool.query<StaffRow & { password_hash: string }>(`${select} ORDER BY s.created_at_ms, s.id LIMIT 1`, [normalizeEmail(email)])
        : await this.pool.query<StaffRow & { password_hash: string }>(`${select} AND s.organization_id = $2`, [normalizeEmail(email), organizationId]);
    const row = rows[0];
    return row === undefined ? undefined : { staff: toStaff(row), passwordHash: row.password_hash };
  }

  async setStaffStatus(id: string, status: StaffStatus): Promise<Staff | undefined> {
    const { rows } = await this.pool.query<StaffRow>(`UPDATE staff s SET status = $1 WHERE s.id = $2 RETURNING ${STAFF_COLUMNS}`, [status, id]);
    const row = rows[0];
    return row === undefined ? undefined : toStaff(row);
  }

  async updateStaff(id: string, patch: StaffPatch): Promise<Staff | undefined> {
    const sets: string[] = [];
    const values: (string | boolean | null)[] = [];
    const add = (column: string, value: string | boolean | null): void => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (patch.role !== undefined) add('role', patch.role);
    if (patch.isChargeNurse !== undefined) add('is_charge_nurse', patch.isChargeNurse);
    if (patch.phone !== undefined) add('phone', patch.phone);
    if (patch.displayName !== undefined) add('display_name', patch.displayName);
    if (sets.length === 0) return this.getStaff(id);
    values.push(id);
    const { rows } = await this.pool.query<StaffRow>(`UPDATE staff s SET ${sets.join(', ')} WHERE s.id = $${values.length} RETURNING ${STAFF_COLUMNS}`, values);
    const row = rows[0];
    return row === undefined ? undefined : toStaff(row);
  }

  async recordLoginFailure(staffId: string, atMs: number): Promise<number> {
    const { rows } = await this.pool.query<{ count: number }>(
      `INSERT INTO staff_login_failures (staff_id, count, first_at_ms, last_at_ms) VALUES ($1, 1, $2, $2)
       ON CONFLICT (staff_id) DO UPDATE SET count = staff_login_failures.count + 1, last_at_ms = GREATEST(staff_login_failures.last_at_ms, excluded.last_at_ms)
       RETURNING count`,
      [staffId, atMs],
    );
    return rows[0]?.count ?? 0;
  }

  async recordLoginSuccess(staffId: string, source: string, atMs: number, forgetBeforeMs: number): Promise<FailedLogins> {
    return inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO staff_login_sources (staff_id, source, last_success_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (staff_id, source) DO UPDATE SET last_success_at_ms = GREATEST(staff_login_sources.last_success_at_ms, excluded.last_success_at_ms)`,
        [staffId, source, atMs],
      );
      await client.query('DELETE FROM staff_login_sources WHERE staff_id = $1 AND last_success_at_ms < $2', [staffId, forgetBeforeMs]);
      const { rows } = await client.query<{ count: number; first_at_ms: number; last_at_ms: number }>(
        'DELETE FROM staff_login_failures WHERE staff_id = $1 RETURNING count, first_at_ms, last_at_ms',
        [staffId],
      );
      const failed = rows[0];
      return failed === undefined ? { count: 0, firstAtMs: null, lastAtMs: null } : { count: failed.count, firstAtMs: failed.first_at_ms, lastAtMs: failed.last_at_ms };
    });
  }

  async knownLoginSource(staffId: string, source: string, sinceMs: number): Promise<boolean> {
    const { rows } = await this.pool.query('SELECT 1 FROM staff_login_sources WHERE staff_id = $1 AND source = $2 AND last_success_at_ms >= $3', [staffId, source, sinceMs]);
    return rows.length > 0;
  }

  async createSession(n: NewSession): Promise<StaffSession> {
    await this.pool.query('INSERT INTO staff_sessions (token_sha256, staff_id, created_at_ms, expires_at_ms, last_active_at_ms) VALUES ($1, $2, $3, $4, $3)', [
      n.tokenSha256,
      n.staffId,
      n.createdAtMs,
      n.expiresAtMs,
    ]);
    return { ...n, lastActiveAtMs: n.createdAtMs, revokedAtMs: null };
  }

  async findSession(tokenSha256: string): Promise<StaffSession | undefined> {
    const { rows } = await this.pool.query<SessionRow>({
      name: 'rpm_session_by_token',
      text: `SELECT ${SESSION_COLUMNS} FROM staff_sessions WHERE token_sha256 = $1`,
      values: [tokenSha256],
    });
    const row = rows[0];
    return row === undefined ? undefined : toSession(row);
  }

  async touchSession(tokenSha256: string, atMs: number): Promise<void> {
    await this.pool.query({
      name: 'rpm_touch_session',
      text: 'UPDATE staff_sessions SET last_active_at_ms = $1 WHERE token_sha256 = $2 AND last_active_at_ms < $1',
      values: [atMs, tokenSha256],
    });
  }

  async revokeSession(tokenSha256: string, atMs: number): Promise<boolean> {
    const res = await this.pool.query('UPDATE staff_sessions SET revoked_at_ms = $1 WHERE token_sha256 = $2 AND revoked_at_ms IS NULL', [atMs, tokenSha256]);
    return (res.rowCount ?? 0) > 0;
  }

  async sessionsOf(staffId: string): Promise<StaffSession[]> {
    const { rows } = await this.pool.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM staff_sessions WHERE staff_id = $1 ORDER BY created_at_ms, token_sha256`, [staffId]);
    return rows.map(toSession);
  }

  async revokeSessionsOf(staffId: string, atMs: number): Promise<number> {
    const res = await this.pool.query('UPDATE staff_sessions SET revoked_at_ms = $1 WHERE staff_id = $2 AND revoked_at_ms IS NULL', [atMs, staffId]);
    return res.rowCount ?? 0;
  }

  async countLiveSessions(nowMs: number, idleSinceMs: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM staff_sessions WHERE expires_at_ms > $1 AND revoked_at_ms IS NULL AND last_active_at_ms > $2',
      [nowMs, idleSinceMs],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async pruneSessions(beforeMs: number): Promise<number> {
    const res = await this.pool.query('DELETE FROM staff_sessions WHERE expires_at_ms < $1 OR revoked_at_ms < $1', [beforeMs]);
    return res.rowCount ?? 0;
  }

  async createCareTeam(t: NewCareTeam): Promise<CareTeam> {
    try {
      await this.pool.query('INSERT INTO care_teams (organization_id, id, name, created_at_ms) VALUES ($1, $2, $3, $4)', [t.organizationId, t.id, t.name, t.createdAtMs]);
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
    const { rows } = await this.pool.query<TeamRow>(`SELECT ${TEAM_COLUMNS} FROM care_teams t WHERE t.organization_id = $1 AND t.id = $2`, [team.organizationId, team.id]);
    const row = rows[0];
    return row === undefined ? undefined : toTeam(row);
  }

  async listCareTeams(organizationId: string): Promise<CareTeam[]> {
    const { rows } = await this.pool.query<TeamRow>(`SELECT ${TEAM_COLUMNS} FROM care_teams t WHERE t.organization_id = $1 ORDER BY t.id`, [organizationId]);
    return rows.map(toTeam);
  }

  async teamPatients(team: CareTeamKey): Promise<string[]> {
    const { rows } = await this.pool.query<{ patient_id: string }>('SELECT patient_id FROM care_team_patients WHERE organization_id = $1 AND team_id = $2 ORDER BY patient_id', [team.organizationId, team.id]);
    return rows.map((r) => r.patient_id);
  }

  async findCareTeams(id: string): Promise<CareTeam[]> {
    const { rows } = await this.pool.query<TeamRow>(`SELECT ${TEAM_COLUMNS} FROM care_teams t WHERE t.id = $1 ORDER BY t.organization_id`, [id]);
    return rows.map(toTeam);
  }

  async addTeamMember(key: CareTeamKey, staffId: string, atMs: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const team = await requireTeam(client, key);
      // FOR SHARE: the staff member cannot move between the check and the insert.
      const { rows } = await client.query<{ organization_id: string }>('SELECT organization_id FROM staff WHERE id = $1 FOR SHARE', [staffId]);
      const staff = rows[0];
      if (staff === undefined) throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', `staff member '${staffId}' not found`, { path: '/staffId' });
      if (staff.organization_id !== team.organization_id) {
        throw new RpmError('RPM_ERR_ORGANIZATION_MISMATCH', 'the staff member belongs to another organization than the team', { path: '/staffId' });
      }
      await client.query('INSERT INTO care_team_members (organization_id, team_id, staff_id, added_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        team.organization_id,
        team.id,
        staffId,
        atMs,
      ]);
    });
  }

  async removeTeamMember(team: CareTeamKey, staffId: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM care_team_members WHERE organization_id = $1 AND team_id = $2 AND staff_id = $3', [team.organizationId, team.id, staffId]);
    return (res.rowCount ?? 0) > 0;
  }

  async addTeamPatient(key: CareTeamKey, patientId: string, atMs: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const team = await requireTeam(client, key);
      const { rows } = await client.query<{ organization_id: string | null }>('SELECT organization_id FROM patients WHERE id = $1 FOR SHARE', [patientId]);
      const patient = rows[0];
      if (patient === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found`, { path: '/patientId' });
      if (patient.organization_id !== team.organization_id) {
        throw new RpmError('RPM_ERR_ORGANIZATION_MISMATCH', 'the patient belongs to another organization than the team', { path: '/patientId' });
      }
      await client.query('INSERT INTO care_team_patients (organization_id, team_id, patient_id, added_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        team.organization_id,
        team.id,
        patientId,
        atMs,
      ]);
    });
  }

  async removeTeamPatient(team: CareTeamKey, patientId: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM care_team_patients WHERE organization_id = $1 AND team_id = $2 AND patient_id = $3', [team.organizationId, team.id, patientId]);
    return (res.rowCount ?? 0) > 0;
  }

  async teamMembers(team: CareTeamKey): Promise<Staff[]> {
    const { rows } = await this.pool.query<StaffRow>(
      `SELECT ${STAFF_COLUMNS} FROM care_team_members m JOIN staff s ON s.id = m.staff_id WHERE m.organization_id = $1 AND m.team_id = $2 ORDER BY s.id`,
      [team.organizationId, team.id],
    );
    return rows.map(toStaff);
  }

  async teamsOfStaff(staffId: string): Promise<CareTeam[]> {
    const { rows } = await this.pool.query<TeamRow>(
      `SELECT ${TEAM_COLUMNS} FROM care_team_members m JOIN care_teams t ON t.organization_id = m.organization_id AND t.id = m.team_id WHERE m.staff_id = $1 ORDER BY t.id`,
      [staffId],
    );
    return rows.map(toTeam);
  }

  async teamsOfPatient(patientId: string): Promise<CareTeam[]> {
    const { rows } = await this.pool.query<TeamRow>(
      `SELECT ${TEAM_COLUMNS} FROM care_team_patients tp JOIN care_teams t ON t.organization_id = tp.organization_id AND t.id = tp.team_id WHERE tp.patient_id = $1 ORDER BY t.id`,
      [patientId],
    );
    return rows.map(toTeam);
  }

  async canSeePatient(staffId: string, patientId: string): Promise<boolean> {
    const { rows } = await this.pool.query({
      name: 'rpm_can_see_patient',
      text: `SELECT 1 FROM (${visiblePatientIdsSql('$1')}) v WHERE v.id = $2`,
      values: [staffId, patientId],
    });
    return rows.length > 0;
  }

  async visiblePatientIds(staffId: string, options: { limit: number; afterId?: string }): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT v.id FROM (${visiblePatientIdsSql('$1')}) v WHERE v.id > $2 ORDER BY v.id LIMIT $3`, [
      staffId,
      options.afterId ?? '',
      options.limit,
    ]);
    return rows.map((r) => r.id);
  }

  async close(): Promise<void> {
    // The pool is owned and closed by PostgresStores.
  }
}

/** Must run inside a transaction; FOR SHARE keeps the team from being removed until it ends. */
async function requireTeam(client: PoolClient, key: CareTeamKey): Promise<TeamRow> {
  const { rows } = await client.query<TeamRow>(`SELECT ${TEAM_COLUMNS} FROM care_teams t WHERE t.organization_id = $1 AND t.id = $2 FOR SHARE`, [key.organizationId, key.id]);
  const team = rows[0];
  if (team === undefined) throw new RpmError('RPM_ERR_CARE_TEAM_NOT_FOUND', `care team '${key.id}' not found`);
  return team;
}
