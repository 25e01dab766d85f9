import { Client, type FhirResource, type RequestOptions } from 'fhir-kit-client';
import type { RpmErrorCode } from '../../core/errors/codes.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { Destination } from '../../core/model/destination.js';
import type { Device } from '../../core/model/registry.js';
import type { DeliveryItem, DeliveryResult, PatientIdentifier, PatientLookup, PatientTarget, SinkDescription } from '../../core/ports/clinical-record-sink.js';
import type { AppointmentRecord } from '../../core/ports/appointment-sink.js';
import type { EncounterRecord } from '../../core/ports/encounter-sink.js';
import type { EhrPatientLookup } from '../../core/ports/ehr-patients.js';
import { appointmentResource } from './appointment-mapper.js';
import { encounterResource } from './encounter-mapper.js';
import { demographicsOf } from './patient-demographics.js';
import { parseBatchResponse, referenceOf } from './batch-response.js';
import { CAUTIOUS_PLAN, capabilityStatement, planFrom, type ServerPlan, type WriteInteraction } from './capabilities.js';
import { type AuthProvider, authProvider } from './destination-auth.js';
import { logicalDeviceReference, mapDevice } from './device-mapper.js';
import type { FhirSystems } from './fhir-codes.js';
import type { BatchBundle, BundleRequest, Observation, Reference, WritableResource } from './fhir-types.js';
import type { InFlightKeys } from './in-flight.js';
import { mapReading } from './observation-mapper.js';
import { conditionalReference, subjectReference } from './patient-reference.js';
import { codeForStatus, isRetryable, operationOutcomeOf, outcomeOfError, outcomeSummary, toUpstreamError } from './upstream-error.js';

export interface SessionOptions {
  readonly systems: FhirSystems;
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Observation identifiers in flight at this destination (shared by its sessions, old and new). */
  readonly inFlight: InFlightKeys;
}

/** What became of one resource we tried to write. */
type WriteResult =
  | { readonly status: 'ok'; readonly ref: string }
  | { readonly status: 'dead'; readonly code: RpmErrorCode; readonly message: string; readonly outcome: unknown }
  | { readonly status: 'retry'; readonly code: RpmErrorCode; readonly message: string };

/** An OperationOutcome about the Observation's patient (HAPI: "Resource Patient/1 not found, specified in path: Observation.subject"). */
const PATIENT_PROBLEM = /\b(subject|patient|performer)\b/i;

/** FHIR search escaping of a token part (`\\`, `|`, `,`, `$`). */
function escapeToken(value: string): string {
  return value.replace(/[\\|,$]/g, (c) => `\\${c}`);
}

function identifierOf(resource: WritableResource): { system: string; value: string } {
  const id = resource.identifier[0];
  if (id === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'resource without our identifier');
  return id;
}

/** The query part of an identifier search (`If-None-Exist`, search URLs): token `system|value`, escaped. */
function identifierQuery(resource: WritableResource): string {
  const { system, value } = identifierOf(resource);
  return `identifier=${encodeURIComponent(`${system}|${value}`)}`;
}

/** The deterministic id of update-as-create: our identifier hash, a valid FHIR id (64 hex). */
function deterministicId(resource: WritableResource): string {
  return identifierOf(resource).value;
}

function entryResult(status: number, ok: boolean, ref: string | undefined, outcome: unknown, interaction: string): WriteResult {
  if (ok) {
    if (ref === undefined) return { status: 'retry', code: 'RPM_ERR_UPSTREAM_FHIR', message: `FHIR server answered ${status} to ${interaction} without naming the resource` };
    return { status: 'ok', ref };
  }
  const code = codeForStatus(status);
  const summary = outcomeSummary(outcome);
  const message = `FHIR server answered ${status} to ${interaction}${summary === undefined ? '' : `: ${summary}`}`;
  return isRetryable(code) ? { status: 'retry', code, message } : { status: 'dead', code, message, outcome: operationOutcomeOf(outcome) };
}

/**
 * Everything the connector knows about one destination while its configuration stays the same:
 * the fhir-kit-client instance, credentials, the plan read from the CapabilityStatement (once)
 * and the server's ids of our Devices.
 */
