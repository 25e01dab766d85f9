import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import {
  backfillPullInput,
  createBindingInput,
  externalId,
  PULL_STATUSES,
  type PullStatus,
  VENDOR_EXTERNAL_ID,
  VENDORS,
  type VendorBinding,
  type VendorConnection,
  type VendorPull,
} from '../../core/model/vendor.js';
import type { GatewayContext } from '../context.js';
import { adminAuthHook } from './auth-hooks.js';

const tags = ['vendors'];
const security = [{ adminToken: [] }];
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Secrets are write-only: a connection shows what it is and where the vendor must send, never a key. */
const connectionView = z.object({
  organizationId: z.string(),
  vendor: z.enum(VENDORS),
  enabled: z.boolean(),
  endpoint: z.string().describe('Where to point the vendor (path on this gateway; `{…}` parts are yours to fill)'),
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).describe('The non-secret settings'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function endpointOf(c: VendorConnection): string {
  const org = encodeURIComponent(c.organizationId);
  switch (c.vendor) {
    case 'tenovi':
      return `POST /vendors/tenovi/${org}/measurements`;
    case 'withings':
      return `POST /vendors/withings/${org}/notify/{callbackToken}`;
    case 'bodytrace':
      return `POST /vendors/bodytrace/${org}/measurements`;
    case 'open-mhealth':
      return `POST /vendors/open-mhealth/${org}/users/{externalId}/data-points`;
    case 'validic':
      return `POST /vendors/validic/${org}/measurements`;
    case 'nightscout':
      return `POST /vendors/nightscout/${org}/{site}/api/v1/entries`;
  }
}

function toConnectionView(c: VendorConnection): z.infer<typeof connectionView> {
  const settings: Record<string, string | number | boolean> = {};
  if (c.vendor === 'tenovi') {
    settings.authHeader = c.settings.authHeader;
    if (c.settings.weightUnit !== undefined) settings.weightUnit = c.settings.weightUnit;
    if (c.settings.temperatureUnit !== undefined) settings.temperatureUnit = c.settings.temperatureUnit;
  } else if (c.vendor === 'withings') {
    settings.clientId = c.settings.clientId;
    if (c.settings.apiBaseUrl !== undefined) settings.apiBaseUrl = c.settings.apiBaseUrl;
  } else if (c.vendor === 'bodytrace') {
    settings.username = c.settings.username;
  } else if (c.vendor === 'validic') {
    settings.replayWindowSeconds = c.settings.replayWindowSeconds;
  }
  return {
    organizationId: c.organizationId,
    vendor: c.vendor,
    enabled: c.enabled,
    endpoint: endpointOf(c),
    settings,
    createdAt: new Date(c.createdAtMs).toISOString(),
    updatedAt: new Date(c.updatedAtMs).toISOString(),
  };
}

const bindingView = z.object({
  organizationId: z.string(),
  vendor: z.enum(VENDORS),
  externalId: z.string(),
  deviceId: z.string(),
  credentials: z.enum(['none', 'nightscout-api-secret', 'withings-oauth2']).describe('Which credentials the binding holds (never the values)'),
  accessTokenExpiresAt: z.string().nullable().describe('Withings: when the stored access token expires (it is refreshed before then)'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const toBindingView = (b: VendorBinding): z.infer<typeof bindingView> => ({
  organizationId: b.organizationId,
  vendor: b.vendor,
  externalId: b.externalId,
  deviceId: b.deviceId,
  credentials: b.credentials === null ? 'none' : b.credentials.type === 'nightscout' ? 'nightscout-api-secret' : 'withings-oauth2',
  accessTokenExpiresAt: b.credentials?.type === 'withings' ? iso(b.credentials.accessTokenExpiresAtMs) : null,
  createdAt: new Date(b.createdAtMs).toISOString(),
  updatedAt: new Date(b.updatedAtMs).toISOString(),
});

const pullView = z.object({
  id: z.number().int(),
  externalId: z.string(),
  from: z.string(),
  to: z.string(),
  reason: z.enum(['notification', 'backfill']),
  status: z.enum(PULL_STATUSES),
  attempts: z.number().int(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  readings: z.number().int().nullable().describe('Readings the pull handed to ingest (accepted or already stored)'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

const toPullView = (p: VendorPull): z.infer<typeof pullView> => ({
  id: p.id,
  externalId: p.externalId,
  from: new Date(p.fromMs).toISOString(),
  to: new Date(p.toMs).toISOString(),
  reason: p.reason,
  status: p.status,
  attempts: p.attempts,
  createdAt: new Date(p.createdAtMs).toISOString(),
  nextAttemptAt: p.status === 'pending' || p.status === 'failed' ? new Date(p.nextAttemptAtMs).toISOString() : null,
  lastAttemptAt: iso(p.lastAttemptAtMs),
  readings: p.readings,
  error: p.errorCode === null ? null : { code: p.errorCode, message: p.errorMessage ?? '' },
});

const vendorParams = z.object({ org: entityId, vendor: z.enum(VENDORS) });
const bindingParams = vendorParams.extend({ externalId });

/**
 * Vendor integrations per organization, behind the admin token: connections (credentials are
 * stored encrypted and never shown again), bindings of vendor ids to devices, Withings backfills
 * and the pull queue. Every change is audited.
 */
export async function vendorAdminRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuthHook(ctx));
  const audit = (req: FastifyRequest, action: string, subject: string, details: Record<string, string | number | boolean | null> | null = null): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'admin', action, subject, outcome: 'success', sourceIp: req.ip, details });
  const requireOrganization = async (id: string): Promise<void> => {
    await ctx.staff.requireOrganization(id);
  };

  app.get(
    '/v1/admin/organizations/:org/vendors',
    {
      schema: {
        summary: "An organization's vendor connections (Tenovi, Withings, BodyTrace, Open mHealth, Validic, Nightscout)",
        tags,
        security,
        params: z.object({ org: entityId }),
        response: { 200: z.object({ connections: z.array(connectionView) }) },
      },
    },
    async (req) => {
      await requireOrganization(req.params.org);
      return { connections: (await ctx.vendors.listConnections(req.params.org)).map(toConnectionView) };
    },
  );

  app.put(
    '/v1/admin/organizations/:org/vendors/:vendor',
    {
      schema: {
        summary: 'Create or replace the connection to a vendor (its credentials are stored encrypted and never shown again)',
        description: [
          'tenovi: `{"authHeader": "Authorization", "authKey": "…", "weightUnit"?: "lb"|"kg", "temperatureUnit"?: "[degF]"|"Cel"}` (the header and key set on the Tenovi webhook)',
          'withings: `{"clientId", "clientSecret", "callbackToken" (24+ characters, part of the callback URL), "apiBaseUrl"?}`',
          'bodytrace: `{"username", "password"}` (HTTP basic, as configured at BodyTrace)',
          'open-mhealth: `{"token"}` (bearer token of the sending platform)',
          'validic: `{"organizationAccessToken", "applicationSecret", "replayWindowSeconds"?: 300}`',
          'nightscout: `{}` (each site has its API secret on its binding)',
        ].join('\n\n'),
        tags,
        security,
        params: vendorParams,
        body: z.record(z.string(), z.unknown()),
        querystring: z.object({ enabled: z.enum(['true', 'false']).default('true') }),
        response: { 200: connectionView },
      },
    },
    async (req) => {
      await requireOrganization(req.params.org);
      const c = await ctx.vendors.putConnection(req.params.org, req.params.vendor, req.body, req.query.enabled === 'true');
      await audit(req, 'vendor.connection.put', `organization:${c.organizationId}`, { vendor: c.vendor, enabled: c.enabled });
      return toConnectionView(c);
    },
  );

  app.delete(
    '/v1/admin/organizations/:org/vendors/:vendor',
    { schema: { summary: 'Remove the connection to a vendor: its requests are refused from now on (bindings stay)', tags, security, params: vendorParams } },
    async (req, reply) => {
      await ctx.vendors.deleteConnection(req.params.org, req.params.vendor);
      await audit(req, 'vendor.connection.delete', `organization:${req.params.org}`, { vendor: req.params.vendor });
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/admin/organizations/:org/vendors/:vendor/bindings',
    {
      schema: {
        summary: "Bind a vendor's device, user or site id to a device registered here",
        description: `What the external id is, per vendor: ${Object.entries(VENDOR_EXTERNAL_ID)
          .map(([v, d]) => `${v}: ${d}`)
          .join('; ')}. The device's assignments decide whose readings they are. Nightscout sites carry \`nightscout.apiSecret\`; Withings users \`withings.refreshToken\` (and the access token if you have a fresh one).`,
        tags,
        security,
        params: vendorParams,
        body: createBindingInput,
        response: { 201: bindingView },
      },
    },
    async (req, reply) => {
      await requireOrganization(req.params.org);
      const b = await ctx.vendors.createBinding(req.params.org, req.params.vendor, req.body);
      await audit(req, 'vendor.binding.create', `device:${b.deviceId}`, { vendor: b.vendor, organizationId: b.organizationId });
      return reply.code(201).send(toBindingView(b));
    },
  );

  app.get(
    '/v1/admin/organizations/:org/vendors/:vendor/bindings',
    {
      schema: {
        summary: 'Bindings of a vendor in an organization, by external id',
        tags,
        security,
        params: vendorParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), after: externalId.optional() }),
        response: { 200: z.object({ bindings: z.array(bindingView) }) },
      },
    },
    async (req) => ({ bindings: (await ctx.vendors.listBindings(req.params.org, req.params.vendor, req.query.limit, req.query.after)).map(toBindingView) }),
  );

  app.get(
    '/v1/admin/organizations/:org/vendors/:vendor/bindings/:externalId',
    { schema: { summary: 'One binding', tags, security, params: bindingParams, response: { 200: bindingView } } },
    async (req) => toBindingView(await ctx.vendors.requireBinding(req.params.org, req.params.vendor, req.params.externalId)),
  );

  app.delete(
    '/v1/admin/organizations/:org/vendors/:vendor/bindings/:externalId',
    { schema: { summary: 'Unbind: the vendor id no longer reaches the device (its readings are refused as unbound)', tags, security, params: bindingParams } },
    async (req, reply) => {
      await ctx.vendors.deleteBinding(req.params.org, req.params.vendor, req.params.externalId);
      await audit(req, 'vendor.binding.delete', `organization:${req.params.org}`, { vendor: req.params.vendor });
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/admin/organizations/:org/vendors/withings/bindings/:externalId/backfill',
    {
      schema: {
        summary: "Pull a Withings user's measures over a time range (a backfill)",
        description: 'Queued durably and pulled like a notification; measures already stored (e.g. through an earlier notification) answer duplicate and are not stored twice.',
        tags,
        security,
        params: z.object({ org: entityId, externalId }),
        body: backfillPullInput,
        response: { 202: pullView },
      },
    },
    async (req, reply) => {
      await ctx.vendors.requireConnection(req.params.org, 'withings');
      await ctx.vendors.requireBinding(req.params.org, 'withings', req.params.externalId);
      const fromMs = Date.parse(req.body.from);
      const toMs = req.body.to === undefined ? ctx.clock.now() : Date.parse(req.body.to);
      if (toMs < fromMs) throw new RpmError('RPM_ERR_REQUEST_INVALID', '`to` is before `from`', { path: '/body/to' });
      const pull = await ctx.vendors.queuePull(req.params.org, 'withings', req.params.externalId, fromMs, toMs, 'backfill');
      await audit(req, 'vendor.backfill', `organization:${req.params.org}`, { vendor: 'withings', pull: pull.id });
      return reply.code(202).send(toPullView(pull));
    },
  );

  app.get(
    '/v1/admin/organizations/:org/vendors/:vendor/pulls',
    {
      schema: {
        summary: 'Pulls of vendor measures (Withings): queued, retried, done or given up, newest first',
        tags,
        security,
        params: vendorParams,
        querystring: z.object({
          status: z.string().optional().describe('Comma-separated: pending, failed, done, dead'),
          externalId: externalId.optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: z.object({ pulls: z.array(pullView) }) },
      },
    },
    async (req) => {
      const statuses = req.query.status?.split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const s of statuses ?? []) {
        if (!(PULL_STATUSES as readonly string[]).includes(s)) throw new RpmError('RPM_ERR_REQUEST_INVALID', `unknown pull status '${s}' (${PULL_STATUSES.join(', ')})`, { path: '/querystring/status' });
      }
      const pulls = await ctx.vendors.listPulls(req.params.org, req.params.vendor, {
        limit: req.query.limit,
        ...(statuses === undefined ? {} : { statuses: statuses as PullStatus[] }),
        ...(req.query.externalId === undefined ? {} : { externalId: req.query.externalId }),
      });
      return { pulls: pulls.map(toPullView) };
    },
  );
}
