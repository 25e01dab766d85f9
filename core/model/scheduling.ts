import { z } from 'zod';
import { calendarDate, ianaTimeZone } from './patient-identity.js';
import { entityId } from './registry.js';

/**
 * Scheduling: staff working hours (in their own time zone, with exceptions), appointment types
 * per organization, and appointments between a patient and a staff member. Appointments carry
 * no clinical content (no diagnosis, no readings): a type, a time, who, and what happened.
 */

const wallTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour');

/** ISO weekday: 1 Monday … 7 Sunday. */
export const weeklyHours = z
  .object({ weekday: z.number().int().min(1).max(7).describe('ISO weekday: 1 Monday … 7 Sunday'), start: wallTime, end: wallTime })
  .refine((w) => w.start < w.end, 'start before end (hours that cross midnight are two entries)');

export const availabilityException = z
  .object({
    date: calendarDate.describe('A day in the staff member’s time zone'),
    start: wallTime.optional().describe('With end: only this part of the day; without: the whole day'),
    end: wallTime.optional(),
    available: z.boolean().describe('false: off (vacation, meeting); true: extra working hours that day'),
  })
  .refine((e) => (e.start === undefined) === (e.end === undefined), 'start and end together, or neither')
  .refine((e) => e.start === undefined || e.end === undefined || e.start < e.end, 'start before end')
  .refine((e) => !e.available || e.start !== undefined, 'extra working hours need start and end');

export const availabilityInput = z.object({
  timeZone: ianaTimeZone.describe('Where the hours are read, e.g. America/New_York'),
  weekly: z.array(weeklyHours).max(50),
  exceptions: z.array(availabilityException).max(500).default([]),
  expectedVersion: z.number().int().min(0).optional().describe('The `version` you read (0: none yet); a change since answers 409'),
});
export type AvailabilityInput = z.infer<typeof availabilityInput>;
export type WeeklyHours = z.infer<typeof weeklyHours>;
export type AvailabilityException = z.infer<typeof availabilityException>;

export interface StaffAvailability {
  readonly staffId: string;
  readonly organizationId: string;
  readonly timeZone: string;
  readonly weekly: readonly WeeklyHours[];
  readonly exceptions: readonly AvailabilityException[];
  readonly version: number;
  readonly updatedAtMs: number;
}

export const MODALITIES = ['video', 'phone', 'in-person'] as const;
export type Modality = (typeof MODALITIES)[number];

export const appointmentTypeInput = z.object({
  id: entityId.describe('e.g. monthly-check-in'),
  name: z.string().trim().min(1).max(100).describe('What the patient and staff see, e.g. "Monthly check-in". No clinical detail: it goes into reminders and calendars.'),
  durationMinutes: z.number().int().min(5).max(480),
  modality: z.enum(MODALITIES),
});
export type AppointmentTypeInput = z.infer<typeof appointmentTypeInput>;

export interface AppointmentType extends AppointmentTypeInput {
  readonly organizationId: string;
  readonly createdAtMs: number;
}

/** The types a new organization starts from (README "Video visits and scheduling"). */
export const DEFAULT_APPOINTMENT_TYPES: readonly AppointmentTypeInput[] = [
  { id: 'monthly-check-in', name: 'Monthly check-in', durationMinutes: 20, modality: 'video' },
  { id: 'device-onboarding', name: 'Device onboarding', durationMinutes: 30, modality: 'video' },
];

export const APPOINTMENT_STATUSES = ['booked', 'cancelled', 'completed', 'no-show'] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

export const PATIENT_RESPONSES = ['confirmed', 'reschedule-requested'] as const;
export type PatientResponse = (typeof PATIENT_RESPONSES)[number];

export interface Appointment {
  readonly id: string;
  readonly organizationId: string;
  readonly patientId: string;
  readonly staffId: string;
  readonly typeId: string;
  readonly modality: Modality;
  readonly startMs: number;
  readonly endMs: number;
  readonly status: AppointmentStatus;
  /** 1 at booking, +1 at every change (optimistic concurrency). */
  readonly version: number;
  /** The patient's SMS reply to a reminder: C confirms, R asks to reschedule. */
  readonly patientResponse: PatientResponse | null;
  readonly patientRespondedAtMs: number | null;
  readonly createdAtMs: number;
  readonly createdBy: string;
  readonly updatedAtMs: number;
  readonly updatedBy: string;
}

/** Appointments that hold their time (a cancelled one frees it). */
export const HOLDS_TIME: readonly AppointmentStatus[] = ['booked', 'completed', 'no-show'];

export const bookAppointmentInput = z.object({
  patientId: entityId,
  staffId: z.string().min(1).max(128).describe('Who sees the patient; defaults to you').optional(),
  typeId: entityId,
  start: z.iso.datetime({ offset: true }),
});

export const rescheduleInput = z.object({
  start: z.iso.datetime({ offset: true }),
  staffId: z.string().min(1).max(128).optional().describe('Another staff member of the organization'),
  expectedVersion: z.number().int().min(1),
});

export const appointmentTransitionInput = z.object({ expectedVersion: z.number().int().min(1) });
