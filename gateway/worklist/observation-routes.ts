import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import type { GatewayContext } from '../context.js';
import { ingestResponse } from '../http/ingest-routes.js';
import { staffAuthHook } from '../http/staff-auth.js';
import { requester } from './worklist-routes.js';

const MAX_OBSERVATIONS = 50;

/**
 * Observations staff record for a patient: what no home device measures (consciousness on the
 * ACVPU scale, supplemental oxygen), and readings taken during a call or a visit (a blood
 * pressure the patient reads out, a respiratory rate counted on video). They are readings like
 * any other (same normalization, dedupe, durable commit and rules; NEWS2 completes when they
 * supply its missing parameters), with entry method `manual` and who entered them.
 */
export async function observationRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.post(
    '/v1/patients/:id/observations',
    {
      schema: {
        summary: 'Record observations for a patient (staff): consciousness (ACVPU), supplemental oxygen, readings taken during a call',
        description: `1 to ${MAX_OBSERVATIONS} readings in the device JSON format (\`POST /v1/readings\`), plus \`{"kind": "consciousness", "level": "alert|new-confusion|voice|pain|unresponsive"}\` and \`{"kind": "supplemental-oxygen", "value": <L/min, 0 = room air>}\`. Stored with entryMethod \`manual\` and your staff id; answered 201 once committed, with one outcome each (422 when every one is refused). Nurses and physicians only.`,
        tags: ['care-plans'],
        security: [{ staffSession: [] }],
        params: z.object({ id: entityId }),
        body: z.object({ observations: z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_OBSERVATIONS).describe('Each as `readingInput`') }),
        response: { 201: ingestResponse },
      },
    },
    async (req, reply) => {
      const who = requester(req);
      if (who.staff.role === 'admin') throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'clinical observations are recorded by nurses and physicians');
      await ctx.worklist.requirePatient(who, req.params.id);
      const result = await ctx.ingest.ingestManual({ patientId: req.params.id, staffId: who.staff.id, readings: req.body.observations });
      await ctx.audit.record({
        atMs: ctx.clock.now(),
        actor: `staff:${who.staff.id}`,
        action: 'observation.record',
        subject: `patient:${req.params.id}`,
        outcome: result.accepted + result.duplicate > 0 ? 'success' : 'denied',
        sourceIp: req.ip,
        details: { accepted: result.accepted, duplicate: result.duplicate, rejected: result.rejected },
      });
      if (result.accepted + result.duplicate === 0) {
        const first = result.outcomes.find((o) => o.status === 'rejected');
        throw new RpmError(first?.status === 'rejected' ? first.code : 'RPM_ERR_READING_INVALID', first?.status === 'rejected' ? first.message : 'no observation was accepted', {
          ...(first?.status === 'rejected' ? { path: first.path } : {}),
          details: { outcomes: result.outcomes },
        });
      }
      // The rules see them as soon as the engine runs; the answer does not wait for that.
      return reply.code(201).send({ ...result, outcomes: [...result.outcomes] });
    },
  );
}
