import mqtt, { type MqttClient } from 'mqtt';
import { ADMIN_TOKEN, request } from './gateway.js';
import { sleep } from './child-gateway.js';

/**
 * Device-side load for process-level tests: HTTP and MQTT devices that stream heart-rate
 * readings, tolerate the gateway vanishing (connection errors, 503, dropped sessions), resend
 * what was not acknowledged, and record exactly which readings were acknowledged.
 */

export interface DeviceCredential {
  readonly id: string;
  readonly secret: string;
}

export interface ReadingBody {
  readonly id: string;
  readonly kind: 'heart-rate';
  readonly value: number;
  readonly unit: '/min';
  readonly measuredAt: string;
}

export interface Batch {
  readonly deviceId: string;
  readonly readings: readonly ReadingBody[];
  /** Sent before without an acknowledgement. */
  resend: boolean;
}

/** Unique client ids and unique measurement instants (1 ms apart) in the recent past. */
export class ReadingSource {
  private seq = 0;
  private readonly baseMs: number;

  constructor(private readonly prefix: string) {
    // Ten days back leaves room for ~860 M readings before reaching "now".
    this.baseMs = Date.now() - 10 * 86_400_000;
  }

  next(count: number): ReadingBody[] {
    const out: ReadingBody[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.seq++;
      out.push({ id: `${this.prefix}-${n}`, kind: 'heart-rate', value: 50 + (n % 80), unit: '/min', measuredAt: new Date(this.baseMs + n).toISOString() });
    }
    return out;
  }
}

export interface HttpResponseRecord {
  readonly atMs: number;
  /** HTTP status, or 0 for a connection error / timeout. */
  readonly status: number;
  readonly contentType: string | null;
  readonly body: any;
  readonly error?: string;
  readonly batch: Batch;
}

export class LoadTracker {
  /** clientId → device id, for every reading acknowledged at least once. */
  readonly acked = new Map<string, string>();
  /** clientId → device id, for every reading ever sent. */
  readonly sent = new Map<string, string>();
  /** Batches that were acknowledged (for deliberate resends). */
  readonly ackedBatches: Batch[] = [];
  /** Things that must never happen (rejected outcomes, 5xx other than 503, errors-topic messages). */
  readonly problems: string[] = [];
  readonly ackedBy = { http: 0, mqtt: 0 };
  readonly stats = {
    httpRequests: 0,
    http202: 0,
    http503: 0,
    http429: 0,
    httpConnectionErrors: 0,
    mqttPublishes: 0,
    mqttPubacks: 0,
    mqttUnacked: 0,
    mqttSessions: 0,
    mqttConnectFailures: 0,
    resentBatches: 0,
    /** Readings resent after a lost acknowledgement that the gateway had in fact committed. */
    resentFoundDuplicate: 0,
  };
  readonly httpResponses: HttpResponseRecord[] = [];
  recordHttpResponses = false;

  noteSent(batch: Batch): void {
    for (const r of batch.readings) this.sent.set(r.id, batch.deviceId);
    if (batch.resend) this.stats.resentBatches++;
  }

  ack(batch: Batch, transport: 'http' | 'mqtt'): void {
    for (const r of batch.readings) {
      if (!this.acked.has(r.id)) this.ackedBy[transport]++;
      this.acked.set(r.id, batch.deviceId);
    }
    this.ackedBatches.push(batch);
  }

  problem(message: string): void {
    if (this.problems.length < 100) this.problems.push(message);
  }
}

export interface WorkerOptions {
  readonly device: DeviceCredential;
  readonly source: ReadingSource;
  readonly tracker: LoadTracker;
  readonly stop: () => boolean;
}

function takeBatch(retry: Batch[], source: ReadingSource, deviceId: string, maxReadings: number): Batch {
  // Half the time, resend something that was not acknowledged (as a device would after reconnecting).
  const again = retry.length > 0 && Math.random() < 0.5 ? retry.shift() : undefined;
  if (again !== undefined) {
    again.resend = true;
    return again;
  }
  return { deviceId, readings: source.next(1 + Math.floor(Math.random() * maxReadings)), resend: false };
}

