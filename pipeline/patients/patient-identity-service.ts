import { RpmError } from '../../core/errors/rpm-error.js';
import {
  ageInYears,
  consentInForce,
  type ConsentMethod,
  type PatientIdentity,
  type PatientIdentityInput,
  type TelehealthConsent,
} from '../../core/model/patient-identity.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { PatientIdentityStore } from '../../core/ports/patient-identity-store.js';
import type { Destination } from '../../core/model/destination.js';
import type { EhrPatients } from '../../core/ports/ehr-patients.js';
import { patientIdentityInput } from '../../core/model/patient-identity.js';

/** Who is asking, for the audit trail: `staff:<id>` or `admin`, and from where. */
export interface Requester {
  readonly actor: string;
  readonly sourceIp: string | null;
}

/** An identity as staff read it: the fields, the age in completed years on the patient's calendar. */
export interface IdentityView extends PatientIdentity {
  readonly ageYears: number;
}

/**
 * Patient identity and telehealth consent (PHI). Every staff read is audited before anything is
 * answered (the entry names the patients it disclosed, never a value); writes are audited with
 * the new version. The system's own reads (the phone number an SMS reminder goes to) are not a
 * staff disclosure and go through `contactOf`. Scope checks are the caller's (the HTTP routes).
 */
export class PatientIdentityService {
  constructor(
    private readonly deps: {
      readonly store: PatientIdentityStore;
      readonly audit: AuditLog;
      readonly clock: Clock;
      /** Filling identity from an EHR's FHIR Patient (optional). */
      readonly ehr?: {
        readonly patients: EhrPatients;
        readonly destination: (id: string) => Promise<Destination | undefined>;
        readonly organizationOf: (patientId: string) => Promise<string | null | undefined>;
      };
    },
  ) {}

