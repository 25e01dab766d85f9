import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { readingEnvelopeDoc } from '../../core/model/reading-input.js';
import type { GatewayContext } from '../context.js';
import { admissionHook, deviceAuthHook } from './auth-hooks.js';

const outcome = z.object({
  index: z.number().int(),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  id: z.string().optional().describe('Reading id (accepted, duplicate)'),
  clientId: z.string().optional(),
  code: z.string().optional().describe('Stable error code (rejected)'),
  path: z.string().optional().describe('JSON pointer of the bad field (rejected)'),
  message: z.string().optional(),
});

export const ingestResponse = z.object({
  accepted: z.number().int(),
  duplicate: z.number().int(),
  rejected: z.number().int(),
  outcomes: z.array(outcome),
});

/** POST /v1/readings: device-authenticated batch ingest, answered only after a durable commit. */
export async function ingestRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    // After device auth, so the limit is per device rather than per IP (hubs share carrier NAT).
    hook: 'preParsing',
    keyGenerator: (req) => req.device?.device.id ?? req.ip,
    errorResponseBuilder: (_req, context) =>
      new RpmError('RPM_ERR_RATE_LIMITED', `at most ${context.max} requests per minute per device; retry in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });

  app.post(
    '/v1/readings',
    {
      schema: {
        summary: 'Submit readings (1 to 1000) from an authenticated device or hub',
        description:
          'Answers 202 once every accepted reading is durably committed. Each reading gets an outcome: accepted, duplicate (already stored; safe retry) or rejected (with code and JSON pointer).',
        tags: ['ingest'],
        security: [{ deviceSecret: [] }],
        body: readingEnvelopeDoc,
        response: { 202: ingestResponse },
      },
      // Readings are validated one by one in the pipeline, so that one bad reading does not
      // sink the batch; the schema above is for the OpenAPI document.
      validatorCompiler: () => (data: unknown) => ({ value: data }),
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
      onRequest: [admissionHook(ctx), deviceAuthHook(ctx)],
      config: {
        rateLimit: { max: ctx.config.http.rateLimitPerDevicePerMin, timeWindow: 60_000 },
      },
    },
    async (req, reply) => {
      const auth = req.device;
      if (auth === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
      ctx.presence.seen(auth.device.id, ctx.clock.now());
      const readings = ctx.ingest.parseEnvelope(req.body);
      const result = await ctx.ingest.ingest({ device: auth.device, readings, transport: 'http', payloadSha256: null });
      return reply.code(202).send(result);
    },
  );
}
