import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

/** Liveness and readiness for load balancers and orchestrators. No auth, no PHI. */
export async function healthRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'Readiness: 503 while shutting down or shedding load', tags: ['ops'] } }, async (_req, reply) => {
    const ready = !ctx.shuttingDown() && !ctx.committer.saturated;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', pendingCommits: ctx.committer.pending });
  });
}
