import type { Destination } from '../core/model/destination.js';
import { KIND_SPECS, type ReadingKind } from '../core/model/reading-kinds.js';
import type { Reading } from '../core/model/reading.js';
import type { ForwardingStore } from '../core/ports/forwarding-store.js';
import type { ForwardJob } from '../core/ports/reading-store.js';
import type { RegistryStore } from '../core/ports/registry-store.js';

type RouteTable = ReadonlyMap<string, ReadonlyMap<ReadingKind, readonly string[]>>;

/**
 * Which destinations a reading is forwarded to: the destinations of its patient's organization
 * that take its kind, paused (disabled) ones included: pausing holds deliveries in the outbox, it
 * does not drop them. Answered from memory on the ingest path: the destination table is loaded
 * once and reloaded after any destination change (`invalidate`), and each patient's organization
 * is cached (until `forgetPatient`: an operator moved the patient to another organization). With no destination at all, ingest pays one
 * comparison per request.
 */
export class ForwardingRoutes {
  private table: RouteTable | undefined;
  private loading: Promise<RouteTable> | undefined;
  private version = 0;
  private readonly organizations = new Map<string, string | null>();
  private readonly invalidatedListeners: Array<() => void> = [];

  constructor(
    private readonly store: Pick<ForwardingStore, 'listDestinations'>,
    private readonly registry: Pick<RegistryStore, 'getPatient'>,
    private readonly maxPatients = 200_000,
  ) {}

  /** A destination was created or changed: reload the table before the next reading. */
  invalidate(): void {
    this.reload();
    for (const l of this.invalidatedListeners) l();
  }

  /** Hears every change of destinations made here (the distributed mode tells the other gateways). */
  onInvalidated(listener: () => void): void {
    this.invalidatedListeners.push(listener);
  }

  /** The patient moved to another organization: readings committed from now go to its destinations. */
  forgetPatient(patientId: string): void {
    this.organizations.delete(patientId);
  }

  /** Destinations changed in another process of the cluster: reload here too. */
  reload(): void {
    this.version += 1;
    this.table = undefined;
    this.loading = undefined;
  }

  /** Forward jobs for a batch about to be committed, by index into `readings`. */
  async forwardsFor(readings: readonly Reading[]): Promise<ForwardJob[]> {
    if (readings.length === 0) return [];
    const table = this.table ?? (await this.load());
    if (table.size === 0) return [];
    const missing = new Set<string>();
    for (const r of readings) if (r.patientId !== null && !this.organizations.has(r.patientId)) missing.add(r.patientId);
    if (missing.size > 0) await Promise.all([...missing].map((id) => this.loadOrganization(id)));
    const jobs: ForwardJob[] = [];
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i] as Reading;
      if (r.patientId === null) continue;
      const org = this.organizations.get(r.patientId);
      const ids = org === undefined || org === null ? undefined : table.get(org)?.get(r.kind);
      if (ids === undefined) continue;
      for (const destinationId of ids) jobs.push({ reading: i, destinationId });
    }
    return jobs;
  }

  /** The destinations of the patient's organization with the kinds each takes (readings attributed late). */
  async destinationsFor(patientId: string): Promise<{ destinationId: string; kinds: ReadingKind[] }[]> {
    const table = this.table ?? (await this.load());
    if (table.size === 0) return [];
    if (!this.organizations.has(patientId)) await this.loadOrganization(patientId);
    const org = this.organizations.get(patientId);
    const byKind = org === undefined || org === null ? undefined : table.get(org);
    if (byKind === undefined) return [];
    const kinds = new Map<string, ReadingKind[]>();
    for (const [kind, ids] of byKind) for (const id of ids) kinds.set(id, [...(kinds.get(id) ?? []), kind]);
    return [...kinds].map(([destinationId, k]) => ({ destinationId, kinds: k }));
  }

  private load(): Promise<RouteTable> {
    if (this.loading !== undefined) return this.loading;
    const version = this.version;
    const loading = this.store.listDestinations().then((destinations) => {
      const table = buildTable(destinations);
      // A change that arrived while loading wins: do not cache a table it made stale.
      if (this.version === version) this.table = table;
      return table;
    });
    this.loading = loading;
    void loading.finally(() => {
      if (this.loading === loading) this.loading = undefined;
    }).catch(() => undefined);
    return loading;
  }

  private async loadOrganization(patientId: string): Promise<void> {
    const patient = await this.registry.getPatient(patientId);
    this.organizations.set(patientId, patient?.organizationId ?? null);
    if (this.organizations.size > this.maxPatients) {
      const oldest = this.organizations.keys().next();
      if (oldest.done !== true) this.organizations.delete(oldest.value);
    }
  }
}

function buildTable(destinations: readonly Destination[]): RouteTable {
  const table = new Map<string, Map<ReadingKind, string[]>>();
  for (const d of destinations) {
    let byKind = table.get(d.organizationId);
    if (byKind === undefined) table.set(d.organizationId, (byKind = new Map()));
    for (const kind of d.kinds) {
      // Kinds without a verified standard code (staff-recorded ACVPU, oxygen) stay here.
      if (!KIND_SPECS[kind].forwarded) continue;
      const list = byKind.get(kind) ?? [];
      list.push(d.id);
      byKind.set(kind, list);
    }
  }
  return table;
}
