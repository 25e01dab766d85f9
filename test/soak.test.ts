import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionFleet } from '../benchmarks/lib/fleet.js';
import type { BenchDevice } from '../benchmarks/lib/readings.js';
import { runMixedLoad } from '../benchmarks/soak/mixed-load.js';
import { type Sample, startSampling, takeSample } from '../benchmarks/soak/sampler.js';
import { seedHistory } from '../benchmarks/soak/seed-history.js';
import { ChildGateway, sleep } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, tempDir } from './helpers/gateway.js';

/*
 * A soak sized for CI: a gateway process started on a store that already holds weeks of history
 * (320,000 readings of 40 patients, in the rules' windows), then half a minute of mixed traffic
 * (HTTP singles, MQTT devices, hub batches, audited history reads, and one device flooding MQTT).
 * Its resident memory is sampled from /proc twice a second and must stay within a bound. Before
 * the history cache was bounded, the first reading of each patient loaded that patient's whole
 * window (up to a million rows): the issue saw a restarted gateway go from 107 MB to 2.3 GB.
 * The hour-long version with a chart is `npm run bench -- --only soak` (benchmarks/README.md).
 */

const PATIENTS = 40;
const SEEDED_PER_PATIENT = 8000;
/** Growth of RSS over the idle gateway's that the run may reach (bounded: 85–135 MB; unbounded: 492 MB within these 30 s). */
const RSS_GROWTH_BOUND_MB = 200;
const HISTORY_TOTAL = 60_000;

describe('soak: memory stays bounded under mixed load on a store with history', () => {
  const dataDir = tempDir('rpm-soak-');
  const gateway = new ChildGateway({
    dataDir,
    env: { RPM_LOG_LEVEL: 'warn', RPM_RULES_HISTORY_PER_KIND: '1000', RPM_RULES_HISTORY_TOTAL: String(HISTORY_TOTAL) },
  });
  let fleet: { device: BenchDevice; patientId: string }[];
  let flooder: BenchDevice;

  beforeAll(async () => {
    const devices = await provisionFleet({ dataDir, count: PATIENTS + 1, prefix: 'soak', withPatients: true });
    fleet = devices.slice(0, PATIENTS).map((device, i) => ({ device, patientId: `soak-patient-${i}` }));
    flooder = devices[PATIENTS] as BenchDevice;
    const written = await seedHistory({ dataDir, devices: fleet, perPatient: SEEDED_PER_PATIENT, days: 10 });
    expect(written).toBe(PATIENTS * SEEDED_PER_PATIENT);
    await gateway.start();
  }, 180_000);
  afterAll(async () => {
    await gateway.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps RSS within its bound, stores every acknowledged reading, stops the flooding device and stays ready', async () => {
    const pid = gateway.current?.pid as number;
    await sleep(2000);
    const idle = await takeSample(pid, gateway.baseUrl, Date.now());
    const sampler = startSampling(pid, gateway.baseUrl, 500);
    const result = await runMixedLoad({
      baseUrl: gateway.baseUrl,
      mqttUrl: gateway.mqttUrl,
      adminToken: ADMIN_TOKEN,
      devices: fleet,
      flooder,
      durationMs: 30_000,
      httpPerSec: 60,
      mqttClients: 10,
      mqttPerClientPerSec: 2,
      batchEveryMs: 2000,
      batchSize: 100,
      phiReadsPerSec: 2,
      tag: 'soak',
    });
    await sleep(3000);
    const samples: Sample[] = await sampler.stop();
    const peak = Math.max(...samples.map((s) => s.rssMb));
    const report = `idle ${idle.rssMb} MB, peak ${peak} MB over ${samples.length} samples; http ${JSON.stringify(result.httpStatus)}, mqtt acked ${result.mqttAcked}, flooder ${JSON.stringify(result.flooder)}`;
    process.stdout.write(`soak: ${report}\n`);

    expect(peak - idle.rssMb, report).toBeLessThanOrEqual(RSS_GROWTH_BOUND_MB);
    // The cache held what its budget allows, not the history it was offered.
    const history = samples.map((s) => s.historyObservations ?? 0);
    expect(Math.max(...history)).toBeGreaterThan(0);
    expect(Math.max(...history)).toBeLessThanOrEqual(HISTORY_TOTAL);
    // Load was real and mostly accepted; every acknowledged reading is stored.
    expect(result.httpStatus['202'] ?? 0).toBeGreaterThan(300);
    expect(result.mqttAcked).toBeGreaterThan(100);
    const stored = storedClientIds(dataDir);
    const missing = [...result.acked].filter((id) => !stored.has(id));
    expect(missing, `${missing.length} acknowledged readings not stored`).toEqual([]);
    // The flooder was held to the per-device limit: refused (errors topic, no PUBACK, disconnected).
    expect(result.flooder.acked).toBeLessThanOrEqual(600);
    expect(result.flooder.disconnects + result.flooder.refusedConnects).toBeGreaterThan(0);
    expect(result.flooder.rateLimitMessages).toBeGreaterThan(0);
    // Readiness answered every time it was asked.
    expect(samples.filter((s) => s.ready === 0)).toEqual([]);
  }, 120_000);

});

function storedClientIds(dataDir: string): Set<string> {
  const db = new Database(path.join(dataDir, 'rpm.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return new Set((db.prepare("SELECT client_id FROM readings WHERE client_id LIKE 'soak-%'").all() as { client_id: string }[]).map((r) => r.client_id));
  } finally {
    db.close();
  }
}
