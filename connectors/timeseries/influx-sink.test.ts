import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeReading } from '../../test/helpers/readings.js';
import { VictoriaMetrics } from '../../test/helpers/victoria-metrics.js';
import { InfluxSink } from './influx-sink.js';

describe('InfluxSink against a real line-protocol server (VictoriaMetrics)', () => {
  let vm: VictoriaMetrics;
  let sink: InfluxSink;
  const at = Date.now() - 3_600_000;

  beforeAll(async () => {
    vm = await VictoriaMetrics.start();
    sink = new InfluxSink({ url: vm.url, org: 'rpm', bucket: 'readings' });
  });
  afterAll(async () => {
    await sink?.close();
    await vm?.stop();
  });

  it('writes every component of a reading as a point at its measurement time, tagged by tenant, patient, device and kind', async () => {
    const bp = makeReading({
      deviceId: 'cuff-1',
      patientId: 'p-1',
      kind: 'blood-pressure',
      measuredAtMs: at,
      components: [
        { name: 'systolic', code: '8480-6', value: 142, unit: 'mm[Hg]' },
        { name: 'diastolic', code: '8462-4', value: 91, unit: 'mm[Hg]' },
        { name: 'pulse', code: '8867-4', value: 72, unit: '/min' },
      ],
    });
    await sink.write([{ reading: bp, organizationId: 'org-a' }]);
    const series = await vm.export('{__name__=~"rpm_reading_(systolic|diastolic|pulse)", patient="p-1"}');
    expect(series.map((s) => [s.metric.__name__, s.metric.organization, s.metric.device, s.metric.kind, s.metric.setting, s.metric.entry, s.values, s.timestamps]).sort()).toEqual(
      [
        ['rpm_reading_diastolic', 'org-a', 'cuff-1', 'blood-pressure', 'home', 'device', [91], [at]],
        ['rpm_reading_pulse', 'org-a', 'cuff-1', 'blood-pressure', 'home', 'device', [72], [at]],
        ['rpm_reading_systolic', 'org-a', 'cuff-1', 'blood-pressure', 'home', 'device', [142], [at]],
      ].sort(),
    );
    // The reading id is never a tag (unbounded cardinality).
    expect(series.every((s) => !('reading_id' in s.metric))).toBe(true);
  });

  it('overwrites rather than duplicates a point written again (a replay after a crash)', async () => {
    const readings = Array.from({ length: 50 }, (_, i) => makeReading({ deviceId: 'hrm-1', patientId: 'p-2', kind: 'heart-rate', measuredAtMs: at + i * 60_000 }));
    const points = readings.map((reading) => ({ reading, organizationId: 'org-a' }));
    await sink.write(points);
    await sink.write(points.slice(10, 30));
    await sink.write(points);
    const [series] = await vm.export('{__name__="rpm_reading_value", patient="p-2"}');
    expect(series?.timestamps).toEqual(readings.map((r) => r.measuredAtMs));
  });

  it('rejects when the server does not take the points, so the caller keeps them to write again', async () => {
    const down = new InfluxSink({ url: 'http://127.0.0.1:1', org: 'rpm', bucket: 'readings', timeoutMs: 2000 });
    try {
      await expect(down.write([{ reading: makeReading({ patientId: 'p-3' }), organizationId: null }])).rejects.toMatchObject({ code: 'RPM_ERR_TIMESERIES_UNAVAILABLE' });
    } finally {
      await down.close();
    }
  });
});
