import { FieldCipher } from '../../core/crypto/field-encryption.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { BindingCredentials, PullStatus, VendorBinding, VendorConnection, VendorName, VendorPull } from '../../core/model/vendor.js';
import type { NewVendorPull, PullAttempt, PullQuery, VendorStore } from '../../core/ports/vendor-store.js';
import { inTransaction, isForeignKeyViolation, isUniqueViolation, type Pool } from './database.js';

interface ConnectionRow {
  organization_id: string;
  vendor: string;
  /** Encrypted JSON of the settings. */
  config: string;
  enabled: boolean;
  created_at_ms: number;
  updated_at_ms: number;
}

interface BindingRow {
  organization_id: string;
  vendor: string;
  external_id: string;
  device_id: string;
  /** Encrypted JSON of the credentials, or NULL. */
  credentials: string | null;
  created_at_ms: number;
  updated_at_ms: number;
}

interface PullRow {
  id: number;
  organization_id: string;
  vendor: string;
  external_id: string;
  from_ms: number;
  to_ms: number;
  reason: string;
  status: string;
  attempts: number;
  created_at_ms: number;
  next_attempt_at_ms: number;
  last_attempt_at_ms: number | null;
  readings: number | null;
  error_code: string | null;
  error_message: string | null;
}

const CONNECTION_COLUMNS = 'organization_id, vendor, config, enabled, created_at_ms, updated_at_ms';
const BINDING_COLUMNS = 'organization_id, vendor, external_id, device_id, credentials, created_at_ms, updated_at_ms';
const PULL_COLUMNS =
  'id, organization_id, vendor, external_id, from_ms, to_ms, reason, status, attempts, created_at_ms, next_attempt_at_ms, last_attempt_at_ms, readings, error_code, error_message';

/**
 * Where each encrypted value belongs: a value moved to another row does not decrypt there. The
 * same contexts as the SQLite adapter's, so a value means the same thing in either store.
 */
const configContext = (organizationId: string, vendor: string): string => `vendor_connections.config:${organizationId}:${vendor}`;
const credentialsContext = (organizationId: string, vendor: string, externalId: string): string =>
  `vendor_bindings.credentials:${organizationId}:${vendor}:${externalId}`;

const toPull = (r: PullRow): VendorPull => ({
  id: r.id,
  organizationId: r.organization_id,
  vendor: r.vendor as VendorName,
  externalId: r.external_id,
  fromMs: r.from_ms,
  toMs: r.to_ms,
  reason: r.reason as VendorPull['reason'],
  status: r.status as PullStatus,
  attempts: r.attempts,
  createdAtMs: r.created_at_ms,
  nextAttemptAtMs: r.next_attempt_at_ms,
  lastAttemptAtMs: r.last_attempt_at_ms,
  readings: r.readings,
  errorCode: r.error_code,
  errorMessage: r.error_message,
});

/**
 * Vendor connections, bindings and pulls on PostgreSQL (migrations.ts version 8). Connection
 * settings and binding credentials are encrypted with `secrets` (AES-256-GCM, bound to their
 * row); without a cipher nothing can be stored, since every connection holds a credential.
 * Every write is one statement (its own transaction); re-encryption at open is one transaction
 * over locked rows, so two processes opening at once do not rotate a value twice.
 */
export class PostgresVendorStore implements VendorStore {
  constructor(
    private readonly pool: Pool,
    private readonly secrets: FieldCipher | undefined = undefined,
  ) {}

  async putConnection(c: VendorConnection): Promise<VendorConnection> {
    try {
      // One statement: a replacement keeps the creation time, and two puts at once cannot both insert.
      const { rows } = await this.pool.query<ConnectionRow>(
        `INSERT INTO vendor_connections (${CONNECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (organization_id, vendor) DO UPDATE SET config = excluded.config, enabled = excluded.enabled, updated_at_ms = excluded.updated_at_ms
         RETURNING ${CONNECTION_COLUMNS}`,
        [c.organizationId, c.vendor, this.cipher().encrypt(JSON.stringify(c.settings), configContext(c.organizationId, c.vendor)), c.enabled, c.createdAtMs, c.updatedAtMs],
      );
      return this.toConnection(rows[0] as ConnectionRow);
    } catch (err) {
      if (isForeignKeyViolation(err)) throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${c.organizationId}' not found`, { cause: err });
      throw err;
    }
  }

