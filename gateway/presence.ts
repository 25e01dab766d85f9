import type { Logger } from '../core/logging.js';
import type { BatteryLevel, Device } from '../core/model/registry.js';
import type { PresenceUpdate, RegistryStore } from '../core/ports/registry-store.js';
import type { DeviceStatusListener } from '../pipeline/ingest.js';

/**
 * Last-seen, online/offline and battery level per device. They are kept in memory and written in
 * one transaction every few seconds, so a busy device costs no extra write per reading.
 */
export class PresenceTracker implements DeviceStatusListener {
  private readonly pending = new Map<string, { lastSeenAtMs: number; online?: boolean }>();
  private readonly batteries = new Map<string, BatteryLevel>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly registry: RegistryStore,
    private readonly log: Logger,
  ) {}

  seen(deviceId: string, atMs: number): void {
    const p = this.pending.get(deviceId);
    if (p === undefined) this.pending.set(deviceId, { lastSeenAtMs: atMs });
    else if (atMs > p.lastSeenAtMs) p.lastSeenAtMs = atMs;
  }

  /** An MQTT session opened. A device may hold several (e.g. TCP and WebSocket). */
  connected(deviceId: string, atMs: number): void {
    this.sessions.set(deviceId, (this.sessions.get(deviceId) ?? 0) + 1);
    this.seen(deviceId, atMs);
    const p = this.pending.get(deviceId);
    if (p !== undefined) p.online = true;
  }

  disconnected(deviceId: string, atMs: number): void {
    const left = (this.sessions.get(deviceId) ?? 1) - 1;
    if (left > 0) this.sessions.set(deviceId, left);
    else this.sessions.delete(deviceId);
    this.seen(deviceId, atMs);
    const p = this.pending.get(deviceId);
    if (p !== undefined) p.online = left > 0;
  }

  /** A committed reading carried its device's battery level; the newest measurement wins. */
  battery(deviceId: string, percent: number, measuredAtMs: number): void {
    const known = this.batteries.get(deviceId);
    if (known === undefined || measuredAtMs >= known.atMs) this.batteries.set(deviceId, { percent, atMs: measuredAtMs });
  }

  /** The device's battery level: what arrived since the last flush, else what is stored. */
  batteryOf(device: Device): BatteryLevel | null {
    const pending = this.batteries.get(device.id);
    if (pending === undefined) return device.battery;
    return device.battery === null || pending.atMs >= device.battery.atMs ? pending : device.battery;
  }

  /** When the device was last seen: what arrived since the last flush, else what is stored. */
  lastSeenOf(device: Device): number | null {
    const pending = this.pending.get(device.id);
    if (pending === undefined) return device.lastSeenAtMs;
    return device.lastSeenAtMs === null || pending.lastSeenAtMs > device.lastSeenAtMs ? pending.lastSeenAtMs : device.lastSeenAtMs;
  }

  isOnline(deviceId: string): boolean {
    return this.sessions.has(deviceId);
  }

  start(intervalMs = 5000): void {
    this.timer = setInterval(() => {
      this.flush().catch((err: unknown) => this.log.warn({ err }, 'presence flush failed; kept for the next one'));
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * Writes what changed since the last flush, in transactions of FLUSH_CHUNK devices. Updates of a
   * transaction that fails are kept for the next flush (unless newer ones arrived meanwhile);
   * rejects after trying every chunk if any failed.
   */
  async flush(): Promise<void> {
    const failed = await this.flushChunks();
    if (failed.error !== null) throw failed.error;
  }

  /**
   * Shutdown: every session is now offline; flush what can be flushed. Resolves with how many
   * devices' updates could not be written (the store failing): they are logged as lost, and a
   * device's next reading or connection sets them again.
   */
  async stop(): Promise<{ unsaved: number }> {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const deviceId of this.sessions.keys()) this.seen(deviceId, Date.now());
    for (const [, p] of this.pending) p.online = false;
    this.sessions.clear();
    const { unsaved, error } = await this.flushChunks();
    if (unsaved > 0) {
      this.log.error({ err: error, devices: unsaved }, 'presence (last seen, online, battery) of some devices could not be written at shutdown; it is lost until their next reading or connection');
    }
    return { unsaved };
  }

  private async flushChunks(): Promise<{ unsaved: number; error: unknown }> {
    if (this.pending.size === 0 && this.batteries.size === 0) return { unsaved: 0, error: null };
    const updates: PresenceUpdate[] = [];
    for (const [deviceId, p] of this.pending) {
      const battery = this.batteries.get(deviceId);
      this.batteries.delete(deviceId);
      updates.push({ deviceId, lastSeenAtMs: p.lastSeenAtMs, ...(p.online === undefined ? {} : { online: p.online }), ...(battery === undefined ? {} : { battery }) });
    }
    // A hub's relayed devices are not "seen" themselves (the hub is), but their batteries are news.
    for (const [deviceId, battery] of this.batteries) updates.push({ deviceId, battery });
    this.pending.clear();
    this.batteries.clear();
    let unsaved = 0;
    let error: unknown = null;
    for (let i = 0; i < updates.length; i += FLUSH_CHUNK) {
      const chunk = updates.slice(i, i + FLUSH_CHUNK);
      try {
        await this.registry.recordPresence(chunk);
      } catch (err) {
        error ??= err;
        unsaved += chunk.length;
        for (const u of chunk) this.restore(u);
      }
    }
    return { unsaved, error };
  }

  /** Puts back an update that could not be written, unless something newer arrived meanwhile. */
  private restore(u: PresenceUpdate): void {
    if (u.lastSeenAtMs !== undefined) {
      const p = this.pending.get(u.deviceId);
      if (p === undefined) this.pending.set(u.deviceId, { lastSeenAtMs: u.lastSeenAtMs, ...(u.online === undefined ? {} : { online: u.online }) });
      else {
        if (u.lastSeenAtMs > p.lastSeenAtMs) p.lastSeenAtMs = u.lastSeenAtMs;
        if (p.online === undefined && u.online !== undefined) p.online = u.online;
      }
    }
    if (u.battery !== undefined) this.battery(u.deviceId, u.battery.percent, u.battery.atMs);
  }
}

/** Devices per presence transaction: a storm of connects is written in short transactions. */
const FLUSH_CHUNK = 500;
