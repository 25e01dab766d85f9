import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { displayPrefsInput, displayPrefsPatch } from '../../core/display/units.js';
import { RpmError } from '../../core/errors/rpm-error.js';
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
}
