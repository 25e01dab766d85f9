import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { statusOf } from '../../core/errors/codes.js';
import { isRpmError, RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import { externalId, type VendorName } from '../../core/model/vendor.js';
import type { GatewayContext } from '../context.js';
import { bodytraceAuthorized, translateBodyTrace } from '../vendors/bodytrace.js';
import { nightscoutAuthorized, translateNightscout } from '../vendors/nightscout.js';
import { openMhealthAuthorized, translateOpenMhealth } from '../vendors/open-mhealth.js';
import { tenoviAuthorized, translateTenovi } from '../vendors/tenovi.js';
import { sameSecret, sha256Hex, type Translated } from '../vendors/translation.js';
import { SignatureWindow, translateValidic, verifyValidic } from '../vendors/validic.js';
import type { VendorIngestAnswer, VendorRequestOutcome } from '../vendors/vendor-service.js';
import { parseWithingsNotification, PULLED_APPLI } from '../vendors/withings.js';
import { admissionHook } from './auth-hooks.js';
import { ingestResponse } from './ingest-routes.js';

/** What every vendor endpoint answers once the records are committed (200: vendors retry anything else). */
export const vendorIngestResponse = ingestResponse.extend({
  ignored: z.record(z.string(), z.number().int()).describe('Measures deliberately not stored, by reason (non-vital metrics, unknown measure types, control-solution checks, …)'),
});

const tags = ['vendors'];
const orgParams = z.object({ org: entityId });

/** The credentials do not match (also answered for an organization without this connection, which is never confirmed). */
const unauthorized = (vendor: string): RpmError => new RpmError('RPM_ERR_AUTH_INVALID', `credentials do not match this organization's ${vendor} connection`);

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new RpmError('RPM_ERR_REQUEST_MALFORMED_JSON', 'body is not valid JSON');
  }
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

function outcomeOf(err: unknown): VendorRequestOutcome {
  if (!isRpmError(err)) return 'failed';
  if (err.code === 'RPM_ERR_AUTH_SIGNATURE_EXPIRED') return 'expired';
  if (err.code === 'RPM_ERR_AUTH_MISSING' || err.code === 'RPM_ERR_AUTH_INVALID') return 'unauthorized';
  return err.code === 'RPM_ERR_INTERNAL' || err.code === 'RPM_ERR_STORE_FAILURE' || err.code === 'RPM_ERR_OVERLOADED' || err.code === 'RPM_ERR_SHUTTING_DOWN' ? 'failed' : 'invalid';
}

/**
 * Inbound vendor integrations under /vendors: each vendor's own wire format and authentication,
 * per organization, translated by its adapter (gateway/vendors) and committed through the same
 * IngestService as our own JSON. Answered 200 only after the durable commit (a Withings
 * notification: after its pull is durably queued); a bad payload is a problem+json with a stable
 * code; a commit failure 503, so the vendor delivers again.
 */
