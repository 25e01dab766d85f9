import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import {
  type Appointment,
  type AppointmentStatus,
  type AppointmentType,
  type AppointmentTypeInput,
  type AvailabilityInput,
  DEFAULT_APPOINTMENT_TYPES,
  type StaffAvailability,
} from '../../core/model/scheduling.js';
import type { Staff } from '../../core/model/staff.js';
import type { Visit } from '../../core/model/visit.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { DelayedJobs, NewDelayedJob } from '../../core/ports/delayed-jobs.js';
import type { SchedulingStore } from '../../core/ports/scheduling-store.js';
import { dateIn, freeSlots, type Interval, nextDate, reminderTimes, wallToUtc, withinWorkingHours, workingWindows } from '../../rules/calendar.js';
import type { PatientIdentityService, Requester } from '../patients/patient-identity-service.js';
import { parseReply, type ReplyOutcome, replyText } from './reminder-text.js';

export const REMINDER_JOB = 'visit-reminder';
const DAY_MS = 86_400_000;
/** A reply is about the patient's next booked visit within this window (reminders go 24 h ahead). */
const REPLY_WINDOW_MS = 48 * 3_600_000;

export type AppointmentEvent = 'booked' | 'rescheduled' | 'cancelled' | 'completed' | 'no-show' | 'patient-response';

export interface SchedulingDeps {
  readonly store: SchedulingStore;
  readonly patients: { getPatient(id: string): Promise<{ readonly organizationId: string | null } | undefined> };
  readonly staff: { getStaff(id: string): Promise<Staff | undefined> };
  readonly identities: PatientIdentityService;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly log: Logger;
  readonly newId: () => string;
  /**
   * Further jobs a change of a visit brings (FHIR Appointments to the EHRs that take them),
   * written in the change's own transaction with its reminders.
   */
  readonly jobsFor?: (organizationId: string, appointmentId: string, version: number, nowMs: number) => Promise<NewDelayedJob[]>;
  /** Where jobs outside a change go (a patient's SMS answer updates what EHRs were sent). */
  readonly jobs?: DelayedJobs;
  /** The video visits started from an appointment (a patient who joined one was no no-show). */
  readonly visitsOf?: (appointment: Appointment) => Promise<readonly Visit[]>;
}

/**
 * Scheduling: working hours, appointment types, booking, rescheduling, cancelling, no-shows, the
 * patient's SMS replies. Access (who may act on which patient or staff member) is the caller's;
 * this service keeps the rules: same organization, inside working hours, in the future, no
 * double booking (the store), optimistic versions, and each booking's reminders scheduled in its
 * own transaction. Every change is audited (references only).
 */
export class SchedulingService {
  private readonly listeners = new Set<(appointment: Appointment, event: AppointmentEvent) => void>();

  constructor(private readonly deps: SchedulingDeps) {}

