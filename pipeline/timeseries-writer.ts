import type { Logger } from '../core/logging.js';
import type { Reading } from '../core/model/reading.js';
import type { ProgressStore } from '../core/ports/progress-store.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import type { RegistryStore } from '../core/ports/registry-store.js';
import type { TimeSeriesReading, TimeSeriesSink } from '../core/ports/time-series.js';

export interface TimeSeriesWriterDeps {
  readonly readings: Pick<ReadingStore, 'readingsSince' | 'attributionsSince' | 'queryReadings'>;
  readonly progress: ProgressStore;
  readonly sink: TimeSeriesSink;
  readonly registry: Pick<RegistryStore, 'getPatient'>;
  readonly log: Logger;
  /** Points per write. */
  readonly batchSize?: number;
  /** Wait before trying again after the store refused a write. */
  readonly retryMs?: number;
}

/** The progress name under which the writer keeps its position in the reading log. */
export const TIMESERIES_PROGRESS = 'timeseries';
/** Its position in the attribution log (readings that got their patient after they were committed). */
export const TIMESERIES_ATTRIBUTIONS_PROGRESS = 'timeseries:attributions';
const ATTRIBUTIONS_PER_PASS = 100;

/**
 * Copies the reading log into the time-series store. It follows the log with a durable position
 * (`ProgressStore`), advanced only after the store accepted a batch, so its backlog survives any
 * restart (nothing is kept only in memory) and a crash redoes at most one batch, which the store
 * takes as an overwrite (points are identified by series and time). Readings without a patient
 * (an unassigned device) are written when the attribution log says whose they became (an
 * assignment, a nurse's confirmation), followed with its own durable position.
 */
export class TimeSeriesWriter {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly organizations = new Map<string, string | null>();
  private lastError: unknown = null;

  constructor(private readonly deps: TimeSeriesWriterDeps) {}

  /** Readings were committed: copy them soon (calls coalesce). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.loop()
      .then(
        () => {
          this.lastError = null;
        },
        (err: unknown) => {
          // Nothing advanced: the same batch goes again, after a pause, whatever woke us.
          this.lastError = err;
          this.deps.log.warn({ err }, 'time-series write failed; it will be retried');
          if (!this.stopped && this.retry === null) {
            this.retry = setTimeout(() => {
              this.retry = null;
              this.kick();
            }, this.deps.retryMs ?? 2000);
            this.retry.unref();
          }
        },
      )
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped && this.lastError === null) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves once everything committed so far is in the store; rejects if the last try failed. */
  async drain(): Promise<void> {
    this.kick();
    while (this.running !== null) await this.running;
    if (this.lastError !== null) throw this.lastError;
  }

  /** The patient moved to another organization: its next points carry the new one. */
  forgetOrganization(patientId: string): void {
    this.organizations.delete(patientId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    await this.running;
  }

  private async loop(): Promise<void> {
    const batchSize = this.deps.batchSize ?? 5000;
    for (;;) {
      const from = await this.deps.progress.position(TIMESERIES_PROGRESS);
      const batch = await this.deps.readings.readingsSince(from, batchSize);
      if (batch.length === 0) break;
      await this.deps.sink.write(await this.points(batch.map((b) => b.reading)));
      await this.deps.progress.advance(TIMESERIES_PROGRESS, (batch[batch.length - 1] as { seq: number }).seq);
      if (batch.length < batchSize) break;
    }
    await this.attributions();
  }

  /** Readings the attribution log gave a patient since the writer's place in it. */
  private async attributions(): Promise<void> {
    for (;;) {
      const from = await this.deps.progress.position(TIMESERIES_ATTRIBUTIONS_PROGRESS);
      const entries = await this.deps.readings.attributionsSince(from, ATTRIBUTIONS_PER_PASS);
      const last = entries[entries.length - 1];
      if (last === undefined) return;
      for (const a of entries) {
        const rows = await this.deps.readings.queryReadings({ patientId: a.patientId, fromMs: a.fromMs, ...(a.toMs === null ? {} : { toMs: a.toMs }), limit: 1_000_000 });
        const only = a.readingIds === null ? null : new Set(a.readingIds);
        const readings = rows.filter((r) => r.deviceId === a.deviceId && (only === null || only.has(r.id)));
        if (readings.length > 0) await this.deps.sink.write(await this.points(readings));
      }
      await this.deps.progress.advance(TIMESERIES_ATTRIBUTIONS_PROGRESS, last.seq);
      if (entries.length < ATTRIBUTIONS_PER_PASS) return;
    }
  }

  private async points(readings: readonly Reading[]): Promise<TimeSeriesReading[]> {
    const out: TimeSeriesReading[] = [];
    for (const reading of readings) {
      if (reading.patientId === null) continue;
      out.push({ reading, organizationId: await this.organizationOf(reading.patientId) });
    }
    return out;
  }

  private async organizationOf(patientId: string): Promise<string | null> {
    if (this.organizations.has(patientId)) return this.organizations.get(patientId) ?? null;
    const org = (await this.deps.registry.getPatient(patientId))?.organizationId ?? null;
    if (this.organizations.size > 100_000) this.organizations.clear();
    this.organizations.set(patientId, org);
    return org;
  }
}
