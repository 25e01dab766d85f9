import { RpmError } from '../../core/errors/rpm-error.js';
import { type Assignment, type Credential, type Device, type DeviceKind, type DeviceStatus, type Patient, planAssignment } from '../../core/model/registry.js';
import type {
  NewAssignment,
  NewCredential,
  NewDevice,
  NewPatient,
  PresenceUpdate,
  RegistryStore,
} from '../../core/ports/registry-store.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface DeviceRow {
  id: string;
  kind: string;
  manufacturer: string | null;
  model: string | null;
  serial: string | null;
  hub_id: string | null;
  simulated: number;
  status: string;
  created_at_ms: number;
  revoked_at_ms: number | null;
  last_seen_at_ms: number | null;
  online: number;
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

const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  kind: r.kind as DeviceKind,
  manufacturer: r.manufacturer,
  model: r.model,
  serial: r.serial,
  hubId: r.hub_id,
  simulated: r.simulated === 1,
  status: r.status as DeviceStatus,
  createdAtMs: r.created_at_ms,
  revokedAtMs: r.revoked_at_ms,
  lastSeenAtMs: r.last_seen_at_ms,
  online: r.online === 1,
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

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE');
}

function isForeignKeyViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

export class SqliteRegistryStore implements RegistryStore {
  private readonly sql: (sql: string) => PreparedStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
  }

  async createPatient(p: NewPatient): Promise<Patient> {
    try {
      this.sql('INSERT INTO patients (id, organization_id, created_at_ms) VALUES (?, ?, ?)').run(p.id, p.organizationId, p.createdAtMs);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_PATIENT_EXISTS', `patient '${p.id}' already exists`, { cause: err });
      throw err;
    }
    return { id: p.id, organizationId: p.organizationId, createdAtMs: p.createdAtMs };
  }

  async setPatientOrganization(id: string, organizationId: string | null): Promise<{ before: Patient; after: Patient } | undefined> {
    const move = this.db.transaction(() => {
      const before = this.sql('SELECT id, organization_id, created_at_ms FROM patients WHERE id = ?').get(id) as
        | { id: string; organization_id: string | null; created_at_ms: number }
        | undefined;
      if (before === undefined) return undefined;
      if (before.organization_id !== organizationId) this.sql('UPDATE patients SET organization_id = ? WHERE id = ?').run(organizationId, id);
      const patient = { id: before.id, organizationId: before.organization_id, createdAtMs: before.created_at_ms };
      return { before: patient, after: { ...patient, organizationId } };
    });
    return move.immediate();
  }

  async getPatient(id: string): Promise<Patient | undefined> {
    const row = this.sql('SELECT id, organization_id, created_at_ms FROM patients WHERE id = ?').get(id) as
      | { id: string; organization_id: string | null; created_at_ms: number }
      | undefined;
    return row === undefined ? undefined : { id: row.id, organizationId: row.organization_id, createdAtMs: row.created_at_ms };
  }

  async createDevice(d: NewDevice, credential: NewCredential, assignment?: NewAssignment): Promise<Device> {
    const tx = this.db.transaction(() => {
      this.sql(
          "INSERT INTO devices (id, kind, manufacturer, model, serial, hub_id, simulated, status, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
        )
        .run(d.id, d.kind, d.manufacturer, d.model, d.serial, d.hubId, d.simulated === true ? 1 : 0, d.createdAtMs);
      this.insertCredential(credential);
      if (assignment !== undefined) this.insertAssignment(assignment);
    });
    try {
      tx.immediate();
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_DEVICE_EXISTS', `device '${d.id}' already exists`, { cause: err });
      if (isForeignKeyViolation(err)) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${assignment?.patientId ?? ''}' not found`, { cause: err });
      throw err;
    }
    const created = await this.getDevice(d.id);
    if (created === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'device vanished after insert');
    return created;
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const row = this.sql('SELECT * FROM devices WHERE id = ?').get(id) as DeviceRow | undefined;
    return row === undefined ? undefined : toDevice(row);
  }

  async listDevices(options: { limit: number; afterId?: string }): Promise<Device[]> {
    const rows = this.sql('SELECT * FROM devices WHERE id > ? ORDER BY id LIMIT ?')
      .all(options.afterId ?? '', options.limit) as DeviceRow[];
    return rows.map(toDevice);
  }

  async assignments(deviceId: string): Promise<Assignment[]> {
    const rows = this.sql('SELECT device_id, patient_id, from_ms, to_ms FROM device_assignments WHERE device_id = ? ORDER BY from_ms')
      .all(deviceId) as AssignmentRow[];
    return rows.map(toAssignment);
  }

  async assignmentsOfPatient(patientId: string): Promise<Assignment[]> {
    const rows = this.sql('SELECT device_id, patient_id, from_ms, to_ms FROM device_assignments WHERE patient_id = ? ORDER BY from_ms, device_id')
      .all(patientId) as AssignmentRow[];
    return rows.map(toAssignment);
  }

  async assign(a: NewAssignment): Promise<Assignment> {
    const tx = this.db.transaction((): Assignment => this.insertAssignment(a));
    try {
      return tx.immediate();
    } catch (err) {
      if (isForeignKeyViolation(err)) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${a.patientId}' not found`, { cause: err });
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_ASSIGNMENT_CONFLICT', 'an assignment already starts at that instant', { cause: err });
      throw err;
    }
  }

  async unassign(deviceId: string, atMs: number): Promise<Assignment | undefined> {
    return this.db
      .transaction((): Assignment | undefined => {
        const open = this.sql('SELECT device_id, patient_id, from_ms, to_ms FROM device_assignments WHERE device_id = ? AND to_ms IS NULL')
          .get(deviceId) as AssignmentRow | undefined;
        if (open === undefined) return undefined;
        if (atMs <= open.from_ms) {
          throw new RpmError('RPM_ERR_ASSIGNMENT_CONFLICT', 'the assignment cannot end before it starts');
        }
        this.sql('UPDATE device_assignments SET to_ms = ? WHERE device_id = ? AND from_ms = ?').run(atMs, deviceId, open.from_ms);
        return toAssignment({ ...open, to_ms: atMs });
      })
      .immediate();
  }

  async addCredential(c: NewCredential, othersExpireAtMs: number): Promise<void> {
    this.db
      .transaction(() => {
        this.sql(
            'UPDATE device_credentials SET expires_at_ms = ? WHERE device_id = ? AND revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > ?)',
          )
          .run(othersExpireAtMs, c.deviceId, othersExpireAtMs);
        this.insertCredential(c);
      })
      .immediate();
  }

  async findCredential(id: string): Promise<Credential | undefined> {
    const row = this.sql('SELECT * FROM device_credentials WHERE id = ?').get(id) as CredentialRow | undefined;
    return row === undefined ? undefined : toCredential(row);
  }

  async replaceCredentialHash(id: string, expected: string, replacement: string): Promise<boolean> {
    return this.sql('UPDATE device_credentials SET secret_hash = ? WHERE id = ? AND secret_hash = ?').run(replacement, id, expected).changes === 1;
  }

  async credentialsOf(deviceId: string): Promise<Credential[]> {
    const rows = this.sql('SELECT * FROM device_credentials WHERE device_id = ? ORDER BY created_at_ms').all(deviceId) as CredentialRow[];
    return rows.map(toCredential);
  }

  async revokeDevice(deviceId: string, atMs: number): Promise<void> {
    this.db
      .transaction(() => {
        this.sql("UPDATE devices SET status = 'revoked', revoked_at_ms = ?, online = 0 WHERE id = ? AND status = 'active'").run(atMs, deviceId);
        this.sql('UPDATE device_credentials SET revoked_at_ms = ? WHERE device_id = ? AND revoked_at_ms IS NULL').run(atMs, deviceId);
      })
      .immediate();
  }

  async recordPresence(updates: readonly PresenceUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const seen = this.sql(
      'UPDATE devices SET last_seen_at_ms = max(coalesce(last_seen_at_ms, 0), ?) WHERE id = ?',
    );
    const online = this.sql('UPDATE devices SET online = ? WHERE id = ?');
    const battery = this.sql(
      'UPDATE devices SET battery_percent = ?, battery_at_ms = ? WHERE id = ? AND (battery_at_ms IS NULL OR battery_at_ms <= ?)',
    );
    this.db
      .transaction(() => {
        for (const u of updates) {
          if (u.lastSeenAtMs !== undefined) seen.run(u.lastSeenAtMs, u.deviceId);
          if (u.online !== undefined) online.run(u.online ? 1 : 0, u.deviceId);
          if (u.battery !== undefined) battery.run(u.battery.percent, u.battery.atMs, u.deviceId, u.battery.atMs);
        }
      })
      .immediate();
  }

  async close(): Promise<void> {
    // The database handle is owned and closed by SqliteStores.
  }

  private insertCredential(c: NewCredential): void {
    this.sql('INSERT INTO device_credentials (id, device_id, secret_hash, created_at_ms) VALUES (?, ?, ?, ?)')
      .run(c.id, c.deviceId, c.secretHash, c.createdAtMs);
  }

  /** Must run inside a transaction. */
  private insertAssignment(a: NewAssignment): Assignment {
    const history = (this.sql('SELECT device_id, patient_id, from_ms, to_ms FROM device_assignments WHERE device_id = ? ORDER BY from_ms')
      .all(a.deviceId) as AssignmentRow[]).map(toAssignment);
    const plan = planAssignment(history, a);
    if (plan.kind === 'unchanged') return plan.current;
    if (plan.closes !== undefined) {
      this.sql('UPDATE device_assignments SET to_ms = ? WHERE device_id = ? AND from_ms = ?').run(a.fromMs, a.deviceId, plan.closes.fromMs);
    }
    this.sql('INSERT INTO device_assignments (device_id, patient_id, from_ms, to_ms) VALUES (?, ?, ?, NULL)').run(a.deviceId, a.patientId, a.fromMs);
    return { deviceId: a.deviceId, patientId: a.patientId, fromMs: a.fromMs, toMs: null };
  }

}
