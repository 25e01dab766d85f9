import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { Device } from '../../core/model/registry.js';
import {
  type BindingCredentials,
  type CreateBindingInput,
  parseVendorSettings,
  type PullStatus,
  type VendorBinding,
  type VendorConnection,
  type VendorName,
  type VendorPull,
} from '../../core/model/vendor.js';
import type { Clock } from '../../core/ports/clock.js';
import type { VendorStore } from '../../core/ports/vendor-store.js';
import type { DeviceDirectory } from '../../pipeline/device-directory.js';
import type { IngestResult, IngestService, SourcedItem } from '../../pipeline/ingest.js';
import type { Translated } from './translation.js';

/** What the vendor edge reports (GatewayMetrics implements it; labels are vendor and outcome, never an id). */
export interface VendorMetricsSink {
  vendorRequest(vendor: VendorName, outcome: VendorRequestOutcome, seconds: number): void;
  vendorReadings(vendor: VendorName, result: Pick<IngestResult, 'accepted' | 'duplicate' | 'rejected'>): void;
  vendorIgnored(vendor: VendorName, reason: string, count: number): void;
  vendorDeviceStatus(vendor: VendorName): void;
}

export type VendorRequestOutcome = 'ok' | 'unauthorized' | 'invalid' | 'expired' | 'failed';

export interface VendorIngestAnswer extends IngestResult {
  /** What was deliberately not stored, by reason. */
  readonly ignored: Readonly<Record<string, number>>;
}

export interface VendorServiceDeps {
  readonly store: VendorStore;
  readonly directory: DeviceDirectory;
  readonly ingest: IngestService;
  /** Device status (battery) and last seen of bound devices. */
  readonly presence: { battery(deviceId: string, percent: number, atMs: number): void; seen(deviceId: string, atMs: number): void };
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: VendorMetricsSink;
}

/** Bindings cached per process (this gateway is their only writer); misses included, bounded. */
const MAX_CACHED_BINDINGS = 100_000;

const key = (...parts: string[]): string => parts.join('\u0000');

/** An id that names an unbound sender in rejections: `tenovi:<hwi_device_id>`, kept to our id alphabet. */
function unboundRef(vendor: VendorName, externalId: string): string {
  const clean = externalId.replace(/[^A-Za-z0-9._:-]/g, '_').slice(0, 100);
  return `${vendor}:${clean === '' ? 'unknown' : clean}`;
}

/**
 * Vendor integrations of each organization: connections (credentials, encrypted by the store),
 * bindings of vendor identifiers to our devices, and the path every vendor payload takes once
 * its adapter translated it: bindings resolved, the shared IngestService (normalization,
 * attribution, dedupe, durable commit, rules), device status, metrics.
 */
export class VendorService {
  private readonly connections = new Map<string, VendorConnection | null>();
  private readonly bindings = new Map<string, VendorBinding | null>();
  private readonly pullListeners: Array<() => void> = [];

  constructor(private readonly deps: VendorServiceDeps) {}

  /** The puller wants to hear of new pulls at once. */
  onPullQueued(listener: () => void): void {
    this.pullListeners.push(listener);
  }

  // Connections --------------------------------------------------------------------------------

  async putConnection(organizationId: string, vendor: VendorName, body: unknown, enabled = true): Promise<VendorConnection> {
    const parsed = parseVendorSettings(vendor, body);
    if (!parsed.ok) throw new RpmError('RPM_ERR_REQUEST_INVALID', `${parsed.path}: ${parsed.message}`, { path: `/body${parsed.path}` });
    const now = this.deps.clock.now();
    const stored = await this.deps.store.putConnection({ organizationId, vendor, settings: parsed.settings, enabled, createdAtMs: now, updatedAtMs: now } as VendorConnection);
    this.connections.set(key(organizationId, vendor), stored);
    return stored;
  }

  /** The organization's connection to the vendor, or undefined (also when disabled). */
  async connection<V extends VendorName>(organizationId: string, vendor: V): Promise<VendorConnection<V> | undefined> {
    const k = key(organizationId, vendor);
    let c = this.connections.get(k);
    if (c === undefined) {
      c = (await this.deps.store.getConnection(organizationId, vendor)) ?? null;
      if (this.connections.size > 10_000) this.connections.clear();
      this.connections.set(k, c);
    }
    return c === null || !c.enabled ? undefined : (c as VendorConnection<V>);
  }

  async requireConnection<V extends VendorName>(organizationId: string, vendor: V): Promise<VendorConnection<V>> {
    const c = await this.connection(organizationId, vendor);
    if (c === undefined) throw new RpmError('RPM_ERR_VENDOR_CONNECTION_NOT_FOUND', `organization '${organizationId}' has no ${vendor} connection`);
    return c;
  }