export class DestinationSession {
  private readonly client: Client;
  private readonly auth: AuthProvider;
  private planned: Promise<ServerPlan> | undefined;
  private plan: ServerPlan | undefined;
  /** Device id → how Observations reference it; a promise so concurrent chunks create it once. */
  private readonly devices = new Map<string, Promise<Reference>>();

  constructor(
    readonly destination: Destination,
    private readonly options: SessionOptions,
  ) {
    this.client = new Client({ baseUrl: destination.baseUrl.replace(/\/+$/, '') });
    this.auth = authProvider(destination.auth, destination.baseUrl);
  }

  describe(): SinkDescription | undefined {
    return this.plan === undefined ? undefined : { interaction: this.plan.observation, batch: this.plan.batch };
  }

  async deliver(items: readonly DeliveryItem[], signal: AbortSignal | undefined): Promise<DeliveryResult[]> {
    const plan = await this.serverPlan(signal);
    const results: (DeliveryResult | undefined)[] = new Array(items.length);
    const observations: { item: number; resource: Observation }[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as DeliveryItem;
      const patient = item.reading.patientId === null ? 'the reading belongs to no patient' : subjectReference(item.patient);
      if (typeof patient === 'string') {
        results[i] = { status: 'dead', code: 'RPM_ERR_FHIR_INVALID', message: patient, outcome: null };
        continue;
      }
      // Devices first: the Observations reference them.
      const [device, hub] = await Promise.all([this.deviceReference(item.device, plan, signal), this.deviceReference(item.hub, plan, signal)]);
      let mapped: Observation[];
      try {
        mapped = mapReading(item.reading, { systems: this.options.systems, patient, device, hub, simulated: item.device?.simulated === true });
      } catch (err) {
        // A reading we cannot express would fail the same way forever: a dead letter, not a retry.
        results[i] = { status: 'dead', code: 'RPM_ERR_FHIR_INVALID', message: err instanceof Error ? err.message : String(err), outcome: null };
        continue;
      }
      for (const resource of mapped) observations.push({ item: i, resource });
    }
    // One write per identifier: the same Observation twice in this exchange (a reading resent
    // under another client id) is written once and both share the answer.
    const unique: Observation[] = [];
    const slot = new Map<string, number>();
    const positions = observations.map(({ resource }) => {
      const key = identifierOf(resource).value;
      let at = slot.get(key);
      if (at === undefined) {
        at = unique.length;
        slot.set(key, at);
        unique.push(resource);
      }
      return at;
    });
    // ... and never while another exchange of this destination has one of them in flight.
    const release = await this.options.inFlight.acquire(slot.keys(), signal);
    let written: WriteResult[];
    try {
      written = plan.batch && unique.length > 1 ? await this.writeBatch(unique, plan.observation, signal) : await this.writeEach(unique, plan.observation, signal);
    } finally {
      release();
    }
    // A reading is delivered when all its Observations are; a transient failure of any retries it
    // (what was written already is recognised by its identifier next time).
    const refs = new Map<number, string[]>();
    for (let k = 0; k < observations.length; k++) {
      const { item } = observations[k] as { item: number };
      const w = written[positions[k] as number] as WriteResult;
      const current = results[item];
      if (w.status === 'retry') results[item] = w;
      else if (w.status === 'dead' && current?.status !== 'retry') results[item] = w;
      else if (w.status === 'ok') {
        const list = refs.get(item) ?? [];
        list.push(w.ref);
        refs.set(item, list);
      }
    }
    const answered = items.map((_, i): DeliveryResult => results[i] ?? { status: 'delivered', refs: refs.get(i) ?? [] });
    await this.explainRefusals(items, answered, signal);
    return answered;
  }

  /**
   * A visit as an Appointment, written at its deterministic id (`PUT Appointment/{hash}`): the
   * first write creates it, later ones (moved, cancelled, no-show) replace it. Answers one result
   * like a reading's: delivered, retry (thrown errors of the exchange), or dead (refused).
   */
  async sendAppointment(record: AppointmentRecord, target: PatientTarget, signal: AbortSignal | undefined): Promise<DeliveryResult> {
    const patient = subjectReference(target);
    if (typeof patient === 'string') return { status: 'dead', code: 'RPM_ERR_FHIR_INVALID', message: patient, outcome: null };
    const resource = appointmentResource(record, patient, this.options.systems);
    try {
      await this.call('PUT Appointment', (options) => this.client.update({ resourceType: 'Appointment', id: resource.id, body: { ...resource }, options }), signal);
      return { status: 'delivered', refs: [`Appointment/${resource.id}`] };
    } catch (err) {
      if (!(err instanceof RpmError)) throw err;
      if (isRetryable(err.code)) throw err;
      return { status: 'dead', code: err.code, message: err.message, outcome: operationOutcomeOf(outcomeOfError(err)) };
    }
  }

