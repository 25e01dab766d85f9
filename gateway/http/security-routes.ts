import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { entityId } from '../../core/model/registry.js';
import { passwordInput } from '../../core/model/staff.js';
import type { AuditEntry } from '../../core/ports/audit-log.js';
import type { BreakGlassGrant } from '../../core/ports/staff-security-store.js';
import type { GatewayContext } from '../context.js';
import { adminActor, adminOrStaffAuthHook, staffAuthHook } from './staff-auth.js';
import { staffAdminView, toStaffAdminView } from './staff-views.js';

const staffSecurity: { [scheme: string]: string[] }[] = [{ staffSession: [] }];
const adminSecurity: { [scheme: string]: string[] }[] = [{ adminToken: [] }, { staffSession: [] }];
const ORG_ADMIN_NOTE = 'Also open to staff with role `admin`, within their own organization; anything outside it answers 404.';
const recoveryCodes = z.array(z.string()).describe('Shown once; each opens one sign-in. Only their SHA-256 is stored.');
const otpBody = z.object({ otp: z.string().max(16).describe('The current 6-digit code of the authenticator app') });

export const breakGlassView = z.object({
  id: z.string(),
  staffId: z.string(),
  organizationId: z.string(),
  patientId: z.string(),
  reason: z.string(),
  grantedAt: z.string(),
  expiresAt: z.string(),
  endedAt: z.string().nullable(),
  reviewedAt: z.string().nullable(),
  reviewedBy: z.string().nullable(),
});
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
export const toBreakGlassView = (g: BreakGlassGrant): z.infer<typeof breakGlassView> => ({
  id: g.id,
  staffId: g.staffId,
  organizationId: g.organizationId,
  patientId: g.patientId,
  reason: g.reason,
  grantedAt: new Date(g.grantedAtMs).toISOString(),
  expiresAt: new Date(g.expiresAtMs).toISOString(),
  endedAt: iso(g.endedAtMs),
  reviewedAt: iso(g.reviewedAtMs),
  reviewedBy: g.reviewedBy,
});

/**
 * HIPAA §164.312 access safeguards as routes: a staff member's own second factor and password,
 * break-glass access, and their administration (access policy, resets, break-glass review).
 */
