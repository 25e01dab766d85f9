import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RpmError } from '../../core/errors/rpm-error.js';
import { loginInput, normalizeEmail } from '../../core/model/staff.js';
import type { AuditEntry } from '../../core/ports/audit-log.js';
import type { LoginOutcome } from '../auth/session-service.js';
import type { GatewayContext } from '../context.js';
import { staffAuthHook } from './staff-auth.js';
import { staffSelfView, toStaffSelfView } from './staff-views.js';

/** Guessing one account's password from one address: 10 tries a minute. */
export const LOGIN_ATTEMPTS_PER_IP_AND_EMAIL_PER_MIN = 10;
/**
 * Any accounts from one address: high enough for a ward behind one NAT address at shift
 * change, low enough to slow password spraying across many emails.
 */
export const LOGIN_ATTEMPTS_PER_IP_PER_MIN = 100;

const emailOf = (req: FastifyRequest): string => {
  const body = req.body;
  return typeof body === 'object' && body !== null && 'email' in body && typeof body.email === 'string' ? normalizeEmail(body.email) : '';
};

const rateLimited = (max: number, perWhat: string, ttlMs: number): RpmError =>
  new RpmError('RPM_ERR_RATE_LIMITED', `at most ${max} login attempts per minute per ${perWhat}`, { retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) });

