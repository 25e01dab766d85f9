import { hash } from 'node:crypto';
import type { RpmErrorCode } from '../core/errors/codes.js';
import { RpmError } from '../core/errors/rpm-error.js';
import { readingEnvelope } from '../core/model/reading-input.js';
import { manualDeviceId, type Reading, type ReadingFlag, type ReadingSource, type Transport } from '../core/model/reading.js';
import { DEVICE_KIND_MEASURES, type Device } from '../core/model/registry.js';
import type { VendorName } from '../core/model/vendor.js';
import type { Clock } from '../core/ports/clock.js';
import type { ForwardJob, Rejection } from '../core/ports/reading-store.js';
import { type DeviceDirectory, type DirectoryEntry, patientAt } from './device-directory.js';
import type { ForwardingRoutes } from './forwarding-routes.js';
import type { GroupCommitter } from './group-committer.js';
import { activeSampledContext, inSpan, readingTraces, tracer } from '../core/tracing.js';
import { type NormalizeLimits, normalizeReading, type ReadingDraft, type ReadingProblem } from './normalize.js';
import { DISAMBIGUATOR, idempotencyKey, readingId } from './reading-id.js';

export type ReadingOutcome =
  /** `seq`: the stored reading's position in the log, when the store says (FHIR in names it in Location). */
  | { readonly index: number; readonly status: 'accepted' | 'duplicate'; readonly id: string; readonly clientId?: string; readonly seq?: number }
  | {
      readonly index: number;
      readonly status: 'rejected';
      readonly code: RpmErrorCode;
      readonly path: string;
      readonly message: string;
      readonly clientId?: string;
    };

export interface IngestResult {
  readonly outcomes: readonly ReadingOutcome[];
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
}

export interface IngestRequest {
  /** The authenticated device (a measuring device, or a hub relaying for its devices). */
  readonly device: Device;
  /** The readings array of the envelope, as returned by `parseEnvelope`. */
  readonly readings: readonly unknown[];
  readonly transport: Transport;
  /** SHA-256 of the raw payload, kept with rejections instead of the payload itself. */
  readonly payloadSha256: string | null;
  /**
   * Problems an edge found while translating its own format (FHIR) into readings, by index:
   * those entries skip normalization and are rejected (and recorded) like any other.
   */
  readonly refused?: ReadonlyMap<number, ReadingProblem>;
  /** Where a reading-relative JSON pointer points in the request; default `/readings/{index}{path}`. */
  readonly locate?: (index: number, path: string) => string;
  /**
   * All or nothing (a FHIR transaction): if any reading is rejected, none is committed; the others
   * answer RPM_ERR_FHIR_TRANSACTION_ROLLED_BACK. Rejections are still recorded.
   */
  readonly atomic?: boolean;
  /**
   * Wait for room in the commit queue instead of being refused with RPM_ERR_OVERLOADED (MQTT:
   * a publish cannot be refused, so it waits and its socket is not read meanwhile).
   */
  readonly waitForCapacity?: boolean;
}

/**
 * One record a vendor adapter (gateway/vendors) translated into canonical reading JSON, or
 * refused, with what the vendor said beside it. Vendor requests are authenticated per
 * organization, not per device, so each record names its own measuring device: the device the
 * vendor's identifier is bound to.
 */
export interface SourcedItem {
  /** The bound measuring device; undefined when the vendor's identifier is bound to none (rejected). */
  readonly device: Device | undefined;
  /** Names the sender in a rejection when no device is bound, e.g. `tenovi:<hwi_device_id>`. */
  readonly unboundRef: string;
  /** Canonical reading JSON, as a device would post it, or why the adapter refused the record. */
  readonly translation: { readonly ok: true; readonly reading: Readonly<Record<string, unknown>> } | { readonly ok: false; readonly problem: ReadingProblem };
  /** Where the record sits in the vendor's payload (JSON pointer); reading-relative paths are appended. */
  readonly path: string;
  /** Tells apart coincident readings of one kind (Tenovi measurement index): part of the reading's identity. */
  readonly disambiguator?: string;
  readonly flags?: readonly ReadingFlag[];
  readonly recordId?: string;
  readonly details?: ReadingSource['details'];
}

