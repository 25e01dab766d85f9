import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the Withings cloud, speaking its wire format (developer.withings.com): the
 * OAuth 2 token endpoint (`POST /v2/oauth2`, `action=requesttoken`, `grant_type=refresh_token`)
 * that rotates refresh tokens, and the measure API (`POST /measure`, `action=getmeas`, bearer
 * access token) answering `{"status": 0, "body": {"measuregrps": […], "more", "offset",
 * "timezone"}}` pages of the groups measured in [startdate, enddate]. Errors are HTTP 200 with a
 * non-zero `status`, as Withings does. Used by the gateway's tests and by
 * `rpm simulate --format withings`, whose devices are Withings users measuring into this cloud.
 */

export interface WithingsMeasure {
  readonly value: number;
  readonly type: number;
  readonly unit: number;
}

export interface WithingsGroup {
  readonly grpid: number;
  readonly attrib: number;
  /** Epoch seconds. */
  readonly date: number;
  readonly category: number;
  readonly model?: string;
  readonly measures: readonly WithingsMeasure[];
}

interface User {
  accessToken: string;
  refreshToken: string;
  accessExpiresAtMs: number;
  /** Withings keeps the previous refresh token usable for a while after a rotation. */
  previousRefreshToken: string | null;
  readonly groups: WithingsGroup[];
  timezone: string;
}

export type WithingsFault = 'http-500' | 'status-601' | 'not-json' | 'invalid-token';

export interface WithingsCloudOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Measure groups per getmeas page (Withings pages with `more`/`offset`). */
  readonly pageSize?: number;
  /** Access token lifetime (Withings: 3 hours). */
  readonly accessTokenSeconds?: number;
}

const token = (): string => randomBytes(20).toString('hex');

export class WithingsCloud {
  private server: http.Server | undefined;
  private readonly users = new Map<string, User>();
  private readonly faults: WithingsFault[] = [];
  private nextGrpid = 5_000_000_000;
  /** Calls seen, for tests and the simulator's progress line. */
  readonly calls = { refresh: 0, refreshRefused: 0, getmeas: 0, getmeasRefused: 0 };
  baseUrl = '';

  constructor(private readonly options: WithingsCloudOptions) {}