/** Staff login, logout and the current session. */
export async function authRoutes(root: FastifyInstance, ctx: GatewayContext): Promise<void> {
  await root.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, context) => rateLimited(context.max, 'address and email', context.ttl),
  });
  const app = root.withTypeProvider<ZodTypeProvider>();
  const perAddress = root.createRateLimit({ max: LOGIN_ATTEMPTS_PER_IP_PER_MIN, timeWindow: 60_000, keyGenerator: (req) => req.ip });
  const tags = ['auth'];

  const audit = (req: FastifyRequest, entry: Pick<AuditEntry, 'actor' | 'action' | 'subject' | 'outcome' | 'details'>): Promise<void> =>
    ctx.audit.record({ atMs: ctx.clock.now(), sourceIp: req.ip, ...entry });

  app.post(
    '/v1/auth/login',
    {
      schema: {
        summary: 'Log in with email and password; answers a session token',
        description: `The token is a bearer credential for staff routes. A session ends after ${ctx.config.sessions.idleMs / 60_000} minutes without requests and, in any case, at \`expiresAt\`. Wrong email and wrong password answer the same 401. An account with a second factor also sends \`otp\` (or a \`recoveryCode\`): without one, 401 RPM_ERR_AUTH_MFA_REQUIRED once the password is right; a wrong or reused code, 401 RPM_ERR_AUTH_MFA_INVALID (counted like a wrong password). At most ${LOGIN_ATTEMPTS_PER_IP_AND_EMAIL_PER_MIN} attempts per minute per address and email (429). After repeated wrong passwords an account's next try must wait, doubling each time (429 RPM_ERR_AUTH_LOGIN_DELAYED with Retry-After), except from addresses it signed in from before.`,
        tags,
        body: loginInput,
        response: {
          200: z.object({
            token: z.string().describe('Send as `Authorization: Bearer <token>`. Shown once; only its SHA-256 is stored.'),
            expiresAt: z.string().describe('Absolute end of the session'),
            idleExpiresAt: z.string().describe('End of the session unless a request comes first; each request moves it'),
            staff: staffSelfView,
            mfaEnrollmentRequired: z
              .boolean()
              .describe('The organization requires a second factor and this account has none: until one is enrolled (POST /v1/auth/mfa/totp), the session opens only /v1/auth/me, /v1/auth/logout, /v1/auth/password and the enrolment routes (others: 403 RPM_ERR_AUTH_MFA_ENROLLMENT_REQUIRED)'),
            notice: z
              .object({ failedLoginsSinceLastSignIn: z.number().int(), firstFailedAt: z.string(), lastFailedAt: z.string() })
              .optional()
              .describe('Wrong passwords for this account since its previous sign-in; show it to the user (it may be someone guessing)'),
          }),
        },
      },
      onRequest: async (req) => {
        // `isAllowed` is true only for allow-listed keys; the verdict is `isExceeded`.
        const verdict = await perAddress(req);
        if (!verdict.isAllowed && verdict.isExceeded) throw rateLimited(verdict.max, 'address', verdict.ttl);
      },
      config: {
        // After validation, so the key can include the email of the body.
        rateLimit: { max: LOGIN_ATTEMPTS_PER_IP_AND_EMAIL_PER_MIN, timeWindow: 60_000, hook: 'preHandler', keyGenerator: (req) => `${req.ip}\n${emailOf(req)}` },
      },
    },
    async (req) => {
      let outcome: LoginOutcome;
      try {
        outcome = await ctx.sessions.login({ ...req.body, source: req.ip });
      } catch (err) {
        // Refused before any password check (the account is delayed): counted, audited in aggregate.
        if (err instanceof RpmError && err.code === 'RPM_ERR_AUTH_LOGIN_DELAYED') {
          ctx.metrics.login('delayed');
          await ctx.credentialGuard.denied('password', req.ip, 'auth.login.delayed', { throttle: false });
        }
        throw err;
      }
      if (!outcome.ok) {
        ctx.metrics.login('failure');
        // Staff id only (never the email): an unknown email has none.
        req.log.info({ staffId: outcome.staffId, reason: outcome.staffId === null ? 'unknown-account' : outcome.reason, client: req.ip }, 'login failed');
        if (outcome.staffId === null) {
          // Unknown emails (spraying) are counted per address in aggregate; the audit names no email.
          await ctx.credentialGuard.denied('password', req.ip, 'auth.login.unknown-account', { throttle: false });
        } else {
          await audit(req, { actor: `staff:${outcome.staffId}`, action: 'auth.login', subject: `staff:${outcome.staffId}`, outcome: 'denied', details: { reason: outcome.reason } });
          if (outcome.delayStarted) {
            // The notice to the account: on record now, and shown to its owner at the next sign-in.
            await audit(req, { actor: 'system', action: 'auth.login.throttled', subject: `staff:${outcome.staffId}`, outcome: 'success', details: { reason: 'repeated wrong passwords' } });
          }
        }
        if (outcome.reason === 'mfa-required') throw new RpmError('RPM_ERR_AUTH_MFA_REQUIRED', 'enter the code from your authenticator app');
        if (outcome.reason === 'mfa-invalid') throw new RpmError('RPM_ERR_AUTH_MFA_INVALID', 'wrong or already used code');
        if (outcome.reason === 'sso-required') throw new RpmError('RPM_ERR_AUTH_SSO_REQUIRED', 'your organization signs in through its identity provider: GET /v1/auth/sso/{organizationId}/start');
        throw new RpmError('RPM_ERR_AUTH_INVALID', 'wrong email or password');
      }
      const failed = outcome.failedSinceLastLogin;
      ctx.metrics.login('success');
      req.log.info({ staffId: outcome.staff.id, role: outcome.staff.role, organizationId: outcome.staff.organizationId, client: req.ip }, 'login');
      await audit(req, {
        actor: `staff:${outcome.staff.id}`,
        action: 'auth.login',
        subject: `staff:${outcome.staff.id}`,
        outcome: 'success',
        details: { ...(failed.count === 0 ? {} : { failedSinceLastLogin: failed.count }), secondFactor: outcome.secondFactor },
      });
      if (outcome.secondFactor === 'recovery-code') {
        await audit(req, { actor: `staff:${outcome.staff.id}`, action: 'auth.mfa.recovery-code-used', subject: `staff:${outcome.staff.id}`, outcome: 'success', details: null });
      }
      const idleExpiresAtMs = Math.min(outcome.session.lastActiveAtMs + ctx.config.sessions.idleMs, outcome.session.expiresAtMs);
      return {
        token: outcome.token,
        expiresAt: new Date(outcome.session.expiresAtMs).toISOString(),
        idleExpiresAt: new Date(idleExpiresAtMs).toISOString(),
        staff: toStaffSelfView(outcome.staff),
        mfaEnrollmentRequired: outcome.mfaEnrollmentRequired,
        ...(failed.count === 0
          ? {}
          : {
              notice: {
                failedLoginsSinceLastSignIn: failed.count,
                firstFailedAt: new Date(failed.firstAtMs ?? 0).toISOString(),
                lastFailedAt: new Date(failed.lastAtMs ?? 0).toISOString(),
              },
            }),
      };
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      schema: { summary: 'End this session at once (204)', tags, security: [{ staffSession: [] }] },
      onRequest: staffAuthHook(ctx),
    },
    async (req, reply) => {
      const session = req.staffSession;
      if (session === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
      await ctx.sessions.logout(session.tokenSha256);
      req.log.info({ staffId: session.staff.id }, 'logout');
      await audit(req, { actor: `staff:${session.staff.id}`, action: 'auth.logout', subject: `staff:${session.staff.id}`, outcome: 'success', details: null });
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/auth/me',
    {
      schema: {
        summary: 'The logged-in staff member, their care teams and the session expiries',
        tags,
        security: [{ staffSession: [] }],
        response: {
          200: z.object({
            staff: staffSelfView,
            careTeams: z.array(z.object({ id: z.string(), name: z.string() })),
            expiresAt: z.string(),
            idleExpiresAt: z.string(),
            idleMinutes: z.number().int().describe('Inactivity after which sessions end (RPM_SESSION_IDLE_MINUTES): the dashboard signs out on the same limit'),
            mfa: z.object({ enabled: z.boolean(), pending: z.boolean(), recoveryCodesLeft: z.number().int() }),
            mfaEnrollmentRequired: z.boolean(),
            breakGlass: z
              .array(z.object({ id: z.string(), patientId: z.string(), reason: z.string(), grantedAt: z.string(), expiresAt: z.string() }))
              .describe('Emergency access grants in force (the dashboard shows a banner on these patients)'),
          }),
        },
      },
      onRequest: staffAuthHook(ctx),
    },
    async (req) => {
      const session = req.staffSession;
      if (session === null) throw new RpmError('RPM_ERR_AUTH_MISSING');
      const teams = await ctx.staff.teamsOfStaff(session.staff.id);
      return {
        staff: toStaffSelfView(session.staff),
        careTeams: teams.map((t) => ({ id: t.id, name: t.name })),
        expiresAt: new Date(session.expiresAtMs).toISOString(),
        idleExpiresAt: new Date(session.idleExpiresAtMs).toISOString(),
        idleMinutes: Math.round(ctx.config.sessions.idleMs / 60_000),
        mfa: await ctx.mfa.status(session.staff.id),
        mfaEnrollmentRequired: session.mfaEnrollmentRequired,
        breakGlass: (await ctx.breakGlass.active(session.staff)).map((g) => ({
          id: g.id,
          patientId: g.patientId,
          reason: g.reason,
          grantedAt: new Date(g.grantedAtMs).toISOString(),
          expiresAt: new Date(Math.min(g.expiresAtMs, g.endedAtMs ?? Number.POSITIVE_INFINITY)).toISOString(),
        })),
      };
    },
  );
}
