import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import { TIME_MODALITIES, type TimeEntry } from '../../core/ports/alert-store.js';
import { carePlanInput, type RuleDefinition, ruleDefinition } from '../../rules/model.js';
import { afterResolveText, chartBands, criteriaText, ruleAction, ruleTitle } from '../../rules/describe.js';
import type { DisplayPrefs } from '../../core/display/units.js';
import { news2At } from '../../rules/verdicts.js';
import { toObservation } from '../../pipeline/patient-history.js';
import type { GatewayContext } from '../context.js';
import { staffAuthHook } from '../http/staff-auth.js';
import { requester } from './worklist-routes.js';

const security = [{ staffSession: [] }];
const params = z.object({ id: entityId });

const carePlanView = z.object({
  patientId: z.string(),
  version: z.number().int().describe('0 = the default plan (never saved)'),
  savedBy: z.string().nullable(),
  savedAt: z.string().nullable(),
  plan: carePlanInput,
  rules: z.array(ruleDefinition).describe('The rules in force: program defaults with overrides applied (canonical units)'),
  display: z
    .object({
      rules: z.array(
        z.object({
          id: z.string(),
          title: z.string().describe('With its limits in your display units'),
          criteria: z.string(),
          action: z.string().nullable(),
          afterResolve: z.string(),
          universal: z.boolean(),
          overrideReason: z.string().nullable().describe('Why this universal rule is changed or disabled for the patient'),
        }),
      ),
      bands: z
        .array(
          z.object({
            kind: z.string(),
            component: z.string(),
            comparator: z.enum(['>', '>=', '<', '<=']),
            value: z.number(),
            unit: z.string(),
            severity: z.enum(['low', 'medium', 'high', 'critical']),
            ruleId: z.string(),
            label: z.string(),
          }),
        )
        .describe("Single-reading limits per component, in your display units: what a chart shades (each component's limits on that component only)"),
    })
    .describe('The rules as you read them'),
});

function displayOf(rules: readonly RuleDefinition[], plan: z.infer<typeof carePlanInput>, prefs: DisplayPrefs): z.infer<typeof carePlanView>['display'] {
  return {
    rules: rules.map((r) => ({
      id: r.id,
      title: ruleTitle(r, prefs),
      criteria: criteriaText(r, prefs),
      action: ruleAction(r, prefs),
      afterResolve: afterResolveText(r, r.type === 'threshold' ? (r.limits[0]?.tiers[0]?.severity ?? 'medium') : 'severity' in r ? r.severity : 'high'),
      universal: r.universal,
      overrideReason: Object.hasOwn(plan.overrideReasons, r.id) ? (plan.overrideReasons[r.id] ?? null) : null,
    })),
    bands: chartBands(rules, prefs).map((b) => ({ ...b })),
  };
}

const timeEntryView = z.object({
  id: z.string(),
  patientId: z.string(),
  staffId: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  minutes: z.number().nullable(),
  interactive: z.boolean(),
  modality: z
    .enum(TIME_MODALITIES)
    .nullable()
    .describe('How the interaction happened (a video visit records video or audio); null when not recorded. Secure messaging alone is not a real-time interactive contact for billing'),
  note: z.string().nullable(),
  source: z.enum(['timer', 'manual', 'visit']).describe("'visit': a video visit's minutes, logged when it ended"),
  stopReason: z
    .enum(['stopped', 'signed-out', 'session-expired', 'visit-started'])
    .nullable()
    .describe('Who or what stopped the timer: you, your sign-out, the end of your session (then it ends at your last activity), or a video visit of yours with the patient starting (the visit logs the time from then)'),
});

function toTimeView(e: TimeEntry): z.infer<typeof timeEntryView> {
  return {
    id: e.id,
    patientId: e.patientId,
    staffId: e.staffId,
    startedAt: new Date(e.startedAtMs).toISOString(),
    endedAt: e.endedAtMs === null ? null : new Date(e.endedAtMs).toISOString(),
    minutes: e.endedAtMs === null ? null : Math.round(((e.endedAtMs - e.startedAtMs) / 60_000) * 10) / 10,
    interactive: e.interactive,
    modality: e.modality ?? null,
    note: e.note,
    source: e.source,
    stopReason: e.stopReason,
  };
}

