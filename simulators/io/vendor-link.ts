import { randomBytes } from 'node:crypto';
import type { Fleet } from '../model.js';
import type { SimReading } from '../readings.js';
import {
  bodytraceRequests,
  externalIdOf,
  identityOf,
  nightscoutRequest,
  openMhealthRequest,
  tenoviRequest,
  type VendorFormat,
  type VendorRequest,
  validicRequest,
  withingsGroup,
} from '../vendors/formats.js';
import { WithingsCloud } from '../vendors/withings-cloud.js';
import type { GatewayApi } from './admin-api.js';
import type { Link, LinkEvents, ReadingOutcome, SendResult } from './link.js';

/**
 * A simulated device whose vendor's cloud delivers its readings to the gateway in the vendor's
 * wire format (Tenovi, BodyTrace, Open mHealth, Validic, Nightscout webhooks), or, for Withings,
 * a user whose measures land in a stand-in Withings cloud that notifies the gateway, which then
 * pulls them. An HTTP 200 with outcomes is the acknowledgement (a Withings notification: 200
 * once the gateway queued its pull; the readings are stored when it has pulled them).
 */

/** The organization's side of a vendor connection, as the simulator configured it. */
export interface VendorSetup {
  readonly format: VendorFormat;
  readonly organizationId: string;
  readonly secrets: Readonly<Record<string, string>>;
  /** The stand-in Withings cloud (format withings): the simulated users measure into it. */
  readonly cloud?: WithingsCloud;
  /** Reading identity (device, kind, measurement instant) → the simulator's key: how the loss check finds a reading without a client id. */
  readonly identities: Map<string, string>;
  close(): Promise<void>;
}

const secret = (): string => randomBytes(24).toString('base64url');

/**
 * Configures the organization's connection to the vendor and binds every simulated device's
 * vendor id to it. Run after the fleet is provisioned; a rerun replaces the connection and the
 * bindings (Withings tokens are new each run).
 */
export async function provisionVendor(api: GatewayApi, fleet: Fleet, format: VendorFormat, log: (line: string) => void = () => {}): Promise<VendorSetup> {
  const org = encodeURIComponent(fleet.organizationId);
  const secrets: Record<string, string> = {};
  let cloud: WithingsCloud | undefined;
  let settings: Record<string, unknown>;
  switch (format) {
    case 'tenovi':
      secrets.authHeader = 'X-Tenovi-Auth';
      secrets.authKey = secret();
      settings = { authHeader: secrets.authHeader, authKey: secrets.authKey, weightUnit: 'lb', temperatureUnit: '[degF]' };
      break;
    case 'bodytrace':
      secrets.username = 'bodytrace-sim';
      secrets.password = secret();
      settings = { username: secrets.username, password: secrets.password };
      break;
    case 'open-mhealth':
      secrets.token = secret();
      settings = { token: secrets.token };
      break;
    case 'validic':
      secrets.organizationAccessToken = secret();
      secrets.applicationSecret = secret();
      settings = { organizationAccessToken: secrets.organizationAccessToken, applicationSecret: secrets.applicationSecret };
      break;
    case 'nightscout':
      secrets.apiSecret = secret();
      settings = {};
      break;
    case 'withings': {
      secrets.clientId = `sim-${fleet.seed}`;
      secrets.clientSecret = secret();
      secrets.callbackToken = secret();
      cloud = new WithingsCloud({ clientId: secrets.clientId, clientSecret: secrets.clientSecret });
      const url = await cloud.start();
      log(`a stand-in Withings cloud listens at ${url}; the gateway pulls from it`);
      settings = { clientId: secrets.clientId, clientSecret: secrets.clientSecret, callbackToken: secrets.callbackToken, apiBaseUrl: url };
      break;
    }
  }
  await api.call('PUT', `/v1/admin/organizations/${org}/vendors/${format}`, settings);
  for (const d of fleet.devices) {
    const externalId = externalIdOf(format, d.id);
    const credentials =
      format === 'nightscout'
        ? { nightscout: { apiSecret: secrets.apiSecret } }
        : format === 'withings' && cloud !== undefined
          ? (() => {
              const t = cloud.addUser(externalId);
              return { withings: { refreshToken: t.refreshToken, accessToken: t.accessToken, accessTokenExpiresAt: new Date(Date.now() + t.expiresInSeconds * 1000).toISOString() } };
            })()
          : {};
    const path = `/v1/admin/organizations/${org}/vendors/${format}/bindings`;
    const r = await api.call('POST', path, { externalId, deviceId: d.id, ...credentials }, [201, 409]);
    if (r.status === 409) {
      // Bound by an earlier run: bind again, with this run's credentials.
      await api.call('DELETE', `${path}/${encodeURIComponent(externalId)}`, undefined, [204]);
      await api.call('POST', path, { externalId, deviceId: d.id, ...credentials });
    }
  }
  log(`${format}: connection configured, ${fleet.devices.length} devices bound`);
  return {
    format,
    organizationId: fleet.organizationId,
    secrets,
    ...(cloud === undefined ? {} : { cloud }),
    identities: new Map(),
    close: async () => cloud?.stop(),
  };
}

