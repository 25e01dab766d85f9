import mqtt, { type MqttClient } from 'mqtt';
import type { BenchDevice } from '../lib/readings.js';

/**
 * A clinic's traffic, compressed: single readings over HTTP from many devices, MQTT devices
 * publishing steadily, a hub uploading a batch now and then, staff reading patient histories
 * (audited PHI reads, big JSON answers), and one misbehaving device flooding MQTT as fast as its
 * PUBACKs come (which the per-device rate limit must stop). Every reading has a fresh client id,
 * measured "now" (so every one falls inside the rule windows), and every acknowledged id is kept,
 * so the caller can check that each one was stored.
 */
export interface MixedLoadOptions {
  readonly baseUrl: string;
  readonly mqttUrl: string;
  readonly adminToken: string;
  /** Devices with a patient each (provisionFleet withPatients); HTTP singles go round-robin over them. */
  readonly devices: readonly { readonly device: BenchDevice; readonly patientId: string }[];
  /** Publishes flat out (window of 20 in flight) and reconnects when refused. */
  readonly flooder?: BenchDevice;
  readonly durationMs: number;
  readonly httpPerSec: number;
  /** The first `mqttClients` devices also publish over MQTT, each `mqttPerClientPerSec`. */
  readonly mqttClients: number;
  readonly mqttPerClientPerSec: number;
  /** One hub-style upload of `batchSize` readings every `batchEveryMs`, from a rotating device. */
  readonly batchEveryMs: number;
  readonly batchSize: number;
  readonly phiReadsPerSec: number;
  /** Makes client ids unique across runs against one store. */
  readonly tag: string;
  /** Stop early (e.g. when a sample shows something wrong). */
  readonly signal?: AbortSignal;
}

export interface MixedLoadResult {
  /** Client ids the gateway acknowledged (HTTP 202 accepted/duplicate, MQTT PUBACK). */
  readonly acked: Set<string>;
  readonly httpStatus: Record<string, number>;
  readonly mqttAcked: number;
  readonly phiReads: Record<string, number>;
  readonly flooder: { readonly acked: number; readonly connects: number; readonly refusedConnects: number; readonly disconnects: number; readonly rateLimitMessages: number };
  /** HTTP requests not sent because too many were already in flight (the generator's own bound). */
  readonly skipped: number;
}

const MAX_HTTP_IN_FLIGHT = 64;
const TICK_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function bp(clientId: string, atMs: number): Record<string, unknown> {
  return { id: clientId, kind: 'blood-pressure', systolic: 110 + (atMs % 40), diastolic: 70 + (atMs % 15), pulse: 60 + (atMs % 30), unit: 'mm[Hg]', measuredAt: new Date(atMs).toISOString() };
}

