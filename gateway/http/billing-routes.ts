import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { entityId } from '../../core/model/registry.js';
import type { StoredEpisode } from '../../core/ports/billing-store.js';
import type { Staff } from '../../core/model/staff.js';
import { reportCsv, reportView } from '../../pipeline/billing/report-format.js';
import type { GatewayContext } from '../context.js';
import { requester } from '../worklist/worklist-routes.js';
import { staffAuthHook } from './staff-auth.js';

const security = [{ staffSession: [] }];
const month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/)
  .describe('YYYY-MM: device periods that END in this month, and this calendar month of management time (each in the patient’s time zone)');
const date = z.iso.date();

const codeView = z.object({ code: z.string(), units: z.number().int() });
const lineView = z.object({
  patientId: z.string(),
  kind: z.enum(['device-period', 'management-month']),
  periodKey: z.string().describe('What a sign-off names: `{patientId}/device/{start}` or `{patientId}/management/{YYYY-MM}`'),
  start: z.string().describe('First local date of the period'),
  end: z.string().describe('Last local date of the period (inclusive)'),
  month: z.string().nullable(),
  status: z.enum(['complete', 'in-progress']),
  scheduleId: z.string().describe('The billing schedule in force (e.g. CY2026)'),
  timeZone: z.string().describe("The patient's time zone: days and months are counted in it"),
  billingPractitionerId: z.string().nullable(),
  codes: z.array(codeView),
  evidence: z.object({
    days: z.array(z.string()).nullable().describe('Local dates with at least one automated device reading'),
    dayCount: z.number().int().nullable().describe('days'),
    devices: z.array(z.string()).nullable(),
    readingsCounted: z.number().int().nullable(),
    readingsExcluded: z.object({ manual: z.number().int(), simulated: z.number().int(), flagged: z.number().int() }).nullable(),
    minutes: z.number().int().nullable().describe('Whole minutes of management time, each minute counted once across staff'),
    interactiveContacts: z.number().int().nullable().describe('Real-time interactive (audio/video) contacts in the month'),
    timeEntries: z
      .array(
        z.object({
          entryId: z.string(),
          staffId: z.string(),
          staffName: z.string().nullable(),
          role: z.string(),
          startedAt: z.string(),
          endedAt: z.string().nullable(),
          interactive: z.boolean(),
          modality: z.string().nullable(),
          countedMinutes: z.number().describe('min'),
          note: z.string().nullable(),
        }),
      )
      .nullable(),
  }),
  notes: z.array(z.string()).describe('Why a code is or is not there'),
  signOff: z
    .object({
      signedBy: z.string(),
      signedByName: z.string().nullable(),
      signedAt: z.string(),
      revision: z.number().int(),
      amendments: z.array(z.object({ revision: z.number().int(), amendedBy: z.string(), amendedAt: z.string(), reason: z.string() })),
    })
    .nullable(),
  changedSinceSignOff: z.boolean().describe('The ledger computed now differs from the signed line (late data): an amendment is needed'),
  computedCodes: z.array(codeView).nullable(),
});
const reportResponse = z.object({
  organizationId: z.string(),
  month: z.string(),
  generatedAt: z.string(),
  schedules: z.array(z.string()),
  lines: z.array(lineView),
});

const signOffView = z.object({
  periodKey: z.string(),
  patientId: z.string(),
  signedBy: z.string(),
  signedAt: z.string(),
  revision: z.number().int(),
  amendments: z.array(z.object({ revision: z.number().int(), amendedBy: z.string(), amendedAt: z.string(), reason: z.string() })),
});

const episodeInput = z.object({
  startDate: date.describe('Local date monitoring started: device periods of 30 days start here'),
  endDate: date.nullable().default(null).describe('Last local date of the episode (treatment goals met), null while it runs'),
  timeZone: z.string().min(1).max(64).describe('The patient’s IANA time zone, e.g. America/Chicago'),
  billingPractitionerId: z.string().nullable().default(null).describe('The one physician who bills this patient’s periods'),
  reason: z.string().max(500).nullable().default(null),
});
const episodeView = z.object({
  patientId: z.string(),
  startDate: z.string(),
  endDate: z.string().nullable(),
  timeZone: z.string(),
  billingPractitionerId: z.string().nullable(),
  recorded: z.boolean().describe('false: derived from the first device assignment, in the patient’s time zone (identity) or else the organization’s'),
  history: z.array(z.object({ startDate: z.string(), endDate: z.string().nullable(), timeZone: z.string(), billingPractitionerId: z.string().nullable(), savedBy: z.string(), savedAt: z.string(), reason: z.string().nullable() })),
});

const iso = (ms: number): string => new Date(ms).toISOString();
const historyView = (h: StoredEpisode): z.infer<typeof episodeView>['history'][number] => ({
  startDate: h.startDate,
  endDate: h.endDate,
  timeZone: h.timeZone,
  billingPractitionerId: h.billingPractitionerId,
  savedBy: h.savedBy,
  savedAt: iso(h.savedAtMs),
  reason: h.reason,
});

