import rateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { statusOf } from '../../core/errors/codes.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import { parseJsonPayload } from '../../core/json/parse-json.js';
import type { Device } from '../../core/model/registry.js';
import type { ReadingProblem } from '../../pipeline/normalize.js';
import type { IngestResult, ReadingOutcome } from '../../pipeline/ingest.js';
import type { GatewayContext } from '../context.js';
import { observationToReading, type Translation } from '../fhir/observation-input.js';
import { observationId, parseObservationId } from '../fhir/observation-id.js';
import { errorIssue, FHIR_CONTENT_TYPE, informationIssue, type OperationOutcome, operationOutcome, statusLine } from '../fhir/operation-outcome.js';
import { bearerToken } from '../auth/admin-token.js';
import { admissionHook, deviceAuthHook } from './auth-hooks.js';
import { adminOrStaffAuthHook } from './staff-auth.js';
import { noteRefusal } from './request-observer.js';
import { toRpmError } from './error-handler.js';

const bundleIn = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.enum(['batch', 'transaction']),
  entry: z.array(z.looseObject({ resource: z.unknown().optional(), request: z.looseObject({ method: z.string(), url: z.string() }).optional() })).optional(),
});

/** Where the accepted (or already stored) reading can be read back, when the store said where it is. */
const locationOf = (o: { id: string; seq?: number }): string | undefined => (o.seq === undefined ? undefined : `Observation/${observationId(o.seq, o.id)}`);

const isObservationCreate = (request: { method: string; url: string } | undefined): boolean =>
  request !== undefined && request.method.toUpperCase() === 'POST' && /(?:^|\/)Observation\/?$/.test(request.url.split('?')[0] ?? '');

/** Where a canonical field of entry `index` came from, as FHIRPath from the request root. */
function locator(translations: readonly Translation[], root: (index: number) => string) {
  return (index: number, path: string): string => {
    const below = translations[index]?.from.get(path) ?? '';
    if (below.startsWith('request')) return `${root(index).replace(/\.resource$/, '')}.${below}`;
    return below === '' ? root(index) : `${root(index)}.${below}`;
  };
}

function refusedOf(translations: readonly Translation[]): Map<number, ReadingProblem> {
  const refused = new Map<number, ReadingProblem>();
  translations.forEach((t, i) => {
    if (!t.ok) refused.set(i, t.problem);
  });
  return refused;
}

function outcomeOf(o: ReadingOutcome): OperationOutcome {
  if (o.status === 'rejected') return operationOutcome([errorIssue(o.code, o.message, o.path)]);
  return operationOutcome([informationIssue(o.status === 'accepted' ? `accepted as reading ${o.id}` : `already received as reading ${o.id}`)]);
}

function entryOf(o: ReadingOutcome): { response: { status: string; location?: string; outcome: OperationOutcome } } {
  if (o.status === 'rejected') return { response: { status: statusLine(statusOf(o.code)), outcome: outcomeOf(o) } };
  const location = locationOf(o);
  return { response: { status: statusLine(o.status === 'accepted' ? 201 : 200), ...(location === undefined ? {} : { location }), outcome: outcomeOf(o) } };
}

function sendOutcome(reply: FastifyReply, status: number, outcome: OperationOutcome): FastifyReply {
  return reply.code(status).type(FHIR_CONTENT_TYPE).send(outcome);
}

/**
 * FHIR in, under /fhir: `POST /fhir/Observation` and `POST /fhir` (batch or transaction Bundle
 * of Observation creates), authenticated with the device secret exactly like /v1/readings. Each
 * Observation is translated into a canonical reading and handed to the same IngestService, so
 * validation, idempotency (the Observation's identifier is the client id) and the durable
 * acknowledgement are identical. Every answer, errors included, is FHIR: an OperationOutcome
 * carrying our stable code in `issue.details.coding`, or a batch/transaction-response Bundle.
 */
