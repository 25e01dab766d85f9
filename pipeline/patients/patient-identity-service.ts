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
    },
  ) {}

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
