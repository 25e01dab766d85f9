import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { calendarDate } from '../../core/model/patient-identity.js';
import { entityId } from '../../core/model/registry.js';
import {
  APPOINTMENT_STATUSES,
  type Appointment,
  appointmentTransitionInput,
  appointmentTypeInput,
  availabilityException,
  availabilityInput,
  bookAppointmentInput,
  MODALITIES,
  PATIENT_RESPONSES,
  rescheduleInput,
  type StaffAvailability,
  weeklyHours,
} from '../../core/model/scheduling.js';
import type { Staff } from '../../core/model/staff.js';
import type { Requester } from '../../pipeline/patients/patient-identity-service.js';
import type { GatewayContext } from '../context.js';
import { appointmentCalendar } from '../scheduling/ical-feed.js';
import { adminOrStaffAuthHook, assertPatientAccess } from './staff-auth.js';

const tags = ['scheduling'];
const security: { [k: string]: string[] }[] = [{ adminToken: [] }, { staffSession: [] }];
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export const appointmentView = z.object({
  id: z.string(),
  patientId: z.string(),
  staffId: z.string(),
  typeId: z.string(),
  modality: z.enum(MODALITIES),
  start: z.string(),
  end: z.string(),
  durationMinutes: z.number().int().describe('min'),
  status: z.enum(APPOINTMENT_STATUSES),
  version: z.number().int(),
  patientResponse: z.enum(PATIENT_RESPONSES).nullable().describe("The patient's SMS reply to a reminder: C confirmed, R asks to reschedule"),
  patientRespondedAt: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

export const toAppointmentView = (a: Appointment): z.infer<typeof appointmentView> => ({
  id: a.id,
  patientId: a.patientId,
  staffId: a.staffId,
  typeId: a.typeId,
  modality: a.modality,
  start: new Date(a.startMs).toISOString(),
  end: new Date(a.endMs).toISOString(),
  durationMinutes: Math.round((a.endMs - a.startMs) / 60_000),
  status: a.status,
  version: a.version,
  patientResponse: a.patientResponse,
  patientRespondedAt: iso(a.patientRespondedAtMs),
  createdAt: new Date(a.createdAtMs).toISOString(),
  createdBy: a.createdBy,
  updatedAt: new Date(a.updatedAtMs).toISOString(),
  updatedBy: a.updatedBy,
});

const availabilityView = z.object({
  staffId: z.string(),
  timeZone: z.string(),
  weekly: z.array(weeklyHours),
  exceptions: z.array(availabilityException),
  version: z.number().int(),
  updatedAt: z.string(),
});
const toAvailabilityView = (a: StaffAvailability): z.infer<typeof availabilityView> => ({
  staffId: a.staffId,
  timeZone: a.timeZone,
  weekly: [...a.weekly],
  exceptions: [...a.exceptions],
  version: a.version,
  updatedAt: new Date(a.updatedAtMs).toISOString(),
});

const appointmentTypeView = appointmentTypeInput.extend({ organizationId: z.string() });
const staffParams = z.object({ id: z.string().min(1).max(128) });
const appointmentParams = z.object({ id: z.string().min(1).max(128) });

/**
 * Scheduling API: working hours, appointment types, free slots, booking, rescheduling,
 * cancelling, no-shows, a patient's visits, "my day" and the iCalendar feed link. Staff act
 * within their organization (another's staff member or patient answers 404); patients follow
 * the scope rule. Changes take the `version` you read (409 on a conflict).
 */
export async function schedulingRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminOrStaffAuthHook(ctx));
  const requester = (req: FastifyRequest): Requester => ({ actor: req.actor ?? 'admin', sourceIp: req.ip });

  /** A staff member the requester may see (same organization, or the operator), else 404. */
  const visibleStaff = async (req: FastifyRequest, id: string): Promise<Staff> => {
    const staff = await ctx.scheduling.findStaff(id);
    if (staff === undefined || (req.staff !== null && req.staff.organizationId !== staff.organizationId)) throw new RpmError('RPM_ERR_STAFF_NOT_FOUND', 'staff member not found');
    return staff;
  };
  /** The staff member themself, an admin of their organization, or the operator. */
  const manageableStaff = async (req: FastifyRequest, id: string): Promise<Staff> => {
    const staff = await visibleStaff(req, id);
    if (req.staff !== null && req.staff.id !== staff.id && req.staff.role !== 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'only the staff member or an administrator sets working hours');
    return staff;
  };
  const patientAccess = async (req: FastifyRequest, patientId: string): Promise<void> => {
    if ((await ctx.registry.getPatient(patientId)) === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
    if (req.staff !== null) await assertPatientAccess(ctx, req.staff, patientId);
  };
  /** An appointment of a patient the requester may see; anything else 404 like a missing one. */
  const visibleAppointment = async (req: FastifyRequest, id: string): Promise<Appointment> => {
    const a = await ctx.scheduling.getAppointment(id);
    if (a === undefined) throw new RpmError('RPM_ERR_APPOINTMENT_NOT_FOUND', 'appointment not found');
    try {
      await patientAccess(req, a.patientId);
    } catch {
      throw new RpmError('RPM_ERR_APPOINTMENT_NOT_FOUND', 'appointment not found');
    }
    return a;
  };
  const organizationOf = (req: FastifyRequest, organizationId: string | undefined): string => {
    if (req.staff !== null) return req.staff.organizationId;
    if (organizationId === undefined) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'the operator names the organization: ?organizationId=', { path: '/querystring/organizationId' });
    return organizationId;
  };

  app.put(
    '/v1/staff/:id/availability',
    {
      schema: {
        summary: "Set a staff member's working hours (weekly, in their time zone) and exceptions (days off, blocked hours, extra hours)",
        description: 'The staff member themself or an administrator. Send `expectedVersion` (0: none yet) to refuse a concurrent change (409).',
        tags,
        security,
        params: staffParams,
        body: availabilityInput,
        response: { 200: availabilityView },
      },
    },
    async (req) => toAvailabilityView(await ctx.scheduling.setAvailability(await manageableStaff(req, req.params.id), req.body, requester(req))),
  );

  app.get(
    '/v1/staff/:id/availability',
    { schema: { summary: "A staff member's working hours", tags, security, params: staffParams, response: { 200: availabilityView } } },
    async (req) => {
      const staff = await visibleStaff(req, req.params.id);
      const a = await ctx.scheduling.getAvailability(staff.id);
      if (a === undefined) throw new RpmError('RPM_ERR_AVAILABILITY_NOT_SET', 'no working hours recorded');
      return toAvailabilityView(a);
    },
  );

  app.get(
    '/v1/staff/:id/free-slots',
    {
      schema: {
        summary: 'Free start times of an appointment type with a staff member, inside working hours and outside booked visits',
        tags,
        security,
        params: staffParams,
        querystring: z.object({ typeId: entityId, from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }),
        response: { 200: z.object({ slots: z.array(z.object({ start: z.string(), end: z.string() })) }) },
      },
    },
    async (req) => {
      const staff = await visibleStaff(req, req.params.id);
      const fromMs = Date.parse(req.query.from);
      const toMs = Math.min(Date.parse(req.query.to), fromMs + 31 * 86_400_000);
      const slots = await ctx.scheduling.freeSlots(staff, req.query.typeId, fromMs, toMs);
      return { slots: slots.map((s) => ({ start: new Date(s.startMs).toISOString(), end: new Date(s.endMs).toISOString() })) };
    },
  );

  app.get(
    '/v1/scheduling/appointment-types',
    {
      schema: {
        summary: "The organization's appointment types (a new organization starts with a 20 min monthly check-in and a 30 min device onboarding)",
        tags,
        security,
        querystring: z.object({ organizationId: entityId.optional().describe('Operator only') }),
        response: { 200: z.object({ types: z.array(appointmentTypeView) }) },
      },
    },
    async (req) => {
      const types = await ctx.scheduling.appointmentTypes(organizationOf(req, req.query.organizationId));
      return { types: types.map((t) => ({ id: t.id, name: t.name, durationMinutes: t.durationMinutes, modality: t.modality, organizationId: t.organizationId })) };
    },
  );

  app.post(
    '/v1/scheduling/appointment-types',
    {
      schema: {
        summary: 'Add an appointment type',
        description: 'Administrators. The name goes into reminders and calendars: no clinical detail.',
        tags,
        security,
        querystring: z.object({ organizationId: entityId.optional().describe('Operator only') }),
        body: appointmentTypeInput,
        response: { 201: appointmentTypeView },
      },
    },
    async (req, reply) => {
      if (req.staff !== null && req.staff.role !== 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'administrators add appointment types');
      const organizationId = organizationOf(req, req.query.organizationId);
      await ctx.staff.requireOrganization(organizationId);
      const t = await ctx.scheduling.createAppointmentType(organizationId, req.body, requester(req));
      return reply.code(201).send({ id: t.id, name: t.name, durationMinutes: t.durationMinutes, modality: t.modality, organizationId: t.organizationId });
    },
  );

  app.post(
    '/v1/appointments',
    {
      schema: {
        summary: 'Book a visit',
        description:
          'Inside the staff member’s working hours (422 `RPM_ERR_APPOINTMENT_OUTSIDE_HOURS`), in the future, never overlapping another visit of the staff member or the patient (409 `RPM_ERR_APPOINTMENT_SLOT_TAKEN`, also when two bookings race). SMS reminders go 24 h and 15 min before.',
        tags,
        security,
        body: bookAppointmentInput,
        response: { 201: appointmentView },
      },
    },
    async (req, reply) => {
      await patientAccess(req, req.body.patientId);
      const staffId = req.body.staffId ?? req.staff?.id;
      if (staffId === undefined) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'the operator names the staff member', { path: '/body/staffId' });
      await visibleStaff(req, staffId);
      const a = await ctx.scheduling.book({ patientId: req.body.patientId, staffId, typeId: req.body.typeId, startMs: Date.parse(req.body.start) }, requester(req));
      return reply.code(201).send(toAppointmentView(a));
    },
  );

  app.get(
    '/v1/appointments/:id',
    { schema: { summary: 'One visit', tags, security, params: appointmentParams, response: { 200: appointmentView } } },
    async (req) => toAppointmentView(await visibleAppointment(req, req.params.id)),
  );

  app.post(
    '/v1/appointments/:id/reschedule',
    {
      schema: { summary: 'Move a visit (optionally to another staff member)', description: 'Reminders move with it.', tags, security, params: appointmentParams, body: rescheduleInput, response: { 200: appointmentView } },
    },
    async (req) => {
      await visibleAppointment(req, req.params.id);
      if (req.body.staffId !== undefined) await visibleStaff(req, req.body.staffId);
      return toAppointmentView(await ctx.scheduling.reschedule(req.params.id, { startMs: Date.parse(req.body.start), expectedVersion: req.body.expectedVersion, ...(req.body.staffId === undefined ? {} : { staffId: req.body.staffId }) }, requester(req)));
    },
  );

  for (const [action, status, summary] of [
    ['cancel', 'cancelled', 'Cancel a visit (its reminders are cancelled with it)'],
    ['no-show', 'no-show', 'The patient did not come (only once the visit has started)'],
    ['complete', 'completed', 'The visit took place'],
  ] as const) {
    app.post(
      `/v1/appointments/:id/${action}`,
      { schema: { summary, tags, security, params: appointmentParams, body: appointmentTransitionInput, response: { 200: appointmentView } } },
      async (req) => {
        await visibleAppointment(req, req.params.id);
        return toAppointmentView(await ctx.scheduling.transition(req.params.id, status, req.body.expectedVersion, requester(req)));
      },
    );
  }

  app.get(
    '/v1/patients/:id/appointments',
    {
      schema: {
        summary: "A patient's visits: upcoming (soonest first) and past (newest first)",
        tags,
        security,
        params: z.object({ id: entityId }),
        response: { 200: z.object({ upcoming: z.array(appointmentView), past: z.array(appointmentView) }) },
      },
    },
    async (req) => {
      await patientAccess(req, req.params.id);
      const { upcoming, past } = await ctx.scheduling.patientVisits(req.params.id);
      await ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'admin', action: 'appointments.read', subject: `patient:${req.params.id}`, outcome: 'success', sourceIp: req.ip, details: { count: upcoming.length + past.length } });
      return { upcoming: upcoming.map(toAppointmentView), past: past.map(toAppointmentView) };
    },
  );

  app.get(
    '/v1/me/day',
    {
      schema: {
        summary: 'My day: my visits on a date (default today, in my working-hours time zone), each with the patient’s two identifiers',
        description: 'Staff sessions. The identities shown are audited as one read naming every patient.',
        tags,
        security: [{ staffSession: [] }],
        querystring: z.object({ date: calendarDate.optional() }),
        response: {
          200: z.object({
            date: z.string(),
            timeZone: z.string(),
            visits: z.array(
              appointmentView.extend({
                typeName: z.string(),
                patient: z.object({ name: z.string().nullable(), birthDate: z.string().nullable(), age: z.object({ value: z.number().int(), unit: z.literal('a') }).nullable(), mrn: z.string().nullable() }),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const me = req.staff;
      if (me === null) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'my day is for staff sessions');
      const day = await ctx.scheduling.day(me, req.query.date);
      // Only patients still in scope are named.
      const visible: string[] = [];
      for (const a of day.appointments) if (await ctx.staff.canSeePatient(me, a.patientId)) visible.push(a.patientId);
      const identities = await ctx.identities.readMany(visible, requester(req), `staff:${me.id}:day:${day.date}`);
      const types = new Map((await ctx.scheduling.appointmentTypes(me.organizationId)).map((t) => [t.id, t.name]));
      return {
        date: day.date,
        timeZone: day.timeZone,
        visits: day.appointments.map((a) => {
          const i = identities.get(a.patientId);
          return {
            ...toAppointmentView(a),
            typeName: types.get(a.typeId) ?? a.typeId,
            patient: i === undefined ? { name: null, birthDate: null, age: null, mrn: null } : { name: `${i.familyName}, ${i.givenName}`, birthDate: i.birthDate, age: { value: i.ageYears, unit: 'a' as const }, mrn: i.mrn },
          };
        }),
      };
    },
  );

  app.post(
    '/v1/me/calendar-feed',
    {
      schema: {
        summary: 'A new private iCalendar feed link for my visits (the previous link stops working)',
        description: 'Subscribe to it in a calendar app. The feed names no patient: each event is the visit type and a link to the dashboard.',
        tags,
        security: [{ staffSession: [] }],
        response: { 201: z.object({ url: z.string(), path: z.string() }) },
      },
    },
    async (req, reply) => {
      const me = req.staff;
      if (me === null) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'calendar feeds are for staff sessions');
      const token = randomBytes(32).toString('base64url');
      await ctx.scheduling.setFeedToken(me.id, createHash('sha256').update(token).digest('hex'));
      await ctx.audit.record({ atMs: ctx.clock.now(), actor: `staff:${me.id}`, action: 'calendar-feed.create', subject: `staff:${me.id}`, outcome: 'success', sourceIp: req.ip, details: null });
      const path = `/v1/calendar/${token}.ics`;
      return reply.code(201).send({ path, url: `${ctx.config.scheduling.publicUrl ?? ''}${path}` });
    },
  );
}

/** The iCalendar feed: its secret token is the credential (calendar apps send no headers). */
export async function calendarFeedRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.get(
    '/v1/calendar/:token.ics',
    {
      schema: {
        summary: "A staff member's visits as an iCalendar feed (RFC 5545), by the private link from POST /v1/me/calendar-feed",
        description: 'No patient names, no clinical detail: the visit type, time and a dashboard link.',
        tags,
        params: z.object({ token: z.string().min(20).max(100) }),
        produces: ['text/calendar'],
      },
    },
    async (req, reply) => {
      const staffId = await ctx.scheduling.staffOfFeedToken(createHash('sha256').update(req.params.token).digest('hex'));
      const staff = staffId === undefined ? undefined : await ctx.scheduling.findStaff(staffId);
      if (staff === undefined || staff.status !== 'active') throw new RpmError('RPM_ERR_NOT_FOUND', 'no such calendar');
      const appointments = await ctx.scheduling.feed(staff.id);
      const types = new Map((await ctx.scheduling.appointmentTypes(staff.organizationId)).map((t) => [t.id, t.name]));
      const timeZone = (await ctx.scheduling.getAvailability(staff.id))?.timeZone ?? 'UTC';
      const body = appointmentCalendar({ staff, appointments, typeName: (id) => types.get(id) ?? id, timeZone, dashboardUrl: ctx.config.scheduling.publicUrl, systemBase: ctx.config.fhir.systemBase });
      await ctx.audit.record({ atMs: ctx.clock.now(), actor: `staff:${staff.id}`, action: 'calendar-feed.read', subject: `staff:${staff.id}`, outcome: 'success', sourceIp: req.ip, details: { count: appointments.length } });
      return reply.header('content-type', 'text/calendar; charset=utf-8').header('content-disposition', 'inline; filename="visits.ics"').send(body);
    },
  );
}
