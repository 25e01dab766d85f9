/**
 * How the gateway reaches a patient, for visit links by SMS. The patient identity module keeps
 * the number (encrypted; issue 16); this is the small part video visits need. Numbers are PHI:
 * never logged, never stored elsewhere, looked up at send time.
 */
export interface PatientContacts {
  /** The patient's mobile number (E.164), or null when none is on record. */
  phoneOf(patientId: string): Promise<string | null>;
  /**
   * Whether telehealth consent is on record: 'given', 'absent' (a visit is refused), or 'unknown'
   * when this gateway keeps no consent records.
   */
  telehealthConsent(patientId: string): Promise<'given' | 'absent' | 'unknown'>;
}

/** No contact details kept: links are handed to the staff member, consent is not checked here. */
export const noPatientContacts: PatientContacts = {
  phoneOf: async () => null,
  telehealthConsent: async () => 'unknown',
};