async function namesOf(ctx: GatewayContext, staff: Staff): Promise<Map<string, string>> {
  const colleagues = await ctx.staff.colleagues(staff);
  return new Map(colleagues.map((c) => [c.id, c.displayName ?? c.email]));
}

/** The RPM billing ledger: the monthly report (JSON, CSV), sign-offs, amendments and episodes. Staff sessions. */
export async function billingRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.get(
    '/v1/billing/report',
    {
      schema: {
        summary: "The organization's RPM billing report for a month: one line per patient-period with codes and evidence",
        description:
          'Physicians and organization admins. Device periods (30 days from each patient’s monitoring start) that end in the month, and the month’s management time. A signed line shows what was signed (frozen) and says when the ledger computed now differs. The same as CSV: `/v1/billing/report.csv`. Audited with the patients it lists.',
        tags: ['billing'],
        security,
        querystring: z.object({ month }),
        response: { 200: reportResponse },
      },
    },
    async (req) => {
      const who = requester(req);
      const report = await ctx.billing.report(who, req.query.month);
      return reportView(report, await namesOf(ctx, who.staff));
    },
  );

  app.get(
    '/v1/billing/report.csv',
    {
      schema: {
        summary: 'The monthly billing report as CSV (RFC 4180, one row per patient-period)',
        description: 'Columns: see README "Panel and billing". Cells that a spreadsheet would run as a formula start with an apostrophe.',
        tags: ['billing'],
        security,
        querystring: z.object({ month }),
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const who = requester(req);
      const report = await ctx.billing.report(who, req.query.month);
      const csv = reportCsv(reportView(report, await namesOf(ctx, who.staff)));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="rpm-billing-${report.organizationId}-${report.month}.csv"`)
        .send(csv);
    },
  );

  const signOffResponse = (s: Awaited<ReturnType<GatewayContext['billing']['signOff']>>): z.infer<typeof signOffView> => ({
    periodKey: s.periodKey,
    patientId: s.patientId,
    signedBy: s.signedBy,
    signedAt: iso(s.signedAtMs),
    revision: s.revision,
    amendments: s.amendments.map((a) => ({ revision: a.revision, amendedBy: a.amendedBy, amendedAt: iso(a.amendedAtMs), reason: a.reason })),
  });

  app.post(
    '/v1/billing/sign-offs',
    {
      schema: {
        summary: 'Sign a complete period off: freezes its line; the signer is its one billing practitioner',
        description:
          'Physicians only; the billing practitioner named for the episode when there is one. 409 `RPM_ERR_BILLING_PERIOD_SIGNED` when already signed (change it with an amendment), 409 `RPM_ERR_BILLING_PERIOD_OPEN` while the period runs.',
        tags: ['billing'],
        security,
        body: z.object({ periodKey: z.string().min(1).max(300) }),
        response: { 201: signOffView },
      },
    },
    async (req, reply) => reply.code(201).send(signOffResponse(await ctx.billing.signOff(requester(req), req.body.periodKey))),
  );

  app.post(
    '/v1/billing/amendments',
    {
      schema: {
        summary: 'Amend a signed period: the line as computed now, with why (numbered; the sign-off is never rewritten)',
        description: 'The practitioner who signed. Send the `revision` you saw (0 before any amendment): a stale one answers 409 `RPM_ERR_BILLING_AMENDMENT_CONFLICT`. Audited.',
        tags: ['billing'],
        security,
        body: z.object({ periodKey: z.string().min(1).max(300), reason: z.string().trim().min(1).max(1000), revision: z.number().int().min(0) }),
        response: { 201: signOffView },
      },
    },
    async (req, reply) => reply.code(201).send(signOffResponse(await ctx.billing.amend(requester(req), req.body.periodKey, req.body.reason, req.body.revision))),
  );

  app.get(
    '/v1/patients/:id/billing-episode',
    {
      schema: {
        summary: "The patient's RPM episode: monitoring start, time zone, billing practitioner, and every change",
        tags: ['billing'],
        security,
        params: z.object({ id: entityId }),
        response: { 200: episodeView.nullable() },
      },
    },
    async (req) => {
      const { episode, stored, history } = await ctx.billing.episode(requester(req), req.params.id);
      if (episode === null) return null;
      return { ...episode, recorded: stored !== null, history: history.map(historyView) };
    },
  );

  app.put(
    '/v1/patients/:id/billing-episode',
    {
      schema: {
        summary: "Record the patient's RPM episode (physicians and organization admins)",
        tags: ['billing'],
        security,
        params: z.object({ id: entityId }),
        body: episodeInput,
        response: { 200: episodeView },
      },
    },
    async (req) => {
      const who = requester(req);
      await ctx.billing.saveEpisode(who, req.params.id, req.body);
      const { episode, history } = await ctx.billing.episode(who, req.params.id);
      if (episode === null) throw new Error('saved episode vanished');
      return { ...episode, recorded: true, history: history.map(historyView) };
    },
  );
}
