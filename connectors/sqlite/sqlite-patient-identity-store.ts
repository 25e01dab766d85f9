import { IdentitySecrets } from '../../core/crypto/identity-secrets.js';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { ConsentMethod, PatientIdentity, TelehealthConsent } from '../../core/model/patient-identity.js';
import type { NewPatientIdentity, NewTelehealthConsent, PatientIdentityStore } from '../../core/ports/patient-identity-store.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface IdentityRow {
  patient_id: string;
  organization_id: string | null;
  identity: string;
  version: number;
  updated_at_ms: number;
  updated_by: string;
}

interface ConsentRow {
  id: number;
  patient_id: string;
  granted: number;
  method: string;
  obtained_at_ms: number;
  recorded_by: string;
  recorded_at_ms: number;
}

const toConsent = (r: ConsentRow): TelehealthConsent => ({
  id: r.id,
  patientId: r.patient_id,
  granted: r.granted === 1,
  method: r.method as ConsentMethod,
  obtainedAtMs: r.obtained_at_ms,
  recordedBy: r.recorded_by,
  recordedAtMs: r.recorded_at_ms,
});

/** Patient identity (encrypted) and telehealth consents, in the readings database beside `patients`. */
export class SqlitePatientIdentityStore implements PatientIdentityStore {
  private readonly sql: (sql: string) => PreparedStatement;
  private readonly secrets: IdentitySecrets;

  constructor(
    private readonly db: SqliteDatabase,
    cipher: FieldCipher | undefined,
  ) {
    this.sql = statementCache(db);
    this.secrets = new IdentitySecrets(cipher);
  }

  async putIdentity(identity: NewPatientIdentity, options: { readonly expectedVersion?: number } = {}): Promise<PatientIdentity> {
    const mrnIndex = (org: string | null): string => this.secrets.mrnIndex(org, identity.mrn);
    return this.db
      .transaction((): PatientIdentity => {
        const patient = this.sql('SELECT organization_id FROM patients WHERE id = ?').get(identity.patientId) as { organization_id: string | null } | undefined;
        if (patient === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
        const current = this.sql('SELECT version FROM patient_identities WHERE patient_id = ?').get(identity.patientId) as { version: number } | undefined;
        const currentVersion = current?.version ?? 0;
        if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
          throw new RpmError('RPM_ERR_PATIENT_IDENTITY_CONFLICT', "the patient's identity changed since you read it", { details: { version: currentVersion } });
        }
        const org = patient.organization_id;
        const index = mrnIndex(org);
        const holder = this.sql('SELECT patient_id FROM patient_identities WHERE organization_id IS ? AND mrn_index = ?').get(org, index) as { patient_id: string } | undefined;
        if (holder !== undefined && holder.patient_id !== identity.patientId) throw new RpmError('RPM_ERR_PATIENT_MRN_EXISTS', 'another patient of the organization has this MRN');
        const sealed = this.secrets.seal(identity.patientId, identity);
        const phoneIndex = identity.phone === null ? null : this.secrets.phoneIndex(identity.phone);
        const version = currentVersion + 1;
        this.sql(
          `INSERT INTO patient_identities (patient_id, organization_id, identity, mrn_index, phone_index, version, updated_at_ms, updated_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (patient_id) DO UPDATE SET organization_id = excluded.organization_id, identity = excluded.identity,
             mrn_index = excluded.mrn_index, phone_index = excluded.phone_index, version = excluded.version,
             updated_at_ms = excluded.updated_at_ms, updated_by = excluded.updated_by`,
        ).run(identity.patientId, org, sealed, index, phoneIndex, version, identity.updatedAtMs, identity.updatedBy);
        return this.toIdentity({ patient_id: identity.patientId, organization_id: org, identity: sealed, version, updated_at_ms: identity.updatedAtMs, updated_by: identity.updatedBy });
      })
      .immediate();
  }

  async getIdentity(patientId: string): Promise<PatientIdentity | undefined> {
    const row = this.sql('SELECT patient_id, organization_id, identity, version, updated_at_ms, updated_by FROM patient_identities WHERE patient_id = ?').get(patientId) as
      | IdentityRow
      | undefined;
    return row === undefined ? undefined : this.toIdentity(row);
  }

  async getIdentities(patientIds: readonly string[]): Promise<PatientIdentity[]> {
    const out: PatientIdentity[] = [];
    for (const id of new Set(patientIds)) {
      const identity = await this.getIdentity(id);
      if (identity !== undefined) out.push(identity);
    }
    return out;
  }

  async findByMrn(organizationId: string, mrn: string): Promise<string | undefined> {
    const row = this.sql('SELECT patient_id FROM patient_identities WHERE organization_id = ? AND mrn_index = ?').get(organizationId, this.secrets.mrnIndex(organizationId, mrn)) as
      | { patient_id: string }
      | undefined;
    return row?.patient_id;
  }

  async findByPhone(phone: string): Promise<string[]> {
    const rows = this.sql('SELECT patient_id FROM patient_identities WHERE phone_index = ? ORDER BY patient_id').all(this.secrets.phoneIndex(phone)) as { patient_id: string }[];
    return rows.map((r) => r.patient_id);
  }

  async recordConsent(consent: NewTelehealthConsent): Promise<TelehealthConsent> {
    if (this.sql('SELECT 1 FROM patients WHERE id = ?').get(consent.patientId) === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
    const info = this.sql(
      'INSERT INTO telehealth_consents (patient_id, granted, method, obtained_at_ms, recorded_by, recorded_at_ms) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(consent.patientId, consent.granted ? 1 : 0, consent.method, consent.obtainedAtMs, consent.recordedBy, consent.recordedAtMs);
    return { id: Number(info.lastInsertRowid), ...consent };
  }

  async consents(patientId: string): Promise<TelehealthConsent[]> {
    const rows = this.sql('SELECT * FROM telehealth_consents WHERE patient_id = ? ORDER BY obtained_at_ms DESC, id DESC').all(patientId) as ConsentRow[];
    return rows.map(toConsent);
  }

  /** Re-encrypts identities under the active key (and recomputes their blind indexes) at open. */
  sealSecrets(): number {
    if (!this.secrets.canSeal) return 0;
    const rows = (this.sql('SELECT patient_id, organization_id, identity FROM patient_identities').all() as IdentityRow[]).filter((r) => this.secrets.needsRotation(r.identity));
    if (rows.length === 0) return 0;
    this.db
      .transaction(() => {
        for (const r of rows) {
          const fields = this.secrets.open(r.patient_id, r.identity);
          this.sql('UPDATE patient_identities SET identity = ?, mrn_index = ?, phone_index = ? WHERE patient_id = ?').run(
            this.secrets.seal(r.patient_id, fields),
            this.secrets.mrnIndex(r.organization_id, fields.mrn),
            fields.phone === null ? null : this.secrets.phoneIndex(fields.phone),
            r.patient_id,
          );
        }
      })
      .immediate();
    return rows.length;
  }

  private toIdentity(r: IdentityRow): PatientIdentity {
    return {
      patientId: r.patient_id,
      organizationId: r.organization_id,
      ...this.secrets.open(r.patient_id, r.identity),
      version: r.version,
      updatedAtMs: r.updated_at_ms,
      updatedBy: r.updated_by,
    };
  }
}