  /**
   * A video visit as an Encounter, written by a conditional update on our identifier
   * (`PUT Encounter?identifier={system}|{hash}`): the first write creates it, a resend after a
   * lost answer or a later state (in-progress → finished) finds and replaces the one resource.
   * Two writes of one visit never run at once here (the identifier is held while in flight), so
   * they cannot both find nothing and create two. The identifier in the URL is a hash, never PHI.
   */
  async sendEncounter(record: EncounterRecord, target: PatientTarget, signal: AbortSignal | undefined): Promise<DeliveryResult> {
    const patient = subjectReference(target);
    if (typeof patient === 'string') return { status: 'dead', code: 'RPM_ERR_FHIR_INVALID', message: patient, outcome: null };
    const resource = encounterResource(record, this.destination, patient, this.options.systems);
    const id = resource.identifier[0] ?? { system: '', value: '' };
    const release = await this.options.inFlight.acquire([`Encounter|${id.system}|${id.value}`], signal);
    try {
      const written = await this.call(
        'PUT Encounter?identifier',
        (options) => this.client.update({ resourceType: 'Encounter', searchParams: { identifier: `${escapeToken(id.system)}|${escapeToken(id.value)}` }, body: { ...resource }, options }),
        signal,
      );
      const ref = typeof written === 'object' && written !== null && 'id' in written && typeof written.id === 'string' ? `Encounter/${written.id}` : 'Encounter';
      return { status: 'delivered', refs: [ref] };
    } catch (err) {
      if (!(err instanceof RpmError)) throw err;
      if (err.code === 'RPM_ERR_UPSTREAM_FHIR_CONFLICT') this.conflict();
      if (isRetryable(err.code)) throw err;
      return { status: 'dead', code: err.code, message: err.message, outcome: operationOutcomeOf(outcomeOfError(err)) };
    } finally {
      release();
    }
  }

  /** `POST Patient/_search` (the identifier, often an MRN, stays out of URLs and server logs). */
  async findPatient(identifier: PatientIdentifier, signal: AbortSignal | undefined): Promise<PatientLookup> {
    const found = await this.searchPatients(identifier, signal);
    if (found.status !== 'found') return found;
    return { status: 'found', reference: found.reference };
  }

  /** The one Patient carrying the identifier, with what it says of who the patient is. */
  async patientByIdentifier(identifier: PatientIdentifier, signal: AbortSignal | undefined): Promise<EhrPatientLookup> {
    const found = await this.searchPatients(identifier, signal);
    if (found.status !== 'found') return found;
    return { status: 'found', patient: demographicsOf(found.reference, found.resource) };
  }

  private async searchPatients(
    identifier: PatientIdentifier,
    signal: AbortSignal | undefined,
  ): Promise<{ status: 'found'; reference: string; resource: unknown } | { status: 'unknown' } | { status: 'ambiguous'; matches: number }> {
    const bundle = await this.call(
      'POST Patient/_search',
      (options) =>
        this.client.resourceSearch({
          resourceType: 'Patient',
          searchParams: { identifier: `${escapeToken(identifier.system)}|${escapeToken(identifier.value)}`, _count: '2' },
          options: { ...options, postSearch: true },
        }),
      signal,
    );
    const entries = ((bundle as { entry?: { resource?: unknown; search?: { mode?: string } }[] }).entry ?? []).filter(
      (e) => (e.resource as { resourceType?: unknown } | undefined)?.resourceType === 'Patient' && (e.search?.mode ?? 'match') === 'match',
    );
    const total = (bundle as { total?: unknown }).total;
    const matches = typeof total === 'number' ? Math.max(total, entries.length) : entries.length;
    if (matches === 0) return { status: 'unknown' };
    if (matches > 1) return { status: 'ambiguous', matches };
    const ref = referenceOf(undefined, entries[0]?.resource);
    if (ref === undefined) throw new RpmError('RPM_ERR_UPSTREAM_FHIR', 'the FHIR server answered the Patient search with a Patient without id');
    return { status: 'found', reference: ref, resource: entries[0]?.resource };
  }

