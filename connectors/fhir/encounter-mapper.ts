import { createHash } from 'node:crypto';
import type { Reference } from '@medplum/fhirtypes';
import type { Destination } from '../../core/model/destination.js';
import type { EncounterRecord } from '../../core/ports/encounter-sink.js';
import { appointmentIdentifier } from './appointment-mapper.js';
import type { FhirSystems } from './fhir-codes.js';

/** http://terminology.hl7.org/CodeSystem/v3-ActCode VR: "virtual" (the R4 Encounter.class value set, v3 ActEncounterCode). */
export const VIRTUAL_CLASS = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' } as const;
/** http://terminology.hl7.org/CodeSystem/v3-ParticipationType PPRF: the treating staff member. */
const PRIMARY_PERFORMER = { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF', display: 'primary performer' } as const;
const UCUM = 'http://unitsofmeasure.org';

/** What a person reads for a staff member the EHR does not know: the role, never a name. */
const ROLE_DISPLAY = { nurse: 'RPM care team nurse', physician: 'RPM care team physician', admin: 'RPM care team member' } as const;

const base = (systems: FhirSystems): string => systems.reading.replace(/\/sid\/rpm-reading$/, '');

/**
 * Our identifier of a video visit at every EHR: SHA-256 of the encounter system and our visit id
 * (itself a random UUID, never PHI). It travels in the conditional update's URL
 * (`PUT Encounter?identifier=…`), which is why it holds nothing about the patient.
 */
export function encounterIdentifier(systems: FhirSystems, visitId: string): { system: string; value: string } {
  const system = `${base(systems)}/sid/rpm-encounter`;
  return { system, value: createHash('sha256').update(`${system}|${visitId}`).digest('hex') };
}

export type EncounterStatus = 'planned' | 'in-progress' | 'finished' | 'cancelled';

/** The visit's lifecycle as an R4 Encounter status (http://hl7.org/fhir/R4/valueset-encounter-status.html). */
export function encounterStatus(visit: EncounterRecord['visit']): EncounterStatus {
  if (visit.endedAtMs !== null) return visit.startedAtMs === null ? 'cancelled' : 'finished';
  return visit.startedAtMs === null ? 'planned' : 'in-progress';
}

export interface FhirEncounter {
  resourceType: 'Encounter';
  meta: { source: string };
  identifier: { system: string; value: string }[];
  status: EncounterStatus;
  class: typeof VIRTUAL_CLASS;
  type: { text: string }[];
  subject: Reference;
  participant: { type: { coding: (typeof PRIMARY_PERFORMER)[] }[]; period?: { start: string; end?: string }; individual: Reference }[];
  appointment?: Reference[];
  period?: { start: string; end?: string };
  length?: { value: number; unit: string; system: string; code: string };
}

/**
 * A video visit as an R4 Encounter: class VR (virtual); status from the visit (in-progress once
 * both were in, finished at its end, cancelled when it ended before the patient came); period
 * from the real start and end; the patient as the destination maps patients; the treating staff
 * member as the destination's Practitioner when it names one, else her role without a name (and
 * our opaque staff id); the Appointment the visit was started from (a literal reference when the
 * destination takes Appointments, so it holds the one we wrote, else a logical one by identifier).
 * No name, no birth date, no phone, no MRN, no clinical content.
 */
export function encounterResource(record: EncounterRecord, destination: Destination, patient: Reference, systems: FhirSystems): FhirEncounter {
  const v = record.visit;
  const status = encounterStatus(v);
  const start = new Date(v.startedAtMs ?? v.createdAtMs).toISOString();
  const end = v.endedAtMs === null ? undefined : new Date(Math.max(v.endedAtMs, v.startedAtMs ?? v.createdAtMs)).toISOString();
  const period = end === undefined ? { start } : { start, end };
  const known = destination.practitioners?.[v.staffId];
  const individual: Reference =
    known !== undefined
      ? { reference: known }
      : { type: 'Practitioner', identifier: { system: `${base(systems)}/sid/rpm-staff`, value: v.staffId }, display: ROLE_DISPLAY[record.staffRole] };
  const resource: FhirEncounter = {
    resourceType: 'Encounter',
    meta: { source: systems.source },
    identifier: [encounterIdentifier(systems, v.id)],
    status,
    class: VIRTUAL_CLASS,
    type: [{ text: v.modality === 'audio' ? 'Remote patient monitoring audio visit' : 'Remote patient monitoring video visit' }],
    subject: patient,
    participant: [{ type: [{ coding: [PRIMARY_PERFORMER] }], ...(v.startedAtMs === null ? {} : { period }), individual }],
    period,
  };
  if (status === 'finished' && v.startedAtMs !== null && v.endedAtMs !== null) {
    resource.length = { value: Math.round((Math.max(v.endedAtMs, v.startedAtMs) - v.startedAtMs) / 6_000) / 10, unit: 'min', system: UCUM, code: 'min' };
  }
  if (v.appointmentId !== null) {
    const id = appointmentIdentifier(systems, v.appointmentId);
    resource.appointment = [destination.appointments === true ? { reference: `Appointment/${id.value.slice(0, 64)}` } : { type: 'Appointment', identifier: id }];
  }
  return resource;
}
