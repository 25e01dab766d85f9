import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import {
  assignDeviceInput,
  createDeviceInput,
  createPatientInput,
  type Assignment,
  type BatteryLevel,
  type Device,
  entityId,
  rotateSecretInput,
  unassignDeviceInput,
} from '../../core/model/registry.js';
import type { GatewayContext } from '../context.js';
import { adminAuthHook } from './auth-hooks.js';
import { batteryView } from './battery-view.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const assignmentView = z.object({ patientId: z.string(), from: z.string(), to: z.string().nullable() });
const toAssignmentView = (a: Assignment): z.infer<typeof assignmentView> => ({ patientId: a.patientId, from: new Date(a.fromMs).toISOString(), to: iso(a.toMs) });

const deviceView = z.object({
  id: z.string(),
  kind: z.string(),
  manufacturer: z.string().nullable(),
  model: z.string().nullable(),
  serial: z.string().nullable(),
  hubId: z.string().nullable(),
  simulated: z.boolean().describe('Readings reach EHRs tagged as test data'),
  status: z.enum(['active', 'revoked']),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  lastSeenAt: z.string().nullable(),
  online: z.boolean(),
  batteryPercent: z.number().nullable().describe('Battery level from the newest reading that carried one; null if never reported'),
  batteryAt: z.string().nullable().describe('Measurement time of that reading'),
  patientId: z.string().nullable().describe('Current assignment'),
});

function toDeviceView(
  d: Device,
  assignments: readonly Assignment[],
  online: boolean,
  lastSeenAtMs: number | null,
  battery: BatteryLevel | null,
): z.infer<typeof deviceView> {
  const open = assignments.find((a) => a.toMs === null);
  return {
    id: d.id,
    kind: d.kind,
    manufacturer: d.manufacturer,
    model: d.model,
    serial: d.serial,
    hubId: d.hubId,
    simulated: d.simulated,
    status: d.status,
    createdAt: new Date(d.createdAtMs).toISOString(),
    revokedAt: iso(d.revokedAtMs),
    lastSeenAt: iso(lastSeenAtMs),
    online,
    ...batteryView(battery),
    patientId: open?.patientId ?? null,
  };
}

const idParams = z.object({ id: entityId });
const tags = ['admin'];
const security = [{ adminToken: [] }];

