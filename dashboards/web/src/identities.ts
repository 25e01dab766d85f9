import type { Api } from './api.js';
import type { PatientIdentity } from './types.js';

const BATCH = 200;

/**
 * Patients' identities for the rows that show many patients (the worklist), fetched in batches
 * and kept in memory for this session only (never in storage; dropped at sign-out). Each fetch is
 * one audited read on the gateway. `null`: looked up, none recorded or not in scope.
 */
export class IdentityDirectory {
  private readonly known = new Map<string, PatientIdentity | null>();
  private readonly inFlight = new Set<string>();

  constructor(private readonly api: Api) {}

  get(patientId: string): PatientIdentity | null | undefined {
    return this.known.get(patientId);
  }

  /** Fetches the ones not known yet; answers whether anything new arrived. */
  async request(patientIds: Iterable<string>): Promise<boolean> {
    const missing = [...new Set(patientIds)].filter((id) => !this.known.has(id) && !this.inFlight.has(id));
    if (missing.length === 0) return false;
    for (const id of missing) this.inFlight.add(id);
    try {
      for (let i = 0; i < missing.length; i += BATCH) {
        const chunk = missing.slice(i, i + BATCH);
        const { identities } = await this.api.post<{ identities: PatientIdentity[] }>('/v1/patient-identities/lookup', { ids: chunk });
        for (const id of chunk) this.known.set(id, null);
        for (const identity of identities) this.known.set(identity.patientId, identity);
      }
      return true;
    } finally {
      for (const id of missing) this.inFlight.delete(id);
    }
  }

  /** A patient's identity changed here (recorded from the patient page): look it up again. */
  forget(patientId: string): void {
    this.known.delete(patientId);
  }
}
