import path from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxSink } from '../connectors/timeseries/influx-sink.js';
import { createSqliteStores, type SqliteStores } from '../connectors/sqlite/index.js';
import { createLogger } from '../core/logging.js';
import type { TimeSeriesReading, TimeSeriesSink } from '../core/ports/time-series.js';
import { tempDir } from '../test/helpers/gateway.js';
import { makeReading } from '../test/helpers/readings.js';
import { VictoriaMetrics } from '../test/helpers/victoria-metrics.js';
import { TIMESERIES_ATTRIBUTIONS_PROGRESS, TIMESERIES_PROGRESS, TimeSeriesWriter } from './timeseries-writer.js';

describe('TimeSeriesWriter: the reading log into a real time-series server, exactly once per point', () => {
  let vm: VictoriaMetrics;
  let dir: string;
  let stores: SqliteStores;
  const log = createLogger('silent');
  const base = Date.now() - 6 * 3_600_000;

  beforeAll(async () => {
    vm = await VictoriaMetrics.start();
    dir = tempDir('rpm-ts-');
    stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'NORMAL' });
    await stores.staff.createOrganization({ id: 'org-t', name: 'T', createdAtMs: 0 });
    await stores.registry.createPatient({ id: 'p-t', organizationId: 'org-t', createdAtMs: 0 });
  });
  afterAll(async () => {
    await stores?.close();
    await vm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const commit = async (n: number, from: number, deviceId = 'hrm-t', patientId: string | null = 'p-t') => {
    const readings = Array.from({ length: n }, (_, i) => makeReading({ deviceId, patientId, kind: 'heart-rate', measuredAtMs: base + (from + i) * 60_000 }));
    await stores.readings.commit({ readings, rejections: [] });
    return readings;
  };

  it('copies committed readings, resumes from its durable position after a restart, and never writes a point twice', async () => {
    await commit(120, 0);
    const sink = new InfluxSink({ url: vm.url, org: 'rpm', bucket: 'readings' });
    const first = new TimeSeriesWriter({ readings: stores.readings, progress: stores.progress, sink, registry: stores.registry, log, batchSize: 50 });
    await first.drain();
    expect(await stores.progress.position(TIMESERIES_PROGRESS)).toBe(120);
    await first.stop();
    // A new process (a restart) continues from the stored position.
    await commit(30, 120);
    const second = new TimeSeriesWriter({ readings: stores.readings, progress: stores.progress, sink, registry: stores.registry, log, batchSize: 50 });
    await second.drain();
    // A crash between a write and its position: the batch is written again, as an overwrite.
    await stores.progress.advance(TIMESERIES_PROGRESS, 0);
    await stores.progress.position(TIMESERIES_PROGRESS);
    const replay = new TimeSeriesWriter({ readings: stores.readings, progress: stores.progress, sink, registry: stores.registry, log, batchSize: 50 });
    await replay.drain();
    const [series] = await vm.export('{__name__="rpm_reading_value", patient="p-t"}');
    expect(series?.metric.organization).toBe('org-t');
    expect(series?.timestamps).toEqual(Array.from({ length: 150 }, (_, i) => base + i * 60_000));
    await sink.close();
  });

  it('keeps its position while the store refuses, and catches up once it takes points again', async () => {
    const start = await stores.progress.position(TIMESERIES_PROGRESS);
    let refuse = true;
    const written: TimeSeriesReading[] = [];
    const flaky: TimeSeriesSink = {
      async write(points) {
        if (refuse) throw new Error('store down');
        written.push(...points);
      },
      async close() {},
    };
    const writer = new TimeSeriesWriter({ readings: stores.readings, progress: stores.progress, sink: flaky, registry: stores.registry, log, retryMs: 50 });
    await commit(10, 200);
    await expect(writer.drain()).rejects.toThrow('store down');
    expect(await stores.progress.position(TIMESERIES_PROGRESS)).toBe(start);
    refuse = false;
    await new Promise((r) => setTimeout(r, 150));
    await writer.drain();
    expect(written).toHaveLength(10);
    expect(await stores.progress.position(TIMESERIES_PROGRESS)).toBe(start + 10);
    await writer.stop();
  });

  it('writes readings without a patient once the attribution log says whose they became, from its own durable position', async () => {
    const sink = new InfluxSink({ url: vm.url, org: 'rpm', bucket: 'readings' });
    const writer = new TimeSeriesWriter({ readings: stores.readings, progress: stores.progress, sink, registry: stores.registry, log });
    await commit(3, 300, 'loose-t', null);
    await writer.drain();
    expect(await vm.export('{__name__="rpm_reading_value", device="loose-t"}')).toEqual([]);
    expect(await stores.readings.attributeUnassigned('loose-t', 'p-t', base, null)).toBe(3);
    await writer.drain();
    const [series] = await vm.export('{__name__="rpm_reading_value", device="loose-t"}');
    expect(series?.metric.patient).toBe('p-t');
    expect(series?.timestamps).toHaveLength(3);
    expect(await stores.progress.position(TIMESERIES_ATTRIBUTIONS_PROGRESS)).toBeGreaterThan(0);
    await writer.stop();
    await sink.close();
  });
});
