import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RpmErrorCode } from '../../core/errors/codes.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import {
  backfillInput,
  createDestinationInput,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  type Destination,
  type PatientLink,
  patientLinkInput,
  patientMapping,
  updateDestinationInput,
} from '../../core/model/destination.js';
import { entityId } from '../../core/model/registry.js';
import type { DeliveryRecord } from '../../core/ports/forwarding-store.js';
import type { GatewayContext } from '../context.js';
import { adminAuthHook } from './auth-hooks.js';

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** Credentials are write-only: the view says which kind and who, never the secret. */
const destinationView = z.object({
  id: z.string(),
  organizationId: z.string(),
  baseUrl: z.string(),
  auth: z.object({
    type: z.enum(['none', 'basic', 'bearer', 'smart-backend']),
    username: z.string().optional(),
    clientId: z.string().optional(),
    tokenUrl: z.string().optional(),
    scope: z.string().optional(),
    alg: z.string().optional(),
    keyId: z.string().optional(),
  }),
  patientMapping,
  kinds: z.array(z.string()),
  enabled: z.boolean(),
  batchSize: z.number().int().nullable(),
  appointments: z.boolean().describe('Also takes visits as FHIR Appointments'),
  encounters: z.boolean().describe('Also takes video visits as FHIR Encounters'),
  practitioners: z.record(z.string(), z.string()).describe("Staff id → the EHR's Practitioner reference"),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function toDestinationView(d: Destination): z.infer<typeof destinationView> {
  const a = d.auth;
  const auth =
    a.type === 'basic'
      ? { type: a.type, username: a.username }
      : a.type === 'smart-backend'
        ? { type: a.type, clientId: a.clientId, scope: a.scope, alg: a.alg, ...(a.tokenUrl === undefined ? {} : { tokenUrl: a.tokenUrl }), ...(a.keyId === undefined ? {} : { keyId: a.keyId }) }
        : { type: a.type };
  return {
    id: d.id,
    organizationId: d.organizationId,
    baseUrl: d.baseUrl,
    auth,
    patientMapping: d.patientMapping,
    kinds: [...d.kinds],
    enabled: d.enabled,
    batchSize: d.batchSize,
    appointments: d.appointments === true,
    encounters: d.encounters === true,
    practitioners: { ...(d.practitioners ?? {}) },
    createdAt: new Date(d.createdAtMs).toISOString(),
    updatedAt: new Date(d.updatedAtMs).toISOString(),
  };
}

const counts = z.object({ pending: z.number().int(), failed: z.number().int(), delivered: z.number().int(), dead: z.number().int() });
const destinationStatusView = destinationView.extend({
  deliveries: counts,
  oldestWaitingSince: z.string().nullable().describe('When the oldest pending or failed delivery was queued'),
  circuit: z.object({ state: z.enum(['closed', 'open', 'half-open']), consecutiveFailures: z.number().int(), reopensAt: z.string().nullable() }).nullable().describe('null while paused'),
  batching: z
    .object({ configured: z.number().int(), current: z.number().int(), reason: z.string().nullable() })
    .nullable()
    .describe('Readings per exchange: fewer than configured after timeouts, and why; null while paused'),
  server: z.object({ interaction: z.string(), batch: z.boolean() }).nullable().describe('Chosen from the CapabilityStatement, once read'),
});

const patientLinkView = z.object({
  patientId: z.string(),
  identifier: z.string().nullable().describe("The patient's identifier (e.g. MRN) under the destination's system, as an admin set it"),
  reference: z.string().nullable().describe("The EHR's Patient"),
  referenceSource: z.enum(['admin', 'search']).nullable(),
  updatedAt: z.string(),
});

const toPatientLinkView = (l: PatientLink): z.infer<typeof patientLinkView> => ({
  patientId: l.patientId,
  identifier: l.identifier,
  reference: l.reference,
  referenceSource: l.referenceSource,
  updatedAt: new Date(l.updatedAtMs).toISOString(),
});

const deliveryView = z.object({
  seq: z.number().int(),
  destinationId: z.string(),
  readingId: z.string(),
  deviceId: z.string(),
  patientId: z.string().nullable(),
  kind: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  outcome: z.unknown().describe("The FHIR server's OperationOutcome (dead letters)"),
  refs: z.array(z.string()).describe('What the FHIR server calls the delivered resources'),
});

function toDeliveryView(r: DeliveryRecord): z.infer<typeof deliveryView> {
  return {
    seq: r.seq,
    destinationId: r.destinationId,
    readingId: r.readingId,
    deviceId: r.deviceId,
    patientId: r.patientId,
    kind: r.kind,
    status: r.status,
    attempts: r.attempts,
    createdAt: new Date(r.createdAtMs).toISOString(),
    lastAttemptAt: iso(r.lastAttemptAtMs),
    nextAttemptAt: iso(r.nextAttemptAtMs),
    deliveredAt: iso(r.deliveredAtMs),
    error: r.errorCode === null ? null : { code: r.errorCode, message: r.errorMessage ?? '' },
    outcome: r.outcome ?? null,
    refs: [...r.refs],
  };
}

const STATUS_SET: ReadonlySet<string> = new Set(DELIVERY_STATUSES);

function parseStatuses(value: string | undefined): DeliveryStatus[] | undefined {
  if (value === undefined) return undefined;
  const statuses = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of statuses) {
    if (!STATUS_SET.has(s)) throw new RpmError('RPM_ERR_REQUEST_INVALID', `unknown delivery status '${s}' (${DELIVERY_STATUSES.join(', ')})`, { path: '/querystring/status' });
  }
  return statuses as DeliveryStatus[];
}

const tags = ['fhir-forwarding'];
const security = [{ adminToken: [] }];
const idParams = z.object({ id: entityId });

/** FHIR destinations per organization and the delivery outbox, behind the admin token. */
export async function fhirAdminRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuthHook(ctx));
  const audit = (req: FastifyRequest, action: string, subject: string, details: Record<string, string | number | boolean | null> | null = null): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'admin', action, subject, outcome: 'success', sourceIp: req.ip, details });

  app.post(
    '/v1/admin/fhir/destinations',
    {
      schema: {
        summary: "Add an EHR (FHIR R4 server) that receives an organization's readings as Observations",
        description: 'Credentials (basic password, bearer token, SMART private key) are stored and never shown again.',
        tags,
        security,
        body: createDestinationInput,
        response: { 201: destinationView },
      },
    },
    async (req, reply) => {
      const d = await ctx.forwarding.createDestination(req.body);
      await audit(req, 'fhir.destination.create', `fhir-destination:${d.id}`);
      return reply.code(201).send(toDestinationView(d));
    },
  );

  app.get(
    '/v1/admin/fhir/destinations',
    {
      schema: {
        summary: 'List FHIR destinations',
        tags,
        security,
        querystring: z.object({ organizationId: entityId.optional() }),
        response: { 200: z.object({ destinations: z.array(destinationView) }) },
      },
    },
    async (req) => ({ destinations: (await ctx.forwarding.listDestinations(req.query.organizationId)).map(toDestinationView) }),
  );

  app.get(
    '/v1/admin/fhir/destinations/:id',
    {
      schema: {
        summary: 'A FHIR destination with its delivery counts, circuit breaker and what its server supports',
        tags,
        security,
        params: idParams,
        response: { 200: destinationStatusView },
      },
    },
    async (req) => {
      const s = await ctx.forwarding.status(req.params.id);
      return {
        ...toDestinationView(s.destination),
        deliveries: s.deliveries,
        oldestWaitingSince: iso(s.oldestWaitingSinceMs),
        circuit: s.circuit === undefined ? null : { state: s.circuit.state, consecutiveFailures: s.circuit.consecutiveFailures, reopensAt: iso(s.circuit.reopensAtMs) },
        batching: s.batching ?? null,
        server: s.server ?? null,
      };
    },
  );

  app.patch(
    '/v1/admin/fhir/destinations/:id',
    {
      schema: {
        summary: 'Change a FHIR destination (URL, credentials, patient mapping, kinds, enabled, batch size)',
        description: 'Applies to readings committed from now on; the server capabilities are read again.',
        tags,
        security,
        params: idParams,
        body: updateDestinationInput,
        response: { 200: destinationView },
      },
    },
    async (req) => {
      const d = await ctx.forwarding.updateDestination(req.params.id, req.body);
      await audit(req, 'fhir.destination.update', `fhir-destination:${d.id}`);
      return toDestinationView(d);
    },
  );

  for (const [verb, summary] of [
    ['pause', 'Pause a destination: readings keep being queued for it (nothing is dropped) and are sent once it is resumed'],
    ['resume', 'Resume a paused destination: what was queued meanwhile is sent, oldest first'],
  ] as const) {
    app.post(
      `/v1/admin/fhir/destinations/:id/${verb}`,
      { schema: { summary, tags, security, params: idParams, response: { 200: destinationView } } },
      async (req) => {
        const d = verb === 'pause' ? await ctx.forwarding.pause(req.params.id) : await ctx.forwarding.resume(req.params.id);
        await audit(req, `fhir.destination.${verb}`, `fhir-destination:${d.id}`);
        return toDestinationView(d);
      },
    );
  }

  app.post(
    '/v1/admin/fhir/destinations/:id/backfill',
    {
      schema: {
        summary: 'Send the destination every reading since a time that it has not been sent yet',
        description:
          "Queues the readings of the organization's patients measured in [since, until) of the given kinds (default: the destination's) that have no delivery to this destination: readings from before it existed, of a kind it did not take then, or attributed before. Exactly once: never a second delivery of a reading, and the EHR deduplicates on the Observation identifier. Audited.",
        tags,
        security,
        params: idParams,
        body: backfillInput,
        response: { 200: z.object({ queued: z.number().int(), kinds: z.array(z.string()) }) },
      },
    },
    async (req) => {
      const result = await ctx.forwarding.backfill(req.params.id, req.body);
      await audit(req, 'fhir.destination.backfill', `fhir-destination:${req.params.id}`, {
        since: req.body.since,
        until: req.body.until ?? null,
        kinds: result.kinds.join(','),
        queued: result.queued,
      });
      return result;
    },
  );

  const patientParams = z.object({ id: entityId, patientId: entityId });
  app.get(
    '/v1/admin/fhir/destinations/:id/patients',
    {
      schema: {
        summary: "How the destination's EHR knows patients: identifiers and Patient references set by admins or found by search",
        tags,
        security,
        params: idParams,
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), after: entityId.optional().describe('`next` of the previous page') }),
        response: { 200: z.object({ patients: z.array(patientLinkView), next: z.string().nullable() }) },
      },
    },
    async (req) => {
      const links = await ctx.forwarding.listPatientLinks(req.params.id, { limit: req.query.limit, ...(req.query.after === undefined ? {} : { afterPatientId: req.query.after }) });
      // Patient identifiers (MRNs) are PHI: the read is audited.
      await audit(req, 'fhir.patients.read', `fhir-destination:${req.params.id}`, { count: links.length });
      return { patients: links.map(toPatientLinkView), next: links.length === req.query.limit ? (links.at(-1)?.patientId ?? null) : null };
    },
  );

  app.put(
    '/v1/admin/fhir/destinations/:id/patients/:patientId',
    {
      schema: {
        summary: "Map a patient at the destination's EHR: their identifier there (e.g. MRN) and/or the EHR's Patient",
        description:
          "`reference` (`Patient/{id}`) is used as it is, whatever the patient mapping; `identifier` replaces our patient id as the value looked up or referenced under the destination's system. Readings that waited as dead letters for this patient are sent again at once. Identifiers are stored encrypted.",
        tags,
        security,
        params: patientParams,
        body: patientLinkInput,
        response: { 200: patientLinkView.extend({ requeued: z.number().int().describe('Dead letters of the patient sent again') }) },
      },
    },
    async (req) => {
      const { link, requeued } = await ctx.forwarding.setPatientLink(req.params.id, req.params.patientId, req.body);
      await audit(req, 'fhir.patient.map', `patient:${req.params.patientId}`, { destination: req.params.id, requeued });
      return { ...toPatientLinkView(link), requeued };
    },
  );

  app.delete(
    '/v1/admin/fhir/destinations/:id/patients/:patientId',
    {
      schema: {
        summary: "Forget how the destination's EHR knows a patient (a search runs again where the mapping searches)",
        tags,
        security,
        params: patientParams,
        response: { 204: z.null() },
      },
    },
    async (req, reply) => {
      const deleted = await ctx.forwarding.deletePatientLink(req.params.id, req.params.patientId);
      if (!deleted) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'no mapping recorded for this patient at this destination');
      await audit(req, 'fhir.patient.unmap', `patient:${req.params.patientId}`, { destination: req.params.id });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/admin/fhir/deliveries',
    {
      schema: {
        summary: 'Deliveries in outbox order: pending, failed (retrying), delivered, dead (refused by the EHR)',
        tags,
        security,
        querystring: z.object({
          destinationId: entityId.optional(),
          status: z.string().max(100).optional().describe(`Comma-separated: ${DELIVERY_STATUSES.join(', ')}`),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          after: z.coerce.number().int().min(0).optional().describe('`next` of the previous page'),
        }),
        response: { 200: z.object({ deliveries: z.array(deliveryView), next: z.number().int().nullable() }) },
      },
    },
    async (req) => {
      const statuses = parseStatuses(req.query.status);
      const rows = await ctx.forwarding.listDeliveries({
        limit: req.query.limit,
        ...(req.query.destinationId === undefined ? {} : { destinationId: req.query.destinationId }),
        ...(statuses === undefined ? {} : { statuses }),
        ...(req.query.after === undefined ? {} : { afterSeq: req.query.after }),
      });
      // The outbox names readings and devices and may hold an EHR's echo of a reading: audited.
      await audit(req, 'fhir.deliveries.read', `fhir-destination:${req.query.destinationId ?? '*'}`, { count: rows.length });
      return { deliveries: rows.map(toDeliveryView), next: rows.length === req.query.limit ? (rows.at(-1)?.seq ?? null) : null };
    },
  );

  app.post(
    '/v1/admin/fhir/deliveries/retry',
    {
      schema: {
        summary: 'Send failed and dead-lettered deliveries again now',
        description: 'Selects by destination, status (default failed and dead) and/or outbox positions (`seqs`).',
        tags,
        security,
        body: z.object({
          destinationId: entityId.optional(),
          status: z.array(z.enum(['failed', 'dead'])).min(1).default(['failed', 'dead']),
          seqs: z.array(z.number().int().min(1)).min(1).max(1000).optional(),
          codes: z.array(z.string().regex(/^RPM_ERR_[A-Z_]+$/)).min(1).max(20).optional().describe('Only deliveries whose last error has one of these codes'),
          patientId: entityId.optional().describe("Only this patient's readings"),
        }),
        response: { 200: z.object({ requeued: z.number().int() }) },
      },
    },
    async (req) => {
      const requeued = await ctx.forwarding.retry({
        statuses: req.body.status,
        ...(req.body.destinationId === undefined ? {} : { destinationId: req.body.destinationId }),
        ...(req.body.seqs === undefined ? {} : { seqs: req.body.seqs }),
        ...(req.body.codes === undefined ? {} : { codes: req.body.codes as RpmErrorCode[] }),
        ...(req.body.patientId === undefined ? {} : { patientId: req.body.patientId }),
      });
      await audit(req, 'fhir.deliveries.retry', `fhir-destination:${req.body.destinationId ?? '*'}`, { requeued });
      return { requeued };
    },
  );
}