export async function securityRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  const audit = (req: FastifyRequest, entry: Pick<AuditEntry, 'action' | 'subject'> & Partial<Pick<AuditEntry, 'details' | 'outcome'>>): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), actor: req.actor ?? 'unknown', sourceIp: req.ip, outcome: 'success', details: null, ...entry });
  const me = (req: FastifyRequest) => {
    if (req.staff === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
    return req.staff;
  };

  // The staff member's own account.
  await root.register(async (scope) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', staffAuthHook(ctx));
    const tags = ['auth'];

    app.post(
      '/v1/auth/mfa/totp',
      {
        schema: {
          summary: 'Start enrolling an authenticator app (TOTP): a new secret, as an otpauth:// URI and its QR code',
          description: 'Pending until POST /v1/auth/mfa/totp/activate receives a code made from it; starting again replaces a pending secret. 409 RPM_ERR_MFA_ALREADY_ENABLED when one is active.',
          tags,
          security: staffSecurity,
          response: { 201: z.object({ secret: z.string().describe('Base32, to type in by hand'), otpauthUri: z.string(), qrSvg: z.string().describe('The URI as an SVG QR code') }) },
        },
      },
      async (req, reply) => {
        const enrollment = await ctx.mfa.startEnrollment(me(req));
        await audit(req, { action: 'auth.mfa.enroll-start', subject: `staff:${me(req).id}` });
        return reply.code(201).send(enrollment);
      },
    );

    app.post(
      '/v1/auth/mfa/totp/activate',
      {
        schema: {
          summary: 'Activate the pending authenticator with a code from it; answers 10 recovery codes (shown once)',
          description: 'From now on a login needs `otp` (or a recovery code). 401 RPM_ERR_AUTH_MFA_INVALID for a wrong code.',
          tags,
          security: staffSecurity,
          body: otpBody,
          response: { 200: z.object({ recoveryCodes }) },
        },
      },
      async (req) => {
        const codes = await ctx.mfa.activate(me(req), req.body.otp);
        await audit(req, { action: 'auth.mfa.enable', subject: `staff:${me(req).id}` });
        return { recoveryCodes: codes };
      },
    );

    app.post(
      '/v1/auth/mfa/recovery-codes',
      {
        schema: { summary: 'New recovery codes in place of the old ones (a current code proves the authenticator is at hand)', tags, security: staffSecurity, body: otpBody, response: { 200: z.object({ recoveryCodes }) } },
      },
      async (req) => {
        const codes = await ctx.mfa.regenerateRecoveryCodes(me(req), req.body.otp);
        await audit(req, { action: 'auth.mfa.recovery-codes', subject: `staff:${me(req).id}` });
        return { recoveryCodes: codes };
      },
    );

    app.post(
      '/v1/auth/mfa/disable',
      {
        schema: {
          summary: 'Remove your second factor (with a current code or a recovery code); 409 when your organization requires one',
          tags,
          security: staffSecurity,
          body: z.object({ otp: z.string().max(16).optional(), recoveryCode: z.string().max(64).optional() }),
        },
      },
      async (req, reply) => {
        await ctx.mfa.disable(me(req), req.body);
        await audit(req, { action: 'auth.mfa.disable', subject: `staff:${me(req).id}` });
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/auth/password',
      {
        schema: {
          summary: 'Change your password; every session of the account ends, this one included (204)',
          description: 'A wrong current password answers 401 RPM_ERR_AUTH_INVALID and counts like a wrong login. Sign in again with the new password.',
          tags,
          security: staffSecurity,
          body: z.object({ currentPassword: z.string().max(1024), newPassword: passwordInput }),
        },
      },
      async (req, reply) => {
        const staff = me(req);
        try {
          const ended = await ctx.sessions.changePassword(staff, req.body.currentPassword, req.body.newPassword, req.ip);
          await audit(req, { action: 'auth.password.change', subject: `staff:${staff.id}`, details: { sessionsEnded: ended } });
        } catch (err) {
          if (err instanceof RpmError && err.code === 'RPM_ERR_AUTH_INVALID') await audit(req, { action: 'auth.password.change', subject: `staff:${staff.id}`, outcome: 'denied' });
          throw err;
        }
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/patients/:id/break-glass',
      {
        schema: {
          summary: 'Emergency access (break-glass) to a patient of your organization outside your care teams, for a reason, for a limited time',
          description: `Nurses and physicians. The grant lasts \`minutes\` (default ${ctx.config.breakGlass.defaultMinutes}, at most ${ctx.config.breakGlass.maxMinutes}); opening it and every access under it are audited, and your organization's administrators are told (their review list and an SMS to those with a phone). A patient in your scope answers 409 RPM_ERR_BREAK_GLASS_NOT_NEEDED; one of another organization, 404 as ever.`,
          tags: ['break-glass'],
          security: staffSecurity,
          params: z.object({ id: entityId }),
          body: z.object({
            reason: z.string().trim().min(10, 'say why, in a sentence (at least 10 characters)').max(500),
            minutes: z.number().int().positive().max(24 * 60).optional(),
          }),
          response: { 201: breakGlassView },
        },
      },
      async (req, reply) => {
        const grant = await ctx.breakGlass.open(me(req), req.params.id, req.body.reason, req.body.minutes, req.ip);
        return reply.code(201).send(toBreakGlassView(grant));
      },
    );

    app.post(
      '/v1/break-glass/:grantId/end',
      {
        schema: { summary: 'End your emergency access now', tags: ['break-glass'], security: staffSecurity, params: z.object({ grantId: z.uuid() }), response: { 200: breakGlassView } },
      },
      async (req) => toBreakGlassView(await ctx.breakGlass.end(me(req), req.params.grantId, req.ip)),
    );
  });

  // Administration: the operator's token, or an organization admin's session in her organization.
  await root.register(async (scope) => {
    const app = scope.withTypeProvider<ZodTypeProvider>();
    app.addHook('onRequest', adminOrStaffAuthHook(ctx));
    const tags = ['admin: organizations and staff'];
    const idParams = z.object({ id: entityId });
    const policyView = z.object({ organizationId: z.string(), mfaRequired: z.boolean().describe('Every staff member signs in with a second factor; those without one must enrol at their next sign-in') });

    app.get(
      '/v1/admin/organizations/:id/access-policy',
      { schema: { summary: "The organization's access policy (second factor required or not)", description: ORG_ADMIN_NOTE, tags, security: adminSecurity, params: idParams, response: { 200: policyView } } },
      async (req) => {
        const policy = await ctx.staff.accessPolicy(req.params.id, adminActor(req));
        return { organizationId: policy.organizationId, mfaRequired: policy.mfaRequired };
      },
    );

    app.put(
      '/v1/admin/organizations/:id/access-policy',
      {
        schema: {
          summary: "Set the organization's access policy",
          description: `With \`mfaRequired\`, staff without a second factor can only enrol one until they have it (their next request). ${ORG_ADMIN_NOTE}`,
          tags,
          security: adminSecurity,
          params: idParams,
          body: z.object({ mfaRequired: z.boolean() }),
          response: { 200: policyView },
        },
      },
      async (req) => {
        const policy = await ctx.staff.setAccessPolicy(req.params.id, { mfaRequired: req.body.mfaRequired }, adminActor(req));
        await audit(req, { action: 'organization.access-policy', subject: `organization:${req.params.id}`, details: { mfaRequired: policy.mfaRequired } });
        return { organizationId: policy.organizationId, mfaRequired: policy.mfaRequired };
      },
    );

    app.post(
      '/v1/admin/staff/:id/password',
      {
        schema: {
          summary: "Set a staff member's password (a forgotten one); every session of the account ends",
          description: ORG_ADMIN_NOTE,
          tags,
          security: adminSecurity,
          params: idParams,
          body: z.object({ password: passwordInput }),
          response: { 200: staffAdminView },
        },
      },
      async (req) => {
        const staff = await ctx.staff.resetPassword(req.params.id, req.body.password, adminActor(req));
        await audit(req, { action: 'staff.password.reset', subject: `staff:${staff.id}` });
        return toStaffAdminView(staff);
      },
    );

    app.post(
      '/v1/admin/staff/:id/mfa/reset',
      {
        schema: {
          summary: "Remove a staff member's second factor (a lost phone); every session of the account ends and it enrols again",
          description: ORG_ADMIN_NOTE,
          tags,
          security: adminSecurity,
          params: idParams,
          response: { 200: z.object({ staffId: z.string(), removed: z.boolean() }) },
        },
      },
      async (req) => {
        const { staff, removed } = await ctx.staff.resetMfa(req.params.id, adminActor(req));
        await audit(req, { action: 'staff.mfa.reset', subject: `staff:${staff.id}`, details: { removed } });
        return { staffId: staff.id, removed };
      },
    );

    app.get(
      '/v1/admin/organizations/:id/break-glass',
      {
        schema: {
          summary: "The organization's emergency access grants, newest first: who opened which patient, why, until when, and whether an admin reviewed it",
          description: `The administrators' review list (\`unreviewed=true\`: only those waiting). Reading it is audited. ${ORG_ADMIN_NOTE}`,
          tags: ['break-glass'],
          security: adminSecurity,
          params: idParams,
          querystring: z.object({ unreviewed: z.enum(['true', 'false']).default('false') }),
          response: { 200: z.object({ grants: z.array(breakGlassView) }) },
        },
      },
      async (req) => {
        const grants = await ctx.breakGlass.list(req.params.id, adminActor(req), req.query.unreviewed === 'true');
        await ctx.audit.record({
          atMs: ctx.clock.now(),
          actor: req.actor ?? 'unknown',
          action: 'break-glass.list',
          subject: `organization:${req.params.id}`,
          outcome: 'success',
          sourceIp: req.ip,
          details: null,
          patientIds: [...new Set(grants.map((g) => g.patientId))],
        });
        return { grants: grants.map(toBreakGlassView) };
      },
    );

    app.post(
      '/v1/admin/organizations/:id/break-glass/:grantId/review',
      {
        schema: {
          summary: 'Record that an administrator reviewed an emergency access grant',
          description: ORG_ADMIN_NOTE,
          tags: ['break-glass'],
          security: adminSecurity,
          params: z.object({ id: entityId, grantId: z.uuid() }),
          response: { 200: breakGlassView },
        },
      },
      async (req) => toBreakGlassView(await ctx.breakGlass.review(req.params.id, req.params.grantId, adminActor(req), req.ip)),
    );
  });
}
