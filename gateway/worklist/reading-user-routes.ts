import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import type { GatewayContext } from '../context.js';
import { readingView, toReadingView } from '../http/reading-view.js';
import { staffAuthHook } from '../http/staff-auth.js';
import { requester } from './worklist-routes.js';

/**
 * Who measured: a reading whose device could not tell which person stepped on the scale or put
 * on the cuff (entry method `ambiguous-user`, flag `user-unconfirmed`; e.g. a Withings measure
 * with `attrib` 1) is stored and shown but not judged by the rules. A nurse or physician decides:
 * `confirmed` (it is the patient's: the rules judge it now, as a late reading, before this
 * answers) or `rejected` (someone else's: kept, flagged `user-rejected`, never judged).
 */
export async function readingUserRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.post(
    '/v1/patients/:id/readings/:readingId/user',
    {
      schema: {
        summary: "Confirm (or reject) that a reading whose user the device could not tell is the patient's",
        description:
          'Only for readings flagged `user-unconfirmed`, once: a second decision, or a reading that never needed one, answers 409 RPM_ERR_READING_USER_DECIDED. Nurses and physicians only; a patient outside your scope answers 404. Audited.',
        tags: ['readings'],
        security: [{ staffSession: [] }],
        params: z.object({ id: entityId, readingId: z.string().min(1).max(64) }),
        body: z.object({ decision: z.enum(['confirmed', 'rejected']).describe("confirmed: the patient's (the rules judge it now); rejected: someone else's (never judged)") }),
        response: { 200: readingView },
      },
    },
    async (req) => {
      const who = requester(req);
      if (who.staff.role === 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', "whether a reading is the patient's is decided by nurses and physicians");
      const patientId = req.params.id;
      await ctx.worklist.requirePatient(who, patientId);
      const changed = await ctx.readings.decideUser(patientId, [req.params.readingId], req.body.decision);
      const decided = changed[0];
      await ctx.audit.record({
        atMs: ctx.clock.now(),
        actor: `staff:${who.staff.id}`,
        action: req.body.decision === 'confirmed' ? 'reading.user.confirm' : 'reading.user.reject',
        subject: `patient:${patientId}`,
        outcome: decided === undefined ? 'denied' : 'success',
        sourceIp: req.ip,
        details: { readingId: req.params.readingId },
      });
      if (decided === undefined) {
        throw new RpmError('RPM_ERR_READING_USER_DECIDED', "no reading of this patient with this id awaits a decision on who measured it (already decided, or its device knew the user)");
      }
      // Judged now, as late data, so the answer means the rules have seen it.
      if (req.body.decision === 'confirmed') await ctx.lateReadings.confirmed(patientId);
      return toReadingView(decided.reading);
    },
  );
}
