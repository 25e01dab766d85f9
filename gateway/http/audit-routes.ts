import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ChainVerifier, GENESIS_HASH, parseAnchor } from '../../core/audit/chain.js';
import { toFhirAuditEvent } from '../../core/audit/fhir-audit-event.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { SealedAuditEntry } from '../../core/ports/audit-log.js';
import type { GatewayContext } from '../context.js';
import { FHIR_CONTENT_TYPE } from '../fhir/operation-outcome.js';
import { adminAuthHook } from './auth-hooks.js';

const tags = ['admin: audit'];
const security = [{ adminToken: [] }];

const entryView = z.object({
  seq: z.number().int(),
  at: z.string(),
  atMs: z.number().int().describe('The instant as hashed (milliseconds since the epoch)'),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  outcome: z.enum(['success', 'denied', 'error']),
  sourceIp: z.string().nullable(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
  patientIds: z.array(z.string()).describe('Patients the access disclosed besides the subject'),
  prevHash: z.string().describe('Hash of the entry before (64 zeros for the first)'),
  hash: z.string().describe('SHA-256 over this entry and prevHash (core/audit/chain.ts)'),
});

const toEntryView = (e: SealedAuditEntry): z.infer<typeof entryView> => ({
  seq: e.seq,
  at: new Date(e.atMs).toISOString(),
  atMs: e.atMs,
  actor: e.actor,
  action: e.action,
  subject: e.subject,
  outcome: e.outcome,
  sourceIp: e.sourceIp,
  details: e.details === null ? null : { ...e.details },
  patientIds: [...e.patientIds],
  prevHash: e.prevHash,
  hash: e.hash,
});

const verification = z.object({
  ok: z.boolean(),
  entries: z.number().int().describe('Entries verified before the first broken one'),
  head: z.object({ seq: z.number().int(), hash: z.string() }).nullable().optional(),
  brokenAt: z.number().int().optional().describe('The first entry that does not verify'),
  reason: z.enum(['sequence-gap', 'previous-hash-mismatch', 'content-hash-mismatch', 'anchor-mismatch']).optional(),
  message: z.string().optional(),
});

const PAGE = 1000;

/**
 * The audit trail for operators (admin token): newest entries, an export oldest first (JSON with
 * the chain fields, or FHIR AuditEvents), the current head to anchor elsewhere, and a server-side
 * verification. `npx rpm audit verify` verifies the export itself rather than trusting the server.
 * Reading the trail is itself audited: it names patients.
 */
export async function auditRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', adminAuthHook(ctx));
  const audited = (req: FastifyRequest, action: string, details: Record<string, string | number | boolean | null> | null = null): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'admin', action, subject: 'audit-log', outcome: 'success', sourceIp: req.ip, details });

  app.get(
    '/v1/admin/audit',
    {
      schema: {
        summary: 'Audit trail, newest first',
        description: '`subject=patient:<id>` finds entries about the patient and entries that disclosed it (worklists, device lists). Page with `before` = the last `seq` seen.',
        tags,
        security,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          subject: z.string().max(300).optional(),
          before: z.coerce.number().int().min(1).optional(),
        }),
        response: { 200: z.object({ entries: z.array(entryView), next: z.number().int().nullable() }) },
      },
    },
    async (req) => {
      const { limit, subject, before } = req.query;
      const entries = await ctx.audit.list({ limit, ...(subject === undefined ? {} : { subjectId: subject }), ...(before === undefined ? {} : { beforeSeq: before }) });
      await audited(req, 'audit.read', subject === undefined ? null : { subject });
      return { entries: entries.map(toEntryView), next: entries.length === limit ? (entries[entries.length - 1]?.seq ?? null) : null };
    },
  );

  app.get(
    '/v1/admin/audit/export',
    {
      schema: {
        summary: 'The audit trail oldest first, for archiving and independent verification',
        description:
          '`format=json` (default): entries with their chain fields. `format=fhir`: a FHIR R4 Bundle (type collection) of AuditEvent resources, the chain in an extension. Page with `after` = the last `seq` (the `next` field or the Bundle\'s next link).',
        tags,
        security,
        querystring: z.object({
          after: z.coerce.number().int().min(0).default(0),
          limit: z.coerce.number().int().min(1).max(PAGE).default(PAGE),
          format: z.enum(['json', 'fhir']).default('json'),
        }),
      },
    },
    async (req, reply) => {
      const { after, limit, format } = req.query;
      const entries = await ctx.audit.range({ afterSeq: after, limit });
      const next = entries.length === limit ? (entries[entries.length - 1]?.seq ?? null) : null;
      await audited(req, 'audit.export', { after, entries: entries.length, format });
      if (format === 'json') return reply.send({ entries: entries.map(toEntryView), next });
      const observer = `RPM gateway (${ctx.config.fhir.systemBase})`;
      return reply.type(FHIR_CONTENT_TYPE).send({
        resourceType: 'Bundle',
        type: 'collection',
        timestamp: new Date(ctx.clock.now()).toISOString(),
        total: entries.length,
        ...(next === null ? {} : { link: [{ relation: 'next', url: `/v1/admin/audit/export?format=fhir&after=${next}&limit=${limit}` }] }),
        entry: entries.map((e) => ({ fullUrl: `urn:rpm-gateway:audit:${e.seq}`, resource: toFhirAuditEvent(e, observer) })),
      });
    },
  );

  app.get(
    '/v1/admin/audit/head',
    {
      schema: {
        summary: 'The newest entry’s position and hash: record it elsewhere (an anchor) to detect a truncated or rewritten log later',
        tags,
        security,
        response: { 200: z.object({ seq: z.number().int(), hash: z.string(), anchor: z.string().describe('`<seq>:<hash>`, as `rpm audit verify --anchor` takes it') }) },
      },
    },
    async () => {
      const head = (await ctx.audit.head()) ?? { seq: 0, hash: GENESIS_HASH };
      return { ...head, anchor: `${head.seq}:${head.hash}` };
    },
  );

  app.get(
    '/v1/admin/audit/verify',
    {
      schema: {
        summary: 'Recompute the whole hash chain on the server; names the first broken link',
        description: 'With `anchor=<seq>:<hash>` (from an earlier /head), also checks that the log still holds that entry unchanged.',
        tags,
        security,
        querystring: z.object({ anchor: z.string().max(100).optional() }),
        response: { 200: verification },
      },
    },
    async (req) => {
      const anchor = req.query.anchor === undefined ? undefined : parseAnchor(req.query.anchor);
      if (req.query.anchor !== undefined && anchor === undefined) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'anchor must be <seq>:<64 hex digits>', { path: '/querystring/anchor' });
      let result;
      if (anchor === undefined) {
        result = await ctx.audit.verify();
      } else {
        const verifier = new ChainVerifier();
        let after = 0;
        for (;;) {
          const page = await ctx.audit.range({ afterSeq: after, limit: PAGE });
          let intact = true;
          for (const e of page) if (!(intact = verifier.checkAnchor(e, anchor) && verifier.add(e))) break;
          if (!intact || page.length < PAGE) break;
          after = page[page.length - 1]?.seq ?? after;
        }
        result = verifier.finish(anchor);
      }
      await audited(req, 'audit.verify', { ok: result.ok });
      if (!result.ok) ctx.log.error({ brokenAt: result.brokenAt, reason: result.reason }, 'audit log verification failed');
      return result;
    },
  );
}