export interface SourcedRequest {
  readonly vendor: VendorName;
  /** SHA-256 of the raw payload: kept with every reading (`source`) and rejection it produced. */
  readonly payloadSha256: string;
  readonly items: readonly SourcedItem[];
}

export interface IngestDeps {
  readonly directory: DeviceDirectory;
  readonly committer: GroupCommitter;
  readonly clock: Clock;
  readonly limits: NormalizeLimits & { readonly maxReadingsPerRequest: number };
  /** FHIR forwarding: which destinations each accepted reading goes to (transactional outbox). */
  readonly routes?: ForwardingRoutes;
  /** Told the battery levels that committed readings carried (device status, best effort). */
  readonly deviceStatus?: DeviceStatusListener;
}

export interface DeviceStatusListener {
  battery(deviceId: string, percent: number, measuredAtMs: number): void;
}

/**
 * The ingest path shared by HTTP and MQTT: envelope check, per-reading normalization,
 * measuring-device and patient resolution, then one durable group commit. Resolves only
 * after the commit, with one outcome per reading in request order.
 */
export class IngestService {
  private readonly envelope;

  constructor(private readonly deps: IngestDeps) {
    this.envelope = readingEnvelope(deps.limits.maxReadingsPerRequest);
  }

  /** Throws RpmError for a bad envelope; per-reading problems become `rejected` outcomes. */
  parseEnvelope(body: unknown): unknown[] {
    if (typeof body !== 'object' || body === null || Array.isArray(body) || !('readings' in body)) {
      throw new RpmError('RPM_ERR_REQUEST_INVALID', 'body must be an object with a `readings` array', { path: '/readings' });
    }
    const readings = (body as { readings: unknown }).readings;
    if (Array.isArray(readings) && readings.length === 0) {
      throw new RpmError('RPM_ERR_REQUEST_NO_READINGS', '`readings` must hold at least one reading', { path: '/readings' });
    }
    if (Array.isArray(readings) && readings.length > this.deps.limits.maxReadingsPerRequest) {
      throw new RpmError('RPM_ERR_REQUEST_TOO_MANY_READINGS', `at most ${this.deps.limits.maxReadingsPerRequest} readings per request`, {
        path: '/readings',
        details: { max: this.deps.limits.maxReadingsPerRequest, received: readings.length },
      });
    }
    const parsed = this.envelope.safeParse(body);
    if (!parsed.success) {
      throw new RpmError('RPM_ERR_REQUEST_INVALID', '`readings` must be an array of readings', { path: '/readings' });
    }
    return parsed.data.readings;
  }

