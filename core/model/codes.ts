/** Code systems used across the model (see shared reference fhir.md §1.2). */
export const LOINC_SYSTEM = 'http://loinc.org';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
export const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';

export interface Coding {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

export function loinc(code: string, display: string): Coding {
  return Object.freeze({ system: LOINC_SYSTEM, code, display });
}
