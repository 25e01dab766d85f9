import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

/**
 * Prometheus scrape endpoint. No auth, like /healthz: it carries counts and latencies only,
 * labelled by transport, outcome and severity, never by a patient, device or staff id.
 * Expose it only to the monitoring network if counts themselves are sensitive to you.
 */
export async function metricsRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['ops'] } }, async (_req, reply) => {
    const body = await ctx.metrics.text();
    return reply.type(ctx.metrics.contentType).header('cache-control', 'no-store').send(body);
  });
}
