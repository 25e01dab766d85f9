import { rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ChildGateway, type ExitInfo, sleep, waitFor } from './helpers/child-gateway.js';
import { AdminClient, tempDir } from './helpers/gateway.js';
import {
  type DeviceCredential,
  type HttpResponseRecord,
  LoadTracker,
  ReadingSource,
  countByClientId,
  readAllReadings,
  runHttpDevice,
  runMqttDevice,
} from './helpers/reading-load.js';

/**
 * Graceful shutdown of the real process: SIGTERM while devices stream over HTTP and MQTT.
 * The gateway must drain and exit 0 within its shutdown timeout, keep every reading it
 * acknowledged, and answer what arrives meanwhile with 202 (committed) or 503 problem+json
 * (or refuse the connection) — never a 202 for something it did not store.
 */

const PATIENT = 'p-shutdown';
const SHUTDOWN_TIMEOUT_MS = 10_000;

function storedClientIds(dataDir: string): { rows: Array<{ clientId: string | null }>; online: Map<string, number> } {
  const db = new Database(path.join(dataDir, 'rpm.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = (db.prepare('SELECT client_id FROM readings').all() as Array<{ client_id: string | null }>).map((r) => ({ clientId: r.client_id }));
    const online = new Map((db.prepare('SELECT id, online FROM devices').all() as Array<{ id: string; online: number }>).map((d) => [d.id, d.online]));
    return { rows, online };
  } finally {
    db.close();
  }
}

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: any;
}

/** Parses the HTTP/1.1 responses (with Content-Length) received on one raw socket. */
function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return out;
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const text = rest.subarray(end + 4, end + 4 + length).toString('utf8');
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    out.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    rest = rest.subarray(end + 4 + length);
  }
}