/** Administration of patients and devices, behind the bootstrap admin token. */
export async function adminRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuthHook(ctx));

  /** `patientIds`: the patients whose data the answer discloses (device assignments name them). */
  const audit = (req: FastifyRequest, action: string, subject: string, patientIds?: readonly string[], details: Record<string, number | string> | null = null): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'admin', action, subject, outcome: 'success', sourceIp: req.ip, details, ...(patientIds === undefined ? {} : { patientIds }) });
  const patientsOf = (assignments: readonly Assignment[]): string[] => [...new Set(assignments.map((a) => a.patientId))];

  const view = async (d: Device): Promise<z.infer<typeof deviceView>> => {
    const { assignments } = await ctx.registry.getDevice(d.id);
    return toDeviceView(d, assignments, ctx.presence.isOnline(d.id), ctx.presence.lastSeenOf(d), ctx.presence.batteryOf(d));
  };

  app.post(
    '/v1/admin/patients',
    {
      schema: {
        summary: 'Register a patient (an opaque reference; no demographics are stored)',
        tags,
        security,
        body: createPatientInput,
        response: { 201: z.object({ id: z.string(), organizationId: z.string().nullable(), createdAt: z.string() }) },
      },
    },
    async (req, reply) => {
      if (req.body.organizationId !== undefined) await ctx.staff.requireOrganization(req.body.organizationId);
      const p = await ctx.registry.createPatient(req.body);
      await audit(req, 'patient.create', `patient:${p.id}`);
      return reply.code(201).send({ id: p.id, organizationId: p.organizationId, createdAt: new Date(p.createdAtMs).toISOString() });
    },
  );

  app.put(
    '/v1/admin/patients/:id/organization',
    {
      schema: {
        summary: "Move a patient to another organization (the operator's correction)",
        description:
          "The patient leaves the previous organization's care teams; device assignments stay (the devices measure the same person); unresolved alerts move with the patient (the new organization's nurses work them, its charge nurses are escalated to), resolved ones stay the previous organization's record. Readings, care plan and time log are the patient's and unchanged. Audited as patient.organization.change. Idempotent.",
        tags,
        security,
        params: idParams,
        body: z.object({ organizationId: z.string().min(1) }).strict(),
        response: {
          200: z.object({
            id: z.string(),
            organizationId: z.string().nullable(),
            previousOrganizationId: z.string().nullable(),
            careTeamsLeft: z.array(z.string()),
            alertsMoved: z.number().int(),
            devicesKept: z.number().int(),
          }),
        },
      },
    },
    async (req) => {
      const r = await ctx.patientTransfer.move(req.params.id, req.body.organizationId);
      await audit(req, 'patient.organization.change', `patient:${r.patient.id}`, [r.patient.id], {
        from: r.previousOrganizationId ?? 'none',
        to: req.body.organizationId,
        careTeamsLeft: r.careTeamsLeft.length,
        alertsMoved: r.alertsMoved,
      });
      req.log.info({ patientOrganizationFrom: r.previousOrganizationId, patientOrganizationTo: r.patient.organizationId, alertsMoved: r.alertsMoved, careTeamsLeft: r.careTeamsLeft.length }, 'patient moved to another organization');
      return {
        id: r.patient.id,
        organizationId: r.patient.organizationId,
        previousOrganizationId: r.previousOrganizationId,
        careTeamsLeft: [...r.careTeamsLeft],
        alertsMoved: r.alertsMoved,
        devicesKept: r.devicesKept,
      };
    },
  );

  app.get(
    '/v1/admin/patients/:id',
    {
      schema: {
        summary: 'Get a patient',
        tags,
        security,
        params: idParams,
        response: { 200: z.object({ id: z.string(), organizationId: z.string().nullable(), createdAt: z.string() }) },
      },
    },
    async (req) => {
      const p = await ctx.registry.getPatient(req.params.id);
      if (p === undefined) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${req.params.id}' not found`);
      await audit(req, 'patient.read', `patient:${p.id}`);
      return { id: p.id, organizationId: p.organizationId, createdAt: new Date(p.createdAtMs).toISOString() };
    },
  );

  app.post(
    '/v1/admin/devices',
    {
      schema: {
        summary: 'Register a device; the answer carries its secret, shown only this once',
        tags,
        security,
        body: createDeviceInput,
        response: { 201: deviceView.extend({ secret: z.string().describe('Device secret. Store it now: only a hash is kept.') }) },
      },
    },
    async (req, reply) => {
      const { device, secret } = await ctx.registry.createDevice(req.body);
      await audit(req, 'device.create', `device:${device.id}`);
      return reply.code(201).send({ ...(await view(device)), secret });
    },
  );

  app.get(
    '/v1/admin/devices',
    {
      schema: {
        summary: 'List devices',
        tags,
        security,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), after: z.string().optional() }),
        response: { 200: z.object({ devices: z.array(deviceView), next: z.string().nullable() }) },
      },
    },
    async (req) => {
      const devices = await ctx.registry.listDevices(req.query.limit, req.query.after);
      const views = await Promise.all(devices.map(view));
      // The list names each device's current patient: which patients it showed is the audit.
      await audit(req, 'devices.list', 'devices', [...new Set(views.flatMap((v) => (v.patientId === null ? [] : [v.patientId])))], { devices: views.length });
      return { devices: views, next: devices.length === req.query.limit ? (devices.at(-1)?.id ?? null) : null };
    },
  );

  app.get(
    '/v1/admin/devices/:id',
    {
      schema: {
        summary: 'Get a device with its assignment history and connection status',
        tags,
        security,
        params: idParams,
        response: { 200: deviceView.extend({ assignments: z.array(assignmentView) }) },
      },
    },
    async (req) => {
      const { device, assignments } = await ctx.registry.getDevice(req.params.id);
      await audit(req, 'device.read', `device:${device.id}`, patientsOf(assignments));
      return { ...toDeviceView(device, assignments, ctx.presence.isOnline(device.id), ctx.presence.lastSeenOf(device), ctx.presence.batteryOf(device)), assignments: assignments.map(toAssignmentView) };
    },
  );

  app.post(
    '/v1/admin/devices/:id/assignments',
    {
      schema: {
        summary: 'Assign the device to a patient from an instant (default now); the previous assignment ends there',
        description: 'Readings the device sent while unassigned within the new interval are attributed to the patient.',
        tags,
        security,
        params: idParams,
        body: assignDeviceInput,
        response: { 201: assignmentView.extend({ attributedReadings: z.number().int() }) },
      },
    },
    async (req, reply) => {
      const fromMs = req.body.from === undefined ? undefined : Date.parse(req.body.from);
      const { assignment, attributed } = await ctx.registry.assign(req.params.id, req.body.patientId, fromMs);
      await audit(req, 'device.assign', `device:${req.params.id}`);
      return reply.code(201).send({ ...toAssignmentView(assignment), attributedReadings: attributed });
    },
  );

  app.post(
    '/v1/admin/devices/:id/unassign',
    {
      schema: {
        summary: 'End the current assignment at an instant (default now)',
        tags,
        security,
        params: idParams,
        body: unassignDeviceInput.optional(),
        response: { 200: z.object({ ended: assignmentView.nullable() }) },
      },
    },
    async (req) => {
      const at = req.body?.at === undefined ? undefined : Date.parse(req.body.at);
      const ended = await ctx.registry.unassign(req.params.id, at);
      await audit(req, 'device.unassign', `device:${req.params.id}`);
      return { ended: ended === undefined ? null : toAssignmentView(ended) };
    },
  );

  app.post(
    '/v1/admin/devices/:id/rotate-secret',
    {
      schema: {
        summary: 'Issue a new device secret; the old one keeps working for a grace period',
        tags,
        security,
        params: idParams,
        body: rotateSecretInput.optional(),
        response: { 200: z.object({ id: z.string(), secret: z.string(), previousSecretValidUntil: z.string() }) },
      },
    },
    async (req) => {
      const graceMs = req.body?.graceSeconds === undefined ? undefined : req.body.graceSeconds * 1000;
      const { secret, previousValidUntilMs } = await ctx.registry.rotateSecret(req.params.id, graceMs);
      await audit(req, 'device.rotate-secret', `device:${req.params.id}`);
      return { id: req.params.id, secret, previousSecretValidUntil: new Date(previousValidUntilMs).toISOString() };
    },
  );

  app.post(
    '/v1/admin/devices/:id/revoke',
    {
      schema: {
        summary: 'Revoke the device: its secrets stop working and its MQTT sessions are closed at once',
        tags,
        security,
        params: idParams,
        response: { 200: deviceView },
      },
    },
    async (req) => {
      const device = await ctx.registry.revoke(req.params.id);
      await audit(req, 'device.revoke', `device:${device.id}`);
      return view(device);
    },
  );

  app.post(
    '/v1/admin/devices/:id/commands',
    {
      schema: {
        summary:
          "Send a command to the device on its MQTT commands topic (devices/{id}/commands, QoS 1), on whichever gateway it is connected to; a device with a persistent session gets it when it reconnects",
        tags,
        security,
        params: idParams,
        body: z.object({
          command: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'lower-case letters, digits and -'),
          parameters: z.record(z.string(), z.union([z.string().max(256), z.number(), z.boolean()])).refine((p) => Object.keys(p).length <= 32, 'at most 32 parameters').optional(),
        }),
        response: { 202: z.object({ commandId: z.string(), topic: z.string() }) },
      },
    },
    async (req, reply) => {
      const { device } = await ctx.registry.getDevice(req.params.id);
      if (device.status !== 'active') throw new RpmError('RPM_ERR_DEVICE_REVOKED', `device ${device.id} is revoked`);
      const commandId = randomUUID();
      const topic = await ctx.deviceCommands.send(device.id, { commandId, command: req.body.command, parameters: req.body.parameters ?? {}, sentAt: new Date(ctx.clock.now()).toISOString() });
      await audit(req, 'device.command', `device:${device.id}`, undefined, { command: req.body.command, commandId });
      return reply.code(202).send({ commandId, topic });
    },
  );

  app.get(
    '/v1/admin/devices/:id/rejections',
    {
      schema: {
        summary: 'Recent readings refused from this device, newest first, with code and reason',
        tags,
        security,
        params: idParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: {
          200: z.object({
            rejections: z.array(
              z.object({
                receivedAt: z.string(),
                transport: z.string(),
                code: z.string(),
                path: z.string().nullable(),
                message: z.string(),
                clientId: z.string().nullable(),
                payloadSha256: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const rows = await ctx.readings.listRejections(req.params.id, req.query.limit);
      // Rejection messages quote refused values; they belong to the patients the device measured.
      const { assignments } = await ctx.registry.getDevice(req.params.id).catch(() => ({ assignments: [] as Assignment[] }));
      await audit(req, 'rejections.read', `device:${req.params.id}`, patientsOf(assignments), { rejections: rows.length });
      return {
        rejections: rows.map((r) => ({
          receivedAt: new Date(r.receivedAtMs).toISOString(),
          transport: r.transport,
          code: r.code,
          path: r.path,
          message: r.message,
          clientId: r.clientId,
          payloadSha256: r.payloadSha256,
        })),
      };
    },
  );
}
