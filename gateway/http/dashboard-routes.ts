import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.js';

/**
 * The app may only talk to its own origin and load its own files: a cross-site script could read
 * the session token, so nothing inline and nothing third-party. uPlot styles its elements through
 * the CSSOM (element.style), which `style-src 'self'` allows.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The package root: the nearest folder with a package.json (works from gateway/ under tsx and from dist/gateway/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the gateway');
    dir = up;
  }
  return dir;
}

export function dashboardDir(configured: string | undefined): string {
  return configured ?? path.join(packageRoot(), 'dist', 'dashboard');
}

/**
 * The nurse dashboard (dashboards/web, built by `npm run build` into dist/dashboard) at `/`.
 * Only the files of the build are routes (wildcard off), so every other path still gets the
 * API's problem+json 404. The app uses hash routes (#/patients/<id>): the server never sees
 * which patient is open, and URLs carry opaque ids only.
 */
export async function dashboardRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const root = dashboardDir(ctx.config.dashboardDir);
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });
  if (!existsSync(path.join(root, 'index.html'))) {
    ctx.log.warn({ dir: root }, 'dashboard not built; `npm run build` builds it');
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The nurse dashboard is not built: run `npm run build` (npm ci and npm start do).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: 'index.html',
    schemaHide: true,
    // Hashed bundle names change with their content; index.html names them, so it is always revalidated.
    cacheControl: false,
    setHeaders: (reply, file) => {
      reply.header('cache-control', path.basename(file) === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
}