/** A raw keep-alive HTTP connection, so the test decides exactly when each byte is sent. */
class RawHttpConnection {
  readonly socket: net.Socket;
  private received = Buffer.alloc(0);
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  async connected(): Promise<void> {
    if (!this.socket.connecting) return;
    await new Promise<void>((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
  }

  write(data: string): void {
    this.socket.write(data);
  }

  get responses(): RawResponse[] {
    return parseResponses(this.received);
  }
}

/** POST /v1/readings as raw bytes, split into [head + first half of the body, rest of the body]. */
function rawIngest(secret: string, reading: Record<string, unknown>): [string, string] {
  const body = JSON.stringify({ readings: [reading] });
  const head =
    `POST /v1/readings HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nAuthorization: Bearer ${secret}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const half = Math.floor(body.length / 2);
  return [head + body.slice(0, half), body.slice(half)];
}

function isShuttingDownProblem(r: RawResponse | undefined): boolean {
  return (
    r !== undefined &&
    r.status === 503 &&
    (r.headers['content-type'] ?? '').startsWith('application/problem+json') &&
    r.body?.code === 'RPM_ERR_SHUTTING_DOWN' &&
    r.headers['retry-after'] !== undefined
  );
}

describe('graceful shutdown (SIGTERM under load)', () => {
  const dataDir = tempDir('rpm-shutdown-');
  const gw = new ChildGateway({
    dataDir,
    env: {
      RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '1000000',
      RPM_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
  });
  let stopping = false;
  const workers: Promise<void>[] = [];

  afterAll(async () => {
    stopping = true;
    await Promise.race([Promise.allSettled(workers), sleep(15_000)]);
    await gw.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'drains, exits 0 in time, and stores every acknowledged reading; requests during shutdown get 202 or 503 problem+json',
    async () => {
      await gw.start();
      const admin = new AdminClient(gw.baseUrl);
      await admin.createPatient(PATIENT);
      const httpDevices: DeviceCredential[] = [];
      const mqttDevices: DeviceCredential[] = [];
      for (let i = 0; i < 3; i++) {
        const id = `sd-http-${i}`;
        httpDevices.push({ id, secret: await admin.createDevice({ id, kind: 'heart-rate-monitor', patientId: PATIENT }) });
      }
      for (let i = 0; i < 3; i++) {
        const id = `sd-mqtt-${i}`;
        mqttDevices.push({ id, secret: await admin.createDevice({ id, kind: 'heart-rate-monitor', patientId: PATIENT }) });
      }

      const tracker = new LoadTracker();
      tracker.recordHttpResponses = true;
      const stop = (): boolean => stopping;
      for (const device of httpDevices) {
        workers.push(runHttpDevice({ device, source: new ReadingSource(device.id), tracker, stop, baseUrl: () => gw.baseUrl }));
      }
      for (const device of mqttDevices) {
        workers.push(runMqttDevice({ device, source: new ReadingSource(device.id), tracker, stop, mqttUrl: () => gw.mqttUrl, window: 4 }));
      }
      await waitFor(
        () => tracker.acked.size >= 500 && tracker.ackedBy.http > 0 && tracker.ackedBy.mqtt > 0,
        20_000,
        `500 acknowledged readings over HTTP and MQTT (have ${tracker.acked.size})`,
      );

      const p = gw.current;
      if (p === undefined) throw new Error('no gateway process');
      const sigtermAt = performance.now();
      p.signal('SIGTERM');
      let exit: ExitInfo;
      try {
        exit = await p.waitExit(SHUTDOWN_TIMEOUT_MS + 5000);
      } finally {
        stopping = true;
      }
      const exitedAfterMs = performance.now() - sigtermAt;
      await Promise.all(workers);

      expect(exit, p.tail()).toEqual({ code: 0, signal: null });
      expect(exitedAfterMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      expect(p.stdout).toContain('shutdown complete');
      expect(p.stdout).not.toContain('shutdown timed out');
      expect(tracker.problems).toEqual([]);

      // Everything answered after SIGTERM was a 202, a 503 problem+json, or a refused/closed connection.
      const during = tracker.httpResponses.filter((r) => r.atMs >= sigtermAt);
      const bad = during.filter((r: HttpResponseRecord) => {
        if (r.status === 202 || r.status === 0) return false;
        return !(
          r.status === 503 &&
          (r.contentType ?? '').startsWith('application/problem+json') &&
          r.body?.code === 'RPM_ERR_SHUTTING_DOWN' &&
          r.body?.status === 503
        );
      });
      expect(bad.map((r) => ({ status: r.status, contentType: r.contentType, body: r.body }))).toEqual([]);

      // Every acknowledged reading is in the file, once (read directly, before any restart).
      const db = storedClientIds(dataDir);
      const counts = countByClientId(db.rows);
      const missing = [...tracker.acked.keys()].filter((id) => !counts.has(id));
      const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      expect(missing.slice(0, 20), `${missing.length} acknowledged readings missing`).toEqual([]);
      expect(twice).toEqual([]);
      // The 202s that raced the shutdown are among them.
      const late202 = during.filter((r) => r.status === 202).flatMap((r) => r.batch.readings.map((x) => x.id));
      expect(late202.filter((id) => !counts.has(id))).toEqual([]);
      // The final presence flush marked every device offline.
      for (const d of [...httpDevices, ...mqttDevices]) expect(db.online.get(d.id), d.id).toBe(0);

      const statuses = new Map<number, number>();
      for (const r of during) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      console.log(
        `[shutdown] exit ${JSON.stringify(exit)} after ${exitedAfterMs.toFixed(0)} ms; acked=${tracker.acked.size} (http ${tracker.ackedBy.http}, mqtt ${tracker.ackedBy.mqtt}) ` +
          `stored=${db.rows.length}; HTTP answers after SIGTERM by status (0 = connection refused/reset): ${JSON.stringify(Object.fromEntries(statuses))}; ` +
          `mqtt: ${tracker.stats.mqttPubacks} PUBACKs, ${tracker.stats.mqttUnacked} unacknowledged`,
      );

      // After a restart on the same data: the same readings through the API, and the devices offline.
      await gw.start();
      const again = new AdminClient(gw.baseUrl);
      const viaApi = await readAllReadings(gw.baseUrl, PATIENT);
      expect(viaApi).toHaveLength(db.rows.length);
      for (const d of [...httpDevices, ...mqttDevices]) {
        const res = await again.get(`/v1/admin/devices/${d.id}`);
        expect(res.status).toBe(200);
        expect(res.body, d.id).toMatchObject({ id: d.id, online: false });
        expect(res.body.lastSeenAt, d.id).not.toBeNull();
      }
      // An idle gateway shuts down cleanly too.
      expect(await gw.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 5000)).toEqual({ code: 0, signal: null });
    },
    60_000,
  );

  it('ends MQTT connections that never sent CONNECT (TCP and WebSocket) instead of waiting for them past the deadline', async () => {
    const dir = tempDir('rpm-shutdown-stuck-');
    const stuck = new ChildGateway({ dataDir: dir, env: { RPM_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
    const tcp = new net.Socket();
    let ws: WebSocket | undefined;
    try {
      await stuck.start();
      // A device that opened its connection but has not sent CONNECT yet, on each MQTT listener.
      tcp.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.connect(stuck.mqttPort, '127.0.0.1', () => resolve());
      });
      const socket = new WebSocket(`ws://127.0.0.1:${stuck.httpPort}/mqtt`, 'mqtt');
      ws = socket;
      socket.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('error', reject);
      });
      const tcpClosed = new Promise<void>((resolve) => tcp.once('close', () => resolve()));
      const wsClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await sleep(100);