  listConnections(organizationId: string): Promise<VendorConnection[]> {
    return this.deps.store.listConnections(organizationId);
  }

  async deleteConnection(organizationId: string, vendor: VendorName): Promise<void> {
    const gone = await this.deps.store.deleteConnection(organizationId, vendor);
    this.connections.delete(key(organizationId, vendor));
    if (!gone) throw new RpmError('RPM_ERR_VENDOR_CONNECTION_NOT_FOUND', `organization '${organizationId}' has no ${vendor} connection`);
  }

  // Bindings -----------------------------------------------------------------------------------

  async createBinding(organizationId: string, vendor: VendorName, input: CreateBindingInput): Promise<VendorBinding> {
    let credentials: BindingCredentials | null = null;
    if (vendor === 'nightscout') {
      if (input.nightscout === undefined) throw new RpmError('RPM_ERR_REQUEST_INVALID', "a Nightscout site needs its API secret (`nightscout.apiSecret`)", { path: '/body/nightscout' });
      credentials = { type: 'nightscout', apiSecret: input.nightscout.apiSecret };
    } else if (vendor === 'withings') {
      if (input.withings === undefined) throw new RpmError('RPM_ERR_REQUEST_INVALID', "a Withings user needs the OAuth 2 tokens it granted (`withings.refreshToken`)", { path: '/body/withings' });
      const w = input.withings;
      credentials = {
        type: 'withings',
        refreshToken: w.refreshToken,
        accessToken: w.accessToken ?? null,
        accessTokenExpiresAtMs: w.accessToken === undefined || w.accessTokenExpiresAt === undefined ? null : Date.parse(w.accessTokenExpiresAt),
      };
    } else if (input.nightscout !== undefined || input.withings !== undefined) {
      throw new RpmError('RPM_ERR_REQUEST_INVALID', `${vendor} bindings carry no credentials of their own`, { path: input.nightscout === undefined ? '/body/withings' : '/body/nightscout' });
    }
    const device = await this.deps.directory.device(input.deviceId);
    if (device === undefined) throw new RpmError('RPM_ERR_DEVICE_NOT_FOUND', `device '${input.deviceId}' not found`, { path: '/deviceId' });
    const now = this.deps.clock.now();
    const b = await this.deps.store.createBinding({ organizationId, vendor, externalId: input.externalId, deviceId: input.deviceId, credentials, createdAtMs: now, updatedAtMs: now });
    this.bindings.set(key(organizationId, vendor, input.externalId), b);
    return b;
  }

  async binding(organizationId: string, vendor: VendorName, externalId: string): Promise<VendorBinding | undefined> {
    const k = key(organizationId, vendor, externalId);
    let b = this.bindings.get(k);
    if (b === undefined) {
      b = (await this.deps.store.getBinding(organizationId, vendor, externalId)) ?? null;
      if (this.bindings.size >= MAX_CACHED_BINDINGS) {
        const oldest = this.bindings.keys().next();
        if (oldest.done !== true) this.bindings.delete(oldest.value);
      }
      this.bindings.set(k, b);
    }
    return b ?? undefined;
  }

  async requireBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<VendorBinding> {
    const b = await this.binding(organizationId, vendor, externalId);
    if (b === undefined) throw new RpmError('RPM_ERR_VENDOR_BINDING_NOT_FOUND', `${vendor} '${externalId}' is not bound in organization '${organizationId}'`);
    return b;
  }

  listBindings(organizationId: string, vendor: VendorName, limit: number, afterExternalId?: string): Promise<VendorBinding[]> {
    return this.deps.store.listBindings(organizationId, vendor, afterExternalId === undefined ? { limit } : { limit, afterExternalId });
  }

  async deleteBinding(organizationId: string, vendor: VendorName, externalId: string): Promise<void> {
    const gone = await this.deps.store.deleteBinding(organizationId, vendor, externalId);
    this.bindings.delete(key(organizationId, vendor, externalId));
    if (!gone) throw new RpmError('RPM_ERR_VENDOR_BINDING_NOT_FOUND', `${vendor} '${externalId}' is not bound in organization '${organizationId}'`);
  }