/** One HTTP device posting batches of 1–20 readings back to back until `stop()`. */
export async function runHttpDevice(opts: WorkerOptions & { readonly baseUrl: () => string }): Promise<void> {
  const { device, source, tracker } = opts;
  const retry: Batch[] = [];
  while (!opts.stop()) {
    const batch = takeBatch(retry, source, device.id, 20);
    tracker.noteSent(batch);
    tracker.stats.httpRequests++;
    let status = 0;
    let contentType: string | null = null;
    let body: any;
    let error: string | undefined;
    try {
      const res = await fetch(`${opts.baseUrl()}/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${device.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ readings: batch.readings }),
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      contentType = res.headers.get('content-type');
      const text = await res.text();
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    } catch (err) {
      // Connection refused or reset, or the response was cut off: not acknowledged.
      status = 0;
      error = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
    }
    if (tracker.recordHttpResponses) {
      tracker.httpResponses.push({ atMs: performance.now(), status, contentType, body, ...(error === undefined ? {} : { error }), batch });
    }
    if (status === 202) {
      tracker.stats.http202++;
      const outcomes = (body as { outcomes?: Array<{ status: string; clientId?: string }> }).outcomes ?? [];
      const ok = outcomes.length === batch.readings.length && outcomes.every((o, i) => (o.status === 'accepted' || o.status === 'duplicate') && o.clientId === batch.readings[i]?.id);
      if (!ok) {
        tracker.problem(`HTTP 202 with unexpected outcomes for ${device.id}: ${JSON.stringify(body).slice(0, 500)}`);
        continue;
      }
      if (batch.resend) tracker.stats.resentFoundDuplicate += outcomes.filter((o) => o.status === 'duplicate').length;
      tracker.ack(batch, 'http');
      continue;
    }
    retry.push(batch);
    if (status === 0) tracker.stats.httpConnectionErrors++;
    else if (status === 503) tracker.stats.http503++;
    else if (status === 429) tracker.stats.http429++;
    else tracker.problem(`HTTP ${status} from POST /v1/readings for ${device.id}: ${JSON.stringify(body).slice(0, 500)}`);
    await sleep(status === 0 ? 50 : 20);
  }
}

interface InFlight {
  readonly batch: Batch;
  settled: boolean;
}

/** Opens an MQTT session; resolves on CONNACK, rejects on refusal, close or timeout. */
function connectMqtt(url: string, device: DeviceCredential, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId,
    username: device.id,
    password: device.secret,
    protocolVersion: 4,
    clean: true,
    keepalive: 10,
    // We reconnect ourselves, with a fresh client, so nothing is redelivered behind our back.
    reconnectPeriod: 0,
    connectTimeout: 3000,
  });
  return new Promise((resolve, reject) => {
    const fail = (err: unknown): void => {
      cleanup();
      client.end(true);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onConnect = (): void => {
      cleanup();
      resolve(client);
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void => fail(new Error('closed before CONNACK'));
    const timer = setTimeout(() => fail(new Error('CONNACK timeout')), 5000);
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/**
 * One MQTT device publishing QoS 1 batches of 1–10 readings with up to `window` publishes in
 * flight. A reading counts as acknowledged only when its PUBACK arrived (publish callback
 * without error). When the session drops, everything in flight is resent on a new session.
 */
export async function runMqttDevice(opts: WorkerOptions & { readonly mqttUrl: () => string; readonly window?: number }): Promise<void> {
  const { device, source, tracker } = opts;
  const window = opts.window ?? 4;
  const retry: Batch[] = [];
  let session = 0;
  while (!opts.stop()) {
    let client: MqttClient;
    try {
      client = await connectMqtt(opts.mqttUrl(), device, `${device.id}-s${session++}`);
    } catch {
      tracker.stats.mqttConnectFailures++;
      await sleep(50);
      continue;
    }
    tracker.stats.mqttSessions++;
    let closed = false;
    let wake: () => void = () => {};
    const inFlight = new Set<InFlight>();
    client.on('error', () => {});
    client.on('close', () => {
      closed = true;
      wake();
    });
    client.on('message', (topic, payload) => {
      tracker.problem(`message on ${topic}: ${payload.toString('utf8').slice(0, 500)}`);
    });
    client.subscribe(`devices/${device.id}/errors`, { qos: 1 }, () => {});

    while (!closed && !opts.stop()) {
      while (!closed && inFlight.size < window && !opts.stop()) {
        const batch = takeBatch(retry, source, device.id, 10);
        const entry: InFlight = { batch, settled: false };
        inFlight.add(entry);
        tracker.noteSent(batch);
        tracker.stats.mqttPublishes++;
        client.publish(`devices/${device.id}/readings`, JSON.stringify({ readings: batch.readings }), { qos: 1 }, (err) => {
          if (err === undefined || err === null) {
            // PUBACK received: committed. (Counts even if the session dropped just after.)
            if (!entry.settled) inFlight.delete(entry);
            entry.settled = true;
            tracker.stats.mqttPubacks++;
            tracker.ack(batch, 'mqtt');
          } else if (!entry.settled) {
            entry.settled = true;
            inFlight.delete(entry);
            tracker.stats.mqttUnacked++;
            retry.push(batch);
          }
          wake();
        });
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (closed || opts.stop()) resolve();
        // Re-check stop() now and then even if nothing happens.
        setTimeout(resolve, 50);
      });
    }

    if (!closed && opts.stop()) {
      // Give the last publishes a bounded moment to be acknowledged.
      const deadline = Date.now() + 5000;
      while (!closed && inFlight.size > 0 && Date.now() < deadline) await sleep(10);
    }
    for (const entry of inFlight) {
      if (entry.settled) continue;
      entry.settled = true;
      tracker.stats.mqttUnacked++;
      retry.push(entry.batch);
    }
    inFlight.clear();
    client.end(true);
    if (closed) await sleep(50);
  }
}

/** Every reading of a patient through GET /v1/patients/{id}/readings, following nextCursor. */
export async function readAllReadings(baseUrl: string, patientId: string): Promise<Array<{ clientId: string | null; deviceId: string; id: string }>> {
  const all: Array<{ clientId: string | null; deviceId: string; id: string }> = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const query: string = `?limit=10000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const res = await request<{ readings: Array<{ clientId: string | null; deviceId: string; id: string }>; nextCursor: string | null }>(
      `${baseUrl}/v1/patients/${patientId}/readings${query}`,
      { token: ADMIN_TOKEN },
    );
    if (res.status !== 200) throw new Error(`GET readings of ${patientId}: ${res.status} ${JSON.stringify(res.body)}`);
    all.push(...res.body.readings);
    cursor = res.body.nextCursor;
    if (cursor === null) return all;
  }
  throw new Error('pagination did not end');
}

/** clientId → how many stored rows carry it. */
export function countByClientId(rows: ReadonlyArray<{ clientId: string | null }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (r.clientId === null) continue;
    counts.set(r.clientId, (counts.get(r.clientId) ?? 0) + 1);
  }
  return counts;
}
