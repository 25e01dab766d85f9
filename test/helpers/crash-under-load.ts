import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildGateway, sleep, waitFor } from './child-gateway.js';
import { AdminClient, request, tempDir } from './gateway.js';
import {
  type DeviceCredential,
  LoadTracker,
  ReadingSource,
  countByClientId,
  readAllReadings,
  runHttpDevice,
  runMqttDevice,
} from './reading-load.js';

/**
 * Crash safety of the real process: readings stream in over HTTP and MQTT while the gateway
 * is SIGKILLed and restarted on the same store, several times. Every reading that was
 * acknowledged (HTTP 202, MQTT PUBACK) must be stored exactly once afterwards. One scenario,
 * run against each store (test/crash.test.ts: SQLite; test/crash-postgres.test.ts: PostgreSQL).
 */

export interface CrashBackend {
  /** RPM_* settings that select the store (none for the embedded default). */
  readonly env: Record<string, string>;
  readonly dispose: () => Promise<void>;
}

const PATIENT = 'p-crash';
const HTTP_DEVICES = 4;
const MQTT_DEVICES = 3;
const KILLS = 4;

export function describeCrashUnderLoad(title: string, openBackend: () => Promise<CrashBackend>): void {
  describe(title, () => {
    const dataDir = tempDir('rpm-crash-');
    let backend: CrashBackend | undefined;
    let gw: ChildGateway;
    let stopping = false;
    const workers: Promise<void>[] = [];

    beforeAll(async () => {
      backend = await openBackend();
      gw = new ChildGateway({
        dataDir,
        env: {
          // Per-device rate limiting is not under test; each device here posts hundreds of times a minute.
          RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '1000000',
          RPM_LOG_LEVEL: 'warn',
          ...backend.env,
        },
      });
      await gw.start();
    });

    afterAll(async () => {
      stopping = true;
      await Promise.race([Promise.allSettled(workers), sleep(15_000)]);
      await gw?.dispose();
      await backend?.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(
      `keeps every acknowledged reading, exactly once, across ${KILLS} SIGKILLs and restarts`,
      async () => {
        const started = Date.now();
        const admin = new AdminClient(gw.baseUrl);
        await admin.createPatient(PATIENT);
        const httpDevices: DeviceCredential[] = [];
        const mqttDevices: DeviceCredential[] = [];
        for (let i = 0; i < HTTP_DEVICES; i++) {
          const id = `hr-http-${i}`;
          httpDevices.push({ id, secret: await admin.createDevice({ id, kind: 'heart-rate-monitor', patientId: PATIENT }) });
        }
        for (let i = 0; i < MQTT_DEVICES; i++) {
          const id = `hr-mqtt-${i}`;
          mqttDevices.push({ id, secret: await admin.createDevice({ id, kind: 'heart-rate-monitor', patientId: PATIENT }) });
        }

        const tracker = new LoadTracker();
        const stop = (): boolean => stopping;
        for (const device of httpDevices) {
          workers.push(runHttpDevice({ device, source: new ReadingSource(device.id), tracker, stop, baseUrl: () => gw.baseUrl }));
        }
        for (const device of mqttDevices) {
          workers.push(runMqttDevice({ device, source: new ReadingSource(device.id), tracker, stop, mqttUrl: () => gw.mqttUrl, window: 4 }));
        }

        const kills: Array<{ ackedBefore: number; exit: string }> = [];
        for (let k = 0; k < KILLS; k++) {
          // A few hundred more acknowledged readings, plus a random amount, then pull the plug.
          const target = tracker.acked.size + 300 + Math.floor(Math.random() * 500);
          const seenHttp = tracker.ackedBy.http;
          const seenMqtt = tracker.ackedBy.mqtt;
          await waitFor(
            () => tracker.acked.size >= target && tracker.ackedBy.http > seenHttp && tracker.ackedBy.mqtt > seenMqtt,
            20_000,
            `${target} acknowledged readings (with both HTTP and MQTT progressing) before kill ${k + 1}; have ${tracker.acked.size}`,
          );
          const exit = await gw.stop('SIGKILL', 10_000);
          expect(exit.signal, `kill ${k + 1}`).toBe('SIGKILL');
          kills.push({ ackedBefore: tracker.acked.size, exit: exit.signal ?? String(exit.code) });
          // Clients see refused connections for a moment, as they would in production.
          await sleep(Math.floor(Math.random() * 300));
          await gw.start();
        }

        // After the last restart, both transports must recover and make progress again.
        const finalTarget = tracker.acked.size + 300;
        const httpBefore = tracker.ackedBy.http;
        const mqttBefore = tracker.ackedBy.mqtt;
        await waitFor(
          () => tracker.acked.size >= finalTarget && tracker.ackedBy.http > httpBefore && tracker.ackedBy.mqtt > mqttBefore,
          20_000,
          `HTTP and MQTT devices to recover after the last restart (acked ${tracker.acked.size}, target ${finalTarget})`,
        );
        stopping = true;
        await Promise.all(workers);

        // A retry of an acknowledged reading is a duplicate, never a second row.
        const sample = tracker.ackedBatches.filter((_, i) => i % Math.max(1, Math.floor(tracker.ackedBatches.length / 40)) === 0);
        const secrets = new Map([...httpDevices, ...mqttDevices].map((d) => [d.id, d.secret]));
        let resentDuplicates = 0;
        for (const batch of sample) {
          const res = await request(`${gw.baseUrl}/v1/readings`, { token: secrets.get(batch.deviceId) ?? '', json: { readings: batch.readings } });
          expect(res.status).toBe(202);
          expect(res.body.outcomes.map((o: { status: string }) => o.status)).toEqual(batch.readings.map(() => 'duplicate'));
          resentDuplicates += batch.readings.length;
        }

        const stored = await readAllReadings(gw.baseUrl, PATIENT);
        const counts = countByClientId(stored);
        const missing = [...tracker.acked.keys()].filter((id) => !counts.has(id));
        const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
        const unknown = [...counts.keys()].filter((id) => !tracker.sent.has(id));
        const storedButUnacked = [...counts.keys()].filter((id) => !tracker.acked.has(id)).length;

        console.log(
          `[${title}] kills=${kills.length} starts=${gw.starts} acked=${tracker.acked.size} (http ${tracker.ackedBy.http}, mqtt ${tracker.ackedBy.mqtt}) ` +
            `sent=${tracker.sent.size} stored=${stored.length} storedButNeverAcked=${storedButUnacked} ` +
            `resentAfterLostAck=${tracker.stats.resentBatches} batches, of which ${tracker.stats.resentFoundDuplicate} readings were already committed; ` +
            `deliberateResends=${resentDuplicates} readings all duplicate; ` +
            `http: ${tracker.stats.httpRequests} requests, ${tracker.stats.http202} x 202, ${tracker.stats.http503} x 503, ${tracker.stats.httpConnectionErrors} connection errors; ` +
            `mqtt: ${tracker.stats.mqttPublishes} publishes, ${tracker.stats.mqttPubacks} PUBACKs, ${tracker.stats.mqttUnacked} unacknowledged, ${tracker.stats.mqttSessions} sessions; ` +
            `acked before each kill: ${kills.map((k) => k.ackedBefore).join(', ')}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );

        expect(tracker.problems).toEqual([]);
        expect(kills).toHaveLength(KILLS);
        expect(tracker.acked.size).toBeGreaterThanOrEqual(KILLS * 300);
        expect(missing.slice(0, 20), `${missing.length} acknowledged readings missing`).toEqual([]);
        expect(twice.slice(0, 20), `${twice.length} client ids stored more than once`).toEqual([]);
        expect(unknown.slice(0, 20)).toEqual([]);
        expect(stored.length).toBe(counts.size);
        expect(stored.every((r) => secrets.has(r.deviceId))).toBe(true);
      },
      90_000,
    );
  });
}
