import { RpmError } from '../../core/errors/rpm-error.js';
import type { MeasurePage, MeasureQuery, WithingsApi, WithingsApp, WithingsTokens } from '../../core/ports/withings-api.js';

/**
 * The Withings public API over plain fetch (one form-encoded POST per call; an SDK would add a
 * dependency for two calls). Withings answers HTTP 200 with `{"status": n, "body"|"error"}`:
 * status 0 is success, the authentication statuses (100–102, 200, 401) mean the token is not
 * valid, 601 asks us to slow down; anything else is a failure worth retrying later.
 */

/** Body statuses Withings uses for a token it does not accept. */
const AUTH_STATUSES = new Set([100, 101, 102, 200, 401]);
const TOO_MANY_REQUESTS = 601;

export interface WithingsHttpOptions {
  readonly timeoutMs?: number;
}

interface Envelope {
  readonly status?: unknown;
  readonly body?: unknown;
  readonly error?: unknown;
}

export class WithingsHttpApi implements WithingsApi {
  constructor(private readonly options: WithingsHttpOptions = {}) {}

  async refreshToken(app: WithingsApp, refreshToken: string): Promise<WithingsTokens> {
    const { envelope } = await this.post(app, '/v2/oauth2', {
      action: 'requesttoken',
      grant_type: 'refresh_token',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      refresh_token: refreshToken,
    });
    if (envelope.status !== 0) {
      // A refused refresh token does not heal by retrying: someone must authorize again.
      throw this.failure(envelope, 'token refresh', true);
    }
    const b = envelope.body as { userid?: unknown; access_token?: unknown; refresh_token?: unknown; expires_in?: unknown } | undefined;
    if (typeof b?.access_token !== 'string' || typeof b.refresh_token !== 'string' || typeof b.expires_in !== 'number') {
      throw new RpmError('RPM_ERR_UPSTREAM_VENDOR', 'Withings answered the token refresh without access_token, refresh_token and expires_in');
    }
    return { userId: String(b.userid ?? ''), accessToken: b.access_token, refreshToken: b.refresh_token, expiresInSeconds: b.expires_in };
  }

  async getMeasures(app: WithingsApp, accessToken: string, q: MeasureQuery): Promise<MeasurePage> {
    const { envelope, raw } = await this.post(
      app,
      '/measure',
      {
        action: 'getmeas',
        meastypes: q.meastypes.join(','),
        category: '1',
        startdate: String(q.startdate),
        enddate: String(q.enddate),
        ...(q.offset === undefined ? {} : { offset: String(q.offset) }),
      },
      accessToken,
    );
    if (envelope.status !== 0) throw this.failure(envelope, 'getmeas', false);
    return { raw, body: envelope.body };
  }

  private failure(envelope: Envelope, what: string, refreshing: boolean): RpmError {
    const status = typeof envelope.status === 'number' ? envelope.status : Number.NaN;
    const detail = typeof envelope.error === 'string' ? `: ${envelope.error.slice(0, 200)}` : '';
    if (status === TOO_MANY_REQUESTS) return new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings ${what}: too many requests (status 601)`, { retryAfterSeconds: 60, details: { withingsStatus: status } });
    if (AUTH_STATUSES.has(status) || (refreshing && Number.isFinite(status))) {
      return new RpmError('RPM_ERR_UPSTREAM_VENDOR_AUTH', `Withings ${what} refused the ${refreshing ? 'refresh' : 'access'} token (status ${status})${detail}`, { details: { withingsStatus: status } });
    }
    return new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings ${what} failed (status ${Number.isFinite(status) ? status : 'missing'})${detail}`, { details: { withingsStatus: Number.isFinite(status) ? status : null } });
  }

  private async post(app: WithingsApp, path: string, form: Record<string, string>, accessToken?: string): Promise<{ envelope: Envelope; raw: string }> {
    let res: Response;
    try {
      res = await fetch(`${app.baseUrl.replace(/\/$/, '')}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }) },
        body: new URLSearchParams(form),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
      });
    } catch (err) {
      throw new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings ${path} could not be reached: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const raw = await res.text().catch(() => '');
    if (res.status === 429 || res.status >= 500) {
      const retry = Number(res.headers.get('retry-after'));
      throw new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings ${path} answered HTTP ${res.status}`, {
        ...(Number.isFinite(retry) && retry > 0 ? { retryAfterSeconds: retry } : {}),
        details: { httpStatus: res.status },
      });
    }
    if (res.status === 401 || res.status === 403) {
      throw new RpmError('RPM_ERR_UPSTREAM_VENDOR_AUTH', `Withings ${path} answered HTTP ${res.status}`, { details: { httpStatus: res.status } });
    }
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch (err) {
      throw new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings ${path} answered HTTP ${res.status} with something that is not JSON`, { cause: err });
    }
    if (typeof envelope !== 'object' || envelope === null) throw new RpmError('RPM_ERR_UPSTREAM_VENDOR', `Withings ${path} answered a JSON ${typeof envelope}, not an object`);
    return { envelope, raw };
  }
}
