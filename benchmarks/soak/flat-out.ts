import mqtt, { type MqttClient } from 'mqtt';
import type { BenchDevice } from '../lib/readings.js';

/**
 * Overload: HTTP workers posting batches back to back and MQTT devices keeping a window of QoS 1
 * publishes in flight, as fast as the gateway answers — far past what it can commit. Devices
 * behave as real ones do: a 503 is retried after its Retry-After, a refused or dropped MQTT
 * connection is reopened a second later. Every acknowledged client id is kept, for the check that
 * each one was stored exactly once.
 */
export interface FlatOutOptions {
  readonly baseUrl: string;
  readonly mqttUrl: string;
  readonly devices: readonly BenchDevice[];
  readonly httpWorkers: number;
  readonly httpBatch: number;
  readonly mqttClients: number;
  readonly mqttWindow: number;
  readonly durationMs: number;
  readonly tag: string;
}

export interface FlatOutResult {
  readonly acked: Set<string>;
  readonly httpStatus: Record<string, number>;
  readonly mqttAcked: number;
  readonly mqttConnects: number;
  readonly mqttRefused: number;
  readonly mqttDrops: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function bp(clientId: string, atMs: number): string {
  return `{"id":"${clientId}","kind":"blood-pressure","systolic":${110 + (atMs % 40)},"diastolic":${70 + (atMs % 15)},"pulse":${60 + (atMs % 30)},"unit":"mm[Hg]","measuredAt":"${new Date(atMs).toISOString()}"}`;
}

export async function flatOut(o: FlatOutOptions): Promise<FlatOutResult> {
  const acked = new Set<string>();
  const httpStatus: Record<string, number> = {};
  let mqttAcked = 0;
  let mqttConnects = 0;
  let mqttRefused = 0;
  let mqttDrops = 0;
  let n = 0;
  const stopAt = Date.now() + o.durationMs;
  const running = (): boolean => Date.now() < stopAt;
  const device = (i: number): BenchDevice => o.devices[i % o.devices.length] as BenchDevice;

  const httpWorker = async (w: number): Promise<void> => {
    for (let k = 0; running(); k++) {
      const d = device(w + k * o.httpWorkers);
      const now = Date.now() - 60_000;
      const ids = Array.from({ length: o.httpBatch }, () => `${o.tag}-${n++}`);
      const body = `{"readings":[${ids.map((id, i) => bp(id, now - (o.httpBatch - i) * 1000)).join(',')}]}`;
      try {
        const res = await fetch(`${o.baseUrl}/v1/readings`, { method: 'POST', headers: { authorization: `Bearer ${d.secret}`, 'content-type': 'application/json' }, body });
        httpStatus[res.status] = (httpStatus[res.status] ?? 0) + 1;
        const answer = (await res.json()) as { outcomes?: { status: string; clientId?: string }[] };
        if (res.status === 202) {
          for (const out of answer.outcomes ?? []) if (out.status !== 'rejected' && out.clientId !== undefined) acked.add(out.clientId);
        } else {
          await sleep(1000 * Number(res.headers.get('retry-after') ?? 1));
        }
      } catch {
        httpStatus.error = (httpStatus.error ?? 0) + 1;
        await sleep(1000);
      }
    }
  };

  const mqttDevice = async (k: number): Promise<void> => {
    const d = device(o.httpWorkers + k);
    while (running()) {
      let c: MqttClient;
      try {
        mqttConnects++;
        c = await mqtt.connectAsync(o.mqttUrl, { username: d.id, password: d.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, clientId: `${o.tag}-m${k}` }, false);
      } catch {
        mqttRefused++;
        await sleep(1000);
        continue;
      }
      c.on('error', () => undefined);
      let open = true;
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      void closed.then(() => {
        open = false;
      });
      let window = 0;
      while (open && running()) {
        if (window >= o.mqttWindow) {
          await sleep(1);
          continue;
        }
        window++;
        const id = `${o.tag}-${n++}`;
        c.publish(`devices/${d.id}/readings`, `{"readings":[${bp(id, Date.now() - 60_000)}]}`, { qos: 1 }, (err) => {
          window--;
          if (err === undefined || err === null) {
            mqttAcked++;
            acked.add(id);
          }
        });
      }
      if (open) {
        // Time is up: wait for what is in flight, then leave.
        for (let i = 0; i < 100 && window > 0 && open; i++) await sleep(50);
        c.end(true);
      } else {
        mqttDrops++;
      }
      await closed;
      if (running()) await sleep(1000);
    }
  };

  await Promise.all([...Array.from({ length: o.httpWorkers }, (_, w) => httpWorker(w)), ...Array.from({ length: o.mqttClients }, (_, k) => mqttDevice(k))]);
  return { acked, httpStatus, mqttAcked, mqttConnects, mqttRefused, mqttDrops };
}
