import type { RpmErrorCode } from '../core/errors/codes.js';
import type { Destination, PatientLink } from '../core/model/destination.js';
import type { ClinicalRecordSink, PatientTarget } from '../core/ports/clinical-record-sink.js';
import type { Clock } from '../core/ports/clock.js';
import type { ForwardingStore } from '../core/ports/forwarding-store.js';

/** Why a patient's readings cannot be sent to a destination yet (a dead letter with this code). */
export interface UnmappedPatient {
  readonly code: RpmErrorCode;
  readonly message: string;
}

export type TargetOutcome = { readonly ok: true; readonly target: PatientTarget } | ({ readonly ok: false } & UnmappedPatient);

export interface PatientTargetsDeps {
  readonly store: Pick<ForwardingStore, 'getPatientLink' | 'recordResolvedPatient'>;
  readonly sink: Pick<ClinicalRecordSink, 'findPatient'>;
  readonly clock: Clock;
  /** How long "the EHR does not know this patient" is believed before searching again. */
  readonly recheckMs: number;
}

/** Patients' links kept in memory per destination, at most this many (then the cache starts over). */
const MAX_CACHED = 50_000;

/**
 * Who each reading is about at one destination's EHR, from the destination's patient mapping and
 * what is recorded for the patient there (fhir_patient_links):
 * - a Patient reference an admin set, or one a search found earlier, wins in every mode;
 * - `reference`: the template with our patient id (a literal reference);
 * - `identifier` / `conditional`: the patient's identifier under the destination's system (the one
 *   an admin set, else our patient id), as a logical or a conditional reference;
 * - `search`: that identifier looked up at the EHR once (`Patient/_search`); the Patient found is
 *   recorded, so later readings need no search; none found is believed for `recheckMs`;
 * - `explicit`: only an admin-set reference; without one the reading waits as a dead letter.
 * A failed search (the EHR unreachable) is thrown: the exchange is retried like any other.
 */
export class PatientTargets {
  private readonly links = new Map<string, PatientLink | null>();
  private readonly unknownSince = new Map<string, number>();

  constructor(private readonly deps: PatientTargetsDeps) {}

  /** Forget what is cached about one patient, or about all (the destination's mapping changed). */
  forget(patientId?: string): void {
    if (patientId === undefined) {
      this.links.clear();
      this.unknownSince.clear();
      return;
    }
    this.links.delete(patientId);
    this.unknownSince.delete(patientId);
  }

  async resolve(destination: Destination, patientIds: Iterable<string>, signal?: AbortSignal): Promise<Map<string, TargetOutcome>> {
    const out = new Map<string, TargetOutcome>();
    for (const patientId of new Set(patientIds)) out.set(patientId, await this.resolveOne(destination, patientId, signal));
    return out;
  }

  private async link(destinationId: string, patientId: string): Promise<PatientLink | null> {
    const cached = this.links.get(patientId);
    if (cached !== undefined) return cached;
    const link = (await this.deps.store.getPatientLink(destinationId, patientId)) ?? null;
    if (this.links.size >= MAX_CACHED) this.links.clear();
    this.links.set(patientId, link);
    return link;
  }

  private async resolveOne(destination: Destination, patientId: string, signal: AbortSignal | undefined): Promise<TargetOutcome> {
    const link = await this.link(destination.id, patientId);
    if (link?.reference !== null && link?.reference !== undefined) return { ok: true, target: { kind: 'literal', reference: link.reference } };
    const mapping = destination.patientMapping;
    const value = link?.identifier ?? patientId;
    switch (mapping.type) {
      case 'reference':
        return { ok: true, target: { kind: 'literal', reference: mapping.template.replace('{patientId}', patientId) } };
      case 'identifier':
        return { ok: true, target: { kind: 'logical', identifier: { system: mapping.system, value } } };
      case 'conditional':
        return { ok: true, target: { kind: 'conditional', identifier: { system: mapping.system, value } } };
      case 'explicit':
        return {
          ok: false,
          code: 'RPM_ERR_FHIR_PATIENT_UNKNOWN',
          message: "no EHR Patient is mapped to this patient (explicit mapping); the reading is sent once an admin maps one (PUT …/patients/{patientId} with a reference)",
        };
      case 'search': {
        const now = this.deps.clock.now();
        const since = this.unknownSince.get(patientId);
        const unknown: TargetOutcome = {
          ok: false,
          code: 'RPM_ERR_FHIR_PATIENT_UNKNOWN',
          message: `no Patient at the EHR has the patient's identifier under ${mapping.system}; the reading is sent once one does (searched again periodically) or an admin maps the patient`,
        };
        if (since !== undefined && now - since < this.deps.recheckMs) return unknown;
        const found = await this.deps.sink.findPatient(destination, { system: mapping.system, value }, signal);
        if (found.status === 'found') {
          await this.deps.store.recordResolvedPatient(destination.id, patientId, found.reference, now);
          this.links.set(patientId, { destinationId: destination.id, patientId, identifier: link?.identifier ?? null, reference: found.reference, referenceSource: 'search', updatedAtMs: now });
          this.unknownSince.delete(patientId);
          return { ok: true, target: { kind: 'literal', reference: found.reference } };
        }
        if (found.status === 'ambiguous') {
          return {
            ok: false,
            code: 'RPM_ERR_FHIR_PATIENT_AMBIGUOUS',
            message: `${found.matches} Patients at the EHR carry the patient's identifier under ${mapping.system}; an admin must map the patient to one`,
          };
        }
        if (this.unknownSince.size >= MAX_CACHED) this.unknownSince.clear();
        this.unknownSince.set(patientId, now);
        return unknown;
      }
    }
  }
}