export async function vendorRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  // Raw bytes: the payload's SHA-256 is kept with every reading and rejection, and some vendors sign it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const admission = admissionHook(ctx);
  const validicWindow = new SignatureWindow();

  const raw = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
  /** Times and counts the request per vendor and outcome, whatever it ends in. */
  const handle =
    <P>(vendor: VendorName, fn: (req: FastifyRequest<{ Params: P }>, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest<{ Params: P }>, reply: FastifyReply): Promise<unknown> => {
      const t0 = performance.now();
      try {
        const out = await fn(req, reply);
        ctx.metrics.vendorRequest(vendor, 'ok', (performance.now() - t0) / 1000);
        return out;
      } catch (err) {
        ctx.metrics.vendorRequest(vendor, outcomeOf(err), (performance.now() - t0) / 1000);
        throw err;
      }
    };
  const answer = (reply: FastifyReply, a: VendorIngestAnswer): FastifyReply => reply.code(200).send({ ...a, outcomes: [...a.outcomes] });
  /**
   * An authenticated payload: parsed and translated by the vendor's adapter, then committed. A
   * payload refused as a whole (400) is recorded with its SHA-256 (and the hash is in the answer).
   */
  const ingest = async (org: string, vendor: VendorName, body: Buffer, translate: (json: unknown) => Translated, sha = sha256Hex(body)): Promise<VendorIngestAnswer> => {
    let t: Translated;
    try {
      t = translate(parseJson(body));
    } catch (err) {
      if (isRpmError(err) && statusOf(err.code) === 400) throw await ctx.vendors.refusePayload(org, vendor, sha, err);
      throw err;
    }
    return ctx.vendors.ingest(org, vendor, sha, t);
  };
  const plain = { serializerCompiler: () => (data: unknown) => JSON.stringify(data) };

  app.post(
    '/tenovi/:org/measurements',
    {
      onRequest: [admission],
      ...plain,
      schema: {
        summary: 'Tenovi measurement webhook (one measurement, or an array with post_as_array)',
        description:
          "Authenticated by the header and key configured on the Tenovi webhook (`auth_header`/`auth_key`, set on the organization's Tenovi connection). Bound by `hwi_device_id`. Answered 200 once committed; battery_percentage updates the device status; non-vital metrics are counted in `ignored`.",
        tags,
        params: orgParams,
        response: { 200: vendorIngestResponse },
      },
    },
    handle<{ org: string }>('tenovi', async (req, reply) => {
      const conn = await ctx.vendors.connection(req.params.org, 'tenovi');
      const presented = conn === undefined ? undefined : header(req, conn.settings.authHeader.toLowerCase());
      if (conn === undefined) throw unauthorized('Tenovi');
      if (presented === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', `send the Tenovi webhook's auth key in the ${conn.settings.authHeader} header`);
      if (!tenoviAuthorized(conn.settings, req.headers)) throw unauthorized('Tenovi');
      return answer(reply, await ingest(req.params.org, 'tenovi', raw(req), (json) => translateTenovi(json, conn.settings)));
    }),
  );

  const withingsNotifyOptions = {
    onRequest: [admission],
    ...plain,
    schema: {
      tags,
      params: orgParams.extend({ token: z.string().max(128) }),
    },
  };
  const withingsToken = async (org: string, token: string) => {
    const conn = await ctx.vendors.connection(org, 'withings');
    if (conn === undefined || !sameSecret(token, conn.settings.callbackToken)) throw unauthorized('Withings');
    return conn;
  };
  // Withings checks that a callback URL answers HEAD with a 2xx before it subscribes it.
  app.head(
    '/withings/:org/notify/:token',
    { ...withingsNotifyOptions, schema: { ...withingsNotifyOptions.schema, summary: 'Withings callback URL check (HEAD before subscribing)' } },
    handle<{ org: string; token: string }>('withings', async (req, reply) => {
      await withingsToken(req.params.org, req.params.token);
      return reply.code(200).send();
    }),
  );
  app.post(
    '/withings/:org/notify/:token',
    {
      ...withingsNotifyOptions,
      schema: {
        ...withingsNotifyOptions.schema,
        summary: 'Withings data-update notification (form-encoded userid, appli, startdate, enddate)',
        description:
          "The callback URL subscribed at Withings, with the organization's callback token in its path (Withings does not sign notifications). Answered 200 once a pull of the user's measures over [startdate, enddate] is durably queued; the pull (OAuth 2, getmeas) runs right after, and is retried until it succeeds.",
        response: { 200: z.object({ queued: z.boolean(), pull: z.number().int().nullable(), ignored: z.record(z.string(), z.number().int()) }) },
      },
    },
    handle<{ org: string; token: string }>('withings', async (req, reply) => {
      await withingsToken(req.params.org, req.params.token);
      const n = parseWithingsNotification(raw(req).toString('utf8'));
      const ignore = (reason: string): FastifyReply => {
        ctx.metrics.vendorIgnored('withings', reason, 1);
        return reply.code(200).send({ queued: false, pull: null, ignored: { [reason]: 1 } });
      };
      if (n.action !== null) return ignore('profile-event');
      if (!PULLED_APPLI.has(n.appli)) return ignore('unsupported-appli');
      // Unbound: nothing to pull with. Still 200, or Withings would drop the whole subscription.
      if ((await ctx.vendors.binding(req.params.org, 'withings', n.userId)) === undefined) return ignore('unbound-user');
      const pull = await ctx.vendors.queuePull(req.params.org, 'withings', n.userId, n.fromMs, n.toMs, 'notification');
      return reply.code(200).send({ queued: true, pull: pull.id, ignored: {} });
    }),
  );

  app.post(
    '/bodytrace/:org/measurements',
    {
      onRequest: [admission],
      ...plain,
      schema: {
        summary: 'BodyTrace scale message (HTTP basic auth)',
        description: "Bound by `deviceId`. `values.weight` is grams; a tare above 0.1 kg is refused as a calibration error (RPM_ERR_READING_CALIBRATION); battery voltage updates the device status.",
        tags,
        params: orgParams,
        response: { 200: vendorIngestResponse },
      },
    },
    handle<{ org: string }>('bodytrace', async (req, reply) => {
      const authorization = header(req, 'authorization');
      if (authorization === undefined) {
        void reply.header('www-authenticate', 'Basic realm="rpm-gateway"');
        throw new RpmError('RPM_ERR_AUTH_MISSING', 'send the BodyTrace credentials as HTTP basic authentication');
      }
      const conn = await ctx.vendors.connection(req.params.org, 'bodytrace');
      if (conn === undefined || !bodytraceAuthorized(conn.settings, authorization)) throw unauthorized('BodyTrace');
      return answer(reply, await ingest(req.params.org, 'bodytrace', raw(req), translateBodyTrace));
    }),
  );

  app.post(
    '/open-mhealth/:org/users/:user/data-points',
    {
      onRequest: [admission],
      ...plain,
      schema: {
        summary: 'Open mHealth (IEEE 1752.1) data points of one user: one {header, body} or an array',
        description:
          "`Authorization: Bearer <the organization's Open mHealth token>`. `:user` is bound to a device like any vendor id. Takes blood-pressure, body-weight, blood-glucose, oxygen-saturation, heart-rate and body-temperature; other schemas are counted in `ignored`.",
        tags,
        params: orgParams.extend({ user: externalId }),
        response: { 200: vendorIngestResponse },
      },
    },
    handle<{ org: string; user: string }>('open-mhealth', async (req, reply) => {
      const authorization = header(req, 'authorization');
      if (authorization === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send the Open mHealth token as `Authorization: Bearer <token>`');
      const conn = await ctx.vendors.connection(req.params.org, 'open-mhealth');
      if (conn === undefined || !openMhealthAuthorized(conn.settings, authorization)) throw unauthorized('Open mHealth');
      return answer(reply, await ingest(req.params.org, 'open-mhealth', raw(req), (json) => translateOpenMhealth(req.params.user, json)));
    }),
  );

  app.post(
    '/validic/:org/measurements',
    {
      onRequest: [admission],
      ...plain,
      schema: {
        summary: 'Validic Inform measurement records (Push Service)',
        description:
          'Signed as Validic documents: X-Validic-Signature = base64(HMAC-SHA1(application secret, organization access token + "notification" + X-Validic-Timestamp)); a timestamp outside the replay window answers 401 RPM_ERR_AUTH_SIGNATURE_EXPIRED. Bound by the user `uid`.',
        tags,
        params: orgParams,
        response: { 200: vendorIngestResponse },
      },
    },
    handle<{ org: string }>('validic', async (req, reply) => {
      const conn = await ctx.vendors.connection(req.params.org, 'validic');
      const sig = { signature: header(req, 'x-validic-signature'), timestamp: header(req, 'x-validic-timestamp') };
      if (conn === undefined) {
        if (sig.signature === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send X-Validic-Signature and X-Validic-Timestamp');
        throw unauthorized('Validic');
      }
      const now = ctx.clock.now();
      verifyValidic(conn.settings, sig, now);
      const body = raw(req);
      const sha = sha256Hex(body);
      // The signature does not cover the body: one signature, one body.
      if (!validicWindow.admit(sig.signature ?? '', sha, now, conn.settings.replayWindowSeconds * 1000)) {
        throw new RpmError('RPM_ERR_AUTH_INVALID', 'this X-Validic-Signature was already used with another body');
      }
      return answer(reply, await ingest(req.params.org, 'validic', body, translateValidic, sha));
    }),
  );

  const nightscout = handle<{ org: string; site: string }>('nightscout', async (req, reply) => {
    const presented = header(req, 'api-secret');
    if (presented === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', "send the SHA-1 of the site's API secret as the `api-secret` header");
    const conn = await ctx.vendors.connection(req.params.org, 'nightscout');
    const site = conn === undefined ? undefined : await ctx.vendors.binding(req.params.org, 'nightscout', req.params.site);
    const secret = site?.credentials?.type === 'nightscout' ? site.credentials.apiSecret : undefined;
    if (secret === undefined || !nightscoutAuthorized(secret, presented)) throw new RpmError('RPM_ERR_AUTH_INVALID', 'api-secret does not match this Nightscout site');
    return answer(reply, await ingest(req.params.org, 'nightscout', raw(req), (json) => translateNightscout(req.params.site, json)));
  });
  const nightscoutOptions = {
    onRequest: [admission],
    ...plain,
    schema: {
      summary: "Nightscout entries upload (a CGM uploader's /api/v1/entries)",
      description:
        "Point the uploader (xDrip+, a Dexcom Share bridge, …) at `…/vendors/nightscout/{org}/{site}` with the site's API secret: it sends `api-secret: <SHA-1 hex>`. `sgv` entries are CGM glucose with their trend (`direction`) and `noise`; `mbg` fingersticks; `cal` and special sensor codes are counted in `ignored`. The same entry from two uploaders is one reading.",
      tags,
      params: orgParams.extend({ site: externalId }),
      response: { 200: vendorIngestResponse },
    },
  };
  app.post('/nightscout/:org/:site/api/v1/entries', nightscoutOptions, nightscout);
  app.post('/nightscout/:org/:site/api/v1/entries.json', nightscoutOptions, nightscout);
}