  async getConnection(organizationId: string, vendor: VendorName): Promise<VendorConnection | undefined> {
    const { rows } = await this.pool.query<ConnectionRow>({
      name: 'rpm_vendor_connection',
      text: `SELECT ${CONNECTION_COLUMNS} FROM vendor_connections WHERE organization_id = $1 AND vendor = $2`,
      values: [organizationId, vendor],
    });
    const row = rows[0];
    return row === undefined ? undefined : this.toConnection(row);
  }

  async listConnections(organizationId: string): Promise<VendorConnection[]> {
    const { rows } = await this.pool.query<ConnectionRow>(`SELECT ${CONNECTION_COLUMNS} FROM vendor_connections WHERE organization_id = $1 ORDER BY vendor`, [organizationId]);
    return rows.map((r) => this.toConnection(r));
  }

  async deleteConnection(organizationId: string, vendor: VendorName): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM vendor_connections WHERE organization_id = $1 AND vendor = $2', [organizationId, vendor]);
    return (res.rowCount ?? 0) > 0;
  }

  async createBinding(b: VendorBinding): Promise<VendorBinding> {
    try {
      const { rows } = await this.pool.query<BindingRow>(
        `INSERT INTO vendor_bindings (${BINDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${BINDING_COLUMNS}`,
        [b.organizationId, b.vendor, b.externalId, b.deviceId, this.sealCredentials(b.organizationId, b.vendor, b.externalId, b.credentials), b.createdAtMs, b.updatedAtMs],
      );
      return this.toBinding(rows[0] as BindingRow);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new RpmError('RPM_ERR_VENDOR_BINDING_EXISTS', `${b.vendor} '${b.externalId}' is already bound in organization '${b.organizationId}'`, { cause: err, path: '/externalId' });
      }
      if (isForeignKeyViolation(err)) {
        // Which reference is missing, told as the SQLite adapter tells it: the organization first.
        const org = await this.pool.query('SELECT 1 FROM organizations WHERE id = $1', [b.organizationId]);
        if (org.rowCount === 0) throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${b.organizationId}' not found`, { cause: err });
        throw new RpmError('RPM_ERR_DEVICE_NOT_FOUND', `device '${b.deviceId}' not found`, { cause: err, path: '/deviceId' });
      }
      throw err;
    }
  }

  async getBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<VendorBinding | undefined> {
    const { rows } = await this.pool.query<BindingRow>({
      name: 'rpm_vendor_binding',
      text: `SELECT ${BINDING_COLUMNS} FROM vendor_bindings WHERE organization_id = $1 AND vendor = $2 AND external_id = $3`,
      values: [organizationId, vendor, externalId],
    });
    const row = rows[0];
    return row === undefined ? undefined : this.toBinding(row);
  }

  async listBindings(organizationId: string, vendor: VendorName, page: { readonly limit: number; readonly afterExternalId?: string }): Promise<VendorBinding[]> {
    // external_id is COLLATE "C": byte order, the order SQLite pages in.
    const { rows } = await this.pool.query<BindingRow>(
      `SELECT ${BINDING_COLUMNS} FROM vendor_bindings WHERE organization_id = $1 AND vendor = $2 AND external_id > $3 ORDER BY external_id LIMIT $4`,
      [organizationId, vendor, page.afterExternalId ?? '', page.limit],
    );
    return rows.map((r) => this.toBinding(r));
  }

  async deleteBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<boolean> {
    const res = await this.pool.query('DELETE FROM vendor_bindings WHERE organization_id = $1 AND vendor = $2 AND external_id = $3', [organizationId, vendor, externalId]);
    return (res.rowCount ?? 0) > 0;
  }

  async updateBindingCredentials(organizationId: string, vendor: VendorName, externalId: string, credentials: BindingCredentials, atMs: number): Promise<boolean> {
    const res = await this.pool.query('UPDATE vendor_bindings SET credentials = $1, updated_at_ms = $2 WHERE organization_id = $3 AND vendor = $4 AND external_id = $5', [
      this.sealCredentials(organizationId, vendor, externalId, credentials),
      atMs,
      organizationId,
      vendor,
      externalId,
    ]);
    return (res.rowCount ?? 0) > 0;
  }

  async enqueuePull(p: NewVendorPull): Promise<VendorPull> {
    const { rows } = await this.pool.query<PullRow>(
      `INSERT INTO vendor_pulls (organization_id, vendor, external_id, from_ms, to_ms, reason, status, attempts, created_at_ms, next_attempt_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)
       RETURNING ${PULL_COLUMNS}`,
      [p.organizationId, p.vendor, p.externalId, p.fromMs, p.toMs, p.reason, p.createdAtMs],
    );
    return toPull(rows[0] as PullRow);
  }

  async duePulls(nowMs: number, limit: number): Promise<VendorPull[]> {
    const { rows } = await this.pool.query<PullRow>({
      name: 'rpm_vendor_due_pulls',
      text: `SELECT ${PULL_COLUMNS} FROM vendor_pulls WHERE status IN ('pending', 'failed') AND next_attempt_at_ms <= $1 ORDER BY next_attempt_at_ms, id LIMIT $2`,
      values: [nowMs, limit],
    });
    return rows.map(toPull);
  }

  async nextPullDueAt(): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ t: number | null }>({
      name: 'rpm_vendor_next_pull',
      text: "SELECT min(next_attempt_at_ms) AS t FROM vendor_pulls WHERE status IN ('pending', 'failed')",
    });
    return rows[0]?.t ?? undefined;
  }

  async recordPullAttempt(id: number, a: PullAttempt): Promise<void> {
    if (a.status === 'done') {
      await this.pool.query(
        "UPDATE vendor_pulls SET status = 'done', attempts = attempts + 1, last_attempt_at_ms = $1, readings = $2, error_code = NULL, error_message = NULL WHERE id = $3",
        [a.atMs, a.readings, id],
      );
    } else if (a.status === 'failed') {
      await this.pool.query(
        "UPDATE vendor_pulls SET status = 'failed', attempts = attempts + 1, last_attempt_at_ms = $1, next_attempt_at_ms = $2, error_code = $3, error_message = $4 WHERE id = $5",
        [a.atMs, a.nextAttemptAtMs, a.errorCode, a.errorMessage, id],
      );
    } else {
      await this.pool.query("UPDATE vendor_pulls SET status = 'dead', attempts = attempts + 1, last_attempt_at_ms = $1, error_code = $2, error_message = $3 WHERE id = $4", [
        a.atMs,
        a.errorCode,
        a.errorMessage,
        id,
      ]);
    }
  }

  async listPulls(q: PullQuery): Promise<VendorPull[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (q.organizationId !== undefined) where.push(`organization_id = ${param(q.organizationId)}`);
    if (q.vendor !== undefined) where.push(`vendor = ${param(q.vendor)}`);
    if (q.externalId !== undefined) where.push(`external_id = ${param(q.externalId)}`);
    if (q.statuses !== undefined && q.statuses.length > 0) where.push(`status = ANY(${param(q.statuses)}::text[])`);
    const limit = param(q.limit);
    const { rows } = await this.pool.query<PullRow>(
      `SELECT ${PULL_COLUMNS} FROM vendor_pulls ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT ${limit}`,
      params,
    );
    return rows.map(toPull);
  }

  async pullStats(cap: number): Promise<{ waiting: number; dead: number }> {
    // Capped counts (a metrics scrape must not scan every pull ever made); both in one round trip.
    const { rows } = await this.pool.query<{ waiting: number; dead: number }>({
      name: 'rpm_vendor_pull_stats',
      text: `SELECT
               (SELECT count(*) FROM (SELECT 1 FROM vendor_pulls WHERE status IN ('pending', 'failed') LIMIT $1) w) AS waiting,
               (SELECT count(*) FROM (SELECT 1 FROM vendor_pulls WHERE status = 'dead' LIMIT $1) d) AS dead`,
      values: [cap],
    });
    return { waiting: rows[0]?.waiting ?? 0, dead: rows[0]?.dead ?? 0 };
  }

  /**
   * Encrypts under the active key every value under another key (key rotation) or in plain text
   * (a row written by hand). Run at open beside the forwarding store's; a value under a key that
   * is not configured stops the open with RPM_ERR_SECRET_KEY_UNKNOWN naming it. Returns how many
   * values changed.
   */
  async sealSecrets(): Promise<number> {
    const secrets = this.secrets;
    if (secrets === undefined) return 0;
    const open = (value: string, context: string): string => (FieldCipher.keyIdOf(value) === undefined ? value : secrets.decrypt(value, context));
    return inTransaction(this.pool, async (client) => {
      const { rows: connections } = await client.query<ConnectionRow>('SELECT organization_id, vendor, config FROM vendor_connections FOR UPDATE');
      const { rows: bindings } = await client.query<BindingRow>(
        'SELECT organization_id, vendor, external_id, credentials FROM vendor_bindings WHERE credentials IS NOT NULL FOR UPDATE',
      );
      let changed = 0;
      for (const r of connections.filter((c) => secrets.needsRotation(c.config))) {
        const context = configContext(r.organization_id, r.vendor);
        await client.query('UPDATE vendor_connections SET config = $1 WHERE organization_id = $2 AND vendor = $3', [
          secrets.encrypt(open(r.config, context), context),
          r.organization_id,
          r.vendor,
        ]);
        changed++;
      }
      for (const r of bindings) {
        const stored = r.credentials as string;
        if (!secrets.needsRotation(stored)) continue;
        const context = credentialsContext(r.organization_id, r.vendor, r.external_id);
        await client.query('UPDATE vendor_bindings SET credentials = $1 WHERE organization_id = $2 AND vendor = $3 AND external_id = $4', [
          secrets.encrypt(open(stored, context), context),
          r.organization_id,
          r.vendor,
          r.external_id,
        ]);
        changed++;
      }
      return changed;
    });
  }

  private cipher(): FieldCipher {
    if (this.secrets === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'storing vendor credentials needs a field cipher (PostgresStoreOptions.secrets)');
    return this.secrets;
  }

  private sealCredentials(organizationId: string, vendor: string, externalId: string, credentials: BindingCredentials | null): string | null {
    return credentials === null ? null : this.cipher().encrypt(JSON.stringify(credentials), credentialsContext(organizationId, vendor, externalId));
  }

  private toConnection(r: ConnectionRow): VendorConnection {
    // The row's vendor names the shape of its settings (validated when they were put).
    return {
      organizationId: r.organization_id,
      vendor: r.vendor as VendorName,
      settings: JSON.parse(this.cipher().decrypt(r.config, configContext(r.organization_id, r.vendor))) as VendorConnection['settings'],
      enabled: r.enabled,
      createdAtMs: r.created_at_ms,
      updatedAtMs: r.updated_at_ms,
    } as VendorConnection;
  }

  private toBinding(r: BindingRow): VendorBinding {
    return {
      organizationId: r.organization_id,
      vendor: r.vendor as VendorName,
      externalId: r.external_id,
      deviceId: r.device_id,
      credentials:
        r.credentials === null
          ? null
          : (JSON.parse(this.cipher().decrypt(r.credentials, credentialsContext(r.organization_id, r.vendor, r.external_id))) as BindingCredentials),
      createdAtMs: r.created_at_ms,
      updatedAtMs: r.updated_at_ms,
    };
  }
}
