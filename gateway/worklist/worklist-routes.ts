import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { ALERT_ACTIONS, type AlertAction, alertActionBody } from '../../core/model/alert.js';
import { entityId } from '../../core/model/registry.js';
import type { GatewayContext } from '../context.js';
import { staffAuthHook } from '../http/staff-auth.js';
import { alertEventView, alertView, toAlertEventView, toAlertView } from './alert-view.js';
import { worklistStreamHandler } from './worklist-stream.js';
import type { Requester } from '../../pipeline/worklist/worklist-service.js';

const tags = ['worklist'];
const security = [{ staffSession: [] }];

export function requester(req: FastifyRequest): Requester {
  if (req.staff === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
  return { staff: req.staff, sourceIp: req.ip };
}

const worklistResponse = z.object({
  generatedAt: z.string(),
  patients: z.array(
    z.object({
      patientId: z.string(),
      priority: z.number(),
      alerts: z.array(alertView),
    }),
  ),
});

/** The nurse worklist, alert transitions and the live stream of worklist changes (SSE). */
export async function worklistRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));

  app.get(
    '/v1/worklist',
    {
      schema: {
        summary: 'One row per patient with unresolved alerts, highest priority first',
        description:
          'Priority = severity points + waiting against the SLA + worsening/confirmed + patient risk tier (README, "Priority"). Snoozed alerts score 0 until the snooze ends.',
        tags,
        security,
        response: { 200: worklistResponse },
      },
    },
    async (req) => {
      const who = requester(req);
      const rows = await ctx.worklist.worklist(who);
      const prefs = (await ctx.staff.displayPrefs(who.staff)).effective;
      return {
        generatedAt: new Date(ctx.clock.now()).toISOString(),
        patients: rows.map((r) => ({ patientId: r.patientId, priority: r.priority, alerts: r.alerts.map((a) => toAlertView(a.alert, prefs, a.priority)) })),
      };
    },
  );

  app.get(
    '/v1/worklist/stream',
    {
      schema: {
        summary: 'Live worklist changes as Server-Sent Events (event `alert`, data = the alert with its priority)',
        description:
          'Send the session token in the Authorization header (fetch-based EventSource). A comment line every 15 s keeps proxies from closing the stream. The stream ends with `event: session-ended` (data `{"reason"}`: logged-out, account-disabled, idle, expired, scope-changed, shutdown) when its session ends or the nurse\'s care-team scope changes; reconnect to get a fresh snapshot, or sign in again on 401.',
        tags,
        security,
      },
    },
    worklistStreamHandler(ctx, { recheckMs: ctx.config.streams.recheckMs }),
  );

  app.get(
    '/v1/alerts/:id',
    {
      schema: {
        summary: 'An alert with its versioned history',
        tags,
        security,
        params: z.object({ id: z.string().min(1).max(64) }),
        response: { 200: alertView.extend({ history: z.array(alertEventView) }) },
      },
    },
    async (req) => {
      const who = requester(req);
      const { alert, priority, events } = await ctx.worklist.alert(who, req.params.id);
      const prefs = (await ctx.staff.displayPrefs(who.staff)).effective;
      return { ...toAlertView(alert, prefs, priority), history: events.map((e) => toAlertEventView(e, prefs)) };
    },
  );

  for (const action of ALERT_ACTIONS) {
    app.post(
      `/v1/alerts/:id/${action}`,
      {
        schema: {
          summary: actionSummary(action),
          description: 'Send `version` (the version you saw) to be told with 409 if someone else changed the alert first.',
          tags,
          security,
          params: z.object({ id: z.string().min(1).max(64) }),
          body: alertActionBody.optional(),
          response: { 200: alertView },
        },
      },
      async (req) => {
        const who = requester(req);
        const next = await ctx.worklist.act(who, req.params.id, action, req.body ?? {});
        return toAlertView(next, (await ctx.staff.displayPrefs(who.staff)).effective);
      },
    );
  }

  app.get(
    '/v1/patients/:id/alerts',
    {
      schema: {
        summary: "A patient's alerts, newest first (unresolved only unless includeResolved=true); unresolved ones carry their priority and its reasons",
        tags,
        security,
        params: z.object({ id: entityId }),
        querystring: z.object({ includeResolved: z.enum(['true', 'false']).default('false') }),
        response: { 200: z.object({ alerts: z.array(alertView) }) },
      },
    },
    async (req) => {
      const who = requester(req);
      const alerts = await ctx.worklist.patientAlerts(who, req.params.id, req.query.includeResolved === 'true');
      const prefs = (await ctx.staff.displayPrefs(who.staff)).effective;
      return { alerts: alerts.map((a) => toAlertView(a.alert, prefs, a.priority)) };
    },
  );
}

function actionSummary(action: AlertAction): string {
  switch (action) {
    case 'claim':
      return 'Take the alert (one nurse holds it; a second claim gets 409)';
    case 'release':
      return 'Give a claimed alert back to the queue';
    case 'acknowledge':
      return 'Acknowledge: stops the SLA clock';
    case 'resolve':
      return 'Resolve with an outcome and a note';
    case 'snooze':
      return 'Hide until `until` (at most 7 days)';
    case 'escalate':
      return 'Escalate to the charge nurse (with a reason)';
  }
}
