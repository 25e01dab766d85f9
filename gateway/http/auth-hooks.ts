import { inSpan } from '../../core/tracing.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { AuthenticatedDevice } from '../auth/device-authenticator.js';
import { adminTokenMatcher, bearerToken } from '../auth/admin-token.js';
import { looksLikeSessionToken } from '../auth/session-token.js';
import type { GatewayContext } from '../context.js';
import { certificateCredentialId, certifiedDeviceIds } from '../tls/client-certificate.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the device-auth hook on device routes. */
    device: AuthenticatedDevice | null;
    /** Who is acting, for the audit log (`admin`, `device:<id>`). */
    actor: string | null;
  }
}

/** The route a request is on, for audit entries (a pattern: URLs can carry patient ids). */
export const routeOf = (req: FastifyRequest): string => `${req.method} ${req.routeOptions.url ?? ''}`;

/** Wrong credentials are what the throttle counts; a revoked or expired one is a known caller. */
const isWrongCredential = (err: unknown): boolean => err instanceof RpmError && err.code === 'RPM_ERR_AUTH_INVALID';

/**
 * A device: its secret (`Authorization: Bearer`), or with RPM_DEVICE_CLIENT_CERTS a verified
 * client certificate naming it (mutual TLS; `require`: the certificate is needed, and a secret
 * sent too must be the same device's).
 */
export function deviceAuthHook(ctx: GatewayContext) {
  const mode = ctx.config.tls.deviceCerts;
  return async (req: FastifyRequest): Promise<void> => {
    const secret = bearerToken(req.headers.authorization);
    const certIds = mode === 'off' ? [] : certifiedDeviceIds(req.raw.socket);
    if (secret === undefined) {
      const credentialId = certificateCredentialId(req.raw.socket);
      if (certIds.length === 0 || credentialId === undefined) {
        throw new RpmError('RPM_ERR_AUTH_MISSING', mode === 'off' ? 'send the device secret as `Authorization: Bearer <secret>`' : 'send the device secret as `Authorization: Bearer <secret>`, or a client certificate naming the device');
      }
      let lastError: unknown;
      for (const id of certIds) {
        try {
          req.device = await ctx.authenticator.authenticateCertificate(id, credentialId);
          req.actor = `device:${req.device.device.id}`;
          return;
        } catch (err) {
          lastError = err;
        }
      }
      throw lastError;
    }
    if (mode === 'require' && certIds.length === 0) throw new RpmError('RPM_ERR_AUTH_INVALID', 'this gateway requires a client certificate naming the device');
    // A device this process already verified keeps working while its address is throttled.
    if (!ctx.authenticator.recognizes(secret)) ctx.credentialGuard.check('device-secret', req.ip);
    try {
      req.device = await inSpan('rpm.auth.device', {}, async (span) => {
        const device = await ctx.authenticator.authenticate(secret);
        span.setAttribute('rpm.device.id', device.device.id);
        return device;
      });
    } catch (err) {
      if (isWrongCredential(err)) await ctx.credentialGuard.denied('device-secret', req.ip, routeOf(req));
      throw err;
    }
    if (certIds.length > 0 && !certIds.includes(req.device.device.id)) {
      req.device = null;
      throw new RpmError('RPM_ERR_AUTH_INVALID', 'the client certificate names another device');
    }
    req.actor = `device:${req.device.device.id}`;
  };
}

export function adminAuthHook(ctx: GatewayContext) {
  const matches = adminTokenMatcher(ctx.adminToken);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new RpmError('RPM_ERR_AUTH_MISSING', 'send the admin token as `Authorization: Bearer <token>`');
    // Before the comparison: a throttled source learns nothing, not even from a right guess.
    ctx.credentialGuard.check('admin-token', req.ip);
    if (!matches(token)) {
      // A valid staff session (an organization admin, say) is a known caller without the
      // operator's permission: 403, not a wrong credential.
      if (looksLikeSessionToken(token) && (await ctx.sessions.authenticate(token).then(() => true, () => false))) {
        throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'this route takes the operator admin token; staff sessions cannot use it');
      }
      await ctx.credentialGuard.denied('admin-token', req.ip, routeOf(req));
      void reply;
      throw new RpmError('RPM_ERR_AUTH_INVALID', 'invalid admin token');
    }
    req.actor = 'admin';
  };
}

/** Refuse new work while shutting down or while the commit queue is full (load shedding). */
export function admissionHook(ctx: GatewayContext) {
  return async (): Promise<void> => {
    if (ctx.shuttingDown()) throw new RpmError('RPM_ERR_SHUTTING_DOWN', undefined, { retryAfterSeconds: 5 });
    if (ctx.committer.saturated) {
      throw new RpmError('RPM_ERR_OVERLOADED', `${ctx.committer.pending} readings are waiting to commit`, { retryAfterSeconds: 1 });
    }
  };
}
