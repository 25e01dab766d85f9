import type { FastifyRequest } from 'fastify';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Staff } from '../../core/model/staff.js';
import { adminTokenMatcher, bearerToken } from '../auth/admin-token.js';
import { looksLikeSessionToken } from '../auth/session-token.js';
import type { AuthenticatedSession } from '../auth/session-service.js';
import type { GatewayContext } from '../context.js';
import { routeOf } from './auth-hooks.js';
import type { AdminActor } from '../staff-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the staff-auth hooks when a staff session authenticated the request. */
    staff: Staff | null;
    /** The session behind `staff`: its expiries, and the hash that identifies it for logout. */
    staffSession: AuthenticatedSession | null;
  }
}

/** What a session may do while its organization requires a second factor the account lacks. */
export const ENROLLMENT_ROUTES: ReadonlySet<string> = new Set([
  'GET /v1/auth/me',
  'POST /v1/auth/logout',
  'POST /v1/auth/password',
  'POST /v1/auth/mfa/totp',
  'POST /v1/auth/mfa/totp/activate',
]);

async function authenticateSession(ctx: GatewayContext, req: FastifyRequest, token: string): Promise<void> {
  ctx.credentialGuard.check('session-token', req.ip);
  try {
    const session = await ctx.sessions.authenticate(token);
    if (session.mfaEnrollmentRequired && !ENROLLMENT_ROUTES.has(routeOf(req))) {
      throw new RpmError('RPM_ERR_AUTH_MFA_ENROLLMENT_REQUIRED', 'your organization requires a second factor: enrol one (POST /v1/auth/mfa/totp) first');
    }
    req.staff = session.staff;
    req.staffSession = session;
    req.actor = `staff:${session.staff.id}`;
  } catch (err) {
    // An expired session is routine; a token we never issued (or one logged out) is counted,
    // throttled by source and audited in aggregate.
    if (err instanceof RpmError && err.code === 'RPM_ERR_AUTH_INVALID') await ctx.credentialGuard.denied('session-token', req.ip, routeOf(req));
    throw err;
  }
}

/** `Authorization: Bearer <session token>` from POST /v1/auth/login; sets `req.staff`. */
export function staffAuthHook(ctx: GatewayContext) {
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send the session token as `Authorization: Bearer <token>`');
    await authenticateSession(ctx, req, token);
  };
}

/**
 * The bootstrap admin token (`req.actor = 'admin'`, `req.staff = null`) or a staff session.
 * Routes behind it decide what each may do: see `adminActor` and `assertPatientAccess`.
 */
export function adminOrStaffAuthHook(ctx: GatewayContext) {
  const isAdminToken = adminTokenMatcher(ctx.adminToken);
  return async (req: FastifyRequest): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send the admin token or a session token as `Authorization: Bearer <token>`');
    // Before the comparison, so these routes cannot be used to keep guessing the admin token.
    ctx.credentialGuard.check('admin-token', req.ip);
    if (isAdminToken(token)) {
      req.actor = 'admin';
      return;
    }
    if (!looksLikeSessionToken(token)) {
      // Not shaped like a session token: a guess at the admin token.
      await ctx.credentialGuard.denied('admin-token', req.ip, routeOf(req));
      throw new RpmError('RPM_ERR_AUTH_INVALID', 'invalid admin or session token');
    }
    await authenticateSession(ctx, req, token);
  };
}

/** The administering actor of a request that passed `adminOrStaffAuthHook`. */
export function adminActor(req: FastifyRequest): AdminActor {
  if (req.staff !== null) return { kind: 'staff', staff: req.staff };
  if (req.actor === 'admin') return { kind: 'bootstrap-admin' };
  throw new RpmError('RPM_ERR_AUTH_MISSING');
}

/**
 * Throws 404 RPM_ERR_PATIENT_NOT_FOUND unless the staff member may see the patient. Never 403:
 * a patient of another tenant (or outside the nurse's care teams) must look exactly like one
 * that does not exist, so ids are not confirmed across tenants. Scope rule: StaffStore.
 */
export async function assertPatientAccess(ctx: GatewayContext, staff: Staff, patientId: string): Promise<void> {
  if (!(await ctx.staff.canSeePatient(staff, patientId))) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', 'patient not found');
}

/** The ids of the patients the staff member may see, in id order (keyset paging on `afterId`). */
export function visiblePatientIds(ctx: GatewayContext, staff: Staff, options: { limit: number; afterId?: string }): Promise<string[]> {
  return ctx.staff.visiblePatientIds(staff, options);
}