export async function fhirRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  // The one JSON parser of every input (core/json/parse-json.ts).
  app.addContentTypeParser('application/fhir+json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonPayload(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const rpm = toRpmError(err);
    const status = statusOf(rpm.code);
    if (status >= 500 && rpm.code !== 'RPM_ERR_OVERLOADED' && rpm.code !== 'RPM_ERR_SHUTTING_DOWN') req.log.error({ err }, 'FHIR request failed');
    if (rpm.retryAfterSeconds !== undefined) void reply.header('retry-after', String(rpm.retryAfterSeconds));
    noteRefusal(reply, rpm.code);
    return sendOutcome(reply, status, operationOutcome([errorIssue(rpm.code, rpm.message, rpm.path)]));
  });
  app.setNotFoundHandler((req, reply) =>
    sendOutcome(noteRefusal(reply, 'RPM_ERR_NOT_FOUND'), 404, operationOutcome([errorIssue('RPM_ERR_NOT_FOUND', `no FHIR interaction for this ${req.method} request; see GET /fhir/metadata`)])),
  );
  await app.register(rateLimit, {
    global: false,
    hook: 'preParsing',
    keyGenerator: (req) => req.device?.device.id ?? req.ip,
    errorResponseBuilder: (_req, context) =>
      new RpmError('RPM_ERR_RATE_LIMITED', `at most ${context.max} requests per minute per device; retry in ${Math.ceil(context.ttl / 1000)} s`, { retryAfterSeconds: Math.ceil(context.ttl / 1000) }),
  });

  const startedAt = new Date(ctx.clock.now()).toISOString();
  app.get('/metadata', { schema: { summary: 'CapabilityStatement of the FHIR input', tags: ['fhir'] } }, async (_req, reply) =>
    reply.type(FHIR_CONTENT_TYPE).send({
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: startedAt,
      kind: 'instance',
      fhirVersion: '4.0.1',
      format: ['application/fhir+json', 'application/json'],
      implementation: { description: 'RPM gateway: vital-sign Observations from personal health devices and gateways' },
      rest: [
        {
          mode: 'server',
          security: { description: 'Authorization: Bearer <device secret>, as for POST /v1/readings' },
          resource: [{ type: 'Observation', interaction: [{ code: 'create' }, { code: 'read' }] }],
          interaction: [{ code: 'batch' }, { code: 'transaction' }],
        },
      ],
    }),
  );

  const device = (req: { device: { device: Device } | null }): Device => {
    if (req.device === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
    ctx.presence.seen(req.device.device.id, ctx.clock.now());
    return req.device.device;
  };
  const routeOptions = {
    onRequest: [admissionHook(ctx), deviceAuthHook(ctx)],
    config: { rateLimit: { max: ctx.config.http.rateLimitPerDevicePerMin, timeWindow: 60_000 } },
  };
  const ingest = (sender: Device, translations: readonly Translation[], root: (i: number) => string, atomic: boolean): Promise<IngestResult> =>
    ctx.ingest.ingest({
      device: sender,
      readings: translations.map((t) => (t.ok ? t.reading : null)),
      transport: 'http',
      payloadSha256: null,
      refused: refusedOf(translations),
      locate: locator(translations, root),
      atomic,
    });

  app.post(
    '/Observation',
    {
      ...routeOptions,
      schema: {
        summary: 'Submit one vital-sign Observation (FHIR R4) from an authenticated device or hub',
        description: '201 once durably committed, 200 if already received (same identifier), 4xx OperationOutcome with our code otherwise.',
        tags: ['fhir'],
        security: [{ deviceSecret: [] }],
      },
    },
    async (req, reply) => {
      const sender = device(req);
      const result = await ingest(sender, [observationToReading(req.body)], () => 'Observation', false);
      const o = result.outcomes[0];
      if (o === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'no outcome for the Observation');
      if (o.status === 'rejected') return sendOutcome(reply, statusOf(o.code), outcomeOf(o));
      const location = locationOf(o);
      if (location !== undefined) void reply.header('location', location);
      return sendOutcome(reply, o.status === 'accepted' ? 201 : 200, outcomeOf(o));
    },
  );

  const bundle = async (req: { body: unknown; device: { device: Device } | null }, reply: FastifyReply): Promise<FastifyReply> => {
    const sender = device(req);
    const parsed = bundleIn.safeParse(req.body);
    if (!parsed.success) throw new RpmError('RPM_ERR_FHIR_INVALID', 'POST /fhir takes a Bundle of type batch or transaction', { path: 'Bundle.type' });
    const entries = parsed.data.entry ?? [];
    if (entries.length === 0) throw new RpmError('RPM_ERR_REQUEST_NO_READINGS', 'the Bundle has no entries', { path: 'Bundle.entry' });
    const max = ctx.config.ingest.maxReadingsPerRequest;
    if (entries.length > max) {
      throw new RpmError('RPM_ERR_REQUEST_TOO_MANY_READINGS', `at most ${max} entries per Bundle`, { path: 'Bundle.entry', details: { max, received: entries.length } });
    }
    const translations: Translation[] = entries.map((e) =>
      isObservationCreate(e.request)
        ? observationToReading(e.resource)
        : {
            ok: false,
            problem: { code: 'RPM_ERR_FHIR_INVALID', path: '/fhir', message: 'only Observation creates (request.method POST, request.url Observation) are accepted' },
            from: new Map([['/fhir', 'request']]),
          },
    );
    const transaction = parsed.data.type === 'transaction';
    const result = await ingest(sender, translations, (i) => `Bundle.entry[${i}].resource`, transaction);
    if (transaction && result.rejected > 0) {
      const failures = result.outcomes.filter((o) => o.status === 'rejected' && o.code !== 'RPM_ERR_FHIR_TRANSACTION_ROLLED_BACK');
      const issues = failures.flatMap((o) => (o.status === 'rejected' ? [errorIssue(o.code, o.message, o.path)] : []));
      const structural = failures.some((o) => o.status === 'rejected' && statusOf(o.code) === 400);
      return sendOutcome(reply, structural ? 400 : 422, operationOutcome(issues));
    }
    return reply
      .code(200)
      .type(FHIR_CONTENT_TYPE)
      .send({ resourceType: 'Bundle', type: transaction ? 'transaction-response' : 'batch-response', entry: result.outcomes.map(entryOf) });
  };
  const bundleSchema = {
    summary: 'Submit a batch or transaction Bundle of vital-sign Observations (FHIR R4)',
    description:
      'batch: each entry stands alone, answered in a batch-response Bundle (201/200/4xx per entry). transaction: all entries are committed or none, answered with a transaction-response Bundle or an OperationOutcome naming the failing entries.',
    tags: ['fhir'],
    security: [{ deviceSecret: [] }],
  };
  // With the /fhir prefix this answers both /fhir and /fhir/ (fhir-kit-client posts to `${base}/`).
  app.post('/', { ...routeOptions, schema: bundleSchema }, bundle);

  const notFound = (): RpmError => new RpmError('RPM_ERR_FHIR_OBSERVATION_NOT_FOUND', 'no such Observation, or not yours to read');
  app.get(
    '/Observation/:id',
    {
      onRequest: [readerAuthHook(ctx)],
      config: { rateLimit: { max: ctx.config.http.rateLimitPerDevicePerMin, timeWindow: 60_000 } },
      schema: {
        summary: 'Read an Observation FHIR in accepted (the `Location` of its create)',
        description:
          'For the device that measured or relayed it (its device secret), for staff who may see its patient (a session token; 404 otherwise, never 403), and for the admin token. Every read is audited.',
        tags: ['fhir'],
        security: [{ deviceSecret: [] }, { staffSession: [] }, { adminToken: [] }],
        params: z.object({ id: z.string().max(64) }),
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const parsed = parseObservationId(id);
      if (parsed === undefined) throw notFound();
      const reading = await ctx.readings.readingAt(parsed.seq);
      if (reading === undefined || reading.id !== parsed.readingId) throw notFound();
      const device = req.device?.device;
      if (device !== undefined) {
        if (reading.deviceId !== device.id && reading.hubId !== device.id) throw notFound();
      } else if (req.staff !== null) {
        if (reading.patientId === null || !(await ctx.staff.canSeePatient(req.staff, reading.patientId))) throw notFound();
      } else if (req.actor !== 'admin') {
        throw notFound();
      }
      await ctx.audit.record({
        atMs: ctx.clock.now(),
        actor: req.actor ?? 'unknown',
        action: 'fhir.observation.read',
        subject: reading.patientId === null ? `device:${reading.deviceId}` : `patient:${reading.patientId}`,
        outcome: 'success',
        sourceIp: req.ip,
        details: { readingId: reading.id },
      });
      // A device sees what it measured, not whose it is.
      const view = await ctx.observationView(reading, { id, withPatient: device === undefined });
      return reply.type(FHIR_CONTENT_TYPE).send(view);
    },
  );
}

/**
 * Who may read an Observation back: a device (its secret, `rpmd_…`), the admin token, or a
 * staff session. Sets `req.device`, `req.staff` and `req.actor` as the other hooks do.
 */
function readerAuthHook(ctx: GatewayContext) {
  const device = deviceAuthHook(ctx);
  const people = adminOrStaffAuthHook(ctx);
  return async (req: FastifyRequest): Promise<void> => {
    req.device = null;
    req.staff = null;
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send a device secret, a session token or the admin token as `Authorization: Bearer <token>`');
    return token.startsWith('rpmd_') ? device(req) : people(req);
  };
}
