import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GatewayContext } from '../context.js';

const readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  /** Why not ready, when it is not: every reason that holds. */
  reasons: z.array(z.enum(['shutting-down', 'overloaded', 'store-failing'])),
  pendingCommits: z.number().int(),
  store: z.object({ writable: z.boolean(), failingSince: z.string().nullable() }),
});

/** Liveness and readiness for load balancers and orchestrators. No auth, no PHI. */
export async function healthRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'] } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: 503 while shutting down, shedding load, or while the store fails commits',
        description:
          'Ready means a reading sent now can be committed. A failed commit makes the gateway unready at once; it is ready again after the next successful commit or probe write (every second while failing), without any traffic.',
        tags: ['ops'],
        response: { 200: readiness, 503: readiness },
      },
    },
    async (_req, reply) => {
      const store = ctx.storeHealth.status();
      const reasons: z.infer<typeof readiness>['reasons'] = [];
      if (ctx.shuttingDown()) reasons.push('shutting-down');
      if (ctx.committer.saturated) reasons.push('overloaded');
      if (!store.writable) reasons.push('store-failing');
      const ready = reasons.length === 0;
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'unavailable',
        reasons,
        pendingCommits: ctx.committer.pending,
        store: { writable: store.writable, failingSince: store.failingSinceMs === null ? null : new Date(store.failingSinceMs).toISOString() },
      });
    },
  );
}
