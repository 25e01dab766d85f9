import type { FastifyInstance, FastifyReply } from 'fastify';
import { DOCS_CSP } from './security-headers.js';
import { DOCS_CSS, type OpenApiDocument, renderDocsPage } from './docs-page.js';

/**
 * /docs: the OpenAPI document as an accessible HTML page rendered here (docs-page.ts), with no
 * script; /docs/json: the document itself, generated from the routes' schemas by @fastify/swagger.
 */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  let page: string | undefined;
  const html = (reply: FastifyReply): FastifyReply => {
    // The routes are fixed once the server is ready: render once.
    page ??= renderDocsPage(app.swagger() as OpenApiDocument, '/docs/docs.css', '/docs/json');
    return reply.header('content-security-policy', DOCS_CSP).type('text/html; charset=utf-8').send(page);
  };
  const hidden = { schema: { hide: true } };
  app.get('/docs', hidden, async (_req, reply) => html(reply));
  app.get('/docs/', hidden, async (_req, reply) => html(reply));
  app.get('/docs/docs.css', hidden, async (_req, reply) => reply.header('content-security-policy', DOCS_CSP).type('text/css; charset=utf-8').send(DOCS_CSS));
  app.get('/docs/json', hidden, async (_req, reply) => reply.header('content-security-policy', DOCS_CSP).send(app.swagger()));
}
