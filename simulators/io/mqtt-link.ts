import mqtt, { type MqttClient } from 'mqtt';
import type { SimReading } from '../readings.js';
import type { Link, LinkEvents, SendResult } from './link.js';

/**
 * A device (or hub) as an MQTT 3.1.1 client: username = device id, password = secret, a fixed
 * client id, QoS 1 publishes to devices/{id}/readings, and the errors topic subscribed.
 *
 * The simulator, not MQTT.js, owns redelivery: each session is a fresh client with
 * reconnectPeriod 0, and when a session ends every publish whose PUBACK had not arrived is
 * reported as not acknowledged, so the sender queues it again. MQTT.js may otherwise replay its
 * in-memory store behind our back, or drop it on a second disconnect (MQTT.js #2015); a callback
 * that never fires must never count as an acknowledgement.
 */

interface Pending {
  readonly batch: readonly SimReading[];
  readonly t0: number;
  readonly done: (result: SendResult, latencyMs: number) => void;
  readonly timer: NodeJS.Timeout;
  settled: boolean;
}

export interface MqttLinkHooks {
  connected(ms: number): void;
  connectFailed(reason: string, fatal: boolean): void;
  /** A session ended; `unexpected` unless we closed it (end of run, offline window, storm). */
  disconnected(unexpected: boolean): void;
}

/** CONNACK return codes after which reconnecting cannot help: bad credentials, not authorized. */
const FATAL_CONNACK = new Set([4, 5]);

export class MqttLink implements Link {
  readonly transport = 'mqtt' as const;
  private client: MqttClient | undefined;
  private up = false;
  private wanted = false;
  private fatal = false;
  /** The current session is being ended on purpose (a fault we inject), not by the gateway. */
  private dropping = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Pending>();

  constructor(
    private readonly url: string,
    private readonly deviceId: string,
    private readonly secret: string,
    private readonly events: LinkEvents,
    private readonly hooks: MqttLinkHooks,
    private readonly ackTimeoutMs = 15_000,
    /** Longest wait between reconnection attempts (firmware backs off to about 10 s). */
    private readonly reconnectMaxMs = 10_000,
  ) {}

  get ready(): boolean {
    return this.up;
  }

  open(): void {
    if (this.fatal) return;
    this.wanted = true;
    if (this.client === undefined && this.reconnectTimer === undefined) this.connect();
  }

  hold(): void {
    this.wanted = false;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.drop();
  }

  drop(): void {
    // Destroying the socket sends no DISCONNECT: to the gateway this looks like lost coverage.
    this.dropping = true;
    this.client?.stream?.destroy();
  }

  private connect(): void {
    const t0 = performance.now();
    const client = mqtt.connect(this.url, {
      clientId: this.deviceId,
      username: this.deviceId,
      password: this.secret,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: 15_000,
    });
    this.client = client;
    let refused: { reason: string; fatal: boolean } | undefined;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.up = true;
      this.dropping = false;
      this.attempt = 0;
      this.hooks.connected(performance.now() - t0);
      client.subscribe(`devices/${this.deviceId}/errors`, { qos: 1 }, () => {});
      if (!this.wanted) this.drop();
      else this.events.ready();
    });
    client.on('message', (_topic, payload) => this.onErrorMessage(payload));
    client.on('error', (err: Error & { code?: number | string }) => {
      const code = typeof err.code === 'number' ? err.code : undefined;
      refused = { reason: code === undefined ? err.message : `CONNACK ${code}`, fatal: code !== undefined && FATAL_CONNACK.has(code) };
    });
    client.on('close', () => {
      if (this.client !== client) return;
      const wasUp = this.up;
      this.up = false;
      this.client = undefined;
      client.removeAllListeners();
      client.on('error', () => {});
      client.end(true);
      // Everything not acknowledged in this session is not acknowledged, full stop.
      for (const p of [...this.pending]) this.settle(p, { ok: false, reason: 'connection lost' });
      if (wasUp) this.hooks.disconnected(this.wanted && !this.dropping);
      else {
        const r = refused ?? { reason: 'closed before CONNACK', fatal: false };
        this.hooks.connectFailed(r.reason, r.fatal);
        if (r.fatal) this.fatal = true;
      }
      if (this.wanted && !this.fatal) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    // Exponential backoff with jitter, as device firmware does, so a restart is not met by a synchronized wall.
    const base = Math.min(this.reconnectMaxMs, 250 * 2 ** this.attempt++);
    const delay = base * (0.5 + Math.random());
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.wanted) this.connect();
    }, delay);
  }

  private onErrorMessage(payload: Buffer): void {
    let body: { code?: string; rejected?: { clientId?: string; code?: string }[] };
    try {
      body = JSON.parse(payload.toString('utf8')) as typeof body;
    } catch {
      return;
    }
    if (Array.isArray(body.rejected)) {
      for (const r of body.rejected) if (typeof r.clientId === 'string') this.events.rejectedLater(r.clientId, r.code ?? body.code ?? 'RPM_ERR_UNKNOWN');
    } else if (typeof body.code === 'string') this.events.payloadRejected(body.code);
  }

  private settle(p: Pending, result: SendResult): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    this.pending.delete(p);
    p.done(result, performance.now() - p.t0);
  }

  send(batch: readonly SimReading[], done: (result: SendResult, latencyMs: number) => void): void {
    const client = this.client;
    if (client === undefined || !this.up) {
      done({ ok: false, reason: 'not connected' }, 0);
      return;
    }
    const p: Pending = {
      batch,
      t0: performance.now(),
      done,
      settled: false,
      // A PUBACK that does not come is not coming: count the publish as lost and start a new session.
      timer: setTimeout(() => {
        this.settle(p, { ok: false, reason: 'no PUBACK' });
        this.drop();
      }, this.ackTimeoutMs),
    };
    this.pending.add(p);
    client.publish(`devices/${this.deviceId}/readings`, JSON.stringify({ readings: batch.map((r) => r.body) }), { qos: 1 }, (err) => {
      if (err === undefined || err === null) {
        // A PUBACK is an acknowledgement even if we had given up on it (then the resend answers duplicate).
        if (p.settled) p.done({ ok: true, outcomes: batch.map(() => ({ status: 'acked' as const })) }, performance.now() - p.t0);
        else this.settle(p, { ok: true, outcomes: batch.map(() => ({ status: 'acked' as const })) });
      } else this.settle(p, { ok: false, reason: err.message });
    });
  }

  sendGarbage(payload: string, done: (acked: boolean) => void): void {
    const client = this.client;
    if (client === undefined || !this.up) {
      done(false);
      return;
    }
    client.publish(`devices/${this.deviceId}/readings`, payload, { qos: 1 }, (err) => done(err === undefined || err === null));
  }

  async close(): Promise<void> {
    this.wanted = false;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    if (client === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.end(true);
        resolve();
      }, 2000);
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
