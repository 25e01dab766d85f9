import type { Reading } from '../model/reading.js';

/** A reading on its way to the time-series store, with the tenant it belongs to. */
export interface TimeSeriesReading {
  readonly reading: Reading;
  readonly organizationId: string | null;
}

/**
 * The time-series store (InfluxDB, or anything speaking its line protocol): every normalized
 * reading as a point at its measurement time. It feeds population views, long-range trends and
 * Grafana; the reading store stays the system of record (a patient's chart and every audited read
 * come from there).
 *
 * Guarantees (connectors/timeseries/*.test.ts against a real server):
 * - `write` resolves only once the server accepted every point, and rejects otherwise (the
 *   caller keeps its cursor and writes them again);
 * - a point is identified by its series (bounded tags: organization, patient, device, kind,
 *   setting, entry method) and its measurement time, so writing it again overwrites it: replays
 *   after a crash never duplicate;
 * - the reading id travels as a field, never a tag (unbounded tag cardinality is the classic
 *   failure of these stores).
 */
export interface TimeSeriesSink {
  write(readings: readonly TimeSeriesReading[]): Promise<void>;
  close(): Promise<void>;
}
