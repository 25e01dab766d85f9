import { createHash } from 'node:crypto';
import type { Reference } from '@medplum/fhirtypes';
import type { AppointmentRecord } from '../../core/ports/appointment-sink.js';
import type { FhirSystems } from './fhir-codes.js';

/** http://hl7.org/fhir/R4/valueset-appointmentstatus.html */
const STATUS = { booked: 'booked', cancelled: 'cancelled', completed: 'fulfilled', 'no-show': 'noshow' } as const;

/** http://terminology.hl7.org/CodeSystem/v2-0276 (Appointment reason codes): a planned follow-up. */
const APPOINTMENT_TYPE = { system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: 'FOLLOWUP', display: 'A follow up visit from a previous appointment' };

/** http://terminology.hl7.org/CodeSystem/v3-ParticipationMode: how the patient takes part. */
const PARTICIPATION_MODE = { video: { code: 'VIDEOCONF', display: 'videoconferencing' }, phone: { code: 'PHONE', display: 'telephone' }, 'in-person': { code: 'FACE', display: 'face-to-face' } } as const;

/**
 * Our identifier of a visit at every EHR: SHA-256 of the appointment system and our appointment
 * id (itself random, never PHI). The resource id is the same hash, so a PUT writes it in place.
 */
export function appointmentIdentifier(systems: FhirSystems, appointmentId: string): { system: string; value: string } {
  const system = `${systems.reading.replace(/\/sid\/rpm-reading$/, '')}/sid/rpm-appointment`;
  return { system, value: createHash('sha256').update(`${system}|${appointmentId}`).digest('hex') };
}

export interface FhirAppointment {
  resourceType: 'Appointment';
  id: string;
  meta: { source: string };
  identifier: { system: string; value: string }[];
  status: string;
  appointmentType: { coding: (typeof APPOINTMENT_TYPE)[]; text: string };
  serviceType?: unknown;
  start: string;
  end: string;
  minutesDuration: number;
  created: string;
  extension?: unknown[];
  participant: { actor: Reference; required: 'required'; status: 'accepted' | 'tentative' | 'needs-action' | 'declined'; type?: unknown[] }[];
  comment?: string;
}

/**
 * A visit as an R4 Appointment: status, type (the visit type's name as text), times, the patient
 * (as the destination maps patients) and the staff member (our opaque staff id as a logical
 * reference; the EHR's Practitioner is not ours to guess). The patient's participation follows
 * their SMS answer: confirmed → accepted, asked to reschedule → tentative, no answer → needs-action.
 * No name, no date of birth, no phone, no MRN: the EHR has those on its Patient.
 */
export function appointmentResource(record: AppointmentRecord, patient: Reference, systems: FhirSystems): FhirAppointment {
  const a = record.appointment;
  const identifier = appointmentIdentifier(systems, a.id);
  const base = systems.reading.replace(/\/sid\/rpm-reading$/, '');
  const patientStatus = a.status === 'cancelled' ? 'declined' : a.patientResponse === 'confirmed' ? 'accepted' : a.patientResponse === 'reschedule-requested' ? 'tentative' : 'needs-action';
  return {
    resourceType: 'Appointment',
    id: identifier.value.slice(0, 64),
    meta: { source: systems.source },
    identifier: [identifier],
    // The patient is in the appointment's video visit: arrived (http://hl7.org/fhir/R4/valueset-appointmentstatus.html).
    status: a.status === 'booked' && record.visit?.startedAtMs != null && record.visit.endedAtMs === null ? 'arrived' : STATUS[a.status],
    appointmentType: { coding: [APPOINTMENT_TYPE], text: record.typeName },
    start: new Date(a.startMs).toISOString(),
    end: new Date(a.endMs).toISOString(),
    minutesDuration: Math.round((a.endMs - a.startMs) / 60_000),
    created: new Date(a.createdAtMs).toISOString(),
    participant: [
      { actor: patient, required: 'required', status: patientStatus, type: [{ text: `patient (${PARTICIPATION_MODE[a.modality].display})` }] },
      { actor: { identifier: { system: `${base}/sid/rpm-staff`, value: a.staffId } }, required: 'required', status: 'accepted' },
    ],
  };
}
