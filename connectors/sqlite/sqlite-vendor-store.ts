import { FieldCipher } from '../../core/crypto/field-encryption.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { BindingCredentials, PullStatus, VendorBinding, VendorConnection, VendorName, VendorPull } from '../../core/model/vendor.js';
import type { NewVendorPull, PullAttempt, PullQuery, VendorStore } from '../../core/ports/vendor-store.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface ConnectionRow {
  organization_id: string;
  vendor: string;
  config: string;
  enabled: number;
  created_at_ms: number;
  updated_at_ms: number;
}

interface BindingRow {
  organization_id: string;
  vendor: string;
  external_id: string;
  device_id: string;
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

/** Where each encrypted value belongs: a value moved to another row does not decrypt there. */
const configContext = (organizationId: string, vendor: string): string => `vendor_connections.config:${organizationId}:${vendor}`;
const credentialsContext = (organizationId: string, vendor: string, externalId: string): string =>
  `vendor_bindings.credentials:${organizationId}:${vendor}:${externalId}`;

function constraintCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

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
 * Vendor connections, bindings and pulls, in the readings database. Connection settings and
 * binding credentials are encrypted with `secrets` (AES-256-GCM, bound to their row); without a
 * cipher nothing can be stored, since every connection holds a credential.
 */
export class SqliteVendorStore implements VendorStore {
  private readonly sql: (sql: string) => PreparedStatement;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly secrets: FieldCipher | undefined = undefined,
  ) {
    this.sql = statementCache(db);
  }

  async putConnection(c: VendorConnection): Promise<VendorConnection> {
    try {
      this.sql(
        `INSERT INTO vendor_connections (organization_id, vendor, config, enabled, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (organization_id, vendor) DO UPDATE SET config = excluded.config, enabled = excluded.enabled, updated_at_ms = excluded.updated_at_ms`,
      ).run(c.organizationId, c.vendor, this.cipher().encrypt(JSON.stringify(c.settings), configContext(c.organizationId, c.vendor)), c.enabled ? 1 : 0, c.createdAtMs, c.updatedAtMs);
    } catch (err) {
      if (constraintCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${c.organizationId}' not found`, { cause: err });
      }
      throw err;
    }
    const stored = await this.getConnection(c.organizationId, c.vendor);
    if (stored === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'connection vanished after write');
    return stored;
  }

  async getConnection(organizationId: string, vendor: VendorName): Promise<VendorConnection | undefined> {
    const row = this.sql('SELECT * FROM vendor_connections WHERE organization_id = ? AND vendor = ?').get(organizationId, vendor) as ConnectionRow | undefined;
    return row === undefined ? undefined : this.toConnection(row);
  }

  async listConnections(organizationId: string): Promise<VendorConnection[]> {
    const rows = this.sql('SELECT * FROM vendor_connections WHERE organization_id = ? ORDER BY vendor').all(organizationId) as ConnectionRow[];
    return rows.map((r) => this.toConnection(r));
  }

  async deleteConnection(organizationId: string, vendor: VendorName): Promise<boolean> {
    return this.sql('DELETE FROM vendor_connections WHERE organization_id = ? AND vendor = ?').run(organizationId, vendor).changes > 0;
  }