export async function runMixedLoad(o: MixedLoadOptions): Promise<MixedLoadResult> {
  const acked = new Set<string>();
  const httpStatus: Record<string, number> = {};
  const phiReads: Record<string, number> = {};
  const flooder = { acked: 0, connects: 0, refusedConnects: 0, disconnects: 0, rateLimitMessages: 0 };
  let mqttAcked = 0;
  let skipped = 0;
  let inFlight = 0;
  let n = 0;
  const nextId = (): string => `${o.tag}-${n++}`;
  // The gateway keeps one reading per device, kind and instant (a resend under another client id
  // is a duplicate of the first): every reading of a device gets its own instant, so each
  // acknowledged client id is a reading of its own in the store.
  const lastAt = new Map<string, number>();
  const at = (deviceId: string, wanted: number): number => {
    const t = Math.max(wanted, (lastAt.get(deviceId) ?? Number.NEGATIVE_INFINITY) + 1);
    lastAt.set(deviceId, t);
    return t;
  };
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>): void => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const stopAt = Date.now() + o.durationMs;
  const running = (): boolean => Date.now() < stopAt && o.signal?.aborted !== true;

  const post = (device: BenchDevice, readings: Record<string, unknown>[]): void => {
    if (inFlight >= MAX_HTTP_IN_FLIGHT) {
      skipped++;
      return;
    }
    inFlight++;
    track(
      fetch(`${o.baseUrl}/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${device.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ readings }),
      })
        .then(async (res) => {
          httpStatus[res.status] = (httpStatus[res.status] ?? 0) + 1;
          const body = (await res.json()) as { outcomes?: { status: string; clientId?: string }[] };
          if (res.status === 202) for (const out of body.outcomes ?? []) if (out.status !== 'rejected' && out.clientId !== undefined) acked.add(out.clientId);
        })
        .catch(() => {
          httpStatus.error = (httpStatus.error ?? 0) + 1;
        })
        .finally(() => inFlight--),
    );
  };

  const readHistory = (patientId: string): void => {
    track(
      fetch(`${o.baseUrl}/v1/patients/${patientId}/readings?limit=1000`, { headers: { authorization: `Bearer ${o.adminToken}` } })
        .then(async (res) => {
          await res.arrayBuffer();
          phiReads[res.status] = (phiReads[res.status] ?? 0) + 1;
        })
        .catch(() => {
          phiReads.error = (phiReads.error ?? 0) + 1;
        }),
    );
  };

  // Steady MQTT devices: QoS 1, one reading per publish.
  const clients: MqttClient[] = [];
  for (const { device } of o.devices.slice(0, o.mqttClients)) {
    const c = await mqtt.connectAsync(o.mqttUrl, { username: device.id, password: device.secret, protocolVersion: 4, clientId: `${o.tag}-${device.id}`, reconnectPeriod: 1000, clean: true });
    c.on('error', () => undefined);
    clients.push(c);
  }

  // The flooder: as fast as PUBACKs allow, 20 in flight; refused publishes close its connection.
  const flood = async (): Promise<void> => {
    if (o.flooder === undefined) return;
    const f = o.flooder;
    while (running()) {
      let c: MqttClient;
      try {
        flooder.connects++;
        c = await mqtt.connectAsync(o.mqttUrl, { username: f.id, password: f.secret, protocolVersion: 4, clientId: `${o.tag}-flood`, reconnectPeriod: 0, connectTimeout: 5000 }, false);
      } catch {
        flooder.refusedConnects++;
        await sleep(1000);
        continue;
      }
      c.on('error', () => undefined);
      c.on('message', () => flooder.rateLimitMessages++);
      await c.subscribeAsync(`devices/${f.id}/errors`, { qos: 1 }).catch(() => undefined);
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      let open = true;
      void closed.then(() => {
        open = false;
        flooder.disconnects++;
      });
      let window = 0;
      while (open && running()) {
        if (window >= 20) {
          await sleep(1);
          continue;
        }
        window++;
        const id = nextId();
        c.publish(`devices/${f.id}/readings`, JSON.stringify({ readings: [bp(id, at(f.id, Date.now() - 60_000))] }), { qos: 1 }, (err) => {
          window--;
          if (err === undefined || err === null) {
            flooder.acked++;
            acked.add(id);
          }
        });
      }
      c.end(true);
      await closed;
      await sleep(1000);
    }
  };
  const flooding = flood();

  let tick = 0;
  let carryHttp = 0;
  let carryMqtt = 0;
  let carryPhi = 0;
  let nextBatchAt = Date.now() + o.batchEveryMs;
  while (running()) {
    const started = Date.now();
    const now = started - 60_000;
    carryHttp += (o.httpPerSec * TICK_MS) / 1000;
    for (; carryHttp >= 1; carryHttp--) {
      const d = o.devices[tick++ % o.devices.length];
      if (d !== undefined) post(d.device, [bp(nextId(), at(d.device.id, now - (tick % 1000)))]);
    }
    carryMqtt += (o.mqttPerClientPerSec * clients.length * TICK_MS) / 1000;
    for (; carryMqtt >= 1; carryMqtt--) {
      const k = tick++ % Math.max(1, clients.length);
      const c = clients[k];
      const d = o.devices[k];
      if (c === undefined || d === undefined || !c.connected) continue;
      const id = nextId();
      c.publish(`devices/${d.device.id}/readings`, JSON.stringify({ readings: [bp(id, at(d.device.id, now - (tick % 1000)))] }), { qos: 1 }, (err) => {
        if (err === undefined || err === null) {
          mqttAcked++;
          acked.add(id);
        }
      });
    }
    if (Date.now() >= nextBatchAt) {
      nextBatchAt += o.batchEveryMs;
      const d = o.devices[tick++ % o.devices.length];
      // A hub's backlog: the last `batchSize` minutes, one reading a minute.
      if (d !== undefined) post(d.device, Array.from({ length: o.batchSize }, (_, i) => bp(nextId(), now - (o.batchSize - i) * 60_000)));
    }
    carryPhi += (o.phiReadsPerSec * TICK_MS) / 1000;
    for (; carryPhi >= 1; carryPhi--) {
      const d = o.devices[tick++ % o.devices.length];
      if (d !== undefined) readHistory(d.patientId);
    }
    await sleep(Math.max(0, TICK_MS - (Date.now() - started)));
  }
  await flooding;
  // Let publishes in flight get their PUBACK (or not) before the clients go.
  await sleep(500);
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all([...pending]);
  return { acked, httpStatus, mqttAcked, phiReads, flooder, skipped };
}