  onChanged(listener: (appointment: Appointment, event: AppointmentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A staff member by id (the routes check that the requester may see them). */
  findStaff(id: string): Promise<Staff | undefined> {
    return this.deps.staff.getStaff(id);
  }

  // Working hours

  async setAvailability(staff: Staff, input: AvailabilityInput, by: Requester): Promise<StaffAvailability> {
    const saved = await this.deps.store.putAvailability(
      { staffId: staff.id, organizationId: staff.organizationId, timeZone: input.timeZone, weekly: input.weekly, exceptions: input.exceptions, updatedAtMs: this.deps.clock.now() },
      input.expectedVersion,
    );
    await this.record(by, 'availability.update', `staff:${staff.id}`, { version: saved.version });
    return saved;
  }

  getAvailability(staffId: string): Promise<StaffAvailability | undefined> {
    return this.deps.store.getAvailability(staffId);
  }

  // Appointment types

  /** The organization's types; an organization that has none yet gets the defaults (20 min check-in, 30 min onboarding). */
  async appointmentTypes(organizationId: string): Promise<AppointmentType[]> {
    const types = await this.deps.store.listAppointmentTypes(organizationId);
    if (types.length > 0) return types;
    for (const t of DEFAULT_APPOINTMENT_TYPES) {
      await this.deps.store.createAppointmentType({ ...t, organizationId, createdAtMs: this.deps.clock.now() }).catch((err: unknown) => {
        if (!(err instanceof RpmError && err.code === 'RPM_ERR_APPOINTMENT_TYPE_EXISTS')) throw err;
      });
    }
    return this.deps.store.listAppointmentTypes(organizationId);
  }

  async createAppointmentType(organizationId: string, input: AppointmentTypeInput, by: Requester): Promise<AppointmentType> {
    await this.appointmentTypes(organizationId);
    const type = await this.deps.store.createAppointmentType({ ...input, organizationId, createdAtMs: this.deps.clock.now() });
    await this.record(by, 'appointment-type.create', `organization:${organizationId}`, { typeId: type.id });
    return type;
  }

  private async requireType(organizationId: string, typeId: string): Promise<AppointmentType> {
    const type = (await this.appointmentTypes(organizationId)).find((t) => t.id === typeId);
    if (type === undefined) throw new RpmError('RPM_ERR_APPOINTMENT_TYPE_NOT_FOUND', `no appointment type '${typeId}' in this organization`);
    return type;
  }

  /** Free start times of a type with a staff member in [fromMs, toMs), on a grid of the type's length (at most 15 min). */
  async freeSlots(staff: Staff, typeId: string, fromMs: number, toMs: number): Promise<Interval[]> {
    const type = await this.requireType(staff.organizationId, typeId);
    const availability = await this.deps.store.getAvailability(staff.id);
    if (availability === undefined) return [];
    const busy = await this.deps.store.listAppointments({ staffId: staff.id, fromMs, toMs, statuses: ['booked', 'completed', 'no-show'], limit: 1000 });
    const durationMs = type.durationMinutes * 60_000;
    return freeSlots(workingWindows(availability, fromMs, toMs), busy, durationMs, Math.min(durationMs, 15 * 60_000), this.deps.clock.now());
  }

  // Appointments

  async book(input: { patientId: string; staffId: string; typeId: string; startMs: number }, by: Requester): Promise<Appointment> {
    const now = this.deps.clock.now();
    const organizationId = await this.patientOrganization(input.patientId);
    const staff = await this.requireStaff(input.staffId, organizationId);
    const type = await this.requireType(organizationId, input.typeId);
    const endMs = input.startMs + type.durationMinutes * 60_000;
    await this.assertBookable(staff, input.startMs, endMs, now);
    const id = this.deps.newId();
    const appointment = await this.deps.store.book(
      { id, organizationId, patientId: input.patientId, staffId: staff.id, typeId: type.id, modality: type.modality, startMs: input.startMs, endMs, status: 'booked', createdAtMs: now, createdBy: by.actor },
      [...this.reminders(id, 1, input.startMs, now), ...(await this.extraJobs(organizationId, id, 1, now))],
    );
    await this.record(by, 'appointment.book', `patient:${input.patientId}`, { appointmentId: id, staffId: staff.id, typeId: type.id });
    this.emit(appointment, 'booked');
    return appointment;
  }

  async reschedule(id: string, input: { startMs: number; staffId?: string; expectedVersion: number }, by: Requester): Promise<Appointment> {
    const now = this.deps.clock.now();
    const current = await this.require(id);
    if (current.status !== 'booked') throw new RpmError('RPM_ERR_APPOINTMENT_STATE', `a ${current.status} appointment cannot be rescheduled`);
    const staff = await this.requireStaff(input.staffId ?? current.staffId, current.organizationId);
    const endMs = input.startMs + (current.endMs - current.startMs);
    await this.assertBookable(staff, input.startMs, endMs, now);
    const changed = await this.deps.store.change(
      id,
      input.expectedVersion,
      { kind: 'reschedule', startMs: input.startMs, endMs, staffId: staff.id, atMs: now, by: by.actor },
      [...this.reminders(id, input.expectedVersion + 1, input.startMs, now), ...(await this.extraJobs(current.organizationId, id, input.expectedVersion + 1, now))],
    );
    await this.record(by, 'appointment.reschedule', `patient:${current.patientId}`, { appointmentId: id, version: changed.version });
    this.emit(changed, 'rescheduled');
    return changed;
  }

  async transition(id: string, status: Exclude<AppointmentStatus, 'booked'>, expectedVersion: number, by: Requester): Promise<Appointment> {
    const now = this.deps.clock.now();
    const current = await this.require(id);
    if (current.status !== 'booked') throw new RpmError('RPM_ERR_APPOINTMENT_STATE', `the appointment is already ${current.status}`);
    if ((status === 'no-show' || status === 'completed') && now < current.startMs) {
      throw new RpmError('RPM_ERR_APPOINTMENT_STATE', `an appointment is marked ${status} only once it has started`);
    }
    if (status === 'no-show') {
      const joined = (await this.deps.visitsOf?.(current))?.find((v) => v.startedAtMs !== null);
      if (joined !== undefined) {
        throw new RpmError('RPM_ERR_APPOINTMENT_STATE', 'the patient joined this appointment’s video visit: not a no-show', { details: { visitId: joined.id } });
      }
    }
    const changed = await this.deps.store.change(id, expectedVersion, { kind: 'status', status, atMs: now, by: by.actor }, await this.extraJobs(current.organizationId, id, expectedVersion + 1, now));
    await this.record(by, `appointment.${status === 'cancelled' ? 'cancel' : status}`, `patient:${current.patientId}`, { appointmentId: id, version: changed.version });
    this.emit(changed, status);
    return changed;
  }

  getAppointment(id: string): Promise<Appointment | undefined> {
    return this.deps.store.getAppointment(id);
  }

  /**
   * The appointment's video visit ended with both in: the appointment is completed (its FHIR
   * Appointment fulfilled), also when the visit began before the booked start. Nothing changes
   * when it is no longer booked (a staff member already closed it).
   */
  async visitCompleted(appointmentId: string, visit: Visit): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.deps.store.getAppointment(appointmentId);
      if (current?.status !== 'booked') return;
      const now = this.deps.clock.now();
      try {
        const changed = await this.deps.store.change(
          appointmentId,
          current.version,
          { kind: 'status', status: 'completed', atMs: now, by: `visit:${visit.id}` },
          await this.extraJobs(current.organizationId, appointmentId, current.version + 1, now),
        );
        await this.deps.audit.record({
          atMs: now,
          actor: 'system:visit',
          action: 'appointment.completed',
          subject: `patient:${current.patientId}`,
          outcome: 'success',
          sourceIp: null,
          details: { appointmentId, version: changed.version, visitId: visit.id },
        });
        this.emit(changed, 'completed');
        return;
      } catch (err) {
        if (!(err instanceof RpmError && err.code === 'RPM_ERR_APPOINTMENT_VERSION_CONFLICT')) throw err;
      }
    }
  }

