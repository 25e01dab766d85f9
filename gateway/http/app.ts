import swagger from '@fastify/swagger';
import type https from 'node:https';
import Fastify, { type FastifyBaseLogger, type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { parseJsonPayload } from '../../core/json/parse-json.js';
import type { GatewayContext } from '../context.js';
import { adminRoutes } from './admin-routes.js';
import { auditRoutes } from './audit-routes.js';
import { billingRoutes } from './billing-routes.js';
import { rosterRoutes } from './roster-routes.js';
import { orgAdminRoutes } from './org-admin-routes.js';
import { authRoutes } from './auth-routes.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { observationRoutes } from '../worklist/observation-routes.js';
import { preferencesRoutes } from './preferences-routes.js';
import { careRoutes } from '../worklist/care-routes.js';
import { worklistRoutes } from '../worklist/worklist-routes.js';
import { installErrorHandler } from './error-handler.js';
import { installRequestObserver } from './request-observer.js';
import { lazyChildLogger } from './lazy-child-logger.js';
import { clientErrorHandler, frameworkErrorHandler, installSecurityHeaders } from './security-headers.js';
import { docsRoutes } from './docs-routes.js';
import { fhirAdminRoutes } from './fhir-admin-routes.js';
import { fhirRoutes } from './fhir-routes.js';
import { healthRoutes } from './health-routes.js';
import { ingestRoutes } from './ingest-routes.js';
import { metricsRoutes } from './metrics-routes.js';
import { patientRoutes } from './patient-routes.js';
import { patientIdentityRoutes } from './patient-identity-routes.js';
import { calendarFeedRoutes, schedulingRoutes } from './scheduling-routes.js';
import { smsWebhookRoutes } from './sms-webhook-routes.js';
import { staffAdminRoutes } from './staff-admin-routes.js';
import { securityRoutes } from './security-routes.js';
import { ssoRoutes } from './sso-routes.js';
import { staffReadRoutes } from './staff-read-routes.js';
import { vendorAdminRoutes } from './vendor-admin-routes.js';
import { vendorRoutes } from './vendor-routes.js';
import { readingUserRoutes } from '../worklist/reading-user-routes.js';
import { videoWebhookRoutes, visitPatientRoutes, visitRoutes } from '../video/visit-routes.js';
import { visitPageRoutes } from '../video/visit-page-routes.js';
import type { TlsMaterial } from '../tls/tls-reloader.js';

/**
 * Build the HTTP API. Never listens: main.ts does, tests use inject() or listen on port 0. With
 * `tls` (the certificate, key and client CA read by the composition root's TlsReloader) it is
 * HTTPS, TLS 1.2 at least; device client certificates are asked for (never required of browsers)
 * when RPM_DEVICE_CLIENT_CERTS is on and a client CA is configured.
 */
export async function buildApp(ctx: GatewayContext, tls?: TlsMaterial): Promise<FastifyInstance> {
  const askClientCert = tls?.ca !== undefined && ctx.config.tls.deviceCerts !== 'off';
  const options: FastifyServerOptions = {
    loggerInstance: ctx.log as FastifyBaseLogger,
    // Two log lines per request would dominate CPU at device ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // So the per-request child logger (reqId binding) is made only for a request that writes a line.
    childLoggerFactory: lazyChildLogger,
    bodyLimit: ctx.config.http.bodyLimitBytes,
    trustProxy: ctx.config.http.trustProxy,
    // Bodies are only ever read through zod schemas, which copy known keys into fresh objects,
    // so prototype-poisoning keys are inert; skipping the scan keeps JSON parsing at native speed.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    // Not Fastify's own 503 while closing: it is plain JSON without our `code` or Retry-After.
    // Requests that arrive on a kept-alive connection during the drain reach the route instead,
    // where the admission hook answers 503 RPM_ERR_SHUTTING_DOWN as problem+json. (Fastify still
    // marks those responses `Connection: close`, and app.close() waits for them.)
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // 414 / 400 before routing, and the HTTP parser's own errors: problem+json like every answer.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  };
  // An HTTPS server is an http.Server to every route and hook; only the listener differs.
  const app = (
    tls === undefined
      ? Fastify(options)
      : Fastify({ ...options, https: { ...tls, minVersion: 'TLSv1.2', requestCert: askClientCert, rejectUnauthorized: false } } as FastifyHttpsOptions<https.Server>)
  ) as unknown as FastifyInstance;
  app.decorateRequest('device', null);
  app.decorateRequest('actor', null);
  app.decorateRequest('staff', null);
  app.decorateRequest('staffSession', null);
  app.removeContentTypeParser('text/plain');
  // Our parser, not Fastify's: the same rules as MQTT payloads (strict UTF-8, a leading BOM
  // ignored, duplicate keys refused), see core/json/parse-json.ts.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonPayload(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  installRequestObserver(app, ctx.metrics);
  installSecurityHeaders(app, { hstsMaxAgeS: ctx.config.http.hstsMaxAgeS });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'RPM gateway API',
        version: '0.1.0',
        description:
          'Device ingest, administration and reading history. Errors are application/problem+json (RFC 9457) with a stable `code`.',
      },
      components: {
        securitySchemes: {
          deviceSecret: { type: 'http', scheme: 'bearer', description: 'The device secret issued at registration' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'RPM_ADMIN_TOKEN' },
          staffSession: { type: 'http', scheme: 'bearer', description: 'The session token from POST /v1/auth/login' },
          visitSession: { type: 'http', scheme: 'bearer', description: 'A patient’s visit session from POST /v1/visit-links/redeem' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(docsRoutes);

  await app.register(healthRoutes, ctx);
  await app.register(ingestRoutes, ctx);
  await app.register(adminRoutes, ctx);
  await app.register(auditRoutes, ctx);
  await app.register(patientRoutes, ctx);
  await app.register(patientIdentityRoutes, ctx);
  await app.register(schedulingRoutes, ctx);
  await app.register(calendarFeedRoutes, ctx);
  // Twilio's form-encoded webhook: its own body parser, scoped.
  await app.register(async (scope) => smsWebhookRoutes(scope, ctx, ctx.verifyTwilio));
  await app.register(authRoutes, ctx);
  await app.register(staffAdminRoutes, ctx);
  await app.register(securityRoutes, ctx);
  await app.register(ssoRoutes, ctx);
  await app.register(worklistRoutes, ctx);
  await app.register(careRoutes, ctx);
  await app.register(billingRoutes, ctx);
  await app.register(rosterRoutes, ctx);
  await app.register(orgAdminRoutes, ctx);
  await app.register(observationRoutes, ctx);
  await app.register(preferencesRoutes, ctx);
  await app.register(staffReadRoutes, ctx);
  await app.register(metricsRoutes, ctx);
  await app.register(dashboardRoutes, ctx);
  await app.register(fhirAdminRoutes, ctx);
  await app.register(vendorAdminRoutes, ctx);
  await app.register(readingUserRoutes, ctx);
  await app.register(visitRoutes, ctx);
  await app.register(visitPatientRoutes, ctx);
  // Hosted video providers' webhooks: their own raw-body parser (the signature covers the exact bytes).
  await app.register(async (scope) => videoWebhookRoutes(scope, ctx));
  await app.register(visitPageRoutes, ctx);
  // Vendor formats: their own raw-body parser, scoped to /vendors.
  await app.register(async (scope) => vendorRoutes(scope, ctx), { prefix: '/vendors' });
  // FHIR in: its own error handler and parsers (OperationOutcome, application/fhir+json).
  await app.register(async (scope) => fhirRoutes(scope, ctx), { prefix: '/fhir' });
  return app;
}
