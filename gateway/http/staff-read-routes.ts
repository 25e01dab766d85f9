import { UNDELIVERABLE_MESSAGE, escalationReach } from '../../pipeline/worklist/sla-escalator.js';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import { STAFF_ROLES } from '../../core/model/staff.js';
import type { GatewayContext } from '../context.js';
import { batteryView } from './battery-view.js';
import { assertPatientAccess, staffAuthHook } from './staff-auth.js';

const security = [{ staffSession: [] }];
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const patientDeviceView = z.object({
  id: z.string(),
  kind: z.string(),
  manufacturer: z.string().nullable(),
  model: z.string().nullable(),
  status: z.enum(['active', 'revoked']),
  assignedFrom: z.string(),
  lastSeenAt: z.string().nullable().describe('Last reading or connection (written every few seconds)'),
  online: z.boolean().describe('Holds an MQTT session now; HTTP-only devices are never "online", see lastSeenAt'),
  batteryPercent: z.number().nullable().describe('Battery level from the newest reading that carried one (`batteryPercent` on a reading); null when the device never reported it'),
  batteryAt: z.string().nullable().describe('Measurement time of the reading that reported batteryPercent'),
});

/**
 * Reads a nurse's client needs beside the worklist: the devices of a patient (status without
 * the admin API) and the names of colleagues (who holds an alert). Staff sessions only.
 */
export async function staffReadRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.get(
    '/v1/patients/:id/devices',
    {
      schema: {
        summary: "The patient's current devices: connection status and last seen",
        description: 'A patient outside your scope answers 404, as if it did not exist. Every read is audited.',
        tags: ['readings'],
        security,
        params: z.object({ id: entityId }),
        response: { 200: z.object({ devices: z.array(patientDeviceView) }) },
      },
    },
    async (req) => {
      const staff = req.staff;
      if (staff === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
      const patientId = req.params.id;
      const record = (outcome: 'success' | 'denied', count: number | null): Promise<void> =>
        ctx.audit.record({
          atMs: ctx.clock.now(),
          actor: `staff:${staff.id}`,
          action: 'devices.read',
          subject: `patient:${patientId}`,
          outcome,
          sourceIp: req.ip,
          details: count === null ? null : { count },
        });
      try {
        await assertPatientAccess(ctx, staff, patientId);
      } catch (err) {
        await record('denied', null);
        throw err;
      }
      const current = await ctx.registry.currentDevicesOf(patientId);
      await record('success', current.length);
      return {
        devices: current.map(({ device: d, assignedFromMs }) => ({
          id: d.id,
          kind: d.kind,
          manufacturer: d.manufacturer,
          model: d.model,
          status: d.status,
          assignedFrom: new Date(assignedFromMs).toISOString(),
          lastSeenAt: iso(ctx.presence.lastSeenOf(d)),
          online: ctx.presence.isOnline(d.id),
          ...batteryView(ctx.presence.batteryOf(d)),
        })),
      };
    },
  );

  app.get(
    '/v1/colleagues',
    {
      schema: {
        summary: 'Active staff of your organization: ids and display names (who holds an alert)',
        description: 'No emails or phone numbers.',
        tags: ['auth'],
        security,
        response: {
          200: z.object({
            staff: z.array(z.object({ id: z.string(), displayName: z.string().nullable(), role: z.enum(STAFF_ROLES), isChargeNurse: z.boolean() })),
          }),
        },
      },
    },
    async (req) => {
      if (req.staff === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
      const staff = await ctx.staff.colleagues(req.staff);
      return { staff: staff.map((s) => ({ id: s.id, displayName: s.displayName, role: s.role, isChargeNurse: s.isChargeNurse })) };
    },
  );

  app.get(
    '/v1/escalations/reach',
    {
      schema: {
        summary: "Whether your organization's SLA escalations reach anyone (charge nurses and admins)",
        description:
          "Escalation SMS go to the organization's charge nurses with a phone. With none, an overdue alert escalates in the worklist but texts nobody: the dashboard shows charge nurses and admins a banner. Other roles get 403.",
        tags: ['worklist'],
        security,
        response: {
          200: z.object({
            deliverable: z.boolean(),
            reason: z.enum(['no-charge-nurse', 'no-phone']).nullable(),
            message: z.string().nullable(),
          }),
        },
      },
    },
    async (req) => {
      const me = req.staff;
      if (me === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
      if (me.role !== 'admin' && !me.isChargeNurse) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'for charge nurses and organization admins');
      const nurses = await ctx.staff.chargeNurses(me.organizationId);
      const reason = await escalationReach(me.organizationId, async () => nurses, async (id) => nurses.find((n) => n.id === id)?.phone ?? null);
      return { deliverable: reason === undefined, reason: reason ?? null, message: reason === undefined ? null : UNDELIVERABLE_MESSAGE };
    },
  );
}
