import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { createDeviceInput, entityId } from '../../core/model/registry.js';
import type { GatewayContext } from '../context.js';
import { staffAuthHook } from './staff-auth.js';

const tags = ['admin: organization patients and devices'];
const security = [{ staffSession: [] }];
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const assignmentView = z.object({ patientId: z.string(), from: z.string(), to: z.string().nullable() });
const fleetView = z.object({
  id: z.string(),
  kind: z.string(),
  manufacturer: z.string().nullable(),
  model: z.string().nullable(),
  status: z.enum(['active', 'revoked']),
  patientId: z.string().nullable().describe('Assigned to now'),
  viaHub: z.string().nullable(),
  transmission: z.enum(['transmitting', 'not-transmitting', 'never-seen', 'revoked']),
  lastContactAt: z.string().nullable().describe('Newest of its own connection, its newest reading and its battery report (a hub-relayed device never connects itself)'),
  lastSeenAt: z.string().nullable().describe('Its own last connection or upload'),
  batteryPercent: z.number().nullable().describe('%'),
  batteryAt: z.string().nullable(),
  lowBattery: z.boolean(),
  assignments: z.array(assignmentView),
});

/**
 * An organization admin's patients and devices (staff sessions with role `admin`, own
 * organization implied): enrolment, the fleet, devices registered for a patient, assignments with
 * time ranges. The operator keeps /v1/admin/patients and /v1/admin/devices.
 */
export async function orgAdminRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));
  const admin = (req: FastifyRequest) => {
    if (req.staff === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
    return req.staff;
  };
  const audit = (req: FastifyRequest, action: string, subject: string, details: Record<string, string> | null, patientIds?: string[]): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), actor: `staff:${admin(req).id}`, action, subject, outcome: 'success', sourceIp: req.ip, details, ...(patientIds === undefined ? {} : { patientIds }) });

  app.post(
    '/v1/org/patients',
    {
      schema: {
        summary: 'Enroll a patient in your organization (then programs: PUT care-plan; consent: POST consents/telehealth; identity: PUT identity)',
        tags,
        security,
        body: z.object({ id: entityId }),
        response: { 201: z.object({ id: z.string(), organizationId: z.string().nullable(), createdAt: z.string() }) },
      },
    },
    async (req, reply) => {
      const p = await ctx.orgRegistry.enroll(admin(req), req.body.id);
      await audit(req, 'patient.create', `patient:${p.id}`, null);
      return reply.code(201).send({ id: p.id, organizationId: p.organizationId, createdAt: new Date(p.createdAtMs).toISOString() });
    },
  );

  app.get(
    '/v1/org/devices',
    { schema: { summary: "Your organization's device fleet: status, battery, last contact, assignments", tags, security, response: { 200: z.object({ devices: z.array(fleetView) }) } } },
    async (req) => {
      const fleet = await ctx.orgRegistry.fleet(admin(req));
      await audit(req, 'devices.list', `organization:${admin(req).organizationId}`, null, [...new Set(fleet.flatMap((d) => d.assignments.map((a) => a.patientId)))]);
      return {
        devices: fleet.map((d) => ({
          id: d.device.id,
          kind: d.device.kind,
          manufacturer: d.device.manufacturer,
          model: d.device.model,
          status: d.device.status,
          patientId: d.patientId,
          viaHub: d.device.hubId,
          transmission: d.health.transmission,
          lastContactAt: iso(d.health.lastContactAtMs),
          lastSeenAt: iso(d.lastSeenAtMs),
          batteryPercent: d.battery?.percent ?? null,
          batteryAt: iso(d.battery?.atMs ?? null),
          lowBattery: d.health.lowBattery,
          assignments: d.assignments.map((a) => ({ patientId: a.patientId, from: new Date(a.fromMs).toISOString(), to: iso(a.toMs) })),
        })),
      };
    },
  );

  app.post(
    '/v1/org/devices',
    {
      schema: {
        summary: 'Register a device for a patient of your organization; the answer carries its secret, shown only this once',
        tags,
        security,
        body: createDeviceInput.extend({ patientId: entityId }),
        response: { 201: z.object({ id: z.string(), kind: z.string(), secret: z.string() }) },
      },
    },
    async (req, reply) => {
      const { device, secret } = await ctx.orgRegistry.createDevice(admin(req), req.body);
      await audit(req, 'device.create', `device:${device.id}`, { patient: req.body.patientId });
      return reply.code(201).send({ id: device.id, kind: device.kind, secret });
    },
  );

  app.post(
    '/v1/org/devices/:id/assignments',
    {
      schema: {
        summary: 'Assign the device to a patient from a time (closing the current assignment there); history is never rewritten',
        tags,
        security,
        params: z.object({ id: entityId }),
        body: z.object({ patientId: entityId, from: z.iso.datetime({ offset: true }).optional() }),
        response: { 201: assignmentView },
      },
    },
    async (req, reply) => {
      const a = await ctx.orgRegistry.assign(admin(req), req.params.id, req.body.patientId, req.body.from === undefined ? undefined : Date.parse(req.body.from));
      await audit(req, 'device.assign', `device:${req.params.id}`, { patient: a.patientId });
      return reply.code(201).send({ patientId: a.patientId, from: new Date(a.fromMs).toISOString(), to: iso(a.toMs) });
    },
  );

  app.post(
    '/v1/org/devices/:id/unassign',
    {
      schema: {
        summary: 'End the device’s current assignment at a time (default now)',
        tags,
        security,
        params: z.object({ id: entityId }),
        body: z.object({ at: z.iso.datetime({ offset: true }).optional() }).optional(),
        response: { 200: z.object({ ended: assignmentView.nullable() }) },
      },
    },
    async (req) => {
      const a = await ctx.orgRegistry.unassign(admin(req), req.params.id, req.body?.at === undefined ? undefined : Date.parse(req.body.at));
      await audit(req, 'device.unassign', `device:${req.params.id}`, null);
      return { ended: a === undefined ? null : { patientId: a.patientId, from: new Date(a.fromMs).toISOString(), to: iso(a.toMs) } };
    },
  );
}
