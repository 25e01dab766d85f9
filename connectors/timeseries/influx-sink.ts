import { InfluxDB, Point, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { TimeSeriesReading, TimeSeriesSink } from '../../core/ports/time-series.js';

export interface InfluxSinkOptions {
  /** Base URL of the server (InfluxDB 2.x, 1.8+ compatibility API, or VictoriaMetrics). */
  readonly url: string;
  readonly token?: string | undefined;
  readonly org: string;
  readonly bucket: string;
  readonly timeoutMs?: number;
}

// The client logs failed writes to the console by itself; ours surface as RpmErrors to the caller,
// which logs them once through pino (and never with point contents, which are PHI).
setLogger({ error: () => undefined, warn: () => undefined });

/** The measurement every reading is written to; its fields are the reading's components. */
export const READING_MEASUREMENT = 'rpm_reading';

/** One reading as a line-protocol point (exported for tests and the capacity plan's sizing). */
export function toPoint({ reading: r, organizationId }: TimeSeriesReading): Point {
  const p = new Point(READING_MEASUREMENT)
    .tag('organization', organizationId ?? '-')
    .tag('patient', r.patientId ?? '-')
    .tag('device', r.deviceId)
    .tag('kind', r.kind)
    .tag('setting', r.setting)
    .tag('entry', r.entryMethod);
  if (r.glucoseMethod !== null) p.tag('method', r.glucoseMethod);
  for (const c of r.components) p.floatField(c.name, c.value);
  // A field, not a tag: ids are unbounded, and the point's identity is its series and time.
  p.stringField('reading_id', r.id);
  return p.timestamp(new Date(r.measuredAtMs));
}

/**
 * TimeSeriesSink over the InfluxDB line protocol (`/api/v2/write`) with the official client.
 * The client's own buffering and retries are off: `write` sends what it is given and answers only
 * once the server accepted it, so the caller's cursor is the one place that says what is written.
 */
export class InfluxSink implements TimeSeriesSink {
  private readonly api: WriteApi;

  constructor(options: InfluxSinkOptions) {
    const influx = new InfluxDB({ url: options.url, ...(options.token === undefined ? {} : { token: options.token }), timeout: options.timeoutMs ?? 10_000 });
    this.api = influx.getWriteApi(options.org, options.bucket, 'ms', { batchSize: 100_000, flushInterval: 0, maxRetries: 0, maxBufferLines: 1_000_000 });
  }

  async write(readings: readonly TimeSeriesReading[]): Promise<void> {
    if (readings.length === 0) return;
    this.api.writePoints(readings.map(toPoint));
    try {
      await this.api.flush(true);
    } catch (err) {
      throw new RpmError('RPM_ERR_TIMESERIES_UNAVAILABLE', `the time-series store did not take ${readings.length} point(s): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.api.close().catch(() => undefined);
  }
}