interface Answer {
  readonly status: number;
  readonly json: unknown;
}

export class VendorLink implements Link {
  readonly transport = 'http' as const;
  private held = false;
  private readonly controllers = new Set<AbortController>();
  /** Readings already put into the Withings cloud (a resend must not measure twice). */
  private readonly measured = new Set<string>();

  constructor(
    private readonly baseUrl: string,
    private readonly setup: VendorSetup,
    private readonly deviceId: string,
    private readonly events: LinkEvents,
    private readonly timeoutMs = 15_000,
  ) {}

  get ready(): boolean {
    return !this.held;
  }

  open(): void {
    this.held = false;
    this.events.ready();
  }

  hold(): void {
    this.held = true;
  }

  drop(): void {
    for (const c of this.controllers) c.abort(new Error('connection lost'));
  }

  async close(): Promise<void> {
    this.held = true;
  }

  private get org(): string {
    return encodeURIComponent(this.setup.organizationId);
  }

  private async post(path: string, body: string, headers: Record<string, string>): Promise<Answer | { error: string }> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(new Error('timeout')), this.timeoutMs);
    try {
      const res = await fetch(`${this.baseUrl}${path}`, { method: 'POST', headers, body, signal: controller.signal });
      const text = await res.text();
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  /** The vendor's credentials alone (for a garbage payload the gateway must refuse as such, not as unauthorized). */
  private authHeaders(): Record<string, string> {
    const s = this.setup.secrets;
    const json = { 'content-type': 'application/json' };
    switch (this.setup.format) {
      case 'tenovi':
        return { ...json, [(s.authHeader ?? '').toLowerCase()]: s.authKey ?? '' };
      case 'bodytrace':
        return { ...json, authorization: `Basic ${Buffer.from(`${s.username ?? ''}:${s.password ?? ''}`).toString('base64')}` };
      case 'open-mhealth':
        return { ...json, authorization: `Bearer ${s.token ?? ''}` };
      case 'validic':
        return validicRequest([], s.organizationAccessToken ?? '', s.applicationSecret ?? '').headers;
      default:
        return nightscoutRequest([], s.apiSecret ?? '').headers;
    }
  }

  /** Where this device's vendor delivers, and the request for a batch. */
  private requests(batch: readonly SimReading[]): { path: string; requests: VendorRequest[] } {
    const s = this.setup.secrets;
    const ext = encodeURIComponent(externalIdOf(this.setup.format, this.deviceId));
    switch (this.setup.format) {
      case 'tenovi':
        return { path: `/vendors/tenovi/${this.org}/measurements`, requests: [tenoviRequest(batch, s.authHeader ?? '', s.authKey ?? '')] };
      case 'bodytrace':
        return { path: `/vendors/bodytrace/${this.org}/measurements`, requests: bodytraceRequests(batch, s.username ?? '', s.password ?? '') };
      case 'open-mhealth':
        return { path: `/vendors/open-mhealth/${this.org}/users/${ext}/data-points`, requests: [openMhealthRequest(batch, s.token ?? '')] };
      case 'validic':
        return { path: `/vendors/validic/${this.org}/measurements`, requests: [validicRequest(batch, s.organizationAccessToken ?? '', s.applicationSecret ?? '')] };
      case 'nightscout':
        return { path: `/vendors/nightscout/${this.org}/${ext}/api/v1/entries`, requests: [nightscoutRequest(batch, s.apiSecret ?? '')] };
      case 'withings':
        throw new Error('Withings is pulled, not posted');
    }
  }

  send(batch: readonly SimReading[], done: (result: SendResult, latencyMs: number) => void): void {
    const t0 = performance.now();
    for (const r of batch) this.setup.identities.set(identityOf(r), r.key);
    const finish = (result: SendResult): void => done(result, performance.now() - t0);
    if (this.setup.format === 'withings') {
      void this.notifyWithings(batch).then(finish);
      return;
    }
    const { path, requests } = this.requests(batch);
    void (async () => {
      const outcomes: ReadingOutcome[] = [];
      for (const req of requests) {
        const answer = await this.post(path, req.body, req.headers);
        const mapped = this.outcomesOf(answer, req.recordsPerReading);
        if (!mapped.ok) return finish(mapped);
        outcomes.push(...mapped.outcomes);
      }
      finish({ ok: true, outcomes });
    })();
  }

  /** A 200 carries one outcome per record; the first record of each reading is the reading. */
  private outcomesOf(answer: Answer | { error: string }, recordsPerReading: readonly number[]): SendResult {
    if ('error' in answer) return { ok: false, reason: 'no answer' };
    const code = (answer.json as { code?: string } | undefined)?.code ?? `HTTP ${answer.status}`;
    if (answer.status === 200) {
      const outcomes = (answer.json as { outcomes?: { status?: string; code?: string }[] } | undefined)?.outcomes ?? [];
      const total = recordsPerReading.reduce((a, b) => a + b, 0);
      if (outcomes.length !== total) return { ok: false, reason: `200 with ${outcomes.length} outcomes for ${total} records`, fatal: true };
      const mapped: ReadingOutcome[] = [];
      let at = 0;
      for (const n of recordsPerReading) {
        const o = outcomes[at];
        mapped.push(n === 0 || o === undefined ? { status: 'rejected', code: 'RPM_SIM_NO_RECORD' } : o.status === 'accepted' || o.status === 'duplicate' ? { status: o.status } : { status: 'rejected', code: o.code ?? 'RPM_ERR_UNKNOWN' });
        at += n;
      }
      return { ok: true, outcomes: mapped };
    }
    if (answer.status === 503 || answer.status === 429) return { ok: false, reason: code };
    if (answer.status === 400 || answer.status === 413) return { ok: true, outcomes: recordsPerReading.map(() => ({ status: 'rejected' as const, code })) };
    return { ok: false, reason: code, fatal: answer.status === 401 || answer.status === 403 };
  }

  /** The user measured: the groups land in the cloud, which notifies the gateway (one notification per batch). */
  private async notifyWithings(batch: readonly SimReading[]): Promise<SendResult> {
    const cloud = this.setup.cloud;
    if (cloud === undefined) return { ok: false, reason: 'no Withings cloud', fatal: true };
    const userId = externalIdOf('withings', this.deviceId);
    let from = Number.POSITIVE_INFINITY;
    let to = 0;
    for (const r of batch) {
      const group = withingsGroup(r);
      if (!this.measured.has(r.key)) {
        cloud.measure(userId, group);
        this.measured.add(r.key);
      }
      from = Math.min(from, group.date);
      to = Math.max(to, group.date);
    }
    const answer = await this.post(`/vendors/withings/${this.org}/notify/${this.setup.secrets.callbackToken ?? ''}`, `userid=${userId}&appli=1&startdate=${from}&enddate=${to}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    if ('error' in answer) return { ok: false, reason: 'no answer' };
    const queued = (answer.json as { queued?: boolean } | undefined)?.queued === true;
    if (answer.status === 200 && queued) return { ok: true, outcomes: batch.map(() => ({ status: 'acked' as const })) };
    if (answer.status === 200) return { ok: true, outcomes: batch.map(() => ({ status: 'rejected' as const, code: 'RPM_ERR_VENDOR_DEVICE_UNBOUND' })) };
    const code = (answer.json as { code?: string } | undefined)?.code ?? `HTTP ${answer.status}`;
    return { ok: false, reason: code, fatal: answer.status === 401 || answer.status === 403 };
  }

  sendGarbage(payload: string, done: (acked: boolean) => void): void {
    if (this.setup.format === 'withings') {
      void this.post(`/vendors/withings/${this.org}/notify/${this.setup.secrets.callbackToken ?? ''}`, 'appli=oops', { 'content-type': 'application/x-www-form-urlencoded' }).then((a) => {
        if (!('error' in a) && a.status === 400) this.events.payloadRejected((a.json as { code?: string } | undefined)?.code ?? 'HTTP 400');
        done(!('error' in a) && a.status === 400);
      });
      return;
    }
    const { path } = this.requests([]);
    void this.post(path, payload, this.authHeaders()).then((a) => {
      if (!('error' in a) && a.status === 400) this.events.payloadRejected((a.json as { code?: string } | undefined)?.code ?? 'HTTP 400');
      done(!('error' in a) && a.status === 400);
    });
  }
}
