import type { BreakGlassGrant, NewBreakGlassGrant, OrganizationAccessPolicy, StaffSecurityStore, TotpFactor, TotpStatus } from '../../core/ports/staff-security-store.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface TotpRow {
  staff_id: string;
  secret_sealed: string;
  status: string;
  created_at_ms: number;
  activated_at_ms: number | null;
  last_used_step: number | null;
}

interface GrantRow {
  id: string;
  staff_id: string;
  organization_id: string;
  patient_id: string;
  reason: string;
  granted_at_ms: number;
  expires_at_ms: number;
  ended_at_ms: number | null;
  reviewed_at_ms: number | null;
  reviewed_by: string | null;
}

const toFactor = (r: TotpRow): TotpFactor => ({
  staffId: r.staff_id,
  secretSealed: r.secret_sealed,
  status: r.status as TotpStatus,
  createdAtMs: r.created_at_ms,
  activatedAtMs: r.activated_at_ms,
  lastUsedStep: r.last_used_step,
});

const toGrant = (r: GrantRow): BreakGlassGrant => ({
  id: r.id,
  staffId: r.staff_id,
  organizationId: r.organization_id,
  patientId: r.patient_id,
  reason: r.reason,
  grantedAtMs: r.granted_at_ms,
  expiresAtMs: r.expires_at_ms,
  endedAtMs: r.ended_at_ms,
  reviewedAtMs: r.reviewed_at_ms,
  reviewedBy: r.reviewed_by,
});

const GRANT_COLUMNS = 'id, staff_id, organization_id, patient_id, reason, granted_at_ms, expires_at_ms, ended_at_ms, reviewed_at_ms, reviewed_by';
const IN_FORCE = 'granted_at_ms <= @at AND expires_at_ms > @at AND (ended_at_ms IS NULL OR ended_at_ms > @at)';