  async start(host = '127.0.0.1'): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, host, resolve));
    this.baseUrl = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A user who authorized the application: the tokens a partner app would have received. */
  addUser(userId: string, timezone = 'UTC'): { accessToken: string; refreshToken: string; expiresInSeconds: number } {
    const user: User = {
      accessToken: token(),
      refreshToken: token(),
      accessExpiresAtMs: Date.now() + (this.options.accessTokenSeconds ?? 10_800) * 1000,
      previousRefreshToken: null,
      groups: [],
      timezone,
    };
    this.users.set(userId, user);
    return { accessToken: user.accessToken, refreshToken: user.refreshToken, expiresInSeconds: this.options.accessTokenSeconds ?? 10_800 };
  }

  /** The user measures: a group of measures at `date` (epoch seconds). Answers its grpid. */
  measure(userId: string, group: Omit<WithingsGroup, 'grpid'> & { grpid?: number }): number {
    const user = this.user(userId);
    const grpid = group.grpid ?? this.nextGrpid++;
    user.groups.push({ ...group, grpid });
    return grpid;
  }

  /** Every access token of every user stops working (as after 3 hours): the next getmeas answers 401. */
  expireAccessTokens(): void {
    for (const u of this.users.values()) u.accessExpiresAtMs = 0;
  }

  /** The next calls fail this way, one per fault, in order. */
  failNext(...faults: WithingsFault[]): void {
    this.faults.push(...faults);
  }

  /** The refresh token Withings currently holds for a user (what the gateway must have stored). */
  currentRefreshToken(userId: string): string {
    return this.user(userId).refreshToken;
  }

  private user(userId: string): User {
    const u = this.users.get(userId);
    if (u === undefined) throw new Error(`no Withings user ${userId}`);
    return u;
  }

  private handle(req: http.IncomingMessage, text: string, res: http.ServerResponse): void {
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    const answer = (payload: unknown): void => send(200, JSON.stringify(payload));
    const fault = this.faults.shift();
    if (fault === 'http-500') return send(500, '<html>Internal Server Error</html>');
    if (fault === 'not-json') return send(200, '<html>maintenance</html>');
    if (fault === 'status-601') return answer({ status: 601, body: {}, error: 'Too Many Requests' });
    if (req.method !== 'POST' || (req.headers['content-type'] ?? '').split(';')[0] !== 'application/x-www-form-urlencoded') {
      return answer({ status: 2554, body: {}, error: 'Wrong action or wrong webservice' });
    }
    const form = new URLSearchParams(text);
    const path = (req.url ?? '').split('?')[0];
    if (path === '/v2/oauth2' && form.get('action') === 'requesttoken') return answer(this.requestToken(form));
    if (path === '/measure' && form.get('action') === 'getmeas') {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      return answer(this.getmeas(bearer, form, fault === 'invalid-token'));
    }
    return answer({ status: 2554, body: {}, error: 'Wrong action or wrong webservice' });
  }

  private requestToken(form: URLSearchParams): unknown {
    this.calls.refresh++;
    if (form.get('grant_type') !== 'refresh_token' || form.get('client_id') !== this.options.clientId || form.get('client_secret') !== this.options.clientSecret) {
      this.calls.refreshRefused++;
      return { status: 503, body: {}, error: 'Invalid Params: invalid client or grant' };
    }
    const presented = form.get('refresh_token');
    for (const [userId, u] of this.users) {
      if (presented !== u.refreshToken && presented !== u.previousRefreshToken) continue;
      u.previousRefreshToken = u.refreshToken;
      u.refreshToken = token();
      u.accessToken = token();
      const expiresIn = this.options.accessTokenSeconds ?? 10_800;
      u.accessExpiresAtMs = Date.now() + expiresIn * 1000;
      return {
        status: 0,
        body: { userid: userId, access_token: u.accessToken, refresh_token: u.refreshToken, expires_in: expiresIn, scope: 'user.info,user.metrics', csrf_token: token(), token_type: 'Bearer' },
      };
    }
    this.calls.refreshRefused++;
    return { status: 503, body: {}, error: 'Invalid Params: invalid refresh_token' };
  }

  private getmeas(bearer: string | undefined, form: URLSearchParams, forceInvalid: boolean): unknown {
    this.calls.getmeas++;
    const entry = [...this.users].find(([, u]) => u.accessToken === bearer);
    if (forceInvalid || entry === undefined || entry[1].accessExpiresAtMs < Date.now()) {
      this.calls.getmeasRefused++;
      return { status: 401, body: {}, error: 'XRequestID: Not provided invalid_token: The access token provided is invalid' };
    }
    const [, user] = entry;
    // A token used means the previous refresh token is no longer needed.
    user.previousRefreshToken = null;
    const start = Number(form.get('startdate') ?? 0);
    const end = Number(form.get('enddate') ?? Number.MAX_SAFE_INTEGER);
    const types = new Set((form.get('meastypes') ?? form.get('meastype') ?? '').split(',').filter((t) => t !== '').map(Number));
    const category = Number(form.get('category') ?? 1);
    const offset = Number(form.get('offset') ?? 0);
    const matching = user.groups
      .filter((g) => g.date >= start && g.date <= end && g.category === category)
      .map((g) => ({ ...g, measures: types.size === 0 ? g.measures : g.measures.filter((m) => types.has(m.type)) }))
      .filter((g) => g.measures.length > 0)
      .sort((a, b) => a.date - b.date);
    const size = this.options.pageSize ?? 100;
    const pageGroups = matching.slice(offset, offset + size);
    const more = offset + size < matching.length;
    return {
      status: 0,
      body: {
        updatetime: Math.floor(Date.now() / 1000),
        timezone: user.timezone,
        measuregrps: pageGroups.map((g) => ({
          grpid: g.grpid,
          attrib: g.attrib,
          date: g.date,
          created: g.date + 30,
          modified: g.date + 30,
          category: g.category,
          deviceid: null,
          hash_deviceid: null,
          model: g.model ?? null,
          modelid: null,
          measures: g.measures.map((m) => ({ value: m.value, type: m.type, unit: m.unit, algo: 0, fm: 3 })),
          comment: null,
        })),
        more: more ? 1 : 0,
        offset: more ? offset + size : 0,
      },
    };
  }
}
