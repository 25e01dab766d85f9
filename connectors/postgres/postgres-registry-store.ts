import { RpmError } from '../../core/errors/rpm-error.js';
import { type Assignment, type Credential, type Device, type DeviceKind, type DeviceStatus, type Patient, planAssignment } from '../../core/model/registry.js';
import type { NewAssignment, NewCredential, NewDevice, NewPatient, PresenceUpdate, RegistryStore } from '../../core/ports/registry-store.js';
import { constraintOf, inTransaction, isForeignKeyViolation, isUniqueViolation, type Pool, type PoolClient } from './database.js';

interface DeviceRow {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  hub_id: string | null;
  simulated: boolean;
  status: string;
  created_at_ms: number;
  revoked_at_ms: number | null;
  last_seen_at_ms: number | null;
  online: boolean;
  battery_percent: number | null;
  battery_at_ms: number | null;
}

interface AssignmentRow {
  device_id: string;
  patient_id: string;
  from_ms: number;
  to_ms: number | null;
}

interface CredentialRow {
  id: string;
  device_id: string;
  secret_hash: string;
  created_at_ms: number;
  expires_at_ms: number | null;
  revoked_at_ms: number | null;
}

const DEVICE_COLUMNS =
  'id, kind, manufacturer, model, serial, hub_id, simulated, status, created_at_ms, revoked_at_ms, last_seen_at_ms, online, battery_percent, battery_at_ms';
const CREDENTIAL_COLUMNS = 'id, device_id, secret_hash, created_at_ms, expires_at_ms, revoked_at_ms';
const ASSIGNMENT_COLUMNS = 'device_id, patient_id, from_ms, to_ms';

const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  kind: r.kind as DeviceKind,
  manufacturer: r.manufacturer,
  model: r.model,
  serial: r.serial,
  hubId: r.hub_id,
  simulated: r.simulated,
  status: r.status as DeviceStatus,
  createdAtMs: r.created_at_ms,
  revokedAtMs: r.revoked_at_ms,
  lastSeenAtMs: r.last_seen_at_ms,
  online: r.online,
  battery: r.battery_percent === null || r.battery_at_ms === null ? null : { percent: r.battery_percent, atMs: r.battery_at_ms },
});

const toAssignment = (r: AssignmentRow): Assignment => ({ deviceId: r.device_id, patientId: r.patient_id, fromMs: r.from_ms, toMs: r.to_ms });

const toCredential = (r: CredentialRow): Credential => ({
  id: r.id,
  deviceId: r.device_id,
  secretHash: r.secret_hash,
  createdAtMs: r.created_at_ms,
  expiresAtMs: r.expires_at_ms,
  revokedAtMs: r.revoked_at_ms,
});

/** An assignment's missing device or patient, named by the foreign key that refused it. */
function assignmentTargetMissing(err: unknown, a: NewAssignment | undefined): RpmError {
  return constraintOf(err) === 'device_assignments_device_id_fkey'
    ? new RpmError('RPM_ERR_DEVICE_NOT_FOUND', `device '${a?.deviceId ?? ''}' not found`, { cause: err })
    : new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${a?.patientId ?? ''}' not found`, { cause: err });
}

/**
 * RegistryStore on PostgreSQL. Writers of a device's assignment history lock the device row
 * first (SELECT … FOR UPDATE), so two concurrent reassignments of one device are applied one
 * after the other and the history never overlaps, as under SQLite's single writer.
 */
export class PostgresRegistryStore implements RegistryStore {
  constructor(private readonly pool: Pool) {}

  async createPatient(p: NewPatient): Promise<Patient> {
    try {
      await this.pool.query('INSERT INTO patients (id, organization_id, created_at_ms) VALUES ($1, $2, $3)', [p.id, p.organizationId, p.createdAtMs]);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_PATIENT_EXISTS', `patient '${p.id}' already exists`, { cause: err });
      throw err;
    }
    return { id: p.id, organizationId: p.organizationId, createdAtMs: p.createdAtMs };
  }

