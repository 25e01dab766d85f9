import type { SealedAuditEntry } from './entry.js';

/**
 * Audit entries as FHIR R4 AuditEvent resources (hipaa.md §5: "optionally expose as FHIR
 * AuditEvent"), for a SIEM or an EHR's audit repository. Every field maps from our entry; the
 * hash chain travels in an extension so the export can be verified after it left us.
 */
export const AUDIT_CHAIN_EXTENSION = 'urn:rpm-gateway:fhir:StructureDefinition/audit-chain';
export const AUDIT_ACTION_SYSTEM = 'urn:rpm-gateway:audit-action';
export const AUDIT_ACTOR_SYSTEM = 'urn:rpm-gateway:actor';
export const AUDIT_SUBJECT_SYSTEM = 'urn:rpm-gateway:audit-subject';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

export interface FhirAuditEvent {
  readonly resourceType: 'AuditEvent';
  readonly id: string;
  readonly extension: readonly unknown[];
  readonly type: { readonly system: string; readonly code: string; readonly display: string };
  readonly subtype: readonly { readonly system: string; readonly code: string }[];
  readonly action: 'C' | 'R' | 'U' | 'D' | 'E';
  readonly recorded: string;
  readonly outcome: '0' | '4' | '8';
  readonly outcomeDesc?: string;
  readonly agent: readonly unknown[];
  readonly source: unknown;
  readonly entity: readonly unknown[];
}

/** DICOM audit event types (DCM 1101xx) by our action's first segment. */
function eventType(action: string): FhirAuditEvent['type'] {
  if (action.startsWith('auth.')) return { system: DCM, code: '110114', display: 'User Authentication' };
  if (/^(readings|worklist|alert|alerts|care-plan|time|patient|news2|devices?|rejections|fhir)\b/.test(action)) {
    return { system: DCM, code: '110110', display: 'Patient Record' };
  }
  return { system: DCM, code: '110100', display: 'Application Activity' };
}

/** CRUDE from the verb at the end of our action names. */
function crude(action: string): FhirAuditEvent['action'] {
  const verb = action.slice(action.lastIndexOf('.') + 1);
  if (action.startsWith('auth.')) return 'E';
  if (/^(read|list|access|open|events|export|verify|head|disclose)$/.test(verb) || action.includes('.read')) return 'R';
  if (verb === 'create' || verb === 'add' || verb === 'start') return 'C';
  if (verb === 'delete' || verb === 'remove') return 'D';
  if (verb === 'denied' || verb === 'throttled') return 'E';
  return 'U';
}

function outcome(o: SealedAuditEntry['outcome']): FhirAuditEvent['outcome'] {
  return o === 'success' ? '0' : o === 'denied' ? '4' : '8';
}

/** `patient:p-1` → Patient/p-1; other subjects stay identifiers (we keep no FHIR resource for them). */
function subjectEntity(subject: string): unknown {
  const patient = /^patient:(.+)$/.exec(subject);
  if (patient !== null) return patientEntity(patient[1] as string);
  return {
    what: { identifier: { system: AUDIT_SUBJECT_SYSTEM, value: subject } },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
  };
}

function patientEntity(patientId: string): unknown {
  return {
    what: { reference: `Patient/${patientId}` },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
  };
}

export function toFhirAuditEvent(e: SealedAuditEntry, observer: string): FhirAuditEvent {
  const details = Object.entries(e.details ?? {}).map(([type, value]) => ({ type, valueString: value === null ? 'null' : String(value) }));
  const subject = subjectEntity(e.subject) as Record<string, unknown>;
  const others = e.patientIds.filter((p) => e.subject !== `patient:${p}`).map(patientEntity);
  return {
    resourceType: 'AuditEvent',
    id: String(e.seq),
    extension: [
      {
        url: AUDIT_CHAIN_EXTENSION,
        extension: [
          { url: 'seq', valueInteger: e.seq },
          { url: 'prevHash', valueString: e.prevHash },
          { url: 'hash', valueString: e.hash },
        ],
      },
    ],
    type: eventType(e.action),
    subtype: [{ system: AUDIT_ACTION_SYSTEM, code: e.action }],
    action: crude(e.action),
    recorded: new Date(e.atMs).toISOString(),
    outcome: outcome(e.outcome),
    ...(e.outcome === 'success' ? {} : { outcomeDesc: e.outcome }),
    agent: [
      {
        who: { identifier: { system: AUDIT_ACTOR_SYSTEM, value: e.actor } },
        requestor: true,
        ...(e.sourceIp === null ? {} : { network: { address: e.sourceIp, type: '2' } }),
      },
    ],
    source: {
      observer: { display: observer },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: [details.length === 0 ? subject : { ...subject, detail: details }, ...others],
  };
}