  /**
   * The EHR refused Observations: when it is because it does not know the patient (an EHR that
   * enforces references), say so, so the dead letter waits for a patient mapping instead of
   * looking like bad data. One look per patient; a failed look leaves the refusal as it was.
   */
  private async explainRefusals(items: readonly DeliveryItem[], results: DeliveryResult[], signal: AbortSignal | undefined): Promise<void> {
    const looks = new Map<string, Promise<PatientLookup | undefined>>();
    for (let i = 0; i < items.length; i++) {
      const r = results[i] as DeliveryResult;
      const target = (items[i] as DeliveryItem).patient;
      if (r.status !== 'dead' || (r.code !== 'RPM_ERR_UPSTREAM_FHIR_REJECTED' && r.code !== 'RPM_ERR_UPSTREAM_FHIR_CONFLICT') || target.kind === 'logical') continue;
      // Only a refusal that names the subject: any other may come from a server that simply
      // keeps no Patients, and must keep its own reason.
      if (!PATIENT_PROBLEM.test(JSON.stringify(r.outcome ?? null))) continue;
      const key = target.kind === 'literal' ? target.reference : conditionalReference(target.identifier);
      let look = looks.get(key);
      if (look === undefined) {
        look = this.lookUp(target, signal).catch(() => undefined);
        looks.set(key, look);
      }
      const found = await look;
      if (found === undefined || found.status === 'found') continue;
      const what = target.kind === 'literal' ? `no ${target.reference}` : `no Patient with the patient's identifier under ${target.identifier.system}`;
      results[i] =
        found.status === 'unknown'
          ? { status: 'dead', code: 'RPM_ERR_FHIR_PATIENT_UNKNOWN', message: `the EHR has ${what}; sent again once the patient is mapped`, outcome: r.outcome }
          : { status: 'dead', code: 'RPM_ERR_FHIR_PATIENT_AMBIGUOUS', message: `${found.matches} Patients at the EHR carry the patient's identifier under ${target.kind === 'conditional' ? target.identifier.system : '?'}`, outcome: r.outcome };
    }
  }

  private async lookUp(target: PatientTarget, signal: AbortSignal | undefined): Promise<PatientLookup> {
    if (target.kind === 'conditional') return this.findPatient(target.identifier, signal);
    if (target.kind === 'logical') return this.findPatient(target.identifier, signal);
    const [, id] = target.reference.split('/') as [string, string];
    try {
      await this.call(`GET Patient/{id}`, (options) => this.client.read({ resourceType: 'Patient', id, options }), signal);
      return { status: 'found', reference: target.reference };
    } catch (err) {
      const status = (err as RpmError).details?.status;
      if (status === 404 || status === 410) return { status: 'unknown' };
      throw err;
    }
  }

  private serverPlan(signal: AbortSignal | undefined): Promise<ServerPlan> {
    this.planned ??= this.readCapabilities(signal).then(
      (plan) => {
        this.plan = plan;
        this.options.log.info({ destinationId: this.destination.id, plan }, 'read the FHIR server capability statement');
        return plan;
      },
      (err: unknown) => {
        this.planned = undefined;
        throw err;
      },
    );
    return this.planned;
  }

  private async readCapabilities(signal: AbortSignal | undefined): Promise<ServerPlan> {
    let statement: FhirResource;
    try {
      statement = await this.call('GET metadata', (options) => this.client.capabilityStatement(options), signal);
    } catch (err) {
      const e = toUpstreamError(err, 'GET metadata');
      const status = e.details?.status;
      // A server that publishes no CapabilityStatement still gets our data, the cautious way.
      if (typeof status === 'number' && status >= 400 && status < 500 && e.code !== 'RPM_ERR_UPSTREAM_FHIR_AUTH' && status !== 429) return CAUTIOUS_PLAN;
      throw e;
    }
    const parsed = capabilityStatement.safeParse(statement);
    return parsed.success ? planFrom(parsed.data) : CAUTIOUS_PLAN;
  }