  /** Stores rotated credentials (a Withings refresh) before anyone uses them. */
  async updateCredentials(b: VendorBinding, credentials: BindingCredentials): Promise<VendorBinding> {
    const now = this.deps.clock.now();
    const ok = await this.deps.store.updateBindingCredentials(b.organizationId, b.vendor, b.externalId, credentials, now);
    if (!ok) throw new RpmError('RPM_ERR_VENDOR_BINDING_NOT_FOUND', `${b.vendor} '${b.externalId}' was unbound meanwhile`);
    const updated = { ...b, credentials, updatedAtMs: now };
    this.bindings.set(key(b.organizationId, b.vendor, b.externalId), updated);
    return updated;
  }

  // Pulls --------------------------------------------------------------------------------------

  /** Durably queues a pull of a user's measures in [fromMs, toMs]: a notification is answered only after this. */
  async queuePull(organizationId: string, vendor: VendorName, externalId: string, fromMs: number, toMs: number, reason: VendorPull['reason']): Promise<VendorPull> {
    const pull = await this.deps.store.enqueuePull({ organizationId, vendor, externalId, fromMs, toMs, reason, createdAtMs: this.deps.clock.now() });
    for (const l of this.pullListeners) l();
    return pull;
  }

  listPulls(organizationId: string, vendor: VendorName, query: { statuses?: readonly PullStatus[]; externalId?: string; limit: number }): Promise<VendorPull[]> {
    return this.deps.store.listPulls({ organizationId, vendor, ...query });
  }

  // Ingest -------------------------------------------------------------------------------------

  /**
   * A payload refused as a whole after its sender authenticated (not JSON, not the vendor's
   * format): recorded as a rejection under `<vendor>:<organization>:payload` with the payload's
   * SHA-256, so an operator can match it with the vendor's delivery log. Answers the error to
   * send, carrying the hash.
   */
  async refusePayload(organizationId: string, vendor: VendorName, payloadSha256: string, err: RpmError): Promise<RpmError> {
    await this.deps.ingest.ingestSourced({
      vendor,
      payloadSha256,
      items: [{ device: undefined, unboundRef: unboundRef(vendor, `${organizationId}:payload`), translation: { ok: false, problem: { code: err.code, path: err.path ?? '', message: err.message } }, path: '' }],
    });
    return new RpmError(err.code, err.message, { ...(err.path === undefined ? {} : { path: err.path }), details: { ...(err.details ?? {}), payloadSha256 } });
  }

  /**
   * A translated payload of one organization: each record under the device its vendor id is
   * bound to (or rejected as unbound), through the shared IngestService, with the payload's
   * SHA-256 kept with every reading and rejection. Resolves after the durable commit.
   */
  async ingest(organizationId: string, vendor: VendorName, payloadSha256: string, t: Translated): Promise<VendorIngestAnswer> {
    const now = this.deps.clock.now();
    const devices = new Map<string, Device | undefined>();
    const deviceOf = async (externalId: string): Promise<Device | undefined> => {
      if (externalId === '') return undefined;
      if (devices.has(externalId)) return devices.get(externalId);
      const b = await this.binding(organizationId, vendor, externalId);
      const d = b === undefined ? undefined : (this.deps.directory.peek(b.deviceId) ?? (await this.deps.directory.load(b.deviceId))).device;
      devices.set(externalId, d);
      return d;
    };
    const items: SourcedItem[] = [];
    for (const r of t.records) {
      const device = await deviceOf(r.externalId);
      items.push({
        device,
        unboundRef: unboundRef(vendor, r.externalId),
        translation: r.translation,
        path: r.path,
        ...(r.disambiguator === undefined ? {} : { disambiguator: r.disambiguator }),
        ...(r.flags === undefined ? {} : { flags: r.flags }),
        ...(r.recordId === undefined ? {} : { recordId: r.recordId }),
        ...(r.details === undefined ? {} : { details: r.details }),
      });
    }
    const result: IngestResult = items.length === 0 ? { outcomes: [], accepted: 0, duplicate: 0, rejected: 0 } : await this.deps.ingest.ingestSourced({ vendor, payloadSha256, items });
    for (const d of devices.values()) if (d !== undefined) this.deps.presence.seen(d.id, now);
    for (const s of t.deviceStatus) {
      const d = await deviceOf(s.externalId);
      if (d === undefined) {
        this.deps.metrics?.vendorIgnored(vendor, 'unbound-status', 1);
        continue;
      }
      this.deps.presence.seen(d.id, now);
      this.deps.presence.battery(d.id, s.batteryPercent, s.atMs);
      this.deps.metrics?.vendorDeviceStatus(vendor);
    }
    this.deps.metrics?.vendorReadings(vendor, result);
    for (const [reason, n] of t.ignored) this.deps.metrics?.vendorIgnored(vendor, reason, n);
    return { ...result, ignored: Object.fromEntries(t.ignored) };
  }
}