/** StaffSecurityStore on the embedded database (rpm.sqlite, beside the staff tables). */
export class SqliteStaffSecurityStore implements StaffSecurityStore {
  private readonly sql: (sql: string) => PreparedStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
  }

  async totpFactor(staffId: string): Promise<TotpFactor | undefined> {
    const row = this.sql('SELECT * FROM staff_totp WHERE staff_id = ?').get(staffId) as TotpRow | undefined;
    return row === undefined ? undefined : toFactor(row);
  }

  async startTotp(staffId: string, secretSealed: string, atMs: number): Promise<boolean> {
    const res = this.sql(
      `INSERT INTO staff_totp (staff_id, secret_sealed, status, created_at_ms) VALUES (?, ?, 'pending', ?)
       ON CONFLICT (staff_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at_ms = excluded.created_at_ms
       WHERE staff_totp.status = 'pending'`,
    ).run(staffId, secretSealed, atMs);
    return res.changes === 1;
  }

  async activateTotp(staffId: string, step: number, codes: readonly string[], atMs: number): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      const res = this.sql(`UPDATE staff_totp SET status = 'active', activated_at_ms = ?, last_used_step = ? WHERE staff_id = ? AND status = 'pending'`).run(atMs, step, staffId);
      if (res.changes !== 1) return false;
      this.writeCodes(staffId, codes, atMs);
      return true;
    });
    return tx.immediate();
  }

  async useTotpStep(staffId: string, step: number): Promise<boolean> {
    const res = this.sql(`UPDATE staff_totp SET last_used_step = ? WHERE staff_id = ? AND status = 'active' AND (last_used_step IS NULL OR last_used_step < ?)`).run(step, staffId, step);
    return res.changes === 1;
  }

  async useRecoveryCode(staffId: string, codeSha256: string, atMs: number): Promise<boolean> {
    const res = this.sql('UPDATE staff_recovery_codes SET used_at_ms = ? WHERE staff_id = ? AND code_sha256 = ? AND used_at_ms IS NULL').run(atMs, staffId, codeSha256);
    return res.changes === 1;
  }

  async replaceRecoveryCodes(staffId: string, codes: readonly string[], atMs: number): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      const active = this.sql(`SELECT 1 FROM staff_totp WHERE staff_id = ? AND status = 'active'`).get(staffId);
      if (active === undefined) return false;
      this.writeCodes(staffId, codes, atMs);
      return true;
    });
    return tx.immediate();
  }

  private writeCodes(staffId: string, codes: readonly string[], atMs: number): void {
    this.sql('DELETE FROM staff_recovery_codes WHERE staff_id = ?').run(staffId);
    const insert = this.sql('INSERT INTO staff_recovery_codes (staff_id, code_sha256, created_at_ms) VALUES (?, ?, ?)');
    for (const code of codes) insert.run(staffId, code, atMs);
  }

  async recoveryCodesLeft(staffId: string): Promise<number> {
    return (this.sql('SELECT count(*) AS n FROM staff_recovery_codes WHERE staff_id = ? AND used_at_ms IS NULL').get(staffId) as { n: number }).n;
  }

  async removeTotp(staffId: string): Promise<boolean> {
    const tx = this.db.transaction((): boolean => {
      this.sql('DELETE FROM staff_recovery_codes WHERE staff_id = ?').run(staffId);
      return this.sql('DELETE FROM staff_totp WHERE staff_id = ?').run(staffId).changes === 1;
    });
    return tx.immediate();
  }

  async policy(organizationId: string): Promise<OrganizationAccessPolicy> {
    const row = this.sql('SELECT mfa_required, sso_issuer, sso_client_id, sso_client_secret_sealed FROM organization_access_policies WHERE organization_id = ?').get(organizationId) as
      | { mfa_required: number; sso_issuer: string | null; sso_client_id: string | null; sso_client_secret_sealed: string | null }
      | undefined;
    const sso =
      row?.sso_issuer == null || row.sso_client_id === null || row.sso_client_secret_sealed === null
        ? null
        : { issuer: row.sso_issuer, clientId: row.sso_client_id, clientSecretSealed: row.sso_client_secret_sealed };
    return { organizationId, mfaRequired: row?.mfa_required === 1, sso };
  }

  async setPolicy(policy: OrganizationAccessPolicy): Promise<void> {
    this.sql(
      `INSERT INTO organization_access_policies (organization_id, mfa_required, sso_issuer, sso_client_id, sso_client_secret_sealed) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (organization_id) DO UPDATE SET mfa_required = excluded.mfa_required, sso_issuer = excluded.sso_issuer,
         sso_client_id = excluded.sso_client_id, sso_client_secret_sealed = excluded.sso_client_secret_sealed`,
    ).run(policy.organizationId, policy.mfaRequired ? 1 : 0, policy.sso?.issuer ?? null, policy.sso?.clientId ?? null, policy.sso?.clientSecretSealed ?? null);
  }

  async setPasswordHash(staffId: string, passwordHash: string, atMs: number): Promise<boolean> {
    return this.sql('UPDATE staff_passwords SET password_hash = ?, updated_at_ms = ? WHERE staff_id = ?').run(passwordHash, atMs, staffId).changes === 1;
  }

  async createBreakGlass(g: NewBreakGlassGrant): Promise<BreakGlassGrant> {
    this.sql(`INSERT INTO break_glass_grants (id, staff_id, organization_id, patient_id, reason, granted_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
      g.id,
      g.staffId,
      g.organizationId,
      g.patientId,
      g.reason,
      g.grantedAtMs,
      g.expiresAtMs,
    );
    return { ...g, endedAtMs: null, reviewedAtMs: null, reviewedBy: null };
  }

  async activeBreakGlass(staffId: string, patientId: string, atMs: number): Promise<BreakGlassGrant | undefined> {
    const row = this.sql(`SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE staff_id = @staffId AND patient_id = @patientId AND ${IN_FORCE} ORDER BY expires_at_ms DESC LIMIT 1`).get({
      staffId,
      patientId,
      at: atMs,
    }) as GrantRow | undefined;
    return row === undefined ? undefined : toGrant(row);
  }

  async activeBreakGlassOf(staffId: string, atMs: number): Promise<BreakGlassGrant[]> {
    const rows = this.sql(`SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE staff_id = @staffId AND ${IN_FORCE} ORDER BY granted_at_ms DESC, id DESC`).all({ staffId, at: atMs }) as GrantRow[];
    return rows.map(toGrant);
  }

  async listBreakGlass(organizationId: string, options: { unreviewedOnly?: boolean; limit: number }): Promise<BreakGlassGrant[]> {
    const rows = this.sql(
      `SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE organization_id = ? ${options.unreviewedOnly === true ? 'AND reviewed_at_ms IS NULL' : ''} ORDER BY granted_at_ms DESC, id DESC LIMIT ?`,
    ).all(organizationId, options.limit) as GrantRow[];
    return rows.map(toGrant);
  }

  async getBreakGlass(id: string): Promise<BreakGlassGrant | undefined> {
    const row = this.sql(`SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE id = ?`).get(id) as GrantRow | undefined;
    return row === undefined ? undefined : toGrant(row);
  }

  async endBreakGlass(id: string, staffId: string, atMs: number): Promise<boolean> {
    return this.sql('UPDATE break_glass_grants SET ended_at_ms = ? WHERE id = ? AND staff_id = ? AND ended_at_ms IS NULL').run(atMs, id, staffId).changes === 1;
  }

  async reviewBreakGlass(id: string, reviewerId: string, atMs: number): Promise<boolean> {
    return this.sql('UPDATE break_glass_grants SET reviewed_at_ms = ?, reviewed_by = ? WHERE id = ? AND reviewed_at_ms IS NULL').run(atMs, reviewerId, id).changes === 1;
  }
}
