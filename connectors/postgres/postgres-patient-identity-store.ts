import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import { IdentitySecrets } from '../../core/crypto/identity-secrets.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { ConsentMethod, PatientIdentity, TelehealthConsent } from '../../core/model/patient-identity.js';
import type { NewPatientIdentity, NewTelehealthConsent, PatientIdentityStore } from '../../core/ports/patient-identity-store.js';
import { constraintOf, inTransaction, isForeignKeyViolation, isUniqueViolation, type Pool } from './database.js';

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
  granted: boolean;
  method: string;
  obtained_at_ms: number;
  recorded_by: string;
  recorded_at_ms: number;
}

const toConsent = (r: ConsentRow): TelehealthConsent => ({
  id: r.id,
  patientId: r.patient_id,
  granted: r.granted,
  method: r.method as ConsentMethod,
  obtainedAtMs: r.obtained_at_ms,
  recordedBy: r.recorded_by,
  recordedAtMs: r.recorded_at_ms,
});

const IDENTITY_COLUMNS = 'patient_id, organization_id, identity, version, updated_at_ms, updated_by';

/**
 * Patient identity (encrypted, core/crypto/identity-secrets.ts) and telehealth consents. Writers
 * of one patient's identity lock the patient's row, so versions never fork; the unique
 * (organization, MRN index) index settles two patients claiming one MRN at once.
 */
export class PostgresPatientIdentityStore implements PatientIdentityStore {
  private readonly secrets: IdentitySecrets;

  constructor(
    private readonly pool: Pool,
    cipher: FieldCipher | undefined,
  ) {
    this.secrets = new IdentitySecrets(cipher);
  }

  async putIdentity(identity: NewPatientIdentity, options: { readonly expectedVersion?: number } = {}): Promise<PatientIdentity> {
    try {
      return await inTransaction(this.pool, async (client) => {
        const patient = await client.query<{ organization_id: string | null }>('SELECT organization_id FROM patients WHERE id = $1 FOR UPDATE', [identity.patientId]);
        const row = patient.rows[0];
        if (row === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
        const current = await client.query<{ version: number }>('SELECT version FROM patient_identities WHERE patient_id = $1', [identity.patientId]);
        const currentVersion = current.rows[0]?.version ?? 0;
        if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
          throw new RpmError('RPM_ERR_PATIENT_IDENTITY_CONFLICT', "the patient's identity changed since you read it", { details: { version: currentVersion } });
        }
        const org = row.organization_id;
        const sealed = this.secrets.seal(identity.patientId, identity);
        const version = currentVersion + 1;
        await client.query(
          `INSERT INTO patient_identities (patient_id, organization_id, identity, mrn_index, phone_index, version, updated_at_ms, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (patient_id) DO UPDATE SET organization_id = excluded.organization_id, identity = excluded.identity,
             mrn_index = excluded.mrn_index, phone_index = excluded.phone_index, version = excluded.version,
             updated_at_ms = excluded.updated_at_ms, updated_by = excluded.updated_by`,
          [
            identity.patientId,
            org,
            sealed,
            this.secrets.mrnIndex(org, identity.mrn),
            identity.phone === null ? null : this.secrets.phoneIndex(identity.phone),
            version,
            identity.updatedAtMs,
            identity.updatedBy,
          ],
        );
        return this.toIdentity({ patient_id: identity.patientId, organization_id: org, identity: sealed, version, updated_at_ms: identity.updatedAtMs, updated_by: identity.updatedBy });
      });
    } catch (err) {
      if (isUniqueViolation(err) && constraintOf(err) === 'patient_identities_mrn') throw new RpmError('RPM_ERR_PATIENT_MRN_EXISTS', 'another patient of the organization has this MRN');
      throw err;
    }
  }

  async getIdentity(patientId: string): Promise<PatientIdentity | undefined> {
    const { rows } = await this.pool.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM patient_identities WHERE patient_id = $1`, [patientId]);
    return rows[0] === undefined ? undefined : this.toIdentity(rows[0]);
  }

  async getIdentities(patientIds: readonly string[]): Promise<PatientIdentity[]> {
    if (patientIds.length === 0) return [];
    const { rows } = await this.pool.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM patient_identities WHERE patient_id = ANY($1::text[])`, [[...new Set(patientIds)]]);
    return rows.map((r) => this.toIdentity(r));
  }

  async findByMrn(organizationId: string, mrn: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ patient_id: string }>('SELECT patient_id FROM patient_identities WHERE organization_id = $1 AND mrn_index = $2', [
      organizationId,
      this.secrets.mrnIndex(organizationId, mrn),
    ]);
    return rows[0]?.patient_id;
  }

  async findByPhone(phone: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ patient_id: string }>('SELECT patient_id FROM patient_identities WHERE phone_index = $1 ORDER BY patient_id', [this.secrets.phoneIndex(phone)]);
    return rows.map((r) => r.patient_id);
  }

  async recordConsent(consent: NewTelehealthConsent): Promise<TelehealthConsent> {
    try {
      const { rows } = await this.pool.query<{ id: number }>(
        'INSERT INTO telehealth_consents (patient_id, granted, method, obtained_at_ms, recorded_by, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
        [consent.patientId, consent.granted, consent.method, consent.obtainedAtMs, consent.recordedBy, consent.recordedAtMs],
      );
      return { id: Number(rows[0]?.id), ...consent };
    } catch (err) {
      if (isForeignKeyViolation(err)) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
      throw err;
    }
  }

  async consents(patientId: string): Promise<TelehealthConsent[]> {
    const { rows } = await this.pool.query<ConsentRow>('SELECT * FROM telehealth_consents WHERE patient_id = $1 ORDER BY obtained_at_ms DESC, id DESC', [patientId]);
    return rows.map(toConsent);
  }

  /** Re-encrypts identities under the active key (and recomputes their blind indexes) at open. */
  async sealSecrets(): Promise<number> {
    if (!this.secrets.canSeal) return 0;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM patient_identities FOR UPDATE`);
      const stale = rows.filter((r) => this.secrets.needsRotation(r.identity));
      for (const r of stale) {
        const fields = this.secrets.open(r.patient_id, r.identity);
        await client.query('UPDATE patient_identities SET identity = $1, mrn_index = $2, phone_index = $3 WHERE patient_id = $4', [
          this.secrets.seal(r.patient_id, fields),
          this.secrets.mrnIndex(r.organization_id, fields.mrn),
          fields.phone === null ? null : this.secrets.phoneIndex(fields.phone),
          r.patient_id,
        ]);
      }
      return stale.length;
    });
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
