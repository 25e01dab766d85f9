import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';
import { dashboardDir } from '../http/dashboard-routes.js';

/**
 * The patient's page allows less than the dashboard: its own script and styles, the gateway's API
 * and signaling (same origin), camera and microphone for this origin only, nothing else.
 */
export const VISIT_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET /visit: the page a patient opens from her SMS (dashboards/web/visit.html, built with the
 * dashboard). No login: the token after `#` never reaches a server log; the page sends it once to
 * POST /v1/visit-links/redeem. The page itself names no one: what it shows comes from that answer.
 */
export async function visitPageRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const file = path.join(dashboardDir(ctx.config.dashboardDir), 'visit.html');
  app.get('/visit', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-security-policy', VISIT_PAGE_CSP);
    reply.header('permissions-policy', 'camera=(self), microphone=(self), display-capture=(), geolocation=(), payment=(), usb=()');
    reply.header('cache-control', 'no-store');
    reply.header('cross-origin-opener-policy', 'same-origin');
    if (!existsSync(file)) return reply.code(503).type('text/plain; charset=utf-8').send('The visit page is not built: run `npm run build`.\n');
    return reply.type('text/html; charset=utf-8').send(readFileSync(file));
  });
}