      const t0 = performance.now();
      const exit = await stuck.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS + 5000);
      const ms = performance.now() - t0;
      expect(exit, stuck.current?.tail()).toEqual({ code: 0, signal: null });
      // Before the fix this waited for aedes' 30 s connect timeout and hit the shutdown deadline (exit 1).
      expect(ms).toBeLessThan(5000);
      await Promise.race([Promise.all([tcpClosed, wsClosed]), sleep(5000).then(() => Promise.reject(new Error('stuck connections were not closed')))]);
    } finally {
      tcp.destroy();
      ws?.terminate();
      await stuck.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers requests on kept-alive connections during the drain with 202 or 503 problem+json, then closes them', async () => {
    const dir = tempDir('rpm-shutdown-keepalive-');
    const g = new ChildGateway({ dataDir: dir, env: { RPM_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) } });
    const conns: RawHttpConnection[] = [];
    try {
      await g.start();
      const admin = new AdminClient(g.baseUrl);
      await admin.createPatient('p-ka');
      const secret = await admin.createDevice({ id: 'ka-1', kind: 'heart-rate-monitor', patientId: 'p-ka' });
      const reading = (id: string, minutesAgo: number): Record<string, unknown> => ({
        id,
        kind: 'heart-rate',
        value: 70,
        unit: '/min',
        measuredAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
      });

      // idle: answered before SIGTERM, then left open by the client.
      const idle = new RawHttpConnection(g.httpPort);
      // busy: a request admitted before SIGTERM whose body is still arriving; once it is answered
      // the client keeps the connection open.
      const busy = new RawHttpConnection(g.httpPort);
      // pipelined: like busy, and a second request follows on the same connection after SIGTERM.
      const pipelined = new RawHttpConnection(g.httpPort);
      conns.push(idle, busy, pipelined);
      await Promise.all(conns.map((c) => c.connected()));
      const [idleHead, idleRest] = rawIngest(secret, reading('ka-idle', 30));
      idle.write(idleHead + idleRest);
      await waitFor(() => idle.responses.length === 1, 5000, 'the answer on the idle connection');
      expect(idle.responses[0]?.status).toBe(202);
      const [busyHead, busyRest] = rawIngest(secret, reading('ka-busy', 20));
      const [pipeHead, pipeRest] = rawIngest(secret, reading('ka-pipe-1', 10));
      const [afterHead, afterRest] = rawIngest(secret, reading('ka-pipe-2', 5));
      busy.write(busyHead);
      pipelined.write(pipeHead);
      await sleep(200);

      const p = g.current;
      if (p === undefined) throw new Error('no gateway process');
      const t0 = performance.now();
      p.signal('SIGTERM');
      await waitFor(() => p.stdout.includes('shutting down'), 5000, 'the gateway to start shutting down');
      busy.write(busyRest);
      pipelined.write(pipeRest + afterHead + afterRest);
      const exit = await p.waitExit(SHUTDOWN_TIMEOUT_MS + 5000);
      const ms = performance.now() - t0;
      await Promise.race([Promise.all(conns.map((c) => c.closed)), sleep(5000).then(() => Promise.reject(new Error('connections left open')))]);

      // Before the fix the answered-but-open connection held the shutdown until the deadline (exit 1).
      expect(exit, p.tail()).toEqual({ code: 0, signal: null });
      expect(ms).toBeLessThan(5000);

      const stored = new Set(storedClientIds(dir).rows.map((r) => r.clientId));
      const [busyAnswer] = busy.responses;
      const [pipeAnswer, afterAnswer] = pipelined.responses;
      for (const [id, answer] of [['ka-busy', busyAnswer], ['ka-pipe-1', pipeAnswer]] as const) {
        // Admitted before SIGTERM: committed and 202, or refused with 503 problem+json.
        if (answer?.status === 202) expect(stored.has(id), id).toBe(true);
        else expect(isShuttingDownProblem(answer), `${id}: ${JSON.stringify(answer)}`).toBe(true);
      }
      // Arrived after SIGTERM: never 202, and a 503 problem+json (not Fastify's own plain-JSON 503).
      expect(afterAnswer, JSON.stringify(pipelined.responses)).toBeDefined();
      expect(isShuttingDownProblem(afterAnswer), JSON.stringify(afterAnswer)).toBe(true);
      expect(stored.has('ka-pipe-2')).toBe(false);
      expect(stored.has('ka-idle')).toBe(true);
      console.log(`[shutdown/keep-alive] exit 0 after ${ms.toFixed(0)} ms; in flight at SIGTERM: ${busyAnswer?.status}, ${pipeAnswer?.status}; after SIGTERM: ${afterAnswer?.status} ${afterAnswer?.body?.code}`);
    } finally {
      for (const c of conns) c.socket.destroy();
      await g.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
