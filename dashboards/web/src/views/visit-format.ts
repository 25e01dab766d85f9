import type { Appointment, AppointmentStatus } from '../types.js';

export const MODALITY_LABEL: Record<Appointment['modality'], string> = { video: 'Video', phone: 'Phone', 'in-person': 'In person' };
export const VISIT_STATUS_LABEL: Record<AppointmentStatus, string> = { booked: 'Booked', cancelled: 'Cancelled', completed: 'Completed', 'no-show': 'No-show' };

export function responseLabel(a: Appointment): string | null {
  if (a.patientResponse === 'confirmed') return 'Patient confirmed by SMS';
  if (a.patientResponse === 'reschedule-requested') return 'Patient asked to reschedule (SMS): call them';
  return null;
}