/** Calendar month [from, to) in UTC for `YYYY-MM`. */
function monthRange(month: string): [number, number] {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)];
}

/** Care plans, NEWS2 status and the nurse time log of a patient. */
export async function careRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.get(
    '/v1/patients/:id/care-plan',
    { schema: { summary: "The patient's care plan (versioned) and the rules in force", tags: ['care-plans'], security, params, response: { 200: carePlanView } } },
    async (req) => {
      const who = requester(req);
      const { stored, effective } = await ctx.worklist.carePlan(who, req.params.id);
      const prefs = (await ctx.staff.displayPrefs(who.staff)).effective;
      return {
        patientId: req.params.id,
        version: effective.version,
        savedBy: stored?.savedBy ?? null,
        savedAt: stored === undefined ? null : new Date(stored.savedAtMs).toISOString(),
        plan: effective.plan,
        rules: [...effective.rules],
        display: displayOf(effective.rules, effective.plan, prefs),
      };
    },
  );

  app.put(
    '/v1/patients/:id/care-plan',
    {
      schema: {
        summary: 'Save a new version of the care plan: programs, rule overrides (by rule id), extra and disabled rules, risk tier',
        description:
          'Send `If-Match: <version>` (the version you read) to get 409 instead of overwriting a colleague’s change. The universal rules (`general`) always apply; changing or disabling one needs `overrideReasons.{ruleId}`. `hypercapnicRisk` records a clinician’s decision (SpO2 target 88–92 %, NEWS2 scale 2): who and when are stamped from your session.',
        tags: ['care-plans'],
        security,
        params,
        body: carePlanInput,
        response: { 200: carePlanView },
      },
    },
    async (req) => {
      const ifMatch = req.headers['if-match'];
      const expected = ifMatch === undefined ? null : Number(String(ifMatch).replaceAll('"', ''));
      if (expected !== null && !Number.isInteger(expected)) throw new RpmError('RPM_ERR_REQUEST_INVALID', 'If-Match must be a version number', { path: '/headers/if-match' });
      const who = requester(req);
      const { stored, rules } = await ctx.worklist.saveCarePlan(who, req.params.id, req.body, expected);
      const plan = carePlanInput.parse(stored.plan);
      return {
        patientId: req.params.id,
        version: stored.version,
        savedBy: stored.savedBy,
        savedAt: new Date(stored.savedAtMs).toISOString(),
        plan,
        rules,
        display: displayOf(rules, plan, (await ctx.staff.displayPrefs(who.staff)).effective),
      };
    },
  );

  app.get(
    '/v1/patients/:id/news2',
    {
      schema: {
        summary: 'NEWS2 from the latest values in the last hour: the score, or "incomplete" with the missing parameters',
        tags: ['care-plans'],
        security,
        params,
        response: {
          200: z.object({
            status: z.enum(['complete', 'incomplete']),
            total: z.number().optional(),
            risk: z.string().optional(),
            scores: z.record(z.string(), z.number()).optional(),
            missing: z.array(z.string()).optional(),
            spo2Scale: z.number(),
          }),
        },
      },
    },
    async (req) => {
      const who = requester(req);
      await ctx.worklist.requirePatient(who, req.params.id);
      const plan = await ctx.carePlans.get(req.params.id);
      const rule = plan.rules.find((r) => r.type === 'news2');
      const scale = rule?.type === 'news2' ? rule.spo2Scale : 1;
      const now = ctx.clock.now();
      const readings = await ctx.readings.queryReadings({ patientId: req.params.id, fromMs: now - 3_600_000, limit: 10_000 });
      const result = news2At({ windowMinutes: 60, spo2Scale: scale }, now, readings.map(toObservation));
      await ctx.audit.record({ atMs: now, actor: `staff:${who.staff.id}`, action: 'news2.read', subject: `patient:${req.params.id}`, outcome: 'success', sourceIp: req.ip, details: null });
      return result.status === 'complete'
        ? { status: 'complete' as const, total: result.total, risk: result.risk, scores: { ...result.scores }, spo2Scale: scale }
        : { status: 'incomplete' as const, missing: [...result.missing], spo2Scale: scale };
    },
  );

  app.post(
    '/v1/patients/:id/time/start',
    {
      schema: {
        summary: 'Start a timer for time spent on this patient (one running timer per nurse)',
        tags: ['time-log'],
        security,
        params,
        body: z
          .object({
            interactive: z.boolean().default(false).describe('Live interactive communication (call/video)'),
            modality: z.enum(TIME_MODALITIES).optional().describe('audio (a phone call), video, or secure-message (not real-time: never the month’s interactive contact)'),
            note: z.string().max(2000).optional(),
          })
          .optional(),
        response: { 201: timeEntryView },
      },
    },
    async (req, reply) => {
      const entry = await ctx.worklist.startTimer(requester(req), req.params.id, req.body?.interactive ?? false, req.body?.note ?? null, req.body?.modality ?? null);
      return reply.code(201).send(toTimeView(entry));
    },
  );

  app.post(
    '/v1/time/:entryId/stop',
    {
      schema: {
        summary: 'Stop your running timer',
        description:
          'Optional body: `reason` (`signed-out` or `session-expired` when the dashboard stops it as the nurse signs out) and `endedAt` (e.g. her last activity before an idle sign-out; between the start and now).',
        tags: ['time-log'],
        security,
        params: z.object({ entryId: z.uuid() }),
        body: z
          .object({
            reason: z.enum(['stopped', 'signed-out', 'session-expired']).optional(),
            endedAt: z.iso.datetime({ offset: true }).optional(),
          })
          .optional(),
        response: { 200: timeEntryView },
      },
    },
    async (req) =>
      toTimeView(
        await ctx.worklist.stopTimer(requester(req), req.params.entryId, {
          ...(req.body?.reason === undefined ? {} : { reason: req.body.reason }),
          ...(req.body?.endedAt === undefined ? {} : { endedAtMs: Date.parse(req.body.endedAt) }),
        }),
      ),
  );

  app.get(
    '/v1/time/running',
    { schema: { summary: 'Your running timer, if any', tags: ['time-log'], security, response: { 200: z.object({ entry: timeEntryView.nullable() }) } } },
    async (req) => {
      const entry = await ctx.worklist.runningTimer(requester(req));
      return { entry: entry === undefined ? null : toTimeView(entry) };
    },
  );

  app.post(
    '/v1/patients/:id/time',
    {
      schema: {
        summary: 'Enter time spent after the fact',
        tags: ['time-log'],
        security,
        params,
        body: z.object({
          startedAt: z.iso.datetime({ offset: true }),
          minutes: z.number().positive().max(24 * 60),
          interactive: z.boolean().default(false),
          modality: z.enum(TIME_MODALITIES).optional(),
          note: z.string().max(2000).optional(),
        }),
        response: { 201: timeEntryView },
      },
    },
    async (req, reply) => {
      const entry = await ctx.worklist.addTime(requester(req), req.params.id, Date.parse(req.body.startedAt), req.body.minutes, req.body.interactive, req.body.note ?? null, req.body.modality ?? null);
      return reply.code(201).send(toTimeView(entry));
    },
  );

  app.get(
    '/v1/patients/:id/time',
    {
      schema: {
        summary: "Time entries for a calendar month (UTC) with totals; the billing ledger reads these",
        tags: ['time-log'],
        security,
        params,
        querystring: z.object({ month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/).optional().describe('YYYY-MM, default this month') }),
        response: {
          200: z.object({ month: z.string(), totalMinutes: z.number(), interactiveMinutes: z.number(), entries: z.array(timeEntryView) }),
        },
      },
    },
    async (req) => {
      const month = req.query.month ?? new Date(ctx.clock.now()).toISOString().slice(0, 7);
      const [from, to] = monthRange(month);
      const entries = (await ctx.worklist.timeLog(requester(req), req.params.id, from, to)).map(toTimeView);
      const done = entries.filter((e) => e.minutes !== null);
      const sum = (xs: typeof done): number => Math.round(xs.reduce((a, e) => a + (e.minutes ?? 0), 0) * 10) / 10;
      return { month, totalMinutes: sum(done), interactiveMinutes: sum(done.filter((e) => e.interactive)), entries };
    },
  );
}
