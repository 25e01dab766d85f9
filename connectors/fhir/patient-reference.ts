import type { PatientIdentifier, PatientTarget } from '../../core/ports/clinical-record-sink.js';
import type { Reference } from './fhir-types.js';

const LITERAL_PATIENT = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * `Patient?identifier=system|value`: a conditional reference (R4 http.html#trules). Only the
 * characters that would change the query's meaning are escaped: FHIR's `\` escapes for `|`, `,`
 * and `$` inside the token, and percent-escapes for `&`, `#`, `+`, `%` and spaces, so a plain
 * `https://…|12345` reads as servers and the spec's examples write it.
 */
export function conditionalReference(identifier: PatientIdentifier): string {
  const token = (v: string): string => v.replace(/[\\|,$]/g, (c) => `\\${c}`).replace(/[%&#+\s]/g, (c) => encodeURIComponent(c));
  return `Patient?identifier=${token(identifier.system)}|${token(identifier.value)}`;
}

/** The Observation's `subject` (and `performer`) for a target, or why it cannot be expressed. */
export function subjectReference(target: PatientTarget): Reference | string {
  switch (target.kind) {
    case 'literal':
      return LITERAL_PATIENT.test(target.reference)
        ? { reference: target.reference }
        : 'the patient id is not a valid FHIR id for a literal reference; map patients by identifier instead';
    case 'logical':
      return { identifier: { system: target.identifier.system, value: target.identifier.value } };
    case 'conditional':
      return { reference: conditionalReference(target.identifier) };
  }
}
