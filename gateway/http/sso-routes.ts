import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import type { GatewayContext } from '../context.js';
import { adminActor, adminOrStaffAuthHook } from './staff-auth.js';
import { staffSelfView, toStaffSelfView } from './staff-views.js';

const CALLBACK = '/v1/auth/sso/callback';
const ssoView = z.object({ sso: z.object({ issuer: z.string(), clientId: z.string() }).nullable() });

/** Where the provider sends the browser back: this gateway as the browser reached it (register it at the provider). */
const redirectUriOf = (req: FastifyRequest): string => `${req.protocol}://${req.host}${CALLBACK}`;

/** OpenID Connect single sign-on per organization (SsoService): the browser's round trip and its administration. */
export async function ssoRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const tags = ['auth'];

  app.get(
    '/v1/auth/sso/:organizationId/start',
    {
      schema: {
        summary: "Start single sign-on through the organization's identity provider (302 to it)",
        description: `Code flow with PKCE, state and nonce. The provider sends the browser back to \`${CALLBACK}\` (register that URL, on this gateway's public address, at the provider). 404 RPM_ERR_SSO_NOT_CONFIGURED for an organization without SSO (or none at all).`,
        tags,
        params: z.object({ organizationId: entityId }),
      },
    },
    async (req, reply) => {
      const url = await ctx.sso.start(req.params.organizationId, redirectUriOf(req));
      return reply.redirect(url, 302);
    },
  );

  app.get(
    CALLBACK,
    {
      schema: {
        summary: "The identity provider's redirect: redeems the code and sends the browser to the dashboard with a one-time hand-off code",
        description: 'Redirects to `/#/sso/<code>` (a URL fragment: never sent to a server or in a Referer), which the dashboard swaps for its session with POST /v1/auth/sso/exchange within a minute; on a refusal, to `/#/sso-failed/<error code>`. Every outcome is audited (`auth.login`, method `sso`).',
        tags,
        querystring: z.object({ code: z.string().max(2048).optional(), state: z.string().max(256).optional(), iss: z.string().max(2048).optional(), error: z.string().max(256).optional(), error_description: z.string().max(2048).optional() }).loose(),
      },
    },
    async (req, reply) => {
      const url = new URL(`${redirectUriOf(req)}${req.url.slice(req.url.indexOf('?') === -1 ? req.url.length : req.url.indexOf('?'))}`);
      try {
        const handoff = await ctx.sso.callback(url, req.ip);
        return reply.redirect(`/#/sso/${handoff}`, 302);
      } catch (err) {
        const code = err instanceof RpmError ? err.code : 'RPM_ERR_SSO_FAILED';
        return reply.redirect(`/#/sso-failed/${code}`, 302);
      }
    },
  );

  app.post(
    '/v1/auth/sso/exchange',
    {
      schema: {
        summary: 'Swap the one-time hand-off code of a single sign-on for the session token',
        tags,
        body: z.object({ code: z.string().min(1).max(128) }),
        response: {
          200: z.object({ token: z.string(), expiresAt: z.string(), idleExpiresAt: z.string(), staff: staffSelfView, mfaEnrollmentRequired: z.boolean() }),
        },
      },
    },
    async (req) => {
      const login = ctx.sso.exchange(req.body.code);
      const idleExpiresAtMs = Math.min(login.session.lastActiveAtMs + ctx.config.sessions.idleMs, login.session.expiresAtMs);
      return {
        token: login.token,
        expiresAt: new Date(login.session.expiresAtMs).toISOString(),
        idleExpiresAt: new Date(idleExpiresAtMs).toISOString(),
        staff: toStaffSelfView(login.staff),
        mfaEnrollmentRequired: false,
      };
    },
  );

  await root.register(async (scope) => {
    const admin = scope.withTypeProvider<ZodTypeProvider>();
    admin.addHook('onRequest', adminOrStaffAuthHook(ctx));
    const security: { [scheme: string]: string[] }[] = [{ adminToken: [] }, { staffSession: [] }];
    const params = z.object({ id: entityId });
    const adminTags = ['admin: organizations and staff'];
    const note = 'Also open to staff with role `admin`, within their own organization; anything outside it answers 404.';

    admin.get(
      '/v1/admin/organizations/:id/sso',
      { schema: { summary: "The organization's identity provider for single sign-on (never its client secret)", description: note, tags: adminTags, security, params, response: { 200: ssoView } } },
      async (req) => ({ sso: await ctx.sso.settings(req.params.id, adminActor(req)) }),
    );

    admin.put(
      '/v1/admin/organizations/:id/sso',
      {
        schema: {
          summary: 'Sign the organization in through its OpenID Connect identity provider',
          description: `From then on its staff sign in at GET /v1/auth/sso/{organizationId}/start only (password logins answer 403 RPM_ERR_AUTH_SSO_REQUIRED); the provider's verified email names an existing account. The client secret is stored encrypted and never shown again. Register \`https://<this gateway>${CALLBACK}\` as the redirect URI at the provider. ${note}`,
          tags: adminTags,
          security,
          params,
          body: z.object({ issuer: z.url().max(2048), clientId: z.string().min(1).max(512), clientSecret: z.string().min(1).max(4096) }),
          response: { 200: ssoView },
        },
      },
      async (req) => {
        const sso = await ctx.sso.configure(req.params.id, req.body, adminActor(req));
        await ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'unknown', action: 'organization.sso', subject: `organization:${req.params.id}`, outcome: 'success', sourceIp: req.ip, details: { issuer: req.body.issuer } });
        return { sso };
      },
    );

    admin.delete(
      '/v1/admin/organizations/:id/sso',
      { schema: { summary: 'Turn single sign-on off (staff sign in with their passwords again)', description: note, tags: adminTags, security, params } },
      async (req, reply) => {
        await ctx.sso.configure(req.params.id, null, adminActor(req));
        await ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'unknown', action: 'organization.sso', subject: `organization:${req.params.id}`, outcome: 'success', sourceIp: req.ip, details: { issuer: null } });
        return reply.code(204).send();
      },
    );
  });
}