  async createBinding(b: VendorBinding): Promise<VendorBinding> {
    try {
      this.sql(
        `INSERT INTO vendor_bindings (organization_id, vendor, external_id, device_id, credentials, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(b.organizationId, b.vendor, b.externalId, b.deviceId, this.sealCredentials(b.organizationId, b.vendor, b.externalId, b.credentials), b.createdAtMs, b.updatedAtMs);
    } catch (err) {
      const code = constraintCode(err);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new RpmError('RPM_ERR_VENDOR_BINDING_EXISTS', `${b.vendor} '${b.externalId}' is already bound in organization '${b.organizationId}'`, { cause: err, path: '/externalId' });
      }
      if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        const org = this.sql('SELECT 1 FROM organizations WHERE id = ?').get(b.organizationId);
        if (org === undefined) throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${b.organizationId}' not found`, { cause: err });
        throw new RpmError('RPM_ERR_DEVICE_NOT_FOUND', `device '${b.deviceId}' not found`, { cause: err, path: '/deviceId' });
      }
      throw err;
    }
    const stored = await this.getBinding(b.organizationId, b.vendor, b.externalId);
    if (stored === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'binding vanished after insert');
    return stored;
  }

  async getBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<VendorBinding | undefined> {
    const row = this.sql('SELECT * FROM vendor_bindings WHERE organization_id = ? AND vendor = ? AND external_id = ?').get(organizationId, vendor, externalId) as BindingRow | undefined;
    return row === undefined ? undefined : this.toBinding(row);
  }

  async listBindings(organizationId: string, vendor: VendorName, page: { readonly limit: number; readonly afterExternalId?: string }): Promise<VendorBinding[]> {
    const rows = this.sql(
      'SELECT * FROM vendor_bindings WHERE organization_id = ? AND vendor = ? AND external_id > ? ORDER BY external_id LIMIT ?',
    ).all(organizationId, vendor, page.afterExternalId ?? '', page.limit) as BindingRow[];
    return rows.map((r) => this.toBinding(r));
  }

  async deleteBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<boolean> {
    return this.sql('DELETE FROM vendor_bindings WHERE organization_id = ? AND vendor = ? AND external_id = ?').run(organizationId, vendor, externalId).changes > 0;
  }

  async updateBindingCredentials(organizationId: string, vendor: VendorName, externalId: string, credentials: BindingCredentials, atMs: number): Promise<boolean> {
    return (
      this.sql('UPDATE vendor_bindings SET credentials = ?, updated_at_ms = ? WHERE organization_id = ? AND vendor = ? AND external_id = ?').run(
        this.sealCredentials(organizationId, vendor, externalId, credentials),
        atMs,
        organizationId,
        vendor,
        externalId,
      ).changes > 0
    );
  }

  async enqueuePull(p: NewVendorPull): Promise<VendorPull> {
    const info = this.sql(
      `INSERT INTO vendor_pulls (organization_id, vendor, external_id, from_ms, to_ms, reason, status, attempts, created_at_ms, next_attempt_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
    ).run(p.organizationId, p.vendor, p.externalId, p.fromMs, p.toMs, p.reason, p.createdAtMs, p.createdAtMs);
    const row = this.sql('SELECT * FROM vendor_pulls WHERE id = ?').get(Number(info.lastInsertRowid)) as PullRow;
    return toPull(row);
  }

  async duePulls(nowMs: number, limit: number): Promise<VendorPull[]> {
    const rows = this.sql(
      "SELECT * FROM vendor_pulls WHERE status IN ('pending', 'failed') AND next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms, id LIMIT ?",
    ).all(nowMs, limit) as PullRow[];
    return rows.map(toPull);
  }

  async nextPullDueAt(): Promise<number | undefined> {
    const row = this.sql("SELECT min(next_attempt_at_ms) AS t FROM vendor_pulls WHERE status IN ('pending', 'failed')").get() as { t: number | null };
    return row.t ?? undefined;
  }

  async recordPullAttempt(id: number, a: PullAttempt): Promise<void> {
    if (a.status === 'done') {
      this.sql("UPDATE vendor_pulls SET status = 'done', attempts = attempts + 1, last_attempt_at_ms = ?, readings = ?, error_code = NULL, error_message = NULL WHERE id = ?").run(
        a.atMs,
        a.readings,
        id,
      );
    } else if (a.status === 'failed') {
      this.sql("UPDATE vendor_pulls SET status = 'failed', attempts = attempts + 1, last_attempt_at_ms = ?, next_attempt_at_ms = ?, error_code = ?, error_message = ? WHERE id = ?").run(
        a.atMs,
        a.nextAttemptAtMs,
        a.errorCode,
        a.errorMessage,
        id,
      );
    } else {
      this.sql("UPDATE vendor_pulls SET status = 'dead', attempts = attempts + 1, last_attempt_at_ms = ?, error_code = ?, error_message = ? WHERE id = ?").run(a.atMs, a.errorCode, a.errorMessage, id);
    }
  }

  async listPulls(q: PullQuery): Promise<VendorPull[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.organizationId !== undefined) {
      where.push('organization_id = ?');
      params.push(q.organizationId);
    }
    if (q.vendor !== undefined) {
      where.push('vendor = ?');
      params.push(q.vendor);
    }
    if (q.externalId !== undefined) {
      where.push('external_id = ?');
      params.push(q.externalId);
    }
    if (q.statuses !== undefined && q.statuses.length > 0) {
      where.push(`status IN (${q.statuses.map(() => '?').join(', ')})`);
      params.push(...q.statuses);
    }
    params.push(q.limit);
    const rows = this.sql(`SELECT * FROM vendor_pulls ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY id DESC LIMIT ?`).all(...params) as PullRow[];
    return rows.map(toPull);
  }

  async pullStats(cap: number): Promise<{ waiting: number; dead: number }> {
    const count = (statuses: string): number =>
      (this.sql(`SELECT count(*) AS n FROM (SELECT 1 FROM vendor_pulls WHERE status IN (${statuses}) LIMIT ?)`).get(cap) as { n: number }).n;
    return { waiting: count("'pending', 'failed'"), dead: count("'dead'") };
  }

  /**
   * Re-encrypts values under a key other than the active one (key rotation). Run at start-up
   * beside the forwarding store's; returns how many values changed.
   */
  sealSecrets(): number {
    const secrets = this.secrets;
    if (secrets === undefined) return 0;
    const connections = (this.sql('SELECT organization_id, vendor, config FROM vendor_connections').all() as ConnectionRow[]).filter((r) => secrets.needsRotation(r.config));
    const bindings = (
      this.sql('SELECT organization_id, vendor, external_id, credentials FROM vendor_bindings WHERE credentials IS NOT NULL').all() as BindingRow[]
    ).filter((r) => r.credentials !== null && secrets.needsRotation(r.credentials));
    if (connections.length + bindings.length === 0) return 0;
    this.db
      .transaction(() => {
        for (const r of connections) {
          const context = configContext(r.organization_id, r.vendor);
          this.sql('UPDATE vendor_connections SET config = ? WHERE organization_id = ? AND vendor = ?').run(
            secrets.encrypt(secrets.decrypt(r.config, context), context),
            r.organization_id,
            r.vendor,
          );
        }
        for (const r of bindings) {
          const context = credentialsContext(r.organization_id, r.vendor, r.external_id);
          this.sql('UPDATE vendor_bindings SET credentials = ? WHERE organization_id = ? AND vendor = ? AND external_id = ?').run(
            secrets.encrypt(secrets.decrypt(r.credentials as string, context), context),
            r.organization_id,
            r.vendor,
            r.external_id,
          );
        }
      })
      .immediate();
    return connections.length + bindings.length;
  }

  private cipher(): FieldCipher {
    if (this.secrets === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'storing vendor credentials needs a field cipher (SqliteStoreOptions.secrets)');
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
      enabled: r.enabled === 1,
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