  async setPatientOrganization(id: string, organizationId: string | null): Promise<{ before: Patient; after: Patient } | undefined> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; organization_id: string | null; created_at_ms: number }>(
        'SELECT id, organization_id, created_at_ms FROM patients WHERE id = $1 FOR UPDATE',
        [id],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      if (row.organization_id !== organizationId) await client.query('UPDATE patients SET organization_id = $2 WHERE id = $1', [id, organizationId]);
      const before = { id: row.id, organizationId: row.organization_id, createdAtMs: Number(row.created_at_ms) };
      return { before, after: { ...before, organizationId } };
    });
  }

  async getPatient(id: string): Promise<Patient | undefined> {
    const { rows } = await this.pool.query<{ id: string; organization_id: string | null; created_at_ms: number }>(
      'SELECT id, organization_id, created_at_ms FROM patients WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row === undefined ? undefined : { id: row.id, organizationId: row.organization_id, createdAtMs: row.created_at_ms };
  }

  async createDevice(d: NewDevice, credential: NewCredential, assignment?: NewAssignment): Promise<Device> {
    try {
      const row = await inTransaction(this.pool, async (client) => {
        const { rows } = await client.query<DeviceRow>(
          `INSERT INTO devices (id, kind, manufacturer, model, serial, hub_id, simulated, status, created_at_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8) RETURNING ${DEVICE_COLUMNS}`,
          [d.id, d.kind, d.manufacturer, d.model, d.serial, d.hubId, d.simulated === true, d.createdAtMs],
        );
        await insertCredential(client, credential);
        if (assignment !== undefined) await insertAssignment(client, assignment);
        return rows[0];
      });
      if (row === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'device vanished after insert');
      return toDevice(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_DEVICE_EXISTS', `device '${d.id}' already exists`, { cause: err });
      if (isForeignKeyViolation(err)) throw assignmentTargetMissing(err, assignment);
      throw err;
    }
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const { rows } = await this.pool.query<DeviceRow>({ name: 'rpm_device_by_id', text: `SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = $1`, values: [id] });
    const row = rows[0];
    return row === undefined ? undefined : toDevice(row);
  }

  async listDevices(options: { limit: number; afterId?: string }): Promise<Device[]> {
    const { rows } = await this.pool.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id > $1 ORDER BY id LIMIT $2`, [
      options.afterId ?? '',
      options.limit,
    ]);
    return rows.map(toDevice);
  }

  async assignments(deviceId: string): Promise<Assignment[]> {
    const { rows } = await this.pool.query<AssignmentRow>(`SELECT ${ASSIGNMENT_COLUMNS} FROM device_assignments WHERE device_id = $1 ORDER BY from_ms`, [deviceId]);
    return rows.map(toAssignment);
  }

  async assignmentsOfPatient(patientId: string): Promise<Assignment[]> {
    const { rows } = await this.pool.query<AssignmentRow>(
      `SELECT ${ASSIGNMENT_COLUMNS} FROM device_assignments WHERE patient_id = $1 ORDER BY from_ms, device_id`,
      [patientId],
    );
    return rows.map(toAssignment);
  }

  async assign(a: NewAssignment): Promise<Assignment> {
    try {
      return await inTransaction(this.pool, (client) => insertAssignment(client, a));
    } catch (err) {
      if (isForeignKeyViolation(err)) throw assignmentTargetMissing(err, a);
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_ASSIGNMENT_CONFLICT', 'an assignment already starts at that instant', { cause: err });
      throw err;
    }
  }

  async unassign(deviceId: string, atMs: number): Promise<Assignment | undefined> {
    return inTransaction(this.pool, async (client) => {
      await lockDevice(client, deviceId);
      const { rows } = await client.query<AssignmentRow>(`SELECT ${ASSIGNMENT_COLUMNS} FROM device_assignments WHERE device_id = $1 AND to_ms IS NULL`, [deviceId]);
      const open = rows[0];
      if (open === undefined) return undefined;
      if (atMs <= open.from_ms) throw new RpmError('RPM_ERR_ASSIGNMENT_CONFLICT', 'the assignment cannot end before it starts');
      await client.query('UPDATE device_assignments SET to_ms = $1 WHERE device_id = $2 AND from_ms = $3', [atMs, deviceId, open.from_ms]);
      return toAssignment({ ...open, to_ms: atMs });
    });
  }

  async addCredential(c: NewCredential, othersExpireAtMs: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(
        'UPDATE device_credentials SET expires_at_ms = $1 WHERE device_id = $2 AND revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > $1)',
        [othersExpireAtMs, c.deviceId],
      );
      await insertCredential(client, c);
    });
  }

  async findCredential(id: string): Promise<Credential | undefined> {
    const { rows } = await this.pool.query<CredentialRow>({
      name: 'rpm_credential_by_id',
      text: `SELECT ${CREDENTIAL_COLUMNS} FROM device_credentials WHERE id = $1`,
      values: [id],
    });
    const row = rows[0];
    return row === undefined ? undefined : toCredential(row);
  }

  async replaceCredentialHash(id: string, expected: string, replacement: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('UPDATE device_credentials SET secret_hash = $1 WHERE id = $2 AND secret_hash = $3', [replacement, id, expected]);
    return rowCount === 1;
  }

  async credentialsOf(deviceId: string): Promise<Credential[]> {
    const { rows } = await this.pool.query<CredentialRow>(
      `SELECT ${CREDENTIAL_COLUMNS} FROM device_credentials WHERE device_id = $1 ORDER BY created_at_ms, seq`,
      [deviceId],
    );
    return rows.map(toCredential);
  }

  async revokeDevice(deviceId: string, atMs: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query("UPDATE devices SET status = 'revoked', revoked_at_ms = $1, online = false WHERE id = $2 AND status = 'active'", [atMs, deviceId]);
      await client.query('UPDATE device_credentials SET revoked_at_ms = $1 WHERE device_id = $2 AND revoked_at_ms IS NULL', [atMs, deviceId]);
    });
  }

  /**
   * One statement per kind of change for the whole flush, whatever its size. Several updates of
   * one device fold as if applied in order: last seen is the latest, online the last said,
   * battery the newest measurement (the store keeps it only if newer than what it has).
   */
  async recordPresence(updates: readonly PresenceUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const seen = new Map<string, number>();
    const online = new Map<string, boolean>();
    const battery = new Map<string, { percent: number; atMs: number }>();
    for (const u of updates) {
      if (u.lastSeenAtMs !== undefined) seen.set(u.deviceId, Math.max(seen.get(u.deviceId) ?? 0, u.lastSeenAtMs));
      if (u.online !== undefined) online.set(u.deviceId, u.online);
      if (u.battery !== undefined && u.battery.atMs >= (battery.get(u.deviceId)?.atMs ?? Number.NEGATIVE_INFINITY)) battery.set(u.deviceId, u.battery);
    }
    // In id order: flushes of two processes that walk their lists by index lookups lock shared
    // rows in the same order (a device is normally connected to one process only anyway).
    const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    await inTransaction(this.pool, async (client) => {
      if (seen.size > 0) {
        const s = sorted(seen);
        await client.query(
          `UPDATE devices d SET last_seen_at_ms = GREATEST(COALESCE(d.last_seen_at_ms, 0), u.t)
           FROM unnest($1::text[], $2::bigint[]) AS u(id, t) WHERE d.id = u.id`,
          [s.map(([id]) => id), s.map(([, t]) => t)],
        );
      }
      if (online.size > 0) {
        const s = sorted(online);
        await client.query('UPDATE devices d SET online = u.o FROM unnest($1::text[], $2::boolean[]) AS u(id, o) WHERE d.id = u.id', [
          s.map(([id]) => id),
          s.map(([, o]) => o),
        ]);
      }
      if (battery.size > 0) {
        const s = sorted(battery);
        await client.query(
          `UPDATE devices d SET battery_percent = u.p, battery_at_ms = u.t
           FROM unnest($1::text[], $2::float8[], $3::bigint[]) AS u(id, p, t)
           WHERE d.id = u.id AND (d.battery_at_ms IS NULL OR d.battery_at_ms <= u.t)`,
          [s.map(([id]) => id), s.map(([, b]) => b.percent), s.map(([, b]) => b.atMs)],
        );
      }
    });
  }

  async close(): Promise<void> {
    // The pool is owned and closed by PostgresStores.
  }
}

async function insertCredential(client: PoolClient, c: NewCredential): Promise<void> {
  await client.query('INSERT INTO device_credentials (id, device_id, secret_hash, created_at_ms) VALUES ($1, $2, $3, $4)', [
    c.id,
    c.deviceId,
    c.secretHash,
    c.createdAtMs,
  ]);
}

/** Serialises writers of one device's assignment history until the transaction ends. */
async function lockDevice(client: PoolClient, deviceId: string): Promise<void> {
  await client.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [deviceId]);
}

/** Must run inside a transaction. */
async function insertAssignment(client: PoolClient, a: NewAssignment): Promise<Assignment> {
  await lockDevice(client, a.deviceId);
  const { rows } = await client.query<AssignmentRow>(`SELECT ${ASSIGNMENT_COLUMNS} FROM device_assignments WHERE device_id = $1 ORDER BY from_ms`, [a.deviceId]);
  const plan = planAssignment(rows.map(toAssignment), a);
  if (plan.kind === 'unchanged') return plan.current;
  if (plan.closes !== undefined) {
    await client.query('UPDATE device_assignments SET to_ms = $1 WHERE device_id = $2 AND from_ms = $3', [a.fromMs, a.deviceId, plan.closes.fromMs]);
  }
  await client.query('INSERT INTO device_assignments (device_id, patient_id, from_ms, to_ms) VALUES ($1, $2, $3, NULL)', [a.deviceId, a.patientId, a.fromMs]);
  return { deviceId: a.deviceId, patientId: a.patientId, fromMs: a.fromMs, toMs: null };
}