  /**
   * Fills the identity from the FHIR Patient that carries this MRN at one of the organization's
   * FHIR destinations (under the identifier system of its patient mapping). What the EHR does not
   * say (often the time zone, sometimes a phone in E.164) comes from `fallback`; the result is
   * validated like a typed identity and saved (audited `identity.import` with the destination).
   */
  async fillFromEhr(
    patientId: string,
    input: { destinationId: string; mrn: string; fallback: { timeZone?: string; preferredLanguage?: string; phone?: string | null }; expectedVersion?: number },
    by: Requester,
  ): Promise<IdentityView> {
    const ehr = this.deps.ehr;
    if (ehr === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'no EHR connection configured');
    const organizationId = await ehr.organizationOf(patientId);
    const destination = await ehr.destination(input.destinationId);
    if (destination === undefined || organizationId === undefined || destination.organizationId !== organizationId) {
      throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${input.destinationId}' not found`);
    }
    const mapping = destination.patientMapping;
    if (mapping.type === 'reference' || mapping.type === 'explicit') {
      throw new RpmError('RPM_ERR_REQUEST_INVALID', 'the destination maps patients by reference: it names no identifier system to look an MRN up under', { path: '/body/destinationId' });
    }
    const found = await ehr.patients.patientByIdentifier(destination, { system: mapping.system, value: input.mrn.trim() });
    if (found.status === 'unknown') throw new RpmError('RPM_ERR_FHIR_PATIENT_UNKNOWN', 'the EHR has no Patient with this MRN');
    if (found.status === 'ambiguous') throw new RpmError('RPM_ERR_FHIR_PATIENT_AMBIGUOUS', `${found.matches} Patients at the EHR carry this MRN`);
    const p = found.patient;
    const parsed = patientIdentityInput.safeParse({
      givenName: p.givenName,
      familyName: p.familyName,
      birthDate: p.birthDate,
      mrn: input.mrn.trim(),
      phone: p.phone ?? input.fallback.phone ?? null,
      preferredLanguage: p.preferredLanguage ?? input.fallback.preferredLanguage ?? 'en',
      timeZone: p.timeZone ?? input.fallback.timeZone,
      ...(input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }),
    });
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))].join(', ');
      throw new RpmError('RPM_ERR_FHIR_INVALID', `the EHR's Patient does not give a usable ${fields}; send it in the request or record the identity by hand`);
    }
    const saved = await this.set(patientId, parsed.data, by);
    await this.record(by, 'identity.import', patientId, 'success', { destinationId: destination.id, version: saved.version });
    return saved;
  }

  async set(patientId: string, input: PatientIdentityInput, by: Requester): Promise<IdentityView> {
    const { expectedVersion, ...fields } = input;
    try {
      const saved = await this.deps.store.putIdentity(
        { patientId, ...fields, updatedAtMs: this.deps.clock.now(), updatedBy: by.actor },
        expectedVersion === undefined ? {} : { expectedVersion },
      );
      await this.record(by, 'identity.update', patientId, 'success', { version: saved.version });
      return this.view(saved);
    } catch (err) {
      await this.record(by, 'identity.update', patientId, 'denied', { code: err instanceof RpmError ? err.code : 'RPM_ERR_INTERNAL' });
      throw err;
    }
  }

  /** One patient's identity, audited as read (also when none is recorded). */
  async read(patientId: string, by: Requester): Promise<IdentityView | undefined> {
    const identity = await this.deps.store.getIdentity(patientId);
    await this.record(by, 'identity.read', patientId, 'success', { recorded: identity !== undefined });
    return identity === undefined ? undefined : this.view(identity);
  }

  /** Several patients' identities (a day's schedule), one audit entry naming each patient disclosed. */
  async readMany(patientIds: readonly string[], by: Requester, purpose: string): Promise<Map<string, IdentityView>> {
    const unique = [...new Set(patientIds)];
    if (unique.length === 0) return new Map();
    const found = await this.deps.store.getIdentities(unique);
    if (found.length > 0) {
      await this.deps.audit.record({
        atMs: this.deps.clock.now(),
        actor: by.actor,
        action: 'identity.read',
        subject: purpose,
        outcome: 'success',
        sourceIp: by.sourceIp,
        details: { count: found.length },
        patientIds: found.map((i) => i.patientId),
      });
    }
    return new Map(found.map((i) => [i.patientId, this.view(i)]));
  }

  /** A denied read (outside the requester's scope), for the audit trail. */
  async denied(patientId: string, by: Requester, action = 'identity.read'): Promise<void> {
    await this.record(by, action, patientId, 'denied', null);
  }

  async recordConsent(patientId: string, input: { granted: boolean; method: ConsentMethod; obtainedAtMs?: number }, by: Requester): Promise<TelehealthConsent> {
    const now = this.deps.clock.now();
    const consent = await this.deps.store.recordConsent({
      patientId,
      granted: input.granted,
      method: input.method,
      obtainedAtMs: input.obtainedAtMs ?? now,
      recordedBy: by.actor,
      recordedAtMs: now,
    });
    await this.record(by, 'consent.record', patientId, 'success', { kind: 'telehealth', granted: input.granted, method: input.method });
    return consent;
  }

  async consents(patientId: string, by: Requester): Promise<{ consents: TelehealthConsent[]; inForce: TelehealthConsent | undefined }> {
    const consents = await this.deps.store.consents(patientId);
    await this.record(by, 'consent.read', patientId, 'success', { count: consents.length });
    return { consents, inForce: consentInForce(consents) };
  }

  /** Whether telehealth consent is in force (for the system: before a video visit). Not a staff read. */
  async hasTelehealthConsent(patientId: string): Promise<boolean> {
    return consentInForce(await this.deps.store.consents(patientId)) !== undefined;
  }

  /**
   * Where and how to reach the patient, for the system's own messages (visit reminders): phone,
   * language, time zone. Never logged, never put into a job payload: read when sending.
   */
  async contactOf(patientId: string): Promise<{ phone: string | null; preferredLanguage: string; timeZone: string } | undefined> {
    const i = await this.deps.store.getIdentity(patientId);
    return i === undefined ? undefined : { phone: i.phone, preferredLanguage: i.preferredLanguage, timeZone: i.timeZone };
  }

  /** Patients with this phone number (an SMS reply), for the system. */
  patientsWithPhone(phone: string): Promise<string[]> {
    return this.deps.store.findByPhone(phone);
  }

  findByMrn(organizationId: string, mrn: string): Promise<string | undefined> {
    return this.deps.store.findByMrn(organizationId, mrn);
  }

  private view(i: PatientIdentity): IdentityView {
    return { ...i, ageYears: ageInYears(i.birthDate, this.deps.clock.now(), i.timeZone) };
  }

  private record(by: Requester, action: string, patientId: string, outcome: 'success' | 'denied', details: Record<string, string | number | boolean | null> | null): Promise<void> {
    return this.deps.audit.record({ atMs: this.deps.clock.now(), actor: by.actor, action, subject: `patient:${patientId}`, outcome, sourceIp: by.sourceIp, details });
  }
}