  async ingest(req: IngestRequest): Promise<IngestResult> {
    const raw = req.readings;
    const receivedAtMs = this.deps.clock.now();
    const outcomes: ReadingOutcome[] = new Array(raw.length);
    const readings: Reading[] = [];
    const readingIndex: number[] = [];
    const batteries: (number | null)[] = [];
    const rejections: Rejection[] = [];

    const locate = req.locate ?? ((index: number, path: string) => `/readings/${index}${path}`);
    const reject = (index: number, code: RpmErrorCode, path: string, message: string, clientId: string | null): void => {
      const fullPath = locate(index, path);
      outcomes[index] = { index, status: 'rejected', code, path: fullPath, message, ...(clientId === null ? {} : { clientId }) };
      rejections.push({
        deviceId: req.device.id,
        receivedAtMs,
        transport: req.transport,
        code,
        path: fullPath,
        message,
        clientId,
        payloadSha256: req.payloadSha256,
      });
    };

    const ctx = {
      transport: req.transport,
      receivedAtMs,
      limits: this.deps.limits,
      defaultGlucoseMethod: req.device.kind === 'cgm' ? ('cgm' as const) : ('meter' as const),
    };
    const drafts: Array<{ index: number; draft: ReadingDraft }> = [];
    const relayed = new Set<string>();
    // Normalization is synchronous: one span around the loop, with counts only.
    const normalizing = tracer.startSpan('rpm.normalize', { attributes: { 'rpm.readings.received': raw.length, 'rpm.transport': req.transport } });
    for (let i = 0; i < raw.length; i++) {
      const refused = req.refused?.get(i);
      if (refused !== undefined) {
        reject(i, refused.code, refused.path, refused.message, null);
        continue;
      }
      const result = normalizeReading(raw[i], ctx);
      if (!result.ok) {
        reject(i, result.problem.code, result.problem.path, result.problem.message, result.clientId);
        continue;
      }
      drafts.push({ index: i, draft: result.draft });
      const via = result.draft.relayedDeviceId;
      if (via !== null && via !== req.device.id) relayed.add(via);
    }
    normalizing.setAttribute('rpm.readings.rejected', rejections.length);
    normalizing.end();
    // One round of (usually cached) directory loads per request, then a synchronous loop.
    const senderEntry = this.deps.directory.peek(req.device.id) ?? (await this.deps.directory.load(req.device.id));
    const relayEntries = new Map<string, DirectoryEntry>();
    for (const id of relayed) relayEntries.set(id, this.deps.directory.peek(id) ?? (await this.deps.directory.load(id)));
    for (const { index, draft } of drafts) {
      const resolved = this.resolve(req.device, senderEntry, relayEntries, draft);
      if (!resolved.ok) {
        reject(index, resolved.code, '/deviceId', resolved.message, draft.clientId);
        continue;
      }
      readings.push(resolved.reading);
      readingIndex.push(index);
      batteries.push(draft.batteryPercent);
    }

    if (req.atomic === true && rejections.length > 0 && readings.length > 0) {
      // All or nothing: the valid readings are not committed either, and say why.
      for (let k = 0; k < readings.length; k++) {
        const index = readingIndex[k] as number;
        const clientId = (readings[k] as Reading).clientId;
        outcomes[index] = {
          index,
          status: 'rejected',
          code: 'RPM_ERR_FHIR_TRANSACTION_ROLLED_BACK',
          path: locate(index, ''),
          message: 'not committed: another entry of the transaction was rejected',
          ...(clientId === null ? {} : { clientId }),
        };
      }
      await this.deps.committer.submit({ readings: [], rejections }, { waitForCapacity: req.waitForCapacity === true });
      return { outcomes, accepted: 0, duplicate: 0, rejected: raw.length };
    }
    return this.commit(readings, readingIndex, batteries, rejections, outcomes, req.waitForCapacity === true);
  }