  private deviceReference(device: Device | undefined, plan: ServerPlan, signal: AbortSignal | undefined): Promise<Reference | undefined> {
    if (device === undefined) return Promise.resolve(undefined);
    if (plan.device === 'logical') return Promise.resolve(logicalDeviceReference(device, this.options.systems));
    let ref = this.devices.get(device.id);
    if (ref === undefined) {
      ref = this.createDevice(device, plan.device, signal);
      this.devices.set(device.id, ref);
      ref.catch(() => this.devices.delete(device.id));
    }
    return ref;
  }

  private async createDevice(device: Device, interaction: WriteInteraction, signal: AbortSignal | undefined): Promise<Reference> {
    const [result] = await this.writeEach([mapDevice(device, this.options.systems)], interaction, signal);
    if (result?.status === 'ok') return { reference: result.ref };
    if (result?.status === 'dead') {
      // The EHR refuses our Device: name it by identifier instead (fhir.md §1.4).
      this.options.log.warn({ destinationId: this.destination.id, code: result.code }, 'FHIR server refused a Device; referencing it logically');
      return logicalDeviceReference(device, this.options.systems);
    }
    throw new RpmError(result?.code ?? 'RPM_ERR_UPSTREAM_FHIR', result?.message ?? 'Device not written');
  }