  async require(id: string): Promise<Appointment> {
    const a = await this.deps.store.getAppointment(id);
    if (a === undefined) throw new RpmError('RPM_ERR_APPOINTMENT_NOT_FOUND', 'appointment not found');
    return a;
  }

  /** A patient's visits: upcoming (booked, soonest first) and past (newest first), a year each way. */
  async patientVisits(patientId: string): Promise<{ upcoming: Appointment[]; past: Appointment[] }> {
    const now = this.deps.clock.now();
    const [upcoming, past] = await Promise.all([
      this.deps.store.listAppointments({ patientId, fromMs: now, toMs: now + 366 * DAY_MS, statuses: ['booked'], limit: 100 }),
      this.deps.store.listAppointments({ patientId, fromMs: now - 366 * DAY_MS, toMs: now, limit: 100, descending: true }),
    ]);
    return { upcoming: upcoming.filter((a) => a.startMs >= now || a.endMs > now), past: past.filter((a) => !(a.status === 'booked' && a.endMs > now)) };
  }

  /** A staff member's visits on a date in their time zone (their working hours', else UTC). */
  async day(staff: Staff, date: string | undefined): Promise<{ date: string; timeZone: string; appointments: Appointment[] }> {
    const timeZone = (await this.deps.store.getAvailability(staff.id))?.timeZone ?? 'UTC';
    const d = date ?? dateIn(this.deps.clock.now(), timeZone);
    const fromMs = wallToUtc(d, '00:00', timeZone);
    const toMs = wallToUtc(nextDate(d), '00:00', timeZone);
    const appointments = await this.deps.store.listAppointments({ staffId: staff.id, fromMs, toMs, statuses: ['booked', 'completed', 'no-show'], limit: 200 });
    return { date: d, timeZone, appointments };
  }

  setFeedToken(staffId: string, tokenSha256: string): Promise<void> {
    return this.deps.store.setFeedToken(staffId, tokenSha256, this.deps.clock.now());
  }

  staffOfFeedToken(tokenSha256: string): Promise<string | undefined> {
    return this.deps.store.staffOfFeedToken(tokenSha256);
  }

  /** A staff member's appointments from a month back to a year ahead (the iCalendar feed). */
  feed(staffId: string): Promise<Appointment[]> {
    const now = this.deps.clock.now();
    return this.deps.store.listAppointments({ staffId, fromMs: now - 31 * DAY_MS, toMs: now + 366 * DAY_MS, limit: 2000 });
  }