  /**
   * Records a vendor adapter translated (Tenovi, Withings, BodyTrace, Open mHealth, Validic,
   * Nightscout): the same normalization, attribution, dedupe, durable commit and rules as
   * `ingest`, each record under the device its vendor identifier is bound to, with the vendor,
   * the payload's SHA-256 and the vendor's record id kept with the reading. Resolves after the
   * commit, one outcome per item in order (`index` is the item's).
   */
  async ingestSourced(req: SourcedRequest): Promise<IngestResult> {
    const receivedAtMs = this.deps.clock.now();
    const outcomes: ReadingOutcome[] = new Array(req.items.length);
    const readings: Reading[] = [];
    const readingIndex: number[] = [];
    const batteries: (number | null)[] = [];
    const rejections: Rejection[] = [];
    const reject = (index: number, deviceRef: string, code: RpmErrorCode, path: string, message: string, clientId: string | null): void => {
      outcomes[index] = { index, status: 'rejected', code, path, message, ...(clientId === null ? {} : { clientId }) };
      rejections.push({ deviceId: deviceRef, receivedAtMs, transport: 'http', code, path, message, clientId, payloadSha256: req.payloadSha256 });
    };
    const entries = new Map<string, DirectoryEntry>();
    for (const item of req.items) {
      const id = item.device?.id;
      if (id !== undefined && !entries.has(id)) entries.set(id, this.deps.directory.peek(id) ?? (await this.deps.directory.load(id)));
    }
    for (let i = 0; i < req.items.length; i++) {
      const item = req.items[i] as SourcedItem;
      const device = item.device;
      const ref = device?.id ?? item.unboundRef;
      if (!item.translation.ok) {
        const p = item.translation.problem;
        reject(i, ref, p.code, `${item.path}${p.path}`, p.message, null);
        continue;
      }
      if (device === undefined) {
        reject(i, ref, 'RPM_ERR_VENDOR_DEVICE_UNBOUND', item.path, `${req.vendor} identifier is not bound to a device here (POST /v1/admin/organizations/{id}/vendors/${req.vendor}/bindings)`, null);
        continue;
      }
      const entry = entries.get(device.id);
      if (entry === undefined || entry.device === undefined || entry.device.status !== 'active') {
        reject(i, ref, 'RPM_ERR_AUTH_DEVICE_REVOKED', item.path, `the bound device '${device.id}' is revoked`, null);
        continue;
      }
      const result = normalizeReading(item.translation.reading, {
        transport: 'http',
        receivedAtMs,
        limits: this.deps.limits,
        defaultGlucoseMethod: device.kind === 'cgm' ? 'cgm' : 'meter',
      });
      if (!result.ok) {
        reject(i, ref, result.problem.code, `${item.path}${result.problem.path}`, result.problem.message, result.clientId);
        continue;
      }
      const draft = result.draft;
      if (draft.relayedDeviceId !== null || (item.disambiguator !== undefined && !DISAMBIGUATOR.test(item.disambiguator))) {
        // Adapters never relay nor invent keys; this is a bug of ours, refused rather than stored oddly.
        reject(i, ref, 'RPM_ERR_READING_INVALID', item.path, 'the adapter produced a reading it may not (relay or malformed disambiguator)', draft.clientId);
        continue;
      }
      const source: ReadingSource = {
        vendor: req.vendor,
        payloadSha256: req.payloadSha256,
        ...(item.recordId === undefined ? {} : { recordId: item.recordId }),
        ...(item.details === undefined || Object.keys(item.details).length === 0 ? {} : { details: item.details }),
      };
      readings.push(this.buildReading(entry.device, null, entry, draft, { disambiguator: item.disambiguator ?? null, flags: item.flags ?? [], source }));
      readingIndex.push(i);
      batteries.push(draft.batteryPercent);
    }
    return this.commit(readings, readingIndex, batteries, rejections, outcomes, false);
  }

  /** One durable group commit of readings and rejections, then the outcomes in request order. */
  private async commit(
    readings: Reading[],
    readingIndex: readonly number[],
    batteries: readonly (number | null)[],
    rejections: Rejection[],
    outcomes: ReadingOutcome[],
    /** MQTT waits for room in the commit queue outside its bound; HTTP is refused at admission. */
    waitForCapacity: boolean,
  ): Promise<IngestResult> {
    // Outbox jobs for the readings' destinations, from memory; written in the same transaction.
    const forwards: ForwardJob[] = this.deps.routes === undefined ? [] : await this.deps.routes.forwardsFor(readings);
    const committed = await inSpan('rpm.commit', { 'rpm.readings': readings.length, 'rpm.rejections': rejections.length, 'rpm.forwards': forwards.length }, (span) => {
      // The rules pass and the FHIR delivery that follow, asynchronously, continue this trace.
      const sc = activeSampledContext();
      if (sc !== undefined) for (const r of readings) readingTraces.remember(r.id, sc);
      return this.deps.committer
        .submit(forwards.length === 0 ? { readings, rejections } : { readings, rejections, forwards }, { waitForCapacity })
        .then((outcomes) => {
          span.setAttribute('rpm.readings.duplicate', outcomes.filter((o) => o.status === 'duplicate').length);
          return outcomes;
        });
    });
    let accepted = 0;
    let duplicate = 0;
    for (let k = 0; k < committed.length; k++) {
      const outcome = committed[k];
      const index = readingIndex[k];
      const reading = readings[k];
      if (outcome === undefined || index === undefined || reading === undefined) continue;
      if (outcome.status === 'accepted') accepted++;
      else duplicate++;
      const battery = batteries[k];
      if (battery !== null && battery !== undefined) this.deps.deviceStatus?.battery(reading.deviceId, battery, reading.measuredAtMs);
      outcomes[index] = {
        index,
        status: outcome.status,
        id: outcome.id,
        ...(reading.clientId === null ? {} : { clientId: reading.clientId }),
        ...(outcome.seq === undefined ? {} : { seq: outcome.seq }),
      };
    }
    return { outcomes, accepted, duplicate, rejected: rejections.length };
  }

