import type { BreakGlassGrant, NewBreakGlassGrant, OrganizationAccessPolicy, StaffSecurityStore, TotpFactor, TotpStatus } from '../../core/ports/staff-security-store.js';
import { inTransaction, type Pool, type PoolClient } from './database.js';

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
  createdAtMs: Number(r.created_at_ms),
  activatedAtMs: r.activated_at_ms === null ? null : Number(r.activated_at_ms),
  lastUsedStep: r.last_used_step === null ? null : Number(r.last_used_step),
});

const toGrant = (r: GrantRow): BreakGlassGrant => ({
  id: r.id,
  staffId: r.staff_id,
  organizationId: r.organization_id,
  patientId: r.patient_id,
  reason: r.reason,
  grantedAtMs: Number(r.granted_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  endedAtMs: r.ended_at_ms === null ? null : Number(r.ended_at_ms),
  reviewedAtMs: r.reviewed_at_ms === null ? null : Number(r.reviewed_at_ms),
  reviewedBy: r.reviewed_by,
});

const GRANT_COLUMNS = 'id, staff_id, organization_id, patient_id, reason, granted_at_ms, expires_at_ms, ended_at_ms, reviewed_at_ms, reviewed_by';
/** In force at $n. */
const inForce = (at: string): string => `granted_at_ms <= ${at} AND expires_at_ms > ${at} AND (ended_at_ms IS NULL OR ended_at_ms > ${at})`;

/** StaffSecurityStore on PostgreSQL (the same tables as the SQLite twin). */
export class PostgresStaffSecurityStore implements StaffSecurityStore {
  constructor(private readonly pool: Pool) {}

  async totpFactor(staffId: string): Promise<TotpFactor | undefined> {
    const { rows } = await this.pool.query<TotpRow>('SELECT * FROM staff_totp WHERE staff_id = $1', [staffId]);
    return rows[0] === undefined ? undefined : toFactor(rows[0]);
  }

  async startTotp(staffId: string, secretSealed: string, atMs: number): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO staff_totp (staff_id, secret_sealed, status, created_at_ms) VALUES ($1, $2, 'pending', $3)
       ON CONFLICT (staff_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at_ms = excluded.created_at_ms
       WHERE staff_totp.status = 'pending'`,
      [staffId, secretSealed, atMs],
    );
    return res.rowCount === 1;
  }

  async activateTotp(staffId: string, step: number, codes: readonly string[], atMs: number): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const res = await client.query(`UPDATE staff_totp SET status = 'active', activated_at_ms = $1, last_used_step = $2 WHERE staff_id = $3 AND status = 'pending'`, [atMs, step, staffId]);
      if (res.rowCount !== 1) return false;
      await writeCodes(client, staffId, codes, atMs);
      return true;
    });
  }

  async useTotpStep(staffId: string, step: number): Promise<boolean> {
    const res = await this.pool.query(`UPDATE staff_totp SET last_used_step = $1 WHERE staff_id = $2 AND status = 'active' AND (last_used_step IS NULL OR last_used_step < $1)`, [step, staffId]);
    return res.rowCount === 1;
  }

  async useRecoveryCode(staffId: string, codeSha256: string, atMs: number): Promise<boolean> {
    const res = await this.pool.query('UPDATE staff_recovery_codes SET used_at_ms = $1 WHERE staff_id = $2 AND code_sha256 = $3 AND used_at_ms IS NULL', [atMs, staffId, codeSha256]);
    return res.rowCount === 1;
  }

  async replaceRecoveryCodes(staffId: string, codes: readonly string[], atMs: number): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query(`SELECT 1 FROM staff_totp WHERE staff_id = $1 AND status = 'active' FOR UPDATE`, [staffId]);
      if (rows.length === 0) return false;
      await writeCodes(client, staffId, codes, atMs);
      return true;
    });
  }

  async recoveryCodesLeft(staffId: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>('SELECT count(*) AS n FROM staff_recovery_codes WHERE staff_id = $1 AND used_at_ms IS NULL', [staffId]);
    return Number(rows[0]?.n ?? 0);
  }

  async removeTotp(staffId: string): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM staff_recovery_codes WHERE staff_id = $1', [staffId]);
      return (await client.query('DELETE FROM staff_totp WHERE staff_id = $1', [staffId])).rowCount === 1;
    });
  }

  async policy(organizationId: string): Promise<OrganizationAccessPolicy> {
    const { rows } = await this.pool.query<{ mfa_required: boolean; sso_issuer: string | null; sso_client_id: string | null; sso_client_secret_sealed: string | null }>(
      'SELECT mfa_required, sso_issuer, sso_client_id, sso_client_secret_sealed FROM organization_access_policies WHERE organization_id = $1',
      [organizationId],
    );
    const row = rows[0];
    const sso =
      row?.sso_issuer == null || row.sso_client_id === null || row.sso_client_secret_sealed === null
        ? null
        : { issuer: row.sso_issuer, clientId: row.sso_client_id, clientSecretSealed: row.sso_client_secret_sealed };
    return { organizationId, mfaRequired: row?.mfa_required === true, sso };
  }

  async setPolicy(policy: OrganizationAccessPolicy): Promise<void> {
    await this.pool.query(
      `INSERT INTO organization_access_policies (organization_id, mfa_required, sso_issuer, sso_client_id, sso_client_secret_sealed) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (organization_id) DO UPDATE SET mfa_required = excluded.mfa_required, sso_issuer = excluded.sso_issuer,
         sso_client_id = excluded.sso_client_id, sso_client_secret_sealed = excluded.sso_client_secret_sealed`,
      [policy.organizationId, policy.mfaRequired, policy.sso?.issuer ?? null, policy.sso?.clientId ?? null, policy.sso?.clientSecretSealed ?? null],
    );
  }

  async setPasswordHash(staffId: string, passwordHash: string, atMs: number): Promise<boolean> {
    const res = await this.pool.query('UPDATE staff_passwords SET password_hash = $1, updated_at_ms = $2 WHERE staff_id = $3', [passwordHash, atMs, staffId]);
    return res.rowCount === 1;
  }

  async createBreakGlass(g: NewBreakGlassGrant): Promise<BreakGlassGrant> {
    await this.pool.query(
      'INSERT INTO break_glass_grants (id, staff_id, organization_id, patient_id, reason, granted_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [g.id, g.staffId, g.organizationId, g.patientId, g.reason, g.grantedAtMs, g.expiresAtMs],
    );
    return { ...g, endedAtMs: null, reviewedAtMs: null, reviewedBy: null };
  }

  async activeBreakGlass(staffId: string, patientId: string, atMs: number): Promise<BreakGlassGrant | undefined> {
    const { rows } = await this.pool.query<GrantRow>(
      `SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE staff_id = $1 AND patient_id = $2 AND ${inForce('$3')} ORDER BY expires_at_ms DESC LIMIT 1`,
      [staffId, patientId, atMs],
    );
    return rows[0] === undefined ? undefined : toGrant(rows[0]);
  }

  async activeBreakGlassOf(staffId: string, atMs: number): Promise<BreakGlassGrant[]> {
    const { rows } = await this.pool.query<GrantRow>(`SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE staff_id = $1 AND ${inForce('$2')} ORDER BY granted_at_ms DESC, id DESC`, [staffId, atMs]);
    return rows.map(toGrant);
  }

  async listBreakGlass(organizationId: string, options: { unreviewedOnly?: boolean; limit: number }): Promise<BreakGlassGrant[]> {
    const { rows } = await this.pool.query<GrantRow>(
      `SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE organization_id = $1 ${options.unreviewedOnly === true ? 'AND reviewed_at_ms IS NULL' : ''} ORDER BY granted_at_ms DESC, id DESC LIMIT $2`,
      [organizationId, options.limit],
    );
    return rows.map(toGrant);
  }

  async getBreakGlass(id: string): Promise<BreakGlassGrant | undefined> {
    const { rows } = await this.pool.query<GrantRow>(`SELECT ${GRANT_COLUMNS} FROM break_glass_grants WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toGrant(rows[0]);
  }

  async endBreakGlass(id: string, staffId: string, atMs: number): Promise<boolean> {
    const res = await this.pool.query('UPDATE break_glass_grants SET ended_at_ms = $1 WHERE id = $2 AND staff_id = $3 AND ended_at_ms IS NULL', [atMs, id, staffId]);
    return res.rowCount === 1;
  }

  async reviewBreakGlass(id: string, reviewerId: string, atMs: number): Promise<boolean> {
    const res = await this.pool.query('UPDATE break_glass_grants SET reviewed_at_ms = $1, reviewed_by = $2 WHERE id = $3 AND reviewed_at_ms IS NULL', [atMs, reviewerId, id]);
    return res.rowCount === 1;
  }
}

async function writeCodes(client: PoolClient, staffId: string, codes: readonly string[], atMs: number): Promise<void> {
  await client.query('DELETE FROM staff_recovery_codes WHERE staff_id = $1', [staffId]);
  if (codes.length > 0) {
    await client.query('INSERT INTO staff_recovery_codes (staff_id, code_sha256, created_at_ms) SELECT $1, unnest($2::text[]), $3', [staffId, [...codes], atMs]);
  }
}