  /**
   * Resources one request each. A transport failure before the server answered anything is a
   * failure of the whole exchange (thrown: the worker retries and counts it for the breaker);
   * after an answer, the rest of the list is marked for retry.
   */
  private async writeEach(resources: readonly WritableResource[], interaction: WriteInteraction, signal: AbortSignal | undefined): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    let answered = false;
    for (let i = 0; i < resources.length; i++) {
      const resource = resources[i] as WritableResource;
      try {
        results.push({ status: 'ok', ref: await this.writeOne(resource, interaction, signal) });
        answered = true;
      } catch (err) {
        const e = toUpstreamError(err, `${resource.resourceType} write`);
        if (!isRetryable(e.code)) {
          if (e.code === 'RPM_ERR_UPSTREAM_FHIR_CONFLICT') this.conflict();
          results.push({ status: 'dead', code: e.code, message: e.message, outcome: outcomeOfError(e) });
          answered = true;
          continue;
        }
        if (!answered) throw e;
        for (let k = i; k < resources.length; k++) results.push({ status: 'retry', code: e.code, message: e.message });
        break;
      }
    }
    return results;
  }

  private async writeOne(resource: WritableResource, interaction: WriteInteraction, signal: AbortSignal | undefined): Promise<string> {
    const type = resource.resourceType;
    switch (interaction) {
      case 'conditional-create': {
        const created = await this.call(
          `POST ${type} (conditional create)`,
          (options) => this.client.create({ resourceType: type, body: { ...resource }, options: { ...options, headers: { ...options.headers, 'if-none-exist': identifierQuery(resource) } } }),
          signal,
        );
        return this.refOf(created, `POST ${type}`);
      }
      case 'update-as-create': {
        const id = deterministicId(resource);
        await this.call(`PUT ${type}`, (options) => this.client.update({ resourceType: type, id, body: { ...resource, id }, options }), signal);
        return `${type}/${id}`;
      }
      case 'search-then-create': {
        const { system, value } = identifierOf(resource);
        const found = await this.call(`GET ${type}?identifier`, (options) => this.client.search({ resourceType: type, searchParams: { identifier: `${system}|${value}` }, options }), signal);
        const existing = referenceOf(undefined, (found as { entry?: { resource?: unknown }[] }).entry?.[0]?.resource);
        if (existing !== undefined) return existing;
        const created = await this.call(`POST ${type}`, (options) => this.client.create({ resourceType: type, body: { ...resource }, options }), signal);
        return this.refOf(created, `POST ${type}`);
      }
    }
  }

  /** The written resource's reference: from its id, else from the Location header (Prefer: return=minimal servers). */
  private refOf(result: FhirResource, interaction: string): string {
    const location = Client.httpFor(result).response?.headers.get('location') ?? undefined;
    const ref = referenceOf(location, result);
    if (ref === undefined) throw new RpmError('RPM_ERR_UPSTREAM_FHIR', `FHIR server answered ${interaction} without naming the resource`);
    return ref;
  }

  /** Several resources in batch Bundles: one bad entry never blocks the others. */
  private async writeBatch(resources: readonly WritableResource[], interaction: WriteInteraction, signal: AbortSignal | undefined): Promise<WriteResult[]> {
    return interaction === 'search-then-create' ? this.searchThenCreateBatch(resources, signal) : this.sendBatch(resources, (r) => this.batchRequest(r, interaction), signal);
  }

  private batchRequest(resource: WritableResource, interaction: WriteInteraction): { resource: WritableResource; request: BundleRequest } {
    const type = resource.resourceType;
    if (interaction === 'update-as-create') {
      const id = deterministicId(resource);
      return { resource: { ...resource, id }, request: { method: 'PUT', url: `${type}/${id}` } };
    }
    if (interaction === 'conditional-create') return { resource, request: { method: 'POST', url: type, ifNoneExist: identifierQuery(resource) } };
    return { resource, request: { method: 'POST', url: type } };
  }

  private async sendBatch(
    resources: readonly WritableResource[],
    entryOf: (r: WritableResource) => BatchBundle['entry'][number],
    signal: AbortSignal | undefined,
  ): Promise<WriteResult[]> {
    const bundle: BatchBundle = { resourceType: 'Bundle', type: 'batch', entry: resources.map(entryOf) };
    const response = await this.call('POST batch', (options) => this.client.batch({ body: { ...bundle }, options }), signal);
    const entries = parseBatchResponse(response, resources.length);
    return entries.map((e, i) => {
      const result = e.ok ? entryResult(e.status, true, e.ref, null, `batch entry ${i}`) : entryResult(e.status, false, undefined, e.outcome, `batch entry ${i}`);
      if (result.status === 'dead' && result.code === 'RPM_ERR_UPSTREAM_FHIR_CONFLICT') this.conflict();
      return result;
    });
  }

  /** Search-then-create in two batches: which identifiers exist, then create the rest. */
  private async searchThenCreateBatch(resources: readonly WritableResource[], signal: AbortSignal | undefined): Promise<WriteResult[]> {
    const searchEntry = (r: WritableResource): BatchBundle['entry'][number] => ({ request: { method: 'GET', url: `${r.resourceType}?${identifierQuery(r)}` } });
    const bundle: BatchBundle = { resourceType: 'Bundle', type: 'batch', entry: resources.map(searchEntry) };
    const response = await this.call('POST batch (search)', (options) => this.client.batch({ body: { ...bundle }, options }), signal);
    const found = parseBatchResponse(response, resources.length);
    const results: (WriteResult | undefined)[] = found.map((e, i) => {
      if (!e.ok) return entryResult(e.status, false, undefined, e.outcome, `batch search entry ${i}`);
      const existing = referenceOf(undefined, (e.resource as { entry?: { resource?: unknown }[] } | undefined)?.entry?.[0]?.resource);
      return existing === undefined ? undefined : { status: 'ok', ref: existing };
    });
    const missing = resources.filter((_, i) => results[i] === undefined);
    if (missing.length > 0) {
      const created = await this.sendBatch(missing, (r) => this.batchRequest(r, 'search-then-create'), signal);
      let k = 0;
      for (let i = 0; i < results.length; i++) if (results[i] === undefined) results[i] = created[k++];
    }
    return results as WriteResult[];
  }

  /**
   * One HTTP exchange through fhir-kit-client: credentials, a timeout, and our cancellation.
   * A refused token is renewed once. Whatever the client throws becomes an RpmError here.
   */
  private async call<T>(interaction: string, send: (options: RequestOptions) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(this.options.timeoutMs);
      const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
      try {
        const headers = await this.auth.headers(combined);
        return await send({ headers, signal: combined });
      } catch (err) {
        if (timeout.aborted && signal?.aborted !== true) {
          throw new RpmError('RPM_ERR_UPSTREAM_FHIR_TIMEOUT', `${interaction} got no answer within ${this.options.timeoutMs} ms`, { cause: err, details: { status: null, reason: 'timeout' } });
        }
        const e = toUpstreamError(err, interaction);
        if (e.code === 'RPM_ERR_UPSTREAM_FHIR_AUTH' && this.auth.refreshable && attempt === 0) {
          this.auth.invalidate();
          continue;
        }
        throw e;
      }
    }
  }

  private conflict(): void {
    // 412: our identifier matched several resources at the EHR; someone else writes under our
    // system, or the EHR merged records. Dead-lettered; an operator must look.
    this.options.log.warn({ destinationId: this.destination.id }, 'FHIR server holds several resources with one of our identifiers (data integrity)');
  }
}