  /**
   * Readings a staff member enters for a patient (a value read out on a call, a rate counted on
   * video, consciousness, supplemental oxygen): the same normalization, dedupe, durable commit and
   * rules as device readings, entry method `manual`, attributed to the patient directly (no
   * device assignment involved) under the patient's pseudo-device, with who entered them.
   */
  async ingestManual(req: { readonly patientId: string; readonly staffId: string; readonly readings: readonly unknown[] }): Promise<IngestResult> {
    const receivedAtMs = this.deps.clock.now();
    const deviceId = manualDeviceId(req.patientId);
    const outcomes: ReadingOutcome[] = new Array(req.readings.length);
    const readings: Reading[] = [];
    const readingIndex: number[] = [];
    const rejections: Rejection[] = [];
    const ctx = { transport: 'http' as const, receivedAtMs, limits: this.deps.limits, defaultGlucoseMethod: 'meter' as const, staffEntry: true };
    for (let i = 0; i < req.readings.length; i++) {
      const raw = req.readings[i];
      const result = normalizeReading(typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...raw, entryMethod: 'manual' } : raw, ctx);
      const reject = (code: RpmErrorCode, path: string, message: string, clientId: string | null): void => {
        const full = `/observations/${i}${path}`;
        outcomes[i] = { index: i, status: 'rejected', code, path: full, message, ...(clientId === null ? {} : { clientId }) };
        rejections.push({ deviceId, receivedAtMs, transport: 'http', code, path: full, message, clientId, payloadSha256: null });
      };
      if (!result.ok) {
        reject(result.problem.code, result.problem.path, result.problem.message, result.clientId);
        continue;
      }
      const d = result.draft;
      if (d.relayedDeviceId !== null) {
        reject('RPM_ERR_READING_INVALID', '/deviceId', 'a staff entry names no device', d.clientId);
        continue;
      }
      const key = idempotencyKey(d.kind, d.measuredAtMs);
      readings.push({
        id: readingId(deviceId, key),
        clientId: d.clientId,
        idempotencyKey: key,
        deviceId,
        hubId: null,
        patientId: req.patientId,
        kind: d.kind,
        code: d.code,
        components: d.components,
        reported: d.reported,
        measuredAt: d.measuredAt,
        measuredAtMs: d.measuredAtMs,
        utcOffsetMinutes: d.utcOffsetMinutes,
        receivedAtMs,
        entryMethod: 'manual',
        setting: d.setting,
        mealContext: d.mealContext,
        glucoseMethod: d.glucoseMethod,
        sequence: null,
        transport: 'http',
        flags: [],
        recordedBy: req.staffId,
      });
      readingIndex.push(i);
    }
    const forwards: ForwardJob[] = this.deps.routes === undefined ? [] : await this.deps.routes.forwardsFor(readings);
    const committed = await this.deps.committer.submit(forwards.length === 0 ? { readings, rejections } : { readings, rejections, forwards });
    let accepted = 0;
    let duplicate = 0;
    for (let k = 0; k < committed.length; k++) {
      const outcome = committed[k];
      const index = readingIndex[k];
      const reading = readings[k];
      if (outcome === undefined || index === undefined || reading === undefined) continue;
      if (outcome.status === 'accepted') accepted++;
      else duplicate++;
      outcomes[index] = { index, status: outcome.status, id: outcome.id, ...(reading.clientId === null ? {} : { clientId: reading.clientId }) };
    }
    return { outcomes, accepted, duplicate, rejected: rejections.length };
  }

  /** Which device measured the reading, which hub relayed it, and whose reading it is. */
  private resolve(
    sender: Device,
    senderEntry: DirectoryEntry,
    relayEntries: ReadonlyMap<string, DirectoryEntry>,
    draft: ReadingDraft,
  ): { ok: true; reading: Reading } | { ok: false; code: RpmErrorCode; message: string } {
    let measuring = sender;
    let entry = senderEntry;
    let hubId: string | null = null;
    if (draft.relayedDeviceId !== null && draft.relayedDeviceId !== sender.id) {
      const relayedEntry = relayEntries.get(draft.relayedDeviceId);
      const relayed = relayedEntry?.device;
      if (sender.kind !== 'hub' || relayedEntry === undefined || relayed === undefined || relayed.hubId !== sender.id || relayed.status !== 'active') {
        return {
          ok: false,
          code: 'RPM_ERR_READING_DEVICE_NOT_RELAYABLE',
          message: `device '${draft.relayedDeviceId}' is not an active device paired with this hub`,
        };
      }
      measuring = relayed;
      entry = relayedEntry;
      hubId = sender.id;
    }
    return { ok: true, reading: this.buildReading(measuring, hubId, entry, draft) };
  }

  /** The reading as committed: patient at measurement time, flags, identity. */
  private buildReading(
    measuring: Device,
    hubId: string | null,
    entry: DirectoryEntry,
    draft: ReadingDraft,
    extra?: { readonly disambiguator: string | null; readonly flags: readonly ReadingFlag[]; readonly source: ReadingSource },
  ): Reading {
    const patientId = patientAt(entry.assignments, draft.measuredAtMs);
    const flags: ReadingFlag[] = [];
    if (patientId === null) flags.push('unassigned');
    const measures = DEVICE_KIND_MEASURES[measuring.kind];
    if (measures !== 'any' && !measures.includes(draft.kind)) flags.push('device-kind-mismatch');
    // Whoever measured is unknown: stored and shown, judged only once a nurse confirms it.
    if (draft.entryMethod === 'ambiguous-user') flags.push('user-unconfirmed');
    if (extra !== undefined) for (const f of extra.flags) if (!flags.includes(f)) flags.push(f);
    const key = idempotencyKey(draft.kind, draft.measuredAtMs, extra?.disambiguator);
    return {
      id: readingId(measuring.id, key),
      clientId: draft.clientId,
      idempotencyKey: key,
      deviceId: measuring.id,
      hubId,
      patientId,
      kind: draft.kind,
      code: draft.code,
      components: draft.components,
      reported: draft.reported,
      measuredAt: draft.measuredAt,
      measuredAtMs: draft.measuredAtMs,
      utcOffsetMinutes: draft.utcOffsetMinutes,
      receivedAtMs: draft.receivedAtMs,
      entryMethod: draft.entryMethod,
      setting: draft.setting,
      mealContext: draft.mealContext,
      glucoseMethod: draft.glucoseMethod,
      sequence: draft.sequence,
      transport: draft.transport,
      flags,
      recordedBy: null,
      ...(extra === undefined ? {} : { source: extra.source }),
    };
  }
}

export function sha256Hex(payload: Buffer | string): string {
  return hash('sha256', payload, 'hex');
}
