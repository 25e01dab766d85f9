import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { displayPrefsInput, displayPrefsPatch } from '../../core/display/units.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import { alertSettingsInput, DEFAULT_ALERT_SETTINGS } from '../../core/model/staff.js';
import type { GatewayContext } from '../context.js';
import { staffAuthHook } from './staff-auth.js';

const displayView = z.object({
  effective: displayPrefsInput.describe('What you read values and times in'),
  organization: displayPrefsPatch.nullable().describe("Your organization's choice"),
  own: displayPrefsPatch.nullable().describe('Your own choice over it'),
});

/** A staff member's display units and time zone: her organization's, and her own over them. */
export async function preferencesRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.addHook('onRequest', staffAuthHook(ctx));
  const staffOf = (req: { staff: import('../../core/model/staff.js').Staff | null }) => {
    if (req.staff === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
    return req.staff;
  };

  app.get(
    '/v1/me/display',
    { schema: { summary: 'Your display units and time zone (yours over your organization’s)', tags: ['auth'], security: [{ staffSession: [] }], response: { 200: displayView } } },
    async (req) => ctx.staff.displayPrefs(staffOf(req)),
  );

  app.put(
    '/v1/me/display',
    {
      schema: {
        summary: 'Choose your own display units and time zone',
        description: 'Fields left out follow your organization; `{}` follows it entirely.',
        tags: ['auth'],
        security: [{ staffSession: [] }],
        body: displayPrefsPatch,
        response: { 200: displayView },
      },
    },
    async (req) => {
      const staff = staffOf(req);
      await ctx.staff.setOwnDisplay(staff, req.body);
      return ctx.staff.displayPrefs(staff);
    },
  );

  app.get(
    '/v1/me/alert-settings',
    {
      schema: {
        summary: 'How you hear of new critical alerts: tab title count, desktop notification, sound',
        tags: ['auth'],
        security: [{ staffSession: [] }],
        response: { 200: alertSettingsInput },
      },
    },
    async (req) => (await ctx.staff.alertSettings(staffOf(req))) ?? DEFAULT_ALERT_SETTINGS,
  );

  app.put(
    '/v1/me/alert-settings',
    {
      schema: {
        summary: 'Choose how you hear of new critical alerts',
        tags: ['auth'],
        security: [{ staffSession: [] }],
        body: alertSettingsInput,
        response: { 200: alertSettingsInput },
      },
    },
    async (req) => {
      const me = staffOf(req);
      await ctx.staff.setAlertSettings(me, req.body);
      await ctx.audit.record({ atMs: ctx.clock.now(), actor: `staff:${me.id}`, action: 'alert-settings.update', subject: `staff:${me.id}`, outcome: 'success', sourceIp: req.ip, details: { ...req.body } });
      return req.body;
    },
  );
}
