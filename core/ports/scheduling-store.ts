import type { Appointment, AppointmentStatus, AppointmentType, PatientResponse, StaffAvailability } from '../model/scheduling.js';
import type { NewDelayedJob } from './delayed-jobs.js';

/**
 * Working hours, appointment types and appointments.
 *
 * Guarantees (checked by core/contract/scheduling-store.contract.ts):
 * - One availability per staff member, versioned (`expectedVersion`: 0 = none yet;
 *   RPM_ERR_AVAILABILITY_VERSION_CONFLICT).
 * - Appointment type ids unique within an organization (RPM_ERR_APPOINTMENT_TYPE_EXISTS).
 * - No double booking: an appointment that holds its time (booked, completed, no-show) never
 *   overlaps another of the same staff member or of the same patient; a booking or reschedule
 *   that would is refused with RPM_ERR_APPOINTMENT_SLOT_TAKEN, also when two race.
 * - Changes are optimistic: `expectedVersion` must be the current version
 *   (RPM_ERR_APPOINTMENT_VERSION_CONFLICT); each change adds 1.
 * - The reminder jobs given with a booking or a change are written in the same transaction;
 *   a change cancels the appointment's earlier pending jobs first.
 */
export interface SchedulingStore {
  putAvailability(availability: Omit<StaffAvailability, 'version'>, expectedVersion?: number): Promise<StaffAvailability>;
  getAvailability(staffId: string): Promise<StaffAvailability | undefined>;

  createAppointmentType(type: AppointmentType): Promise<AppointmentType>;
  listAppointmentTypes(organizationId: string): Promise<AppointmentType[]>;
  getAppointmentType(organizationId: string, id: string): Promise<AppointmentType | undefined>;

  book(appointment: NewAppointment, jobs: readonly NewDelayedJob[]): Promise<Appointment>;
  change(id: string, expectedVersion: number, change: AppointmentChange, jobs: readonly NewDelayedJob[]): Promise<Appointment>;
  /** The patient's reply to a reminder (no version check: it never moves the time). */
  recordResponse(id: string, response: PatientResponse, atMs: number): Promise<Appointment | undefined>;
  getAppointment(id: string): Promise<Appointment | undefined>;
  /** Appointments meeting [fromMs, toMs), by start time. */
  listAppointments(query: AppointmentQuery): Promise<Appointment[]>;

  /** A staff member's iCalendar feed token (its SHA-256 only; a new one replaces the old). */
  setFeedToken(staffId: string, tokenSha256: string, atMs: number): Promise<void>;
  staffOfFeedToken(tokenSha256: string): Promise<string | undefined>;
}

export type NewAppointment = Omit<Appointment, 'version' | 'patientResponse' | 'patientRespondedAtMs' | 'updatedAtMs' | 'updatedBy'>;

export type AppointmentChange =
  | { readonly kind: 'reschedule'; readonly startMs: number; readonly endMs: number; readonly staffId: string; readonly atMs: number; readonly by: string }
  | { readonly kind: 'status'; readonly status: Exclude<AppointmentStatus, 'booked'>; readonly atMs: number; readonly by: string };

export interface AppointmentQuery {
  readonly organizationId?: string;
  readonly staffId?: string;
  readonly patientId?: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly statuses?: readonly AppointmentStatus[];
  readonly limit: number;
  /** Newest first (a patient's past visits). */
  readonly descending?: boolean;
}