  /**
   * A patient's SMS reply (C confirm, R reschedule) from their phone: applies to that number's
   * next booked visit in the next 48 h. Answers the reply text (no PHI) and what happened.
   */
  async patientReply(fromPhone: string, body: string): Promise<{ outcome: ReplyOutcome; text: string; appointment: Appointment | undefined }> {
    const now = this.deps.clock.now();
    const patients = await this.deps.identities.patientsWithPhone(fromPhone);
    const visits = (
      await Promise.all(patients.map((patientId) => this.deps.store.listAppointments({ patientId, fromMs: now, toMs: now + REPLY_WINDOW_MS, statuses: ['booked'], limit: 5 })))
    )
      .flat()
      .sort((a, b) => a.startMs - b.startMs);
    const next = visits[0];
    const language = next === undefined ? 'en' : ((await this.deps.identities.contactOf(next.patientId))?.preferredLanguage ?? 'en');
    const reply = parseReply(body);
    if (reply === undefined) return { outcome: 'unknown', text: replyText('unknown', language), appointment: next };
    if (next === undefined) return { outcome: 'no-visit', text: replyText('no-visit', language), appointment: undefined };
    const response = reply === 'confirm' ? 'confirmed' : 'reschedule-requested';
    const updated = (await this.deps.store.recordResponse(next.id, response, now)) ?? next;
    await this.deps.audit.record({ atMs: now, actor: `patient:${next.patientId}`, action: 'appointment.patient-response', subject: `patient:${next.patientId}`, outcome: 'success', sourceIp: null, details: { appointmentId: next.id, response } });
    const jobs = await this.extraJobs(updated.organizationId, updated.id, updated.version, now);
    if (jobs.length > 0) await this.deps.jobs?.schedule(jobs);
    this.emit(updated, 'patient-response');
    return { outcome: response, text: replyText(response, language), appointment: updated };
  }

  private extraJobs(organizationId: string, appointmentId: string, version: number, nowMs: number): Promise<NewDelayedJob[]> {
    return this.deps.jobsFor === undefined ? Promise.resolve([]) : this.deps.jobsFor(organizationId, appointmentId, version, nowMs);
  }

  private reminders(appointmentId: string, version: number, startMs: number, nowMs: number): NewDelayedJob[] {
    return reminderTimes(startMs, nowMs).map((r) => ({
      id: `reminder:${appointmentId}:v${version}:${r.kind}`,
      kind: REMINDER_JOB,
      group: `appointment:${appointmentId}`,
      payload: { appointmentId, reminder: r.kind, startMs },
      dueAtMs: r.dueAtMs,
      createdAtMs: nowMs,
    }));
  }

  private async patientOrganization(patientId: string): Promise<string> {
    const patient = await this.deps.patients.getPatient(patientId);
    if (patient === undefined || patient.organizationId === null) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
    return patient.organizationId;
  }

  private async requireStaff(staffId: string, organizationId: string): Promise<Staff> {
    const staff = await this.deps.staff.getStaff(staffId);
    // Another organization's staff member looks like no staff member at all.
    if (staff === undefined || staff.organizationId !== organizationId || staff.status !== 'active') throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', 'staff member not found');
    return staff;
  }

  private async assertBookable(staff: Staff, startMs: number, endMs: number, nowMs: number): Promise<void> {
    if (startMs <= nowMs) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'the visit must start in the future', { path: '/body/start' });
    const availability = await this.deps.store.getAvailability(staff.id);
    if (availability === undefined) throw new RpmError('RPM_ERR_AVAILABILITY_NOT_SET', 'the staff member has no working hours recorded');
    if (!withinWorkingHours(availability, { startMs, endMs })) {
      throw new RpmError('RPM_ERR_APPOINTMENT_OUTSIDE_HOURS', `the visit is outside the staff member's working hours (${availability.timeZone})`);
    }
  }

  private emit(appointment: Appointment, event: AppointmentEvent): void {
    for (const l of this.listeners) {
      try {
        l(appointment, event);
      } catch (err) {
        this.deps.log.error({ err, event }, 'appointment listener failed');
      }
    }
  }

  private record(by: Requester, action: string, subject: string, details: Record<string, string | number | boolean | null>): Promise<void> {
    return this.deps.audit.record({ atMs: this.deps.clock.now(), actor: by.actor, action, subject, outcome: 'success', sourceIp: by.sourceIp, details });
  }
}
